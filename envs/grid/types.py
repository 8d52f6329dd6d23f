"""Typed parameters, state and results of the grid market.

Static settings (:class:`FleetParams`, :class:`MarketParams`) and the changing state
(:class:`GridState`) are separate frozen dataclasses, as in gymnax / Gymnasium functional
envs. Arrays are made read-only on construction so that a params object can be shared
by every environment of a batch without being mutated by accident.

Units are in the names: ``_mw`` (MW), ``_mwh`` (MWh over one step), ``_usd_per_mwh``,
``_t_co2`` (tonnes of CO2), ``_g_per_kwh`` (gCO2/kWh = kgCO2/MWh).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from gridshift.envs.grid.fleet_params import (  # noqa: F401  (re-exported)
    FUELS,
    UC_FIELDS,
    FleetParams,
    ParamError,
    _check_array,
    _fail,
    _readonly,
)

#: Default ORDC parameters as fractions of the system's peak demand (see :class:`MarketParams`).
#: ERCOT's minimum contingency level is 3,000 MW since 2022 (PUCT Project 52373; 2,000 MW
#: from 2014 to 2021) against a 2022 peak of about 80 GW: 0.0375. ERCOT's seasonal
#: reserve-error distributions (ORDC methodology, "Methodology for Implementing ORDC to
#: Calculate Real-Time Reserve Price Adder") have standard deviations of roughly 1-2 GW and
#: means up to about 1 GW: ``sigma = 0.02`` and ``mu = 0.01`` of peak (1.6 and 0.8 GW at
#: 80 GW). Approximate public orders of magnitude, not a fit.
ORDC_MU_FRAC = 0.01
ORDC_SIGMA_FRAC = 0.02
MIN_CONTINGENCY_FRAC = 0.0375


@dataclass(frozen=True)
class MarketParams:
    """Market rules of the copper-plate clearing (DESIGN §3).

    The scarcity adder follows ERCOT's operating-reserve demand curve (ORDC): with ``H`` the
    ramp-limited reserve headroom (MW) and ``X`` the minimum contingency level,

    ``adder = (VOLL - lambda) * LOLP(H - X)``, ``LOLP(x) = 1 - Phi((x - mu) / sigma)`` for
    ``H > X`` and ``LOLP = 1`` (price at VOLL) for ``H <= X``.

    The absolute MW figures are what the kernel uses; :meth:`scaled_to_peak` builds them as
    fractions of the system's peak demand (:data:`ORDC_MU_FRAC`, :data:`ORDC_SIGMA_FRAC`,
    :data:`MIN_CONTINGENCY_FRAC`), so the same rules fit a 5 GW or a 100 GW system.
    """

    step_minutes: float = 15.0
    voll_usd_per_mwh: float = 5000.0
    """Value of lost load, also the price cap (ERCOT's cap is $5,000/MWh)."""
    floor_price_usd_per_mwh: float = -20.0
    """Price when minimum output exceeds demand and curtailment cannot absorb the surplus."""
    ordc_mu_mw: float = 3000.0
    """ORDC mean of the reserve-error distribution (MW)."""
    ordc_sigma_mw: float = 1500.0
    """ORDC standard deviation of the reserve-error distribution (MW)."""
    carbon_price_usd_per_t: float = 50.0
    """Carbon price added to system cost (and, when ``carbon_in_dispatch``, to offer prices)."""
    carbon_in_dispatch: bool = False
    """If true, units offer at fuel cost + carbon price x emission factor (a carbon tax in the
    merit order), so the clearing price is the marginal *social* cost at the margin; false, at
    fuel cost only (a market without a carbon price; social cost still counts carbon)."""
    min_contingency_mw: float = 0.0
    """ORDC minimum contingency level ``X`` (MW): at or below it the price is VOLL (0 = none)."""

    def __post_init__(self) -> None:
        if not (0.0 < self.step_minutes <= 1440.0):
            _fail("step_minutes", self.step_minutes, "0 < step_minutes <= 1440")
        if not (np.isfinite(self.voll_usd_per_mwh) and self.voll_usd_per_mwh > 0.0):
            _fail("voll_usd_per_mwh", self.voll_usd_per_mwh, "a finite value > 0")
        if not (-self.voll_usd_per_mwh <= self.floor_price_usd_per_mwh <= 0.0):
            _fail("floor_price_usd_per_mwh", self.floor_price_usd_per_mwh, f"-voll_usd_per_mwh ({-self.voll_usd_per_mwh}) <= floor <= 0")
        if not (np.isfinite(self.ordc_mu_mw) and self.ordc_mu_mw >= 0.0):
            _fail("ordc_mu_mw", self.ordc_mu_mw, "a finite value >= 0")
        if not (np.isfinite(self.ordc_sigma_mw) and self.ordc_sigma_mw > 0.0):
            _fail("ordc_sigma_mw", self.ordc_sigma_mw, "a finite value > 0")
        if not (np.isfinite(self.carbon_price_usd_per_t) and self.carbon_price_usd_per_t >= 0.0):
            _fail("carbon_price_usd_per_t", self.carbon_price_usd_per_t, "a finite value >= 0")
        if not (np.isfinite(self.min_contingency_mw) and self.min_contingency_mw >= 0.0):
            _fail("min_contingency_mw", self.min_contingency_mw, "a finite value >= 0")

    @classmethod
    def scaled_to_peak(cls, peak_demand_mw: float, *, ordc_mu_frac: float = ORDC_MU_FRAC,
                       ordc_sigma_frac: float = ORDC_SIGMA_FRAC, min_contingency_frac: float = MIN_CONTINGENCY_FRAC,
                       **kw) -> MarketParams:
        """Market rules whose ORDC is sized to the system: ``mu``, ``sigma`` and the minimum
        contingency level are the given fractions of ``peak_demand_mw`` (other fields as
        keywords). Each fraction is checked: ``0 <= mu_frac <= 0.5``, ``0 < sigma_frac <= 0.5``,
        ``0 <= min_contingency_frac <= 0.5``."""
        if not (np.isfinite(peak_demand_mw) and peak_demand_mw > 0.0):
            _fail("peak_demand_mw", peak_demand_mw, "a finite value > 0")
        for name, v, lo_open in (("ordc_mu_frac", ordc_mu_frac, False), ("ordc_sigma_frac", ordc_sigma_frac, True),
                                 ("min_contingency_frac", min_contingency_frac, False)):
            ok = np.isfinite(v) and (v > 0.0 if lo_open else v >= 0.0) and v <= 0.5
            if not ok:
                _fail(name, v, f"{'0 <' if lo_open else '0 <='} {name} <= 0.5 (a fraction of peak demand)")
        return cls(ordc_mu_mw=ordc_mu_frac * peak_demand_mw, ordc_sigma_mw=ordc_sigma_frac * peak_demand_mw,
                   min_contingency_mw=min_contingency_frac * peak_demand_mw, **kw)

    @property
    def step_hours(self) -> float:
        return self.step_minutes / 60.0


@dataclass(frozen=True, eq=False)
class GridParams:
    """Everything static about one grid: the fleet and the market rules."""

    fleet: FleetParams
    market: MarketParams = field(default_factory=MarketParams)

    def offer_b_usd_per_mwh(self) -> np.ndarray:
        """Linear offer coefficient used in dispatch (fuel ``b``, plus carbon if priced in)."""
        b = self.fleet.cost_b_usd_per_mwh
        if self.market.carbon_in_dispatch:
            b = b + self.market.carbon_price_usd_per_t * self.fleet.emission_t_co2_per_mwh
        return b

    # Derived arrays used every step; cached on the instance (params are immutable).
    def offer_b_cached(self) -> np.ndarray:
        c = self.__dict__.get("_offer_b")
        if c is None:
            c = _readonly(self.offer_b_usd_per_mwh())
            self.__dict__["_offer_b"] = c
        return c

    def carbon_adder_usd_per_mwh(self) -> np.ndarray:
        """``[G]`` carbon part of each offer ($/MWh): price x emission factor when carbon is
        in dispatch, else 0."""
        c = self.__dict__.get("_carbon_adder")
        if c is None:
            m = self.market
            c = _readonly(m.carbon_price_usd_per_t * self.fleet.emission_t_co2_per_mwh if m.carbon_in_dispatch
                          else np.zeros(self.fleet.n_units))
            self.__dict__["_carbon_adder"] = c
        return c

    def uc_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Kernel inputs derived once: ``fast_start`` ``[G]`` bool, ``startup_cost_usd``, the
        inverse fuel price of gas units that follow the gas price (0 for the others),
        ``vom_usd_per_mwh`` and :meth:`carbon_adder_usd_per_mwh`."""
        c = self.__dict__.get("_uc")
        if c is None:
            f = self.fleet
            inv = np.where(f.gas_units(), 1.0 / np.where(f.fuel_price_usd_per_mmbtu > 0, f.fuel_price_usd_per_mmbtu, 1.0),
                           0.0)
            c = (_readonly(f.fast_start), _readonly(f.startup_cost_usd), _readonly(inv), _readonly(f.vom_usd_per_mwh),
                 self.carbon_adder_usd_per_mwh())
            self.__dict__["_uc"] = c
        return c

    def kernel_costs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``a``, offer ``b``, fuel ``b`` and ``c`` as private writable arrays for the compiled
        clearing (which aliases them when no gas price is given and copies them when one is:
        one array type either way). Never modify them."""
        c = self.__dict__.get("_kcosts")
        if c is None:
            f = self.fleet
            c = tuple(np.array(x, dtype=np.float64) for x in (f.cost_a_usd_per_mw2h, self.offer_b_cached(),
                                                               f.cost_b_usd_per_mwh, f.cost_c_usd_per_h))
            self.__dict__["_kcosts"] = c
        return c

    def ramp_step_mw(self) -> np.ndarray:
        """Ramp limit over one step (MW), ``ramp_mw_per_h x step_hours``."""
        c = self.__dict__.get("_ramp_step")
        if c is None:
            c = _readonly(self.fleet.ramp_mw_per_h * self.market.step_hours)
            self.__dict__["_ramp_step"] = c
        return c


@dataclass(frozen=True, eq=False)
class GridState:
    """Changing state of the grid: last step's dispatch, shape ``[B, G]`` (MW)."""

    dispatch_mw: np.ndarray

    @property
    def batch_size(self) -> int:
        return int(self.dispatch_mw.shape[0])


@dataclass(frozen=True, eq=False)
class Exogenous:
    """Exogenous inputs for one step, each of shape ``[B]`` (MW).

    ``demand_mw`` is the non-DC load. ``solar_mw`` and ``wind_mw`` are the available
    renewable output (before curtailment).
    """

    demand_mw: np.ndarray
    solar_mw: np.ndarray
    wind_mw: np.ndarray

    def __post_init__(self) -> None:
        for k in ("demand_mw", "solar_mw", "wind_mw"):
            a = np.atleast_1d(np.asarray(getattr(self, k), dtype=np.float64))
            object.__setattr__(self, k, a)

    @property
    def renewable_mw(self) -> np.ndarray:
        return self.solar_mw + self.wind_mw


@dataclass(frozen=True, eq=False)
class ClearingResult:
    """Outcome of one clearing step; every array has a leading batch axis ``[B]``.

    Accounting identities (tested):
        thermal_mw + renewable_used_mw + unserved_mw == total_demand_mw + overgeneration_mw
        renewable_used_mw + curtailment_mw == renewable_available_mw
    """

    dispatch_mw: np.ndarray
    """[B, G] output of each fleet unit."""
    total_demand_mw: np.ndarray
    """Non-DC demand + DC facility load."""
    thermal_mw: np.ndarray
    renewable_available_mw: np.ndarray
    renewable_used_mw: np.ndarray
    curtailment_mw: np.ndarray
    unserved_mw: np.ndarray
    overgeneration_mw: np.ndarray
    """Minimum output the demand cannot absorb even with all renewables curtailed (spilled at the floor price)."""
    reserve_mw: np.ndarray
    """Ramp-limited headroom H = sum_g (hi_g - p_g)."""
    system_lambda_usd_per_mwh: np.ndarray
    """Energy component (equal incremental cost, 0 when renewables are marginal)."""
    scarcity_adder_usd_per_mwh: np.ndarray
    price_usd_per_mwh: np.ndarray
    avg_ci_g_per_kwh: np.ndarray
    marginal_ci_g_per_kwh: np.ndarray
    renewable_fraction: np.ndarray
    """Renewable share of served generation, in [0, 1]."""
    emissions_t_co2: np.ndarray
    fuel_cost_usd: np.ndarray
    """Fuel (incl. no-load) cost over the step, plus start-up costs of units started this step
    when a commitment is given."""
    system_cost_usd: np.ndarray
    """Fuel + VOLL x unserved energy + carbon price x emissions, over the step."""
    step_hours: float
    packed: np.ndarray | None = None
    """All the ``[B]`` fields above as one ``[17, B]`` array (row order of ``copper_plate._OUT_FIELDS``), when available."""

    @property
    def curtailment_mwh(self) -> np.ndarray:
        return self.curtailment_mw * self.step_hours

    @property
    def unserved_mwh(self) -> np.ndarray:
        return self.unserved_mw * self.step_hours

    def row(self, i: int) -> dict[str, float]:
        """Scalars of batch element ``i`` (dispatch omitted), for logs and ``infos``."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name in ("dispatch_mw", "step_hours", "packed"):
                continue
            out[f.name] = float(v[i])
        return out
