"""The synthetic default system: a ~60 GW-peak grid with a realistic thermal mix.

The fleet is built deterministically from the technology table :data:`TECHNOLOGIES`. Each
technology is split into ``n_units`` units whose heat rates are spread evenly across the
technology's range, so the merit order is a staircase with realistic steps rather than one
block per fuel. Costs follow TSCO eq. (1), ``C(p) = a p^2 + b p + c``:

* ``b`` = heat rate x fuel price + variable O&M ($/MWh),
* ``a`` is chosen so that the incremental cost rises by ``mc_rise_usd_per_mwh`` from zero
  output to full output (part-load efficiency loss), ``a = rise / (2 capacity)``;
  technologies with ``mc_rise = 0`` are linear merit-order steps,
* ``c`` is a no-load cost, ``no_load_frac`` of the full-load fuel cost.

Public figures used (rounded):

* Heat rates: EIA Electric Power Annual 2022, Table 8.1 (average operating heat rates:
  coal ~10.0, natural gas combined cycle ~7.6, gas steam ~10.4, gas turbine ~11.2,
  petroleum ~11.0, nuclear ~10.4 MMBtu/MWh).
* CO2 coefficients: EIA "Carbon Dioxide Emissions Coefficients" (kg CO2/MMBtu): natural gas
  53.07, bituminous/sub-bituminous coal ~95.5, distillate fuel oil 73.16.
* Fuel prices (delivered, $/MMBtu, 2022-ish levels without the 2022 gas spike): gas 4.5,
  coal 2.1, distillate 18, nuclear fuel 0.7 (EIA EPA Table 7.4 order of magnitude).
* Variable O&M ($/MWh): EIA AEO 2023 cost and performance assumptions.
* Ramp rates, minimum up/down times, hot-start fuel and the fast-start flag: the
  capacity-weighted medians of the RTS-GMLC units of the same class
  (:data:`gridshift.data.fleets_rts.RTS_UC_CLASSES`, from GridMod/RTS-GMLC ``gen.csv``;
  minimum stable output in parentheses, used for coal): coal steam 1.94 %/min, (40 %),
  8 h / 8 h, 44.5 MMBtu/MW per start; combined cycle 1.17 %/min, (48 %), 8 h / 4.5 h,
  9.0 MMBtu/MW; gas CT 6.73 %/min, (40 %), 2.2 h / 2.2 h,
  8.2 MMBtu/MW, fast start (hot start 15 min); oil CT 15 %/min, 40 %, 1 h / 1 h,
  0.25 MMBtu/MW, fast start. Fast-start units have their minimum output relaxed to 0 in
  dispatch, so the table gives them 0 (not RTS-GMLC's 40 %) and every model of the fleet
  (the clearing, the oracle's LP) sees the same bounds. Gas steam boilers (none in RTS-GMLC) take the coal-steam
  figures (same boiler technology). Combined cycles and gas boilers keep the previous
  table's minimum outputs (35 % and 25 %: a 2x1 combined cycle turned down on one turbine,
  a gas boiler's wider turndown than coal's), below RTS-GMLC's single-block 48 %, so that the
  fleet without commitment (every unit always online) does not gain must-run output. Nuclear: 24 h / 48 h and 25 MMBtu/MW (RTS-GMLC), ramp
  0.5 %/min (NREL ATB: nuclear runs flat). A start costs hot-start fuel x fuel price (RTS-GMLC
  lists no non-fuel start cost for thermal units). With these ramps a CCGT moves at most 18 %
  of its capacity in a 15-minute step (it was 60 %).
* The capacity mix (~61 GW thermal + must-run, ~20 GW wind, ~8 GW solar for a 60 GW-peak
  load) is ERCOT's 2022 mix scaled by 60/80 (ERCOT's peak was about 80 GW).

Exogenous demand, solar and wind follow the typical-day profiles derived from EIA-930 ERCO
2022 (see :mod:`gridshift.data.profiles` and ``profiles/PROVENANCE.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridshift.envs.grid.types import FleetParams, GridParams, MarketParams

_LB_PER_KG = 2.20462


@dataclass(frozen=True)
class Technology:
    """One row of the technology table (units in the names)."""

    name: str
    fuel: str
    n_units: int
    total_capacity_mw: float
    min_output_frac: float
    """Minimum stable output as a share of capacity (must-run units: close to 1)."""
    ramp_pct_per_min: float
    """Ramp limit in % of capacity per minute (``inf`` = no limit)."""
    heat_rate_mmbtu_per_mwh: tuple[float, float]
    """Range across the technology's units, best to worst."""
    fuel_price_usd_per_mmbtu: float
    vom_usd_per_mwh: float
    co2_kg_per_mmbtu: float
    mc_rise_usd_per_mwh: float
    """Rise of incremental cost from zero to full output; 0 makes a linear (step) unit."""
    no_load_frac: float = 0.0
    min_up_h: float = 0.0
    min_down_h: float = 0.0
    start_heat_mmbtu_per_mw: float = 0.0
    """Fuel burnt by one (hot) start, per MW of capacity."""
    fast_start: bool = False
    """Starts within one 15-minute step (exempt from the day-ahead commitment)."""


