"""MATPOWER ``gen`` + polynomial ``gencost`` tables flattened to one CSV, as a
:class:`~gridshift.envs.grid.types.FleetParams` (:func:`load_matpower_gen`; re-exported by
:mod:`gridshift.data.fleets`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gridshift.data.csvio import DataFormatError
from gridshift.data.fleets_common import MAX_UNIT_MW, check_fuel, check_min_le_cap, read_fleet_table
from gridshift.data.fleets_rts import RTS_UC_CLASSES
from gridshift.envs.grid.types import FleetParams

#: Default CO2 emission factor (tCO2/MWh) per technology class, for tables that have no
#: emission data (MATPOWER/IEEE cases). Each is an EIA fuel CO2 coefficient times a typical
#: heat rate:
#:
#: * CO2 coefficients (kg CO2/MMBtu), EIA "Carbon Dioxide Emissions Coefficients" (2016,
#:   www.eia.gov/environment/emissions/co2_vol_mass.php): natural gas 53.07; coal ~95.5
#:   (bituminous 93.3, sub-bituminous 97.2); residual fuel oil No. 6 75.10; distillate No. 2
#:   73.16.
#: * Heat rates (MMBtu/MWh), EIA Electric Power Annual, Table 8.1/8.2 order of magnitude:
#:   coal steam 10.0, gas combined cycle 7.2, gas turbine (CT) 11.0, oil steam 10.5,
#:   oil CT 11.0.
#:
#: giving coal 0.955, gas CC 0.382, gas CT 0.584, oil steam 0.789, oil CT 0.805 t/MWh;
#: nuclear and hydro 0.
DEFAULT_EMISSION_T_CO2_PER_MWH: dict[str, float] = {
    "coal_steam": 95.5 * 10.0 / 1000.0,
    "gas_cc": 53.07 * 7.2 / 1000.0,
    "gas_ct": 53.07 * 11.0 / 1000.0,
    "oil_steam": 75.10 * 10.5 / 1000.0,
    "oil_ct": 73.16 * 11.0 / 1000.0,
    "nuclear": 0.0,
    "hydro": 0.0,
}

#: Technology class -> gridshift fuel.
TECHNOLOGY_FUEL: dict[str, str] = {
    "coal_steam": "coal",
    "gas_cc": "gas",
    "gas_ct": "gas",
    "oil_steam": "oil",
    "oil_ct": "oil",
    "nuclear": "nuclear",
    "hydro": "hydro",
}

#: IEEE RTS-96 unit groups by capacity (MW) -> technology, from Grigg et al., "The IEEE
#: Reliability Test System-1996", IEEE Trans. Power Syst. 14(3), 1999, generator data table
#: (U12 oil/steam, U20 oil/CT, U50 hydro, U76 coal/steam, U100 oil/steam, U155 coal/steam,
#: U197 oil/steam, U350 coal/steam, U400 nuclear). ``case24_ieee_rts`` is one RTS-96 area.
RTS96_TECHNOLOGY_BY_PMAX: dict[float, str] = {
    12.0: "oil_steam",
    20.0: "oil_ct",
    50.0: "hydro",
    76.0: "coal_steam",
    100.0: "oil_steam",
    155.0: "coal_steam",
    197.0: "oil_steam",
    350.0: "coal_steam",
    400.0: "nuclear",
}

#: Typical full-load heat rate (MMBtu/MWh) of each class, the ones behind
#: :data:`DEFAULT_EMISSION_T_CO2_PER_MWH`; used to turn a start's fuel (MMBtu) into dollars
#: at the fuel price the case's own ``b`` implies (``b / heat rate``).
TYPICAL_HEAT_RATE: dict[str, float] = {"coal_steam": 10.0, "gas_cc": 7.2, "gas_ct": 11.0, "oil_steam": 10.5,
                                       "oil_ct": 11.0, "nuclear": 10.4, "hydro": 1.0}

_MP_REQUIRED = ("Pmax", "Pmin", "cost_coef_2", "cost_coef_1", "cost_coef_0")


def _merit_technologies(
    a: np.ndarray, b: np.ndarray, pmin: np.ndarray, pmax: np.ndarray
) -> list[str]:
    """The ``"merit"`` rule: a stylised merit order by relative marginal cost.

    Units with (almost) zero cost (``a == 0`` and ``b <= 0.01`` $/MWh) are hydro. The others
    are ranked by their incremental cost at mid-range, ``b + a (Pmin + Pmax)``; units whose
    capacity-weighted position (midpoint of the unit's cumulative-capacity share, ties sharing
    one position) falls in the cheapest third are coal steam, the middle third gas CC, the
    most expensive third gas CT. Only the *ranking* is used, so this works for cases whose
    cost coefficients are not in real dollars (IEEE case30).
    """
    tech = [""] * a.size
    free = (a == 0.0) & (b <= 0.01)
    for g in np.flatnonzero(free):
        tech[g] = "hydro"
    rest = np.flatnonzero(~free)
    if rest.size:
        mc = b[rest] + a[rest] * (pmin[rest] + pmax[rest])
        cap = pmax[rest]
        total = cap.sum()
        for v in np.unique(mc):
            grp = mc == v
            below = cap[mc < v].sum()
            pos = (below + 0.5 * cap[grp].sum()) / total
            cls = "coal_steam" if pos < 1.0 / 3.0 else ("gas_cc" if pos < 2.0 / 3.0 else "gas_ct")
            for g in rest[grp]:
                tech[g] = cls
    return tech


def load_matpower_gen(
    path: str | Path,
    *,
    technology_rule: str = "auto",
    technologies: Sequence[str] | None = None,
) -> FleetParams:
    """Read a MATPOWER ``gen`` + ``gencost`` table flattened to CSV (PYPOWER export).

    Required columns: ``Pmax``, ``Pmin`` (MW), ``cost_coef_2``, ``cost_coef_1``,
    ``cost_coef_0``; optional ``gen_idx``, ``bus``, ``status``, ``cost_model``, ``ncost``,
    ``ramp_agc``, ``ramp_10``, ``ramp_30``.

    * Units with ``Pmax <= 0`` (synchronous condensers) or ``status <= 0`` (out of service)
      are dropped.
    * Cost: MATPOWER polynomial model 2, ``C(p) = cost_coef_2 p^2 + cost_coef_1 p + cost_coef_0``
      in $/h with ``p`` in MW, so ``a, b, c = cost_coef_2, cost_coef_1, cost_coef_0``. Files with
      ``cost_model != 2`` (piecewise linear) or ``ncost != 3`` are rejected. Note that the
      IEEE case30 costs are not in real dollars (b = 1..3.25 "$"/MWh).
    * Ramp (MW/h): the first positive of ``ramp_30 * 2`` (MW per 30 min), ``ramp_10 * 6``
      (MW per 10 min), ``ramp_agc * 60`` (MW/min); ``inf`` when all are 0 or absent (as in the
      IEEE case files, which carry no ramp data).
    * Fuel and emissions: MATPOWER has none, so they are **assumed**. Each unit gets a
      technology class (``technologies`` if given, one per kept unit, else ``technology_rule``):

      - ``"rts96"``: by capacity from the IEEE RTS-96 unit groups
        (:data:`RTS96_TECHNOLOGY_BY_PMAX`); a capacity not in that table is an error.
      - ``"merit"``: a stylised merit order by relative marginal cost (cheapest third of
        capacity coal steam, middle third gas CC, top third gas CT, near-zero cost hydro);
        see :func:`_merit_technologies`.
      - ``"auto"`` (default): ``"rts96"`` when the file name starts with ``case24`` (the IEEE
        RTS), else ``"merit"``.

      The class gives the fuel (:data:`TECHNOLOGY_FUEL`) and the emission factor
      (:data:`DEFAULT_EMISSION_T_CO2_PER_MWH`, EIA coefficients x typical heat rates), and is
      appended to the unit name: ``<file stem>_g<gen_idx>_bus<bus>_<technology>``.
    * Unit commitment (MATPOWER has none): the class's RTS-GMLC figures
      (:data:`~gridshift.data.fleets_rts.RTS_UC_CLASSES`): minimum up/down time, fast start,
      and a start costing the class's hot-start fuel at the fuel price implied by the unit's
      own cost, ``start MMBtu/MW x Pmax x b / TYPICAL_HEAT_RATE[class]`` (so it is on the
      case's cost scale, real dollars or not).
    """
    t = read_fleet_table(path, _MP_REQUIRED)
    n = len(t)
    pmax_all = t.numbers("Pmax", -MAX_UNIT_MW, MAX_UNIT_MW)
    status = t.numbers("status", -1e3, 1e3) if "status" in t.columns else np.ones(n)
    keep = [i for i in range(n) if pmax_all[i] > 0.0 and status[i] > 0.0]
    if not keep:
        raise t.file_error("column 'Pmax': no in-service unit with Pmax > 0", "at least one unit with Pmax > 0 "
                           "and status > 0")
    if "gen_idx" in t.columns:
        t.check_unique("gen_idx", "generator")
    for col, want in (("cost_model", 2.0), ("ncost", 3.0)):
        if col in t.columns:
            vals = t.numbers(col, rows=keep)
            bad = np.flatnonzero(vals != want)
            if bad.size:
                k = int(bad[0])
                raise t.error(col, keep[k], t[col].iloc[keep[k]], f"{want:g} (only quadratic polynomial gencost, "
                              "model 2 with 3 coefficients, is supported)", "is not supported")
    pmax = pmax_all[keep]
    pmin = t.numbers("Pmin", 0.0, MAX_UNIT_MW, rows=keep)
    check_min_le_cap(t, "Pmin", pmin, pmax, keep)
    a = t.numbers("cost_coef_2", 0.0, rows=keep)  # convex cost
    b = t.numbers("cost_coef_1", rows=keep)
    c = t.numbers("cost_coef_0", rows=keep)

    ramp = np.full(len(keep), np.inf)
    for col, per_h in (("ramp_agc", 60.0), ("ramp_10", 6.0), ("ramp_30", 2.0)):
        # later (longer-horizon) columns overwrite: ramp_30 is closest to the hourly scale
        if col in t.columns:
            r = t.numbers(col, 0.0, MAX_UNIT_MW, rows=keep)
            ramp = np.where(r > 0.0, r * per_h, ramp)

    if technologies is not None:
        tech = [str(x) for x in technologies]
        if len(tech) != len(keep):
            raise DataFormatError(f"{t.path}: technologies has {len(tech)} entries, expected {len(keep)} (one per "
                                  "in-service unit with Pmax > 0)", file=t.path,
                                  expected=f"{len(keep)} technologies")
        bad = [x for x in tech if x not in TECHNOLOGY_FUEL]
        if bad:
            raise t.file_error(f"unknown technology {bad[0]!r}", f"one of {sorted(TECHNOLOGY_FUEL)}")
    else:
        rule = technology_rule
        if rule == "auto":
            rule = "rts96" if t.path.name.lower().startswith("case24") else "merit"
        if rule == "rts96":
            tech = []
            for k, i in enumerate(keep):
                cls = RTS96_TECHNOLOGY_BY_PMAX.get(float(pmax[k]))
                if cls is None:
                    raise t.error("Pmax", i, t["Pmax"].iloc[i], f"one of {sorted(RTS96_TECHNOLOGY_BY_PMAX)} "
                                  "(use technology_rule='merit' or pass technologies=...)",
                                  "is not an IEEE RTS-96 unit size")
                tech.append(cls)
        elif rule == "merit":
            tech = _merit_technologies(a, b, pmin, pmax)
        else:
            raise ValueError(
                f"technology_rule={technology_rule!r} is invalid: allowed 'auto', 'rts96', 'merit'"
            )

    fuels = [TECHNOLOGY_FUEL[x] for x in tech]
    check_fuel(t, "fuel (assigned)", fuels, keep)
    idx = t.col("gen_idx") if "gen_idx" in t.columns else [str(i) for i in range(n)]
    bus = t.col("bus") if "bus" in t.columns else ["?"] * n
    stem = t.path.stem.replace("_gen_gencost", "")

    def _int_str(s: str) -> str:
        try:
            return str(int(float(s)))
        except ValueError:
            return s

    names = tuple(
        f"{stem}_g{_int_str(idx[i])}_bus{_int_str(bus[i])}_{tech[k]}" for k, i in enumerate(keep)
    )
    return FleetParams(
        name=names,
        fuel=tuple(fuels),
        capacity_mw=pmax,
        min_output_mw=pmin,
        ramp_mw_per_h=ramp,
        cost_a_usd_per_mw2h=a,
        cost_b_usd_per_mwh=b,
        cost_c_usd_per_h=c,
        emission_t_co2_per_mwh=np.array([DEFAULT_EMISSION_T_CO2_PER_MWH[x] for x in tech]),
        startup_cost_usd=np.array([RTS_UC_CLASSES[x]["start_mmbtu_per_mw"] * pmax[k] * max(b[k], 0.0)
                                   / TYPICAL_HEAT_RATE[x] for k, x in enumerate(tech)]),
        min_up_h=np.array([RTS_UC_CLASSES[x]["min_up_h"] for x in tech]),
        min_down_h=np.array([RTS_UC_CLASSES[x]["min_down_h"] for x in tech]),
        fast_start=np.array([RTS_UC_CLASSES[x]["fast_start"] for x in tech], dtype=bool),
    )
