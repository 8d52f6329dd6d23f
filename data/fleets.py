"""Loaders for generator-fleet tables, returning :class:`~gridshift.envs.grid.types.FleetParams`.

Three formats are read:

* the gridshift fleet table (:func:`load_fleet_csv` / :func:`save_fleet_csv`), one row per
  unit with exactly the columns of :data:`FLEET_COLUMNS` (units in the names);
* RTS-GMLC ``gen.csv`` (:func:`load_rts_gmlc`), the NREL/DOE Reliability Test System -
  Grid Modernization Lab Consortium unit table (GridMod/RTS-GMLC, ``RTS_Data/SourceData``);
* MATPOWER ``gen`` + polynomial ``gencost`` tables flattened to one CSV
  (:func:`load_matpower_gen`), e.g. IEEE case30 and case24_ieee_rts exported from PYPOWER.

Every loader checks its input and raises :class:`FleetFileError` (a ``ValueError``) whose
message names the file, the column, the row and what was expected. Rows are reported both as
the 1-based *data row* (first row after the header = data row 1) and as the *CSV line*
(1-based physical line in the file, header and ``#`` comment lines included), so the
offending cell can be found with a text editor or with pandas alike. Internal consistency of
the result is then checked again by ``FleetParams`` itself (``ParamError``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gridshift.envs.grid.types import FUELS, FleetParams

#: Columns of the gridshift fleet table, in order.
FLEET_COLUMNS: tuple[str, ...] = (
    "name",
    "fuel",
    "capacity_mw",
    "min_output_mw",
    "ramp_mw_per_h",
    "cost_a_usd_per_mw2h",
    "cost_b_usd_per_mwh",
    "cost_c_usd_per_h",
    "emission_t_co2_per_mwh",
)

_KG_PER_LB = 0.45359237
_NAN_TOKENS = frozenset({"", "na", "nan", "n/a", "null", "none"})


class FleetFileError(ValueError):
    """A fleet file that cannot be used: missing, malformed, or with out-of-range values.

    The message names the file, the column, the row (data row and CSV line) and the
    allowed values.
    """


# --------------------------------------------------------------------------------------------
# CSV reading with exact line numbers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    """A CSV file read as strings, keeping the physical line number of every data row."""

    path: Path
    header: tuple[str, ...]
    header_line: int
    rows: tuple[tuple[str, ...], ...]
    lines: tuple[int, ...]
    """1-based physical line of each data row in the file."""

    def col(self, name: str) -> list[str]:
        j = self.header.index(name)
        return [r[j] for r in self.rows]

    def where(self, i: int) -> str:
        """Human-readable location of data row ``i`` (0-based index into ``rows``)."""
        return f"data row {i + 1} (CSV line {self.lines[i]})"


def _read_table(path: str | Path, required: Sequence[str], *, exact: bool = False) -> _Table:
    """Read ``path`` with the csv module; skip blank lines and lines starting with ``#``.

    ``required`` columns must all be present; with ``exact`` no other column is allowed.
    """
    p = Path(path)
    if not p.is_file():
        raise FleetFileError(f"{p}: file not found (expected a CSV fleet table)")
    header: tuple[str, ...] | None = None
    header_line = 0
    rows: list[tuple[str, ...]] = []
    lines: list[int] = []
    with p.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        for rec in reader:
            line = reader.line_num
            if not rec or all(not c.strip() for c in rec) or rec[0].lstrip().startswith("#"):
                continue
            rec_t = tuple(c.strip() for c in rec)
            if header is None:
                header, header_line = rec_t, line
                continue
            if len(rec_t) != len(header):
                raise FleetFileError(
                    f"{p}: CSV line {line} (data row {len(rows) + 1}) has {len(rec_t)} fields, "
                    f"expected {len(header)} (one per header column)"
                )
            rows.append(rec_t)
            lines.append(line)
    if header is None:
        raise FleetFileError(
            f"{p}: empty file, expected a header line with columns {list(required)}"
        )
    missing = [c for c in required if c not in header]
    if missing:
        raise FleetFileError(
            f"{p}: missing column(s) {missing} in the header (CSV line {header_line}); "
            f"expected columns {list(required)}, found {list(header)}"
        )
    if exact:
        extra = [c for c in header if c not in required]
        if extra:
            raise FleetFileError(
                f"{p}: unexpected column(s) {extra}; expected exactly {list(required)}"
            )
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        raise FleetFileError(f"{p}: duplicate column(s) {dup} in the header")
    if not rows:
        raise FleetFileError(f"{p}: no data rows, expected at least one unit")
    return _Table(p, header, header_line, tuple(rows), tuple(lines))


def _parse_float(t: _Table, i: int, col: str, s: str, *, allow_nan: bool = False) -> float:
    if s.lower() in _NAN_TOKENS:
        if allow_nan:
            return math.nan
        raise FleetFileError(
            f"{t.path}: column {col!r}, {t.where(i)}: value is missing/NaN, expected a number"
        )
    try:
        v = float(s)
    except ValueError:
        raise FleetFileError(
            f"{t.path}: column {col!r}, {t.where(i)}: {s!r} is not a number"
        ) from None
    if math.isnan(v) and not allow_nan:
        raise FleetFileError(
            f"{t.path}: column {col!r}, {t.where(i)}: value is NaN, expected a number"
        )
    return v


def _floats(t: _Table, col: str, rows: Sequence[int], *, allow_nan: bool = False) -> np.ndarray:
    j = t.header.index(col)
    return np.array([_parse_float(t, i, col, t.rows[i][j], allow_nan=allow_nan) for i in rows])


def _check(
    t: _Table,
    col: str,
    values: np.ndarray,
    rows: Sequence[int],
    *,
    lo: float | None = None,
    hi: float | None = None,
    allow_inf: bool = False,
    what: str = "",
) -> None:
    """Fail on the first value outside ``[lo, hi]`` or infinite (unless ``allow_inf``)."""
    for k, v in enumerate(values):
        bad = (
            (not allow_inf and not math.isfinite(v))
            or (lo is not None and v < lo)
            or (hi is not None and v > hi)
        )
        if bad:
            rng = []
            if lo is not None:
                rng.append(f">= {lo:g}")
            if hi is not None:
                rng.append(f"<= {hi:g}")
            allowed = " and ".join(rng) or "a finite number"
            if not allow_inf:
                allowed = f"a finite number {allowed}".strip()
            extra = f" ({what})" if what else ""
            raise FleetFileError(
                f"{t.path}: column {col!r}, {t.where(rows[k])}: value {v!r} is out of range, "
                f"expected {allowed}{extra}"
            )


def _check_min_le_cap(
    t: _Table, col_min: str, pmin: np.ndarray, pmax: np.ndarray, rows: Sequence[int]
) -> None:
    over = np.flatnonzero(pmin > pmax)
    if over.size:
        k = int(over[0])
        raise FleetFileError(
            f"{t.path}: column {col_min!r}, {t.where(rows[k])}: minimum output {pmin[k]!r} MW "
            f"exceeds "
            f"the capacity {pmax[k]!r} MW, expected 0 <= min output <= capacity"
        )


def _check_fuel(t: _Table, col: str, fuels: Sequence[str], rows: Sequence[int]) -> None:
    for k, f in enumerate(fuels):
        if f not in FUELS:
            raise FleetFileError(
                f"{t.path}: column {col!r}, {t.where(rows[k])}: unknown fuel {f!r}, "
                f"expected one of {list(FUELS)}"
            )


# --------------------------------------------------------------------------------------------
# gridshift fleet table
# --------------------------------------------------------------------------------------------


def load_fleet_csv(path: str | Path) -> FleetParams:
    """Read a gridshift fleet table (one unit per row, columns exactly :data:`FLEET_COLUMNS`).

    Units: capacity and minimum output in MW, ramp in MW/h (``inf`` = unlimited), cost
    ``C(p) = a p^2 + b p + c`` with ``a`` in $/MW^2h, ``b`` in $/MWh, ``c`` in $/h, and the
    emission factor in tCO2/MWh. Blank lines and lines starting with ``#`` are ignored
    (use them for provenance notes). ``fuel`` must be one of
    :data:`~gridshift.envs.grid.types.FUELS`.
    """
    t = _read_table(path, FLEET_COLUMNS, exact=True)
    rows = range(len(t.rows))
    names = t.col("name")
    for i, n in enumerate(names):
        if not n:
            raise FleetFileError(
                f"{t.path}: column 'name', {t.where(i)}: empty name, expected a unit name"
            )
    fuels = t.col("fuel")
    _check_fuel(t, "fuel", fuels, rows)
    v = {c: _floats(t, c, rows) for c in FLEET_COLUMNS[2:]}
    _check(t, "capacity_mw", v["capacity_mw"], rows, lo=0.0)
    _check(t, "min_output_mw", v["min_output_mw"], rows, lo=0.0)
    _check_min_le_cap(t, "min_output_mw", v["min_output_mw"], v["capacity_mw"], rows)
    _check(t, "ramp_mw_per_h", v["ramp_mw_per_h"], rows, lo=0.0, allow_inf=True)
    _check(t, "cost_a_usd_per_mw2h", v["cost_a_usd_per_mw2h"], rows, lo=0.0, what="convex cost")
    _check(t, "cost_b_usd_per_mwh", v["cost_b_usd_per_mwh"], rows)
    _check(t, "cost_c_usd_per_h", v["cost_c_usd_per_h"], rows)
    _check(t, "emission_t_co2_per_mwh", v["emission_t_co2_per_mwh"], rows, lo=0.0)
    return FleetParams(name=tuple(names), fuel=tuple(fuels), **v)


def save_fleet_csv(fleet: FleetParams, path: str | Path, *, comment: str | None = None) -> Path:
    """Write ``fleet`` as a gridshift fleet table; :func:`load_fleet_csv` reads it back exactly.

    Floats are written with ``repr`` (shortest round-tripping form), infinite ramps as
    ``inf``. ``comment`` (e.g. provenance) is written as leading ``#`` lines.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w", newline="", encoding="utf-8") as fh:
        if comment:
            for line in comment.splitlines():
                fh.write(f"# {line}\n")
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(FLEET_COLUMNS)
        for g in range(fleet.n_units):
            w.writerow(
                [fleet.name[g], fleet.fuel[g]]
                + [repr(float(getattr(fleet, c)[g])) for c in FLEET_COLUMNS[2:]]
            )
    return p