#: The default technology table (sources in the module docstring).
TECHNOLOGIES: tuple[Technology, ...] = (
    Technology("nuclear", "nuclear", 4, 4000.0, 0.95, 0.5, (10.4, 10.5), 0.7, 2.5, 0.0, 0.0, 0.0, 24.0, 48.0, 25.0),
    Technology("hydro", "hydro", 2, 500.0, 0.2, 50.0, (0.0, 0.0), 0.0, 1.0, 0.0, 0.0, 0.0),
    Technology("coal", "coal", 8, 10000.0, 0.40, 1.94, (9.8, 10.8), 2.1, 4.5, 95.5, 3.0, 0.05, 8.0, 8.0, 44.47),
    Technology("ccgt", "gas", 15, 30000.0, 0.35, 1.17, (6.4, 7.8), 4.5, 2.5, 53.07, 4.0, 0.05, 8.0, 4.5, 9.0),
    Technology("gas_steam", "gas", 6, 6000.0, 0.25, 1.94, (10.0, 11.5), 4.5, 4.0, 53.07, 3.0, 0.05, 8.0, 8.0, 44.47),
    Technology("ct", "gas", 10, 10000.0, 0.0, 6.73, (10.2, 12.4), 4.5, 5.0, 53.07, 0.0, 0.0, 2.2, 2.2, 8.23, True),
    Technology("oil", "oil", 2, 1000.0, 0.0, 15.0, (11.0, 12.0), 18.0, 6.0, 73.16, 0.0, 0.0, 1.0, 1.0, 0.25, True),
)


def build_fleet(technologies: tuple[Technology, ...] = TECHNOLOGIES, *, capacity_scale: float = 1.0) -> FleetParams:
    """Expand a technology table into a unit-level :class:`FleetParams`.

    ``capacity_scale`` multiplies every capacity (and so every minimum output, ramp, no-load
    and start-up cost).
    """
    if not (np.isfinite(capacity_scale) and capacity_scale > 0):
        raise ValueError(f"capacity_scale={capacity_scale!r} is invalid: allowed a finite value > 0")
    names, fuels = [], []
    cols = {k: [] for k in ("cap", "pmin", "ramp", "a", "b", "c", "e", "su", "up", "dn", "fast", "vom", "fp")}
    for t in technologies:
        hr = np.linspace(t.heat_rate_mmbtu_per_mwh[0], t.heat_rate_mmbtu_per_mwh[1], t.n_units)
        cap = t.total_capacity_mw * capacity_scale / t.n_units
        for j in range(t.n_units):
            names.append(f"{t.name}_{j + 1}")
            fuels.append(t.fuel)
            b = hr[j] * t.fuel_price_usd_per_mmbtu + t.vom_usd_per_mwh
            cols["cap"].append(cap)
            cols["pmin"].append(t.min_output_frac * cap)
            cols["ramp"].append(t.ramp_pct_per_min / 100.0 * cap * 60.0)
            cols["a"].append(t.mc_rise_usd_per_mwh / (2.0 * cap))
            cols["b"].append(b)
            cols["c"].append(t.no_load_frac * b * cap)
            cols["e"].append(hr[j] * t.co2_kg_per_mmbtu / 1000.0)
            cols["su"].append(t.start_heat_mmbtu_per_mw * t.fuel_price_usd_per_mmbtu * cap)
            cols["up"].append(t.min_up_h)
            cols["dn"].append(t.min_down_h)
            cols["fast"].append(t.fast_start)
            cols["vom"].append(t.vom_usd_per_mwh)
            cols["fp"].append(t.fuel_price_usd_per_mmbtu)
    return FleetParams(
        name=tuple(names),
        fuel=tuple(fuels),
        capacity_mw=np.array(cols["cap"]),
        min_output_mw=np.array(cols["pmin"]),
        ramp_mw_per_h=np.array(cols["ramp"]),
        cost_a_usd_per_mw2h=np.array(cols["a"]),
        cost_b_usd_per_mwh=np.array(cols["b"]),
        cost_c_usd_per_h=np.array(cols["c"]),
        emission_t_co2_per_mwh=np.array(cols["e"]),
        startup_cost_usd=np.array(cols["su"]),
        min_up_h=np.array(cols["up"]),
        min_down_h=np.array(cols["dn"]),
        fast_start=np.array(cols["fast"], dtype=bool),
        vom_usd_per_mwh=np.array(cols["vom"]),
        fuel_price_usd_per_mmbtu=np.array(cols["fp"]),
    )


