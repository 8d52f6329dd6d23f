"""What the fleet-table loaders (:mod:`.fleets`, :mod:`.fleets_rts`, :mod:`.fleets_matpower`)
share: reading a fleet CSV with :func:`gridshift.data.csvio.read_csv` and the checks that
tie columns together. Errors are :class:`~gridshift.data.csvio.DataFormatError` (alias
``FleetFileError``) naming the file, the column, the row (data row and CSV line) and what
was expected."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gridshift.data.csvio import CsvTable, DataFormatError, read_csv
from gridshift.envs.grid.types import FUELS

#: The fleet loaders' error type: the one :class:`~gridshift.data.csvio.DataFormatError`.
FleetFileError = DataFormatError

_KG_PER_LB = 0.45359237
#: Largest unit (MW) a fleet table may list; larger values are malformed cells.
MAX_UNIT_MW = 1e5


def read_fleet_table(path, required: Sequence[str], *, exact: bool = False, unique: str | None = None) -> CsvTable:
    """Read a fleet CSV: blank lines and lines starting with ``#`` are ignored; ``required``
    columns must all be present (``exact``: no other); ``unique``: the unit-name column,
    each unit listed once (a duplicated unit would silently double its capacity)."""
    return read_csv(path, required, exact=exact, comments=True, unique=unique, unique_what="unit",
                    what="a CSV fleet table")


def check_min_le_cap(t: CsvTable, col_min: str, pmin: np.ndarray, pmax: np.ndarray, rows: Sequence[int]) -> None:
    over = np.flatnonzero(pmin > pmax)
    if over.size:
        k = int(over[0])
        raise t.error(col_min, int(rows[k]), t[col_min].iloc[int(rows[k])],
                      f"0 <= min output <= capacity ({pmax[k]!r} MW)", "exceeds the capacity")


def check_fuel(t: CsvTable, col: str, fuels: Sequence[str], rows: Sequence[int], found=None) -> None:
    for k, f in enumerate(fuels):
        if f not in FUELS:
            raise t.error(col, int(rows[k]), f, f"one of {list(FUELS)}", "is an unknown fuel")