# --------------------------------------------------------------------------------------------
# RTS-GMLC gen.csv
# --------------------------------------------------------------------------------------------

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
    """
    t = _read_table(path, _RTS_REQUIRED)
    utype = t.col("Unit Type")
    fuel_raw = t.col("Fuel")
    keep: list[int] = []
    for i in range(len(t.rows)):
        if utype[i] in RTS_SKIP_UNIT_TYPES or fuel_raw[i] in _RTS_SKIP_FUELS:
            continue
        if fuel_raw[i] not in RTS_FUEL_MAP:
            raise FleetFileError(
                f"{t.path}: column 'Fuel', {t.where(i)}: unknown fuel {fuel_raw[i]!r} "
                f"for unit type "
                f"{utype[i]!r}, expected one of {sorted(RTS_FUEL_MAP)} (or a skipped renewable/"
                f"storage type: {sorted(RTS_SKIP_UNIT_TYPES)})"
            )
        keep.append(i)
    if not keep:
        raise FleetFileError(f"{t.path}: no dispatchable (coal/gas/oil/nuclear/hydro) units found")
    fuels = [RTS_FUEL_MAP[fuel_raw[i]] for i in keep]
    _check_fuel(t, "Fuel", fuels, keep)

    pmax = _floats(t, "PMax MW", keep)
    pmin = _floats(t, "PMin MW", keep)
    ramp = _floats(t, "Ramp Rate MW/Min", keep)
    price = _floats(t, "Fuel Price $/MMBTU", keep)
    vom = _floats(t, "VOM", keep)
    co2_lb = _floats(t, "Emissions CO2 Lbs/MMBTU", keep)
    hr0 = _floats(t, "HR_avg_0", keep)
    _check(t, "PMax MW", pmax, keep, lo=0.0)
    _check(t, "PMin MW", pmin, keep, lo=0.0)
    _check_min_le_cap(t, "PMin MW", pmin, pmax, keep)
    _check(t, "Ramp Rate MW/Min", ramp, keep, lo=0.0)
    _check(t, "Fuel Price $/MMBTU", price, keep, lo=0.0)
    _check(t, "Emissions CO2 Lbs/MMBTU", co2_lb, keep, lo=0.0)
    _check(t, "HR_avg_0", hr0, keep, lo=0.0)

    # Optional curve columns: Output_pct_1.., HR_incr_1.. (as many as the file has).
    pct_cols = ["Output_pct_0"]
    incr_cols: list[str] = []
    k = 1
    while f"Output_pct_{k}" in t.header and f"HR_incr_{k}" in t.header:
        pct_cols.append(f"Output_pct_{k}")
        incr_cols.append(f"HR_incr_{k}")
        k += 1
    pct = np.column_stack([_floats(t, c, keep, allow_nan=True) for c in pct_cols])
    _check(t, "Output_pct_0", pct[:, 0], keep, lo=0.0)
    incr = (
        np.column_stack([_floats(t, c, keep, allow_nan=True) for c in incr_cols])
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
                raise FleetFileError(
                    f"{t.path}: column {col!r}, {t.where(i)}: invalid heat-rate segment "
                    f"(Output_pct={fk!r}, HR_incr={hk!r}); expected increasing output points "
                    f"in (previous point, 1] and HR_incr >= 0"
                )
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

    return FleetParams(
        name=tuple(t.rows[i][t.header.index("GEN UID")] for i in keep),
        fuel=tuple(fuels),
        capacity_mw=pmax,
        min_output_mw=pmin,
        ramp_mw_per_h=ramp * 60.0,
        cost_a_usd_per_mw2h=a,
        cost_b_usd_per_mwh=b,
        cost_c_usd_per_h=c,
        emission_t_co2_per_mwh=ef,
    )


# --------------------------------------------------------------------------------------------
# MATPOWER gen + gencost
# --------------------------------------------------------------------------------------------

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
    """
    t = _read_table(path, _MP_REQUIRED)
    n = len(t.rows)
    all_rows = range(n)
    pmax_all = _floats(t, "Pmax", all_rows)
    status = _floats(t, "status", all_rows) if "status" in t.header else np.ones(n)
    keep = [i for i in range(n) if pmax_all[i] > 0.0 and status[i] > 0.0]
    if not keep:
        raise FleetFileError(f"{t.path}: column 'Pmax': no in-service unit with Pmax > 0")
    for col, want in (("cost_model", 2.0), ("ncost", 3.0)):
        if col in t.header:
            vals = _floats(t, col, keep)
            bad = np.flatnonzero(vals != want)
            if bad.size:
                k = int(bad[0])
                raise FleetFileError(
                    f"{t.path}: column {col!r}, {t.where(keep[k])}: value {vals[k]!r}, expected "
                    f"{want:g} (only quadratic polynomial gencost, model 2 with 3 coefficients, "
                    f"is supported)"
                )
    pmax = pmax_all[keep]
    pmin = _floats(t, "Pmin", keep)
    a = _floats(t, "cost_coef_2", keep)
    b = _floats(t, "cost_coef_1", keep)
    c = _floats(t, "cost_coef_0", keep)
    _check(t, "Pmin", pmin, keep, lo=0.0)
    _check_min_le_cap(t, "Pmin", pmin, pmax, keep)
    _check(t, "cost_coef_2", a, keep, lo=0.0, what="convex cost")
    _check(t, "cost_coef_1", b, keep)
    _check(t, "cost_coef_0", c, keep)

    ramp = np.full(len(keep), np.inf)
    for col, per_h in (("ramp_agc", 60.0), ("ramp_10", 6.0), ("ramp_30", 2.0)):
        # later (longer-horizon) columns overwrite: ramp_30 is closest to the hourly scale
        if col in t.header:
            r = _floats(t, col, keep)
            _check(t, col, r, keep, lo=0.0)
            ramp = np.where(r > 0.0, r * per_h, ramp)

    if technologies is not None:
        tech = [str(x) for x in technologies]
        if len(tech) != len(keep):
            raise FleetFileError(
                f"{t.path}: technologies has {len(tech)} entries, expected {len(keep)} "
                f"(one per in-service unit with Pmax > 0)"
            )
        bad = [x for x in tech if x not in TECHNOLOGY_FUEL]
        if bad:
            raise FleetFileError(
                f"{t.path}: unknown technology {bad[0]!r}, "
                f"expected one of {sorted(TECHNOLOGY_FUEL)}"
            )
    else:
        rule = technology_rule
        if rule == "auto":
            rule = "rts96" if t.path.name.lower().startswith("case24") else "merit"
        if rule == "rts96":
            tech = []
            for k, i in enumerate(keep):
                cls = RTS96_TECHNOLOGY_BY_PMAX.get(float(pmax[k]))
                if cls is None:
                    raise FleetFileError(
                        f"{t.path}: column 'Pmax', {t.where(i)}: {pmax[k]!r} MW is not an "
                        f"IEEE RTS-96 "
                        f"unit size, expected one of {sorted(RTS96_TECHNOLOGY_BY_PMAX)} "
                        f"(use technology_rule='merit' or pass technologies=...)"
                    )
                tech.append(cls)
        elif rule == "merit":
            tech = _merit_technologies(a, b, pmin, pmax)
        else:
            raise ValueError(
                f"technology_rule={technology_rule!r} is invalid: allowed 'auto', 'rts96', 'merit'"
            )

    fuels = [TECHNOLOGY_FUEL[x] for x in tech]
    _check_fuel(t, "fuel (assigned)", fuels, keep)
    idx = t.col("gen_idx") if "gen_idx" in t.header else [str(i) for i in range(n)]
    bus = t.col("bus") if "bus" in t.header else ["?"] * n
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
    )