@dataclass(frozen=True)
class SyntheticSystem:
    """Sizes of the synthetic default system's exogenous inputs (MW).

    The typical-day profiles are per-unit; these scale them. Defaults are ERCOT 2022 scaled
    by 60/80: 60 GW peak non-DC demand, 20 GW wind and 8 GW solar at their annual maxima.
    """

    peak_demand_mw: float = 60000.0
    wind_capacity_mw: float = 20000.0
    solar_capacity_mw: float = 8000.0

    def __post_init__(self) -> None:
        for k in ("peak_demand_mw", "wind_capacity_mw", "solar_capacity_mw"):
            v = getattr(self, k)
            lo = 0.0 if k != "peak_demand_mw" else 1e-9
            if not (np.isfinite(v) and v >= lo):
                raise ValueError(f"SyntheticSystem.{k}={v!r} is invalid: allowed a finite value >= {lo:g}")


def default_grid_params(market: MarketParams | None = None) -> GridParams:
    """The default grid: :func:`build_fleet` over :data:`TECHNOLOGIES`, default market rules."""
    return GridParams(fleet=build_fleet(), market=market or MarketParams())


def exogenous_days(
    system: SyntheticSystem,
    month: np.ndarray,
    start_dow: np.ndarray,
    n_steps: int,
    step_minutes: float,
    *,
    rng: np.random.Generator | None = None,
    noise_scale: float = 1.0,
    table=None,
    ar_timescale_h: dict[str, float] | None = None,
) -> dict[str, np.ndarray]:
    """Demand, solar and wind (MW), ``[B, n_steps]``, from the typical-day profiles.

    Step 0 is local midnight of weekday ``start_dow[b]`` (0 = Monday) in ``month[b]``. The mean
    is the table's hourly mean (placed at the middle of its hour), interpolated linearly. With ``rng``, AR(1)
    noise with a ``ar_timescale_h`` correlation time and the table's hourly standard deviation
    (times ``noise_scale``) as its stationary spread is added; solar stays 0 where its mean is
    0 (night), and every series stays >= 0.
    """
    from gridshift.data.profiles import load_profile_table

    table = table or load_profile_table()
    month = np.asarray(month, dtype=np.int64)
    start_dow = np.asarray(start_dow, dtype=np.int64)
    nb = month.shape[0]
    dt_h = step_minutes / 60.0
    hours = np.arange(n_steps) * dt_h
    day = np.floor(hours / 24.0).astype(np.int64)
    # Row h of the table is the mean of the clock hour [h, h+1): it sits at h + 0.5.
    hh = hours - 24.0 * day - 0.5
    h0 = np.floor(hh).astype(np.int64) % 24
    h1 = (h0 + 1) % 24
    w = hh - np.floor(hh)
    dow = (start_dow[:, None] + day[None, :]) % 7
    daytype = (dow >= 5).astype(np.int64)  # 0 weekday, 1 weekend
    m = (month - 1)[:, None]
    taus = table.tau_hours() | (ar_timescale_h or {})
    out = {}
    for key, scale in (("demand", system.peak_demand_mw), ("solar", system.solar_capacity_mw), ("wind", system.wind_capacity_mw)):
        mean_t, std_t = getattr(table, f"{key}_pu_mean"), getattr(table, f"{key}_pu_std")  # [12, 2, 24]
        mean = (1 - w) * mean_t[m, daytype, h0] + w * mean_t[m, daytype, h1]
        if rng is not None and noise_scale > 0:
            sd = (1 - w) * std_t[m, daytype, h0] + w * std_t[m, daytype, h1]
            phi = np.exp(-dt_h / taus[key])
            eps = rng.standard_normal((nb, n_steps))
            z = np.empty_like(eps)
            z[:, 0] = eps[:, 0]
            innov = np.sqrt(1 - phi**2)
            for k in range(1, n_steps):
                z[:, k] = phi * z[:, k - 1] + innov * eps[:, k]
            series = mean + noise_scale * sd * z
            if key == "solar":
                series = np.where(mean > 1e-6, series, 0.0)
        else:
            series = mean
        out[f"{key}_mw"] = np.maximum(series, 0.0) * scale
    return out


def typical_day_exogenous(
    system: SyntheticSystem,
    month: int,
    daytype: str,
    step_minutes: float,
    *,
    rng: np.random.Generator | None = None,
    table=None,
) -> dict[str, np.ndarray]:
    """Demand, solar and wind (MW) over one typical ``daytype`` day of ``month``, ``[T]``."""
    if daytype not in ("weekday", "weekend"):
        raise ValueError(f"daytype={daytype!r} is invalid: allowed 'weekday' or 'weekend'")
    n = int(round(24 * 60 / step_minutes))
    dow = np.array([0 if daytype == "weekday" else 5])
    ex = exogenous_days(system, np.array([month]), dow, n, step_minutes, rng=rng, table=table)
    return {k: v[0] for k, v in ex.items()}
