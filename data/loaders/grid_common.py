"""Helpers shared by the grid-data loaders (:mod:`.grid`, :mod:`.grid_signals`): resolving a
file, naming allowed values, finishing a table, and the CSV reading they all use."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from gridshift.data.csvio import CsvTable, existing_file, read_csv
from gridshift.data.loaders.timeseries import TimeSeriesData, regularize
from gridshift.data.paths import data_file

#: Every grid file is a time series: at least two rows (the step is inferred from them).
MIN_ROWS = 2


def resolve(path, *parts: str) -> Path:
    """``path`` when given (it must exist), else ``data_root()/parts...``."""
    if path is not None:
        return existing_file(path, "a grid-data file")
    return data_file(*parts)


def read_grid_csv(p: Path, required=(), **kw) -> CsvTable:
    """:func:`~gridshift.data.csvio.read_csv` for a grid time series (>= :data:`MIN_ROWS` rows)."""
    kw.setdefault("min_rows", MIN_ROWS)
    return read_csv(p, required, what="a grid time series", **kw)


def unknown(field: str, value, allowed) -> ValueError:
    return ValueError(f"{field}={value!r} is invalid: allowed one of {sorted(allowed)}")


def finish(frame: pd.DataFrame, p, step=None, max_gap_steps: int = 3, duplicates: str = "mean") -> TimeSeriesData:
    f, st, gaps = regularize(frame, step, max_gap_steps=max_gap_steps, duplicates=duplicates, path=p)
    return TimeSeriesData(f.astype(np.float64), st, str(p), gaps)


def snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")
