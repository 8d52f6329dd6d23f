"""Loaders for generator-fleet tables, returning :class:`~gridshift.envs.grid.types.FleetParams`.

Three formats are read:

* the gridshift fleet table (:func:`load_fleet_csv` / :func:`save_fleet_csv`), one row per
  unit with exactly the columns of :data:`FLEET_COLUMNS` (units in the names);
* RTS-GMLC ``gen.csv`` (:func:`load_rts_gmlc`), the NREL/DOE Reliability Test System -
  Grid Modernization Lab Consortium unit table (GridMod/RTS-GMLC, ``RTS_Data/SourceData``);
* MATPOWER ``gen`` + polynomial ``gencost`` tables flattened to one CSV
  (:func:`load_matpower_gen`), e.g. IEEE case30 and case24_ieee_rts exported from PYPOWER.

Every loader reads its file with :func:`gridshift.data.csvio.read_csv` and raises
:class:`~gridshift.data.csvio.DataFormatError` (a ``ValueError``; ``FleetFileError`` is the
same class under its old name) whose message names the file, the column, the row and what
was expected: a missing file, binary or UTF-16 bytes, a header without units, a missing
column, a number that is not finite or out of range, a unit listed twice (its capacity
would be counted twice) and so on. Rows are reported both as
the 1-based *data row* (first row after the header = data row 1) and as the *CSV line*
(1-based physical line in the file, header and ``#`` comment lines included), so the
offending cell can be found with a text editor or with pandas alike. Internal consistency of
the result is then checked again by ``FleetParams`` itself (``ParamError``).

Code layout: the gridshift table here, RTS-GMLC in :mod:`gridshift.data.fleets_rts`,
MATPOWER in :mod:`gridshift.data.fleets_matpower`, shared checks in
:mod:`gridshift.data.fleets_common`; all are importable from this module.
"""

from __future__ import annotations

import csv
from pathlib import Path

from gridshift.data.csvio import DataFormatError
from gridshift.data.fleets_common import (
    MAX_UNIT_MW,
    FleetFileError,
    check_fuel,
    check_min_le_cap,
    read_fleet_table,
)
from gridshift.data.fleets_matpower import (
    DEFAULT_EMISSION_T_CO2_PER_MWH,
    RTS96_TECHNOLOGY_BY_PMAX,
    TECHNOLOGY_FUEL,
    load_matpower_gen,
)
from gridshift.data.fleets_rts import (
    RTS_FUEL_MAP,
    RTS_SKIP_UNIT_TYPES,
    load_rts_gmlc,
)
from gridshift.envs.grid.types import UC_FIELDS, FleetParams

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


# --------------------------------------------------------------------------------------------
# gridshift fleet table
# --------------------------------------------------------------------------------------------


#: Optional unit-commitment columns of the gridshift fleet table (defaults in
#: :data:`~gridshift.envs.grid.types.UC_FIELDS`); ``fast_start`` and ``gas_indexed`` are 0 or 1.
UC_COLUMNS: tuple[str, ...] = tuple(UC_FIELDS)


def load_fleet_csv(path: str | Path) -> FleetParams:
    """Read a gridshift fleet table (one unit per row, columns exactly :data:`FLEET_COLUMNS`).

    Units: capacity and minimum output in MW, ramp in MW/h (``inf`` = unlimited), cost
    ``C(p) = a p^2 + b p + c`` with ``a`` in $/MW^2h, ``b`` in $/MWh, ``c`` in $/h, and the
    emission factor in tCO2/MWh. Blank lines and lines starting with ``#`` are ignored
    (use them for provenance notes). ``fuel`` must be one of
    :data:`~gridshift.envs.grid.types.FUELS`; each ``name`` may appear once; numbers must be
    finite (``ramp_mw_per_h`` may be ``inf``) and within plausible ranges (capacities up to
    :data:`~gridshift.data.fleets_rts.MAX_UNIT_MW` MW, emissions up to 10 t/MWh). Any of the
    unit-commitment columns :data:`UC_COLUMNS` may follow (start-up cost in $, minimum up/down
    time in h, ``fast_start`` 0/1, VOM in $/MWh, fuel price in $/MMBtu, ``gas_indexed`` 0/1); no
    other column.
    """
    t = read_fleet_table(path, FLEET_COLUMNS, unique="name")
    extra = [c for c in t.columns if c not in FLEET_COLUMNS and c not in UC_COLUMNS]
    if extra:
        raise t.file_error(f"unexpected column {extra[0]!r}", f"exactly the columns {list(FLEET_COLUMNS)}, then any "
                           f"of {list(UC_COLUMNS)}")
    rows = range(len(t))
    names = t.nonempty("name", "a unit name")
    fuels = t.col("fuel")
    check_fuel(t, "fuel", fuels, rows)
    v = {
        "capacity_mw": t.numbers("capacity_mw", 0.0, MAX_UNIT_MW),
        "min_output_mw": t.numbers("min_output_mw", 0.0, MAX_UNIT_MW),
        "ramp_mw_per_h": t.numbers("ramp_mw_per_h", 0.0, 1e7, inf_ok=True),  # inf = unlimited
        "cost_a_usd_per_mw2h": t.numbers("cost_a_usd_per_mw2h", 0.0, 1e6),  # convex cost
        "cost_b_usd_per_mwh": t.numbers("cost_b_usd_per_mwh", -1e6, 1e6),
        "cost_c_usd_per_h": t.numbers("cost_c_usd_per_h", -1e9, 1e9),
        "emission_t_co2_per_mwh": t.numbers("emission_t_co2_per_mwh", 0.0, 10.0),
    }
    check_min_le_cap(t, "min_output_mw", v["min_output_mw"], v["capacity_mw"], rows)
    ranges = {"startup_cost_usd": (0.0, 1e9), "min_up_h": (0.0, 8760.0), "min_down_h": (0.0, 8760.0),
              "fast_start": (0.0, 1.0), "vom_usd_per_mwh": (-1e4, 1e4), "fuel_price_usd_per_mmbtu": (0.0, 1e4),
              "gas_indexed": (0.0, 1.0)}
    for c in UC_COLUMNS:
        if c in t.columns:
            flag = isinstance(UC_FIELDS[c], bool)
            x = t.numbers(c, *ranges[c], integer=flag)
            v[c] = x.astype(bool) if flag else x
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
        w.writerow(FLEET_COLUMNS + UC_COLUMNS)
        for g in range(fleet.n_units):
            w.writerow(
                [fleet.name[g], fleet.fuel[g]]
                + [repr(float(getattr(fleet, c)[g])) for c in FLEET_COLUMNS[2:]]
                + [str(int(getattr(fleet, c)[g])) if isinstance(UC_FIELDS[c], bool) else repr(float(getattr(fleet, c)[g]))
                   for c in UC_COLUMNS]
            )
    return p


__all__ = [
    "DEFAULT_EMISSION_T_CO2_PER_MWH", "FLEET_COLUMNS", "RTS96_TECHNOLOGY_BY_PMAX", "RTS_FUEL_MAP",
    "RTS_SKIP_UNIT_TYPES", "TECHNOLOGY_FUEL", "UC_COLUMNS", "DataFormatError", "FleetFileError", "load_fleet_csv",
    "load_matpower_gen", "load_rts_gmlc", "save_fleet_csv",
]

# Private helpers kept importable from here.
from gridshift.data.fleets_matpower import _merit_technologies  # noqa: E402,F401
from gridshift.data.fleets_rts import _fit_convex_quadratic, _rts_cost_points  # noqa: E402,F401
