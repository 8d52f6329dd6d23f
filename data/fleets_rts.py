"""RTS-GMLC ``gen.csv`` as a :class:`~gridshift.envs.grid.types.FleetParams`
(:func:`load_rts_gmlc`; re-exported by :mod:`gridshift.data.fleets`)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from gridshift.data.fleets_common import (
    _KG_PER_LB,
    MAX_UNIT_MW,
    check_fuel,
    check_min_le_cap,
    read_fleet_table,
)
from gridshift.envs.grid.types import FleetParams

#: Largest curve point ``Output_pct_*`` (fractions of PMax, or percent: up to 100).
MAX_PCT = 1000.0


#: RTS-GMLC unit types that are not fleet units: renewables and storage are exogenous
#: (zero-cost availability or a separate device), synchronous condensers produce no energy.
RTS_SKIP_UNIT_TYPES: frozenset[str] = frozenset(
    {"PV", "RTPV", "WIND", "CSP", "STORAGE", "SYNC_COND"}
)

#: RTS-GMLC ``Fuel`` value -> gridshift fuel.
RTS_FUEL_MAP: dict[str, str] = {
    "Coal": "coal",
    "NG": "gas",
    "Oil": "oil",
    "Nuclear": "nuclear",
    "Hydro": "hydro",
}
_RTS_SKIP_FUELS = frozenset({"Solar", "Wind", "Storage", "Sync_Cond"})

#: Unit-commitment figures per technology class: capacity-weighted medians over the RTS-GMLC
#: units of the class (GridMod/RTS-GMLC ``RTS_Data/SourceData/gen.csv``;
#: :func:`rts_uc_class_medians` recomputes them, a test checks they match): ramp (% of
#: capacity per minute), minimum stable output (fraction of capacity), minimum up / down time
#: (h), hot-start fuel (MMBtu per MW of capacity; RTS-GMLC's non-fuel start cost is 0 for
#: every thermal unit), fast start (hot start within 15 minutes). Gas steam boilers, absent
#: from RTS-GMLC, take the coal-steam figures (same boiler technology); hydro has none.
RTS_UC_CLASSES: dict[str, dict[str, float | bool]] = {
    "coal_steam": dict(ramp_pct_per_min=1.94, pmin_frac=0.40, min_up_h=8.0, min_down_h=8.0, start_mmbtu_per_mw=44.47,
                       fast_start=False),
    "gas_cc": dict(ramp_pct_per_min=1.17, pmin_frac=0.479, min_up_h=8.0, min_down_h=4.5, start_mmbtu_per_mw=9.0,
                   fast_start=False),
    "gas_ct": dict(ramp_pct_per_min=6.73, pmin_frac=0.40, min_up_h=2.2, min_down_h=2.2, start_mmbtu_per_mw=8.23,
                   fast_start=True),
    "oil_ct": dict(ramp_pct_per_min=15.0, pmin_frac=0.40, min_up_h=1.0, min_down_h=1.0, start_mmbtu_per_mw=0.25,
                   fast_start=True),
    "oil_steam": dict(ramp_pct_per_min=8.33, pmin_frac=0.417, min_up_h=4.0, min_down_h=2.0, start_mmbtu_per_mw=3.17,
                      fast_start=False),
    "nuclear": dict(ramp_pct_per_min=5.0, pmin_frac=0.99, min_up_h=24.0, min_down_h=48.0, start_mmbtu_per_mw=25.0,
                    fast_start=False),
}
RTS_UC_CLASSES["gas_steam"] = dict(RTS_UC_CLASSES["coal_steam"])
RTS_UC_CLASSES["hydro"] = dict(ramp_pct_per_min=100.0, pmin_frac=0.0, min_up_h=0.0, min_down_h=0.0,
                               start_mmbtu_per_mw=0.0, fast_start=False)
#: RTS-GMLC (Unit Type, Fuel) of each class in :data:`RTS_UC_CLASSES`.
RTS_CLASS_OF_TYPE: dict[tuple[str, str], str] = {
    ("STEAM", "Coal"): "coal_steam", ("CC", "NG"): "gas_cc", ("CT", "NG"): "gas_ct", ("CT", "Oil"): "oil_ct",
    ("STEAM", "Oil"): "oil_steam", ("NUCLEAR", "Nuclear"): "nuclear",
}
#: A unit whose hot start takes at most this long (h) is fast-start (one 15-minute step).
FAST_START_MAX_H = 0.25

#: Optional RTS-GMLC columns read for unit commitment.
_RTS_UC_COLUMNS = ("Min Up Time Hr", "Min Down Time Hr", "Start Heat Hot MBTU", "Non Fuel Start Cost $",
                   "Start Time Hot Hr")


def _weighted_median(v: np.ndarray, w: np.ndarray) -> float:
    o = np.argsort(v, kind="stable")
    c = np.cumsum(w[o])
    return float(v[o][np.searchsorted(c, 0.5 * c[-1])])


def rts_uc_class_medians(path: str | Path) -> dict[str, dict[str, float | bool]]:
    """Recompute :data:`RTS_UC_CLASSES` (the RTS-GMLC classes) from ``gen.csv``."""
    t = read_fleet_table(path, (*_RTS_REQUIRED, *_RTS_UC_COLUMNS), unique="GEN UID")
    ut, fu = t.col("Unit Type"), t.col("Fuel")
    out: dict[str, dict[str, float | bool]] = {}
    for (u, f), cls in RTS_CLASS_OF_TYPE.items():
        rows = [i for i in range(len(t)) if ut[i] == u and fu[i] == f]
        cap = t.numbers("PMax MW", 0.0, MAX_UNIT_MW, rows=rows)

        def med(col, per_mw=False, rows=rows, cap=cap):
            v = t.numbers(col, 0.0, 1e7, rows=rows)
            return _weighted_median(v / cap if per_mw else v, cap)

        out[cls] = dict(ramp_pct_per_min=round(100 * med("Ramp Rate MW/Min", True), 2),
                        pmin_frac=round(med("PMin MW", True), 3), min_up_h=med("Min Up Time Hr"),
                        min_down_h=med("Min Down Time Hr"), start_mmbtu_per_mw=round(med("Start Heat Hot MBTU", True), 2),
                        fast_start=bool(med("Start Time Hot Hr") <= FAST_START_MAX_H))
    return out


_RTS_REQUIRED = (
    "GEN UID",
    "Unit Type",
    "Fuel",
    "PMax MW",
    "PMin MW",
    "Ramp Rate MW/Min",
    "Fuel Price $/MMBTU",
    "Output_pct_0",
    "HR_avg_0",
    "VOM",
    "Emissions CO2 Lbs/MMBTU",
)


def _rts_cost_points(
    pmax_mw: float, out_frac: list[float], hr_avg0: float, hr_incr: list[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Output points (MW) and fuel input (MMBtu/h) of the piecewise-linear RTS-GMLC curve.

    ``F(P_0) = HR_avg_0 * P_0 / 1000`` and
    ``F(P_k) = F(P_{k-1}) + HR_incr_k (P_k - P_{k-1}) / 1000``
    (heat rates in BTU/kWh = 1/1000 MMBtu/MWh). ``out_frac`` and ``hr_incr`` are already
    truncated to the segments that are present.
    """
    p = np.array(out_frac) * pmax_mw
    f = np.empty_like(p)
    f[0] = hr_avg0 * p[0] / 1000.0
    for k in range(1, p.size):
        f[k] = f[k - 1] + hr_incr[k - 1] * (p[k] - p[k - 1]) / 1000.0
    return p, f


