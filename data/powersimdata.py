"""The powersimdata US plant table as a :class:`~gridshift.envs.grid.types.FleetParams`.

File: ``fleets/powersimdata_usa/plant_fleet_with_costs.csv`` (derived join of powersimdata
0.5.5 ``usa_tamu`` plant/bus/zone/gencost tables; MIT, Breakthrough Energy). 14,050 plants
with EIA-860-based capacities on the TAMU synthetic network. Columns used: ``type``,
``interconnect``, ``zone_id``, ``zone_name``, ``state``, ``status``, ``Pmax``/``Pmin`` (MW),
``ramp_30`` (MW per 30 min), ``GenFuelCost`` ($/MMBtu), ``GenIOB`` (MMBtu/MWh), ``GenIOC``
(MMBtu/MW²h), ``c0`` ($/h). The heat input is ``H(p) = H0 + GenIOB p + GenIOC p²`` with the
no-load heat ``H0 = c0 / GenFuelCost`` (powersimdata builds ``c0, c1, c2`` as fuel cost
times the heat-rate coefficients).

The table has **no emission factors**. They are assigned by fuel type
(:data:`CO2_KG_PER_MMBTU`) times each unit's full-load variable heat rate
``GenIOB + GenIOC Pmax`` (MMBtu/MWh), clipped to the physical range of its fuel
(:data:`HEAT_RATE_RANGE`). The TAMU curves are cost curves fitted for a synthetic network,
not measured heat rates: ``H0 = c0/GenFuelCost`` gives coal "no-load" heats of 500+
MMBtu/h (full-load averages of 18 MMBtu/MWh in the PJM region), and gas ``GenIOB`` is
~4.7 MMBtu/MWh, below the best combined cycle; hence the clip.
Public figures:

* EIA, "Carbon Dioxide Emissions Coefficients by Fuel" (2023 release,
  www.eia.gov/environment/emissions/co2_vol_mass.php): natural gas 53.07 kg CO2/MMBtu;
  distillate fuel oil No. 2 73.16; coal, electric-power-sector mix 95.5 (bituminous 93.28,
  sub-bituminous 97.17, lignite 97.72).
* Nuclear, hydro, geothermal (flash/binary plants' direct CO2 is small, ~0.04 t/MWh per
  EIA; taken as 0), wind and solar: 0 direct CO2. ``other`` (biomass, waste, unknown) is
  counted at 0 direct fossil CO2, as EIA-930-based average intensities usually do for
  biogenic fuel; this is an assumption, stated here.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from gridshift.data.csvio import read_csv
from gridshift.data.paths import data_file
from gridshift.envs.grid.types import FleetParams

#: powersimdata ``type`` -> gridshift fuel (``None`` = not a fleet unit: exogenous availability).
TYPE_FUEL: dict[str, str | None] = {
    "ng": "gas", "coal": "coal", "dfo": "oil", "nuclear": "nuclear", "hydro": "hydro",
    "geothermal": "geothermal", "other": "other", "solar": None, "wind": None, "wind_offshore": None,
}
#: Direct CO2 per unit of heat input (kg/MMBtu), EIA coefficients (module docstring).
CO2_KG_PER_MMBTU: dict[str, float] = {"gas": 53.07, "coal": 95.5, "oil": 73.16, "nuclear": 0.0, "hydro": 0.0,
                                      "geothermal": 0.0, "other": 0.0}
#: Range of full-load heat rates (MMBtu/MWh) per fuel: EIA Electric Power Annual 2022,
#: Table 8.1 averages (gas CC 7.6, CT 11.2, steam 10.4; coal 10.5; petroleum 10.5-13.6) and
#: the best units of each class (new CC ~6.4).
HEAT_RATE_RANGE: dict[str, tuple[float, float]] = {"gas": (6.4, 13.0), "coal": (9.0, 13.0), "oil": (9.0, 15.0)}
#: Dispatchable types (thermal): the fleet a real-data scenario dispatches. Nuclear and hydro
#: are exogenous EIA-930 profiles there; solar and wind are exogenous availability.
DISPATCHABLE_TYPES: tuple[str, ...] = ("ng", "coal", "dfo", "geothermal", "other")

_REQUIRED = ("plant_id", "type", "interconnect", "zone_id", "zone_name", "state", "status", "Pmax", "Pmin",
             "ramp_30", "GenFuelCost", "GenIOB", "GenIOC", "c0")


def read_plant_table(path: str | Path | None = None) -> pd.DataFrame:
    """The plant table, checked (one row per ``plant_id``, types known, numbers finite and in
    range, ``0 <= Pmin``, ``status`` 0 or 1); a bad cell raises
    :class:`~gridshift.data.csvio.DataFormatError` naming the file, the column and the row."""
    p = Path(path) if path is not None else data_file("fleets", "powersimdata_usa", "plant_fleet_with_costs.csv")
    t = read_csv(p, _REQUIRED, what="a powersimdata plant table")
    df = t.frame.copy()
    df["plant_id"] = t.numbers("plant_id", 0, 1e12, integer=True)
    t.check_unique("plant_id", "plant")
    df["type"] = t.choice("type", sorted(TYPE_FUEL))
    for c, hi in (("Pmax", 1e5), ("Pmin", 1e5), ("ramp_30", 1e5), ("GenFuelCost", 1e4), ("GenIOB", 1e3),
                  ("GenIOC", 1e3)):
        df[c] = t.numbers(c, 0.0, hi)
    df["c0"] = t.numbers("c0", -1e9, 1e9)
    df["zone_id"] = t.numbers("zone_id", 0, 1e6, integer=True)
    df["status"] = t.numbers("status", 0, 1, integer=True)
    for c in df.columns.difference([*_REQUIRED]):  # other columns: numbers where they all are
        v = pd.to_numeric(df[c], errors="coerce")
        if not v.isna().any():
            df[c] = v
    df.attrs["source"] = str(p)
    return df


def select_plants(df: pd.DataFrame, *, states: Iterable[str] = (), zones: Iterable[int] = (),
                  interconnects: Iterable[str] = ()) -> pd.DataFrame:
    """In-service plants in any of the given states, zone ids or interconnects (union).
    Unknown names fail with the allowed values."""
    states, zones, ics = list(states), [int(z) for z in zones], list(interconnects)
    for field, vals, allowed in (("states", states, df["state"].unique()), ("zones", zones, df["zone_id"].unique()),
                                 ("interconnects", ics, df["interconnect"].unique())):
        unknown = [v for v in vals if v not in set(allowed)]
        if unknown:
            raise ValueError(f"{field}={unknown!r} is invalid: allowed values {sorted(allowed.tolist())}")
    if not (states or zones or ics):
        raise ValueError("no region given: pass states=, zones= or interconnects=")
    m = df["state"].isin(states) | df["zone_id"].isin(zones) | df["interconnect"].isin(ics)
    return df[m & (df["status"] == 1)]


def fleet_from_plants(df: pd.DataFrame, *, types: Iterable[str] = DISPATCHABLE_TYPES,
                      fuel_price_usd_per_mmbtu: dict[str, float] | None = None,
                      fuel_price_scale: dict[str, float] | None = None, pmin_scale: float = 1.0,
                      name_prefix: str = "psd", cost_model: str = "table") -> FleetParams:
    """Build a fleet from plant rows.

    Per unit (``F`` = fuel price, $/MMBtu: ``fuel_price_usd_per_mmbtu[fuel]`` when given, e.g.
    the Henry Hub price for gas, else the table's ``GenFuelCost``; times
    ``fuel_price_scale[fuel]``, default 1):

    * ``cost_model="table"``: ``a = GenIOC F`` ($/MW²h), ``b = GenIOB F`` ($/MWh),
      ``c = H0 F`` ($/h), TSCO eq. 1, the TAMU curves as published.
      ``cost_model="average"``: a linear offer at the unit's full-load average heat rate,
      ``b = clip(GenIOB + GenIOC Pmax + H0 / Pmax) F`` with the clip of
      :data:`HEAT_RATE_RANGE` (the heat rate the emission factor uses), ``a = c = 0``. The
      TAMU incremental coefficients put every gas unit's incremental heat rate near 4.7
      MMBtu/MWh, below the best combined cycle's, with the rest in a large no-load heat: the
      merit order is then nearly flat; the average heat rate restores the spread between
      combined cycles (~7) and peakers (10-13) of EIA's Table 8.1.
    * ``capacity_mw = Pmax``; ``min_output_mw = pmin_scale x Pmin`` (gridshift has no unit
      commitment: every unit stays online, so the table's Pmin would make all of them
      must-run; ``pmin_scale = 0`` lets a unit go to zero, i.e. decommit).
    * ``ramp_mw_per_h = 2 ramp_30``; ``inf`` where ``ramp_30 = 0`` (no data in the table).
    * ``emission_t_co2_per_mwh = CO2_KG_PER_MMBTU[fuel] clip(GenIOB + GenIOC Pmax) / 1000``.
    * Unit commitment (the table has none): each unit gets a technology class
      (:func:`uc_classes`) and that class's RTS-GMLC figures
      (:data:`~gridshift.data.fleets_rts.RTS_UC_CLASSES`): minimum up/down time, fast start,
      and a start costing the class's hot-start fuel per MW x ``Pmax`` x ``F``; fast-start
      units ramp at least at their class's rate (the table's ``ramp_30`` is a flat 50 % of
      ``Pmax`` per 30 minutes for every gas unit, a default rather than turbine data). The fuel
      price ``F`` is recorded (``fuel_price_usd_per_mmbtu``; no VOM: the TAMU costs are fuel
      only), so a daily gas price can rescale gas units' costs.
    """
    types = list(types)
    unknown = [t for t in types if t not in TYPE_FUEL or TYPE_FUEL[t] is None]
    if unknown:
        raise ValueError(f"types={unknown!r} is invalid: allowed {sorted(k for k, v in TYPE_FUEL.items() if v)}")
    if not (np.isfinite(pmin_scale) and 0.0 <= pmin_scale <= 1.0):
        raise ValueError(f"pmin_scale={pmin_scale!r} is invalid: allowed 0 <= pmin_scale <= 1")
    d = df[df["type"].isin(types) & (df["Pmax"] > 0)]
    if d.empty:
        raise ValueError(f"no in-service plant of types {types} in the selection")
    fuel = d["type"].map(TYPE_FUEL).to_numpy()
    table_price = d["GenFuelCost"].to_numpy(np.float64)
    price = table_price.copy()
    for f, v in (fuel_price_usd_per_mmbtu or {}).items():
        price = np.where(fuel == f, float(v), price)
    for f, s in (fuel_price_scale or {}).items():
        price = np.where(fuel == f, price * float(s), price)
    pmax = d["Pmax"].to_numpy(np.float64)
    ioc, iob = d["GenIOC"].to_numpy(np.float64), d["GenIOB"].to_numpy(np.float64)
    h0 = np.where(table_price > 0, d["c0"].to_numpy(np.float64) / np.where(table_price > 0, table_price, 1.0), 0.0)
    h0 = np.maximum(h0, 0.0)
    if cost_model not in ("table", "average"):
        raise ValueError(f"cost_model={cost_model!r} is invalid: allowed 'table' or 'average'")
    hr = iob + ioc * pmax
    hr_avg = hr + h0 / np.maximum(pmax, 1e-9)
    for f, (lo, hi) in HEAT_RATE_RANGE.items():
        hr = np.where(fuel == f, np.clip(hr, lo, hi), hr)
        hr_avg = np.where(fuel == f, np.clip(hr_avg, lo, hi), hr_avg)
    if cost_model == "average":
        hr = hr_avg
        cost = (np.zeros_like(pmax), hr_avg * price, np.zeros_like(pmax))
    else:
        cost = (ioc * price, iob * price, h0 * price)
    co2 = np.array([CO2_KG_PER_MMBTU[f] for f in fuel])
    ramp = 2.0 * d["ramp_30"].to_numpy(np.float64)
    from gridshift.data.fleets_rts import RTS_UC_CLASSES

    cls = uc_classes(d)
    uc = {k: np.array([RTS_UC_CLASSES[c][k] for c in cls]) for k in ("min_up_h", "min_down_h", "fast_start")}
    start = np.array([RTS_UC_CLASSES[c]["start_mmbtu_per_mw"] for c in cls]) * pmax * price
    # Fast-start units ramp at their class's rate (the TAMU ramp_30 is a flat 50 % of Pmax per
    # 30 min for gas, a default rather than turbine data).
    class_ramp = np.array([RTS_UC_CLASSES[c]["ramp_pct_per_min"] for c in cls]) / 100.0 * pmax * 60.0
    ramp = np.where(uc["fast_start"].astype(bool), np.maximum(np.where(ramp > 0, ramp, np.inf), class_ramp), ramp)
    return FleetParams(
        startup_cost_usd=start, min_up_h=uc["min_up_h"], min_down_h=uc["min_down_h"],
        fast_start=uc["fast_start"].astype(bool), fuel_price_usd_per_mmbtu=price,
        name=tuple(f"{name_prefix}_{t}_{int(i)}" for t, i in zip(d["type"], d["plant_id"], strict=True)),
        fuel=tuple(fuel),
        capacity_mw=pmax,
        min_output_mw=np.minimum(pmin_scale * d["Pmin"].to_numpy(np.float64), pmax),
        ramp_mw_per_h=np.where(ramp > 0, ramp, np.inf),
        cost_a_usd_per_mw2h=cost[0],
        cost_b_usd_per_mwh=cost[1],
        cost_c_usd_per_h=cost[2],
        emission_t_co2_per_mwh=co2 * hr / 1000.0,
    )


#: Gas units smaller than this (MW), or with a full-load average heat rate of at least
#: :data:`CT_MIN_HEAT_RATE`, are combustion turbines (fast start); the others combined
#: cycles. EIA-860 peaking turbines are mostly 20-100 MW aeroderivatives or frame units with
#: average heat rates of 10-13 MMBtu/MWh (EIA Electric Power Annual Table 8.1: gas turbines
#: 11.2), combined cycles 7-8.
CT_MAX_MW = 50.0
CT_MIN_HEAT_RATE = 10.0


def uc_classes(d: pd.DataFrame) -> list[str]:
    """Technology class of each plant row for unit-commitment data: coal -> ``coal_steam``;
    gas -> ``gas_ct`` (small or inefficient, see :data:`CT_MAX_MW`) or ``gas_cc``; oil
    (``dfo``) -> ``oil_ct``; geothermal and other (biomass, waste) -> ``coal_steam`` figures
    (steam plants run as baseload); nuclear -> ``nuclear``; hydro -> ``hydro``."""
    pmax = d["Pmax"].to_numpy(np.float64)
    price = d["GenFuelCost"].to_numpy(np.float64)
    h0 = np.where(price > 0, d["c0"].to_numpy(np.float64) / np.where(price > 0, price, 1.0), 0.0)
    avg_hr = d["GenIOB"].to_numpy(np.float64) + d["GenIOC"].to_numpy(np.float64) * pmax + np.maximum(h0, 0.0) / np.maximum(
        pmax, 1e-9)
    out = []
    for t, p, hr in zip(d["type"], pmax, avg_hr, strict=True):
        if t == "ng":
            out.append("gas_ct" if (p < CT_MAX_MW or hr >= CT_MIN_HEAT_RATE) else "gas_cc")
        else:
            out.append({"coal": "coal_steam", "dfo": "oil_ct", "nuclear": "nuclear", "hydro": "hydro"}.get(t, "coal_steam"))
    return out


def load_powersimdata_fleet(path: str | Path | None = None, *, states: Iterable[str] = (), zones: Iterable[int] = (),
                            interconnects: Iterable[str] = (), **kw) -> FleetParams:
    """Read the plant table, select a region, build the fleet (:func:`fleet_from_plants`)."""
    df = read_plant_table(path)
    return fleet_from_plants(select_plants(df, states=states, zones=zones, interconnects=interconnects), **kw)
