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

#: Fuels a thermal/must-run unit may have. Renewables (solar, wind) are not fleet
#: units: they are exogenous availability, dispatched first at zero cost.
FUELS: tuple[str, ...] = (
    "nuclear",
    "hydro",
    "coal",
    "gas",
    "oil",
    "biomass",
    "geothermal",
    "other",
)


class ParamError(ValueError):
    """An invalid parameter value. The message names the field, the value and the allowed range."""


def _fail(field_name: str, value, allowed: str) -> None:
    raise ParamError(f"{field_name}={value!r} is invalid: allowed {allowed}")


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


def _check_array(name: str, a: np.ndarray, *, lo: float | None = None, allow_inf: bool = False) -> None:
    bad_nan = np.isnan(a)
    if bad_nan.any():
        i = int(np.flatnonzero(bad_nan.ravel())[0])
        _fail(f"{name}[{i}]", float(a.ravel()[i]), "a finite number")
    if not allow_inf:
        bad = ~np.isfinite(a)
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            _fail(f"{name}[{i}]", float(a.ravel()[i]), "a finite number")
    if lo is not None:
        bad = a < lo
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            _fail(f"{name}[{i}]", float(a.ravel()[i]), f">= {lo}")


@dataclass(frozen=True, eq=False)
class FleetParams:
    """The dispatchable fleet: one entry per unit, all arrays of shape ``[G]``.

    Cost follows TSCO eq. (1): ``C_g(p) = a_g p^2 + b_g p + c_g`` in $/h for output ``p``
    in MW. Units with ``a_g = 0`` have a constant marginal cost and clear as a
    merit-order step. Every unit is online for the whole episode (no unit commitment):
    ``min_output_mw`` is a hard floor, which is how must-run units (nuclear, hydro run of
    river) are expressed. ``ramp_mw_per_h`` bounds the change of output between steps
    (``inf`` = no limit); it makes the grid path-dependent.
    """

    name: tuple[str, ...]
    fuel: tuple[str, ...]
    capacity_mw: np.ndarray
    min_output_mw: np.ndarray
    ramp_mw_per_h: np.ndarray
    cost_a_usd_per_mw2h: np.ndarray
    cost_b_usd_per_mwh: np.ndarray
    cost_c_usd_per_h: np.ndarray
    emission_t_co2_per_mwh: np.ndarray

    def __post_init__(self) -> None:
        arrays = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("name", "fuel")}
        n = None
        for k, v in arrays.items():
            a = np.asarray(v, dtype=np.float64)
            if a.ndim != 1:
                _fail(f"FleetParams.{k}", a.shape, "a 1-D array (one entry per unit)")
            if n is None:
                n = a.shape[0]
            elif a.shape[0] != n:
                _fail(f"FleetParams.{k}", f"length {a.shape[0]}", f"length {n} (same as capacity_mw)")
            object.__setattr__(self, k, _readonly(a))
        if not n:
            _fail("FleetParams.capacity_mw", "[]", "at least one unit")
        object.__setattr__(self, "name", tuple(str(x) for x in self.name))
        object.__setattr__(self, "fuel", tuple(str(x) for x in self.fuel))
        if len(self.name) != n:
            _fail("FleetParams.name", f"length {len(self.name)}", f"length {n}")
        if len(self.fuel) != n:
            _fail("FleetParams.fuel", f"length {len(self.fuel)}", f"length {n}")
        for i, f in enumerate(self.fuel):
            if f not in FUELS:
                _fail(f"FleetParams.fuel[{i}]", f, f"one of {FUELS}")
        _check_array("FleetParams.capacity_mw", self.capacity_mw, lo=0.0)
        _check_array("FleetParams.min_output_mw", self.min_output_mw, lo=0.0)
        over = self.min_output_mw > self.capacity_mw
        if over.any():
            i = int(np.flatnonzero(over)[0])
            _fail(f"FleetParams.min_output_mw[{i}]", float(self.min_output_mw[i]), f"<= capacity_mw[{i}] = {self.capacity_mw[i]}")
        _check_array("FleetParams.ramp_mw_per_h", self.ramp_mw_per_h, lo=0.0, allow_inf=True)
        _check_array("FleetParams.cost_a_usd_per_mw2h", self.cost_a_usd_per_mw2h, lo=0.0)
        _check_array("FleetParams.cost_b_usd_per_mwh", self.cost_b_usd_per_mwh)
        _check_array("FleetParams.cost_c_usd_per_h", self.cost_c_usd_per_h)
        _check_array("FleetParams.emission_t_co2_per_mwh", self.emission_t_co2_per_mwh, lo=0.0)

    @property
    def n_units(self) -> int:
        return int(self.capacity_mw.shape[0])

    def total_capacity_mw(self) -> float:
        return float(self.capacity_mw.sum())

    def marginal_cost_usd_per_mwh(self, p_mw: np.ndarray) -> np.ndarray:
        """Incremental cost ``dC/dp = 2 a p + b`` at output ``p`` (TSCO eq. 1)."""
        return 2.0 * self.cost_a_usd_per_mw2h * p_mw + self.cost_b_usd_per_mwh

    def replace(self, **changes) -> FleetParams:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class MarketParams:
    """Market rules of the copper-plate clearing (DESIGN §3).

    The scarcity adder follows ERCOT's operating-reserve demand curve:
    ``adder = (VOLL - lambda) * LOLP(H)``, ``LOLP(H) = 1 - Phi((H - mu) / sigma)``, with ``H`` the
    ramp-limited reserve headroom in MW.
    """

    step_minutes: float = 15.0
    voll_usd_per_mwh: float = 5000.0
    """Value of lost load, also the price cap (ERCOT's cap is $5,000/MWh)."""
    floor_price_usd_per_mwh: float = -20.0
    """Price when minimum output exceeds demand and curtailment cannot absorb the surplus."""
    ordc_mu_mw: float = 3000.0
    """ORDC mean of the reserve-error distribution (MW); ERCOT uses a minimum contingency level of this order."""
    ordc_sigma_mw: float = 1500.0
    """ORDC standard deviation of the reserve-error distribution (MW)."""
    carbon_price_usd_per_t: float = 50.0
    """Carbon price added to system cost (and, when ``carbon_in_dispatch``, to offer prices)."""
    carbon_in_dispatch: bool = False
    """If true, units offer at fuel cost + carbon price x emission factor (a carbon tax in the merit order)."""

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
