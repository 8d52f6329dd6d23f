"""The dispatchable fleet's parameters (:class:`FleetParams`) and the validation helpers
shared by every params class; re-exported by :mod:`gridshift.envs.grid.types`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

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


#: Optional unit-commitment and fuel columns of :class:`FleetParams` and their defaults (a
#: fleet without them commits nothing: zero start-up cost, no minimum up/down time, no
#: fast-start units, all of ``b`` treated as fuel cost at an unknown price).
UC_FIELDS: dict[str, float | bool] = {
    "startup_cost_usd": 0.0,
    "min_up_h": 0.0,
    "min_down_h": 0.0,
    "fast_start": False,
    "vom_usd_per_mwh": 0.0,
    "fuel_price_usd_per_mmbtu": 0.0,
    "gas_indexed": False,
}


@dataclass(frozen=True, eq=False)
class FleetParams:
    """The dispatchable fleet: one entry per unit, all arrays of shape ``[G]``.

    Cost follows TSCO eq. (1): ``C_g(p) = a_g p^2 + b_g p + c_g`` in $/h for output ``p``
    in MW. Units with ``a_g = 0`` have a constant marginal cost and clear as a
    merit-order step. ``ramp_mw_per_h`` bounds the change of output between steps
    (``inf`` = no limit); it makes the grid path-dependent.

    ``min_output_mw`` is the minimum stable output of a unit *while it is online*. Without
    unit commitment (``online=None`` in :func:`~gridshift.envs.grid.copper_plate.clear_arrays`)
    every unit is online for the whole episode, so ``min_output_mw`` is a hard floor (how
    must-run units are expressed). With a commitment schedule
    (:func:`gridshift.envs.grid.commitment.commit_schedule`) an offline unit produces 0.

    Unit-commitment data (optional, defaults in :data:`UC_FIELDS`):

    * ``startup_cost_usd``: cost of one start ($): start-up fuel x fuel price + non-fuel cost;
    * ``min_up_h`` / ``min_down_h``: minimum time (hours) a unit stays online after a start /
      offline after a shut-down;
    * ``fast_start``: units that start within one dispatch step (combustion turbines,
      internal-combustion engines); exempt from the day-ahead commitment and always
      available to real-time dispatch, with their minimum output relaxed to 0;
    * ``vom_usd_per_mwh``: the non-fuel part of ``b`` (variable O&M); the rest of ``a``, ``b``,
      ``c`` is fuel cost at ``fuel_price_usd_per_mmbtu``, so that a different gas price
      rescales it (``0`` = unknown: the unit's cost does not follow the gas price);
    * ``gas_indexed``: a non-gas unit whose fuel is priced as a multiple of the gas price
      (``fuel_price_usd_per_mmbtu`` is then that gas price), so that it follows the gas price
      as gas units do (:func:`gridshift.data.region_fleet.index_coal_to_gas`).
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
    startup_cost_usd: np.ndarray | None = None
    min_up_h: np.ndarray | None = None
    min_down_h: np.ndarray | None = None
    fast_start: np.ndarray | None = None
    vom_usd_per_mwh: np.ndarray | None = None
    fuel_price_usd_per_mmbtu: np.ndarray | None = None
    gas_indexed: np.ndarray | None = None

    def __post_init__(self) -> None:
        core = [f.name for f in dataclasses.fields(self) if f.name not in ("name", "fuel") and f.name not in UC_FIELDS]
        n = None
        for k in core:
            a = np.asarray(getattr(self, k), dtype=np.float64)
            if a.ndim != 1:
                _fail(f"FleetParams.{k}", a.shape, "a 1-D array (one entry per unit)")
            if n is None:
                n = a.shape[0]
            elif a.shape[0] != n:
                _fail(f"FleetParams.{k}", f"length {a.shape[0]}", f"length {n} (same as capacity_mw)")
            object.__setattr__(self, k, _readonly(a))
        if not n:
            _fail("FleetParams.capacity_mw", "[]", "at least one unit")
        for k, default in UC_FIELDS.items():
            v = getattr(self, k)
            dtype = np.bool_ if isinstance(default, bool) else np.float64
            if v is None:
                a = np.full(n, default, dtype=dtype)
            else:
                a = np.asarray(v)
                if a.ndim == 0:
                    a = np.full(n, a)
                if a.ndim != 1 or a.shape[0] != n:
                    _fail(f"FleetParams.{k}", f"shape {a.shape}", f"a scalar or length {n} (same as capacity_mw)")
                if dtype is np.bool_ and a.dtype != np.bool_:
                    if not np.isin(a, (0, 1)).all():
                        i = int(np.flatnonzero(~np.isin(a, (0, 1)))[0])
                        _fail(f"FleetParams.{k}[{i}]", a[i], "true/false (or 1/0)")
                a = a.astype(dtype)
            object.__setattr__(self, k, _readonly(a))
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
        _check_array("FleetParams.startup_cost_usd", self.startup_cost_usd, lo=0.0)
        for k in ("min_up_h", "min_down_h"):
            _check_array(f"FleetParams.{k}", getattr(self, k), lo=0.0)
            big = getattr(self, k) > 8760.0
            if big.any():
                i = int(np.flatnonzero(big)[0])
                _fail(f"FleetParams.{k}[{i}]", float(getattr(self, k)[i]), "0 <= hours <= 8760")
        _check_array("FleetParams.vom_usd_per_mwh", self.vom_usd_per_mwh)
        _check_array("FleetParams.fuel_price_usd_per_mmbtu", self.fuel_price_usd_per_mmbtu, lo=0.0)

    @property
    def n_units(self) -> int:
        return int(self.capacity_mw.shape[0])

    def total_capacity_mw(self) -> float:
        return float(self.capacity_mw.sum())

    def marginal_cost_usd_per_mwh(self, p_mw: np.ndarray) -> np.ndarray:
        """Incremental cost ``dC/dp = 2 a p + b`` at output ``p`` (TSCO eq. 1)."""
        return 2.0 * self.cost_a_usd_per_mw2h * p_mw + self.cost_b_usd_per_mwh

    def gas_units(self) -> np.ndarray:
        """``[G]`` bool: units whose cost follows the gas price (fuel ``gas`` or ``gas_indexed``,
        and a known ``fuel_price_usd_per_mmbtu``)."""
        return ((np.array([f == "gas" for f in self.fuel]) | self.gas_indexed)
                & (self.fuel_price_usd_per_mmbtu > 0.0))

    def replace(self, **changes) -> FleetParams:
        return dataclasses.replace(self, **changes)

    def scaled(self, s: float | np.ndarray) -> FleetParams:
        """Every capacity, minimum output, ramp and start-up cost times ``s`` (a bigger or
        smaller copy of the same fleet; per-MW costs unchanged). ``s`` is one factor or one
        per unit (``[G]``)."""
        s = np.asarray(s, dtype=np.float64)
        if s.ndim not in (0, 1) or (s.ndim == 1 and s.shape != (self.n_units,)):
            _fail("capacity_scale", s.shape, f"a scalar or shape ({self.n_units},)")
        bad = ~(np.isfinite(s) & (s > 0))
        if bad.any():
            _fail("capacity_scale" if s.ndim == 0 else f"capacity_scale[{int(np.flatnonzero(bad)[0])}]",
                  float(s.ravel()[np.flatnonzero(bad.ravel())[0]]), "a finite value > 0")
        return self.replace(capacity_mw=self.capacity_mw * s, min_output_mw=self.min_output_mw * s,
                            ramp_mw_per_h=self.ramp_mw_per_h * s, startup_cost_usd=self.startup_cost_usd * s,
                            cost_a_usd_per_mw2h=self.cost_a_usd_per_mw2h / s, cost_c_usd_per_h=self.cost_c_usd_per_h * s)