def _fit_convex_quadratic(p: np.ndarray, cost: np.ndarray) -> tuple[float, float, float]:
    """Least-squares ``a p^2 + b p + c`` through the points with ``a >= 0``.

    One point: ``a = c = 0`` and ``b = cost / p`` (the average cost). Two points: the line
    through them (``a = 0``). Three or more: the unconstrained quadratic; if its ``a`` is
    negative (a concave curve, which the convex dispatch cannot use) the constrained optimum
    lies on ``a = 0``, i.e. the least-squares line.
    """
    if p.size == 1:
        return 0.0, float(cost[0] / p[0]) if p[0] > 0 else 0.0, 0.0
    if p.size >= 3:
        a, b, c = np.polyfit(p, cost, 2)
        if a >= 0.0:
            return float(a), float(b), float(c)
    b, c = np.polyfit(p, cost, 1)
    return 0.0, float(b), float(c)


def load_rts_gmlc(path: str | Path) -> FleetParams:
    """Read the dispatchable fleet of RTS-GMLC ``gen.csv`` (``RTS_Data/SourceData``).

    Kept: coal, gas (``NG``), oil, nuclear and hydro units (``HYDRO`` and run-of-river ``ROR``
    both become fuel ``"hydro"``). Skipped: ``Unit Type`` in :data:`RTS_SKIP_UNIT_TYPES` (PV,
    RTPV, WIND, CSP, STORAGE, SYNC_COND): renewables are exogenous availability in gridshift,
    not fleet units; storage and synchronous condensers produce no net energy.

    Per unit:

    * ``capacity_mw = PMax MW``, ``min_output_mw = PMin MW``,
      ``ramp_mw_per_h = Ramp Rate MW/Min * 60``.
    * Cost. The RTS-GMLC heat-rate curve is piecewise linear: ``HR_avg_0`` (BTU/kWh) is the
      average heat rate up to the first point ``Output_pct_0 * PMax``, ``HR_incr_k`` the
      incremental heat rate between points ``k-1`` and ``k``. ``Output_pct_*`` are fractions
      of PMax (the README says "percentage"; values above 1.5 are read as percent). This gives
      fuel input ``F(P_k)`` in MMBtu/h at each point and the cost
      ``C(P_k) = F(P_k) * Fuel Price ($/MMBtu) + VOM ($/MWh) * P_k`` in $/h. The quadratic
      ``a p^2 + b p + c`` is the least-squares fit of ``C`` at those points with ``a >= 0``
      (see :func:`_fit_convex_quadratic`); with one segment (two points) it is the exact line,
      with a single point it is the average cost ``b = HR_avg_0/1000 * price + VOM``, ``c = 0``.
      Segments whose ``Output_pct_k`` or ``HR_incr_k`` is NA, or whose ``HR_incr_k`` is 0, are
      treated as absent: RTS-GMLC fills unused segments with 0 (e.g. the nuclear unit), and a
      zero incremental heat rate is not physical for a thermal unit. The fit is over
      ``[PMin, PMax]``-ish points only; it is not meant to be extrapolated far below PMin.
    * Emissions. ``emission_t_co2_per_mwh = Emissions CO2 Lbs/MMBTU * HR_full * 0.45359237 / 1000``
      with ``HR_full = F(P_last) / P_last`` the average heat rate (MMBtu/MWh) at the last curve
      point (full load). ``FleetParams`` has a constant emission factor per MWh, so part-load
      efficiency loss is not represented (full-load is the most efficient point, so this
      slightly understates part-load emissions).
    * Unit commitment, when the columns are present (else the :data:`~gridshift.envs.grid.types.UC_FIELDS`
      defaults): ``min_up_h``/``min_down_h`` = ``Min Up/Down Time Hr``;
      ``startup_cost_usd = Start Heat Hot MBTU x Fuel Price + Non Fuel Start Cost $`` (a hot
      start: units cycling daily are rarely cold); ``fast_start`` when ``Start Time Hot Hr``
      is at most :data:`FAST_START_MAX_H`; ``vom_usd_per_mwh = VOM`` and
      ``fuel_price_usd_per_mmbtu = Fuel Price $/MMBTU`` (so a gas price series rescales gas
      units' fuel cost).
    """
    t = read_fleet_table(path, _RTS_REQUIRED, unique="GEN UID")
    utype = t.col("Unit Type")
    fuel_raw = t.col("Fuel")
    keep: list[int] = []
    for i in range(len(t)):
        if utype[i] in RTS_SKIP_UNIT_TYPES or fuel_raw[i] in _RTS_SKIP_FUELS:
            continue
        if fuel_raw[i] not in RTS_FUEL_MAP:
            raise t.error("Fuel", i, fuel_raw[i], f"one of {sorted(RTS_FUEL_MAP)} (or a skipped renewable/storage "
                          f"type: {sorted(RTS_SKIP_UNIT_TYPES)})", f"is an unknown fuel for unit type {utype[i]!r}")
        keep.append(i)
    if not keep:
        raise t.file_error("no dispatchable (coal/gas/oil/nuclear/hydro) units found",
                           "at least one coal, gas, oil, nuclear or hydro unit")
    fuels = [RTS_FUEL_MAP[fuel_raw[i]] for i in keep]
    check_fuel(t, "Fuel", fuels, keep)

    pmax = t.numbers("PMax MW", 0.0, MAX_UNIT_MW, rows=keep)
    pmin = t.numbers("PMin MW", 0.0, MAX_UNIT_MW, rows=keep)
    check_min_le_cap(t, "PMin MW", pmin, pmax, keep)
    ramp = t.numbers("Ramp Rate MW/Min", 0.0, MAX_UNIT_MW, rows=keep)
    price = t.numbers("Fuel Price $/MMBTU", 0.0, 1e4, rows=keep)
    vom = t.numbers("VOM", -1e4, 1e4, rows=keep)
    co2_lb = t.numbers("Emissions CO2 Lbs/MMBTU", 0.0, 1e4, rows=keep)
    hr0 = t.numbers("HR_avg_0", 0.0, 1e6, rows=keep)

    # Optional curve columns: Output_pct_1.., HR_incr_1.. (as many as the file has).
    pct_cols = ["Output_pct_0"]
    incr_cols: list[str] = []
    k = 1
    while f"Output_pct_{k}" in t.columns and f"HR_incr_{k}" in t.columns:
        pct_cols.append(f"Output_pct_{k}")
        incr_cols.append(f"HR_incr_{k}")
        k += 1
    pct = np.column_stack([t.numbers(c, 0.0 if c == "Output_pct_0" else -MAX_PCT, MAX_PCT, rows=keep,
                                     missing_ok=c != "Output_pct_0") for c in pct_cols])
    incr = (
        np.column_stack([t.numbers(c, -1e6, 1e6, rows=keep, missing_ok=True) for c in incr_cols])
        if incr_cols
        else np.empty((len(keep), 0))
    )
    if np.nanmax(pct) > 1.5:  # the README calls them percentages; the file has fractions
        pct = pct / 100.0

    a = np.zeros(len(keep))
    b = np.zeros(len(keep))
    c = np.zeros(len(keep))
    ef = np.zeros(len(keep))
    for u, i in enumerate(keep):
        frac = [float(pct[u, 0])]
        hr_inc: list[float] = []
        for s in range(incr.shape[1]):
            fk, hk = pct[u, s + 1], incr[u, s]
            if math.isnan(fk) or math.isnan(hk) or hk == 0.0:
                break
            if hk < 0.0 or fk <= frac[-1] or fk > 1.0 + 1e-9:
                col = incr_cols[s] if hk < 0.0 else pct_cols[s + 1]
                raise t.error(col, i, t[col].iloc[i], "increasing output points in (previous point, 1] and "
                              "HR_incr >= 0", f"is an invalid heat-rate segment (Output_pct={fk!r}, HR_incr={hk!r})")
            frac.append(float(fk))
            hr_inc.append(float(hk))
        if pmax[u] == 0.0:
            continue  # a zero-capacity unit has no cost or emissions to derive
        if frac[0] <= 0.0 and len(frac) == 1:
            frac = [1.0]  # a single point at 0 % carries no information; use full load
        p, fuel_mmbtu_h = _rts_cost_points(float(pmax[u]), frac, float(hr0[u]), hr_inc)
        cost = fuel_mmbtu_h * price[u] + vom[u] * p
        a[u], b[u], c[u] = _fit_convex_quadratic(p, cost)
        hr_full = fuel_mmbtu_h[-1] / p[-1] if p[-1] > 0 else 0.0
        ef[u] = co2_lb[u] * hr_full * _KG_PER_LB / 1000.0

    uc: dict[str, np.ndarray] = {}
    if "Min Up Time Hr" in t.columns and "Min Down Time Hr" in t.columns:
        uc["min_up_h"] = t.numbers("Min Up Time Hr", 0.0, 8760.0, rows=keep)
        uc["min_down_h"] = t.numbers("Min Down Time Hr", 0.0, 8760.0, rows=keep)
    if "Start Heat Hot MBTU" in t.columns:
        heat = t.numbers("Start Heat Hot MBTU", 0.0, 1e7, rows=keep)
        nonfuel = t.numbers("Non Fuel Start Cost $", 0.0, 1e9, rows=keep) if "Non Fuel Start Cost $" in t.columns else 0.0
        uc["startup_cost_usd"] = heat * price + nonfuel
    if "Start Time Hot Hr" in t.columns:
        uc["fast_start"] = t.numbers("Start Time Hot Hr", 0.0, 1e5, rows=keep) <= FAST_START_MAX_H
        uc["fast_start"] &= np.array([f not in ("hydro", "nuclear") for f in fuels])
    return FleetParams(
        vom_usd_per_mwh=vom,
        fuel_price_usd_per_mmbtu=price,
        **uc,
        name=tuple(t.col("GEN UID")[i] for i in keep),
        fuel=tuple(fuels),
        capacity_mw=pmax,
        min_output_mw=pmin,
        ramp_mw_per_h=ramp * 60.0,
        cost_a_usd_per_mw2h=a,
        cost_b_usd_per_mwh=b,
        cost_c_usd_per_h=c,
        emission_t_co2_per_mwh=ef,
    )
