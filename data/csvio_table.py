"""A CSV file read as strings, with the checks every loader applies to its columns
(:class:`CsvTable`, :class:`Num`); see :mod:`gridshift.data.csvio`, which re-exports
everything here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gridshift.data.csvio_errors import DataFormatError, _where, file_error, format_error

#: Largest magnitude a number may have in a column that declares no bound of its own.
MAX_ABS: float = 1e12
#: Cell texts read as a missing value (case-insensitive, after stripping).
NAN_TOKENS: frozenset[str] = frozenset({"", "na", "nan", "n/a", "null", "none"})


@dataclass(frozen=True)
class Num:
    """How a numeric column is checked (see :meth:`CsvTable.numbers`)."""

    lo: float | None = None
    hi: float | None = None
    integer: bool = False
    missing_ok: bool = False
    inf_ok: bool = False
    """``+inf`` allowed (e.g. an unlimited ramp rate); ``-inf`` only if ``lo`` is absent too."""


def expected_number(spec: Num) -> str:
    lo = spec.lo if spec.lo is not None else -MAX_ABS
    hi = spec.hi if spec.hi is not None else MAX_ABS
    rng = f">= {lo:g} and <= {hi:g}" + (" or inf" if spec.inf_ok else "")
    body = f"an integer ({rng})" if spec.integer else f"a number (finite, {rng})"
    return body + (" or empty" if spec.missing_ok else "")


def check_numbers(raw: pd.Series, spec: Num, fail) -> np.ndarray:
    """Cells (strings or numbers) as float64, checked against ``spec``; ``fail(i, problem,
    expected)`` builds the error for 0-based position ``i``. Missing cells are NaN."""
    if raw.dtype.kind in "fiub":
        v = raw.to_numpy(np.float64)
        missing = np.isnan(v)
        nonnum = np.zeros(v.shape, bool)
    else:
        txt = raw.astype(str).str.strip()
        v = pd.to_numeric(txt, errors="coerce").to_numpy(np.float64)
        missing = raw.isna().to_numpy() | txt.str.lower().isin(NAN_TOKENS).to_numpy()
        nonnum = np.isnan(v) & ~missing
    want = expected_number(spec)
    lo = spec.lo if spec.lo is not None else -MAX_ABS
    hi = spec.hi if spec.hi is not None else MAX_ABS
    with np.errstate(invalid="ignore"):
        inf_ok = np.isposinf(v) if spec.inf_ok else np.zeros(v.shape, bool)
        if spec.inf_ok and spec.lo is None:
            inf_ok |= np.isneginf(v)
        checks = (
            (nonnum, "is not a number"),
            (missing & (not spec.missing_ok), "is missing or NaN, not a finite number"),
            (np.isinf(v) & ~inf_ok, "is not finite"),
            (~np.isnan(v) & ~inf_ok & ((v < lo) | (v > hi)), "is out of range"),
            (np.isfinite(v) & (v != np.round(v)) if spec.integer else np.zeros(v.shape, bool), "is not an integer"),
        )
    first = None
    for mask, problem in checks:
        bad = np.flatnonzero(mask)
        if bad.size and (first is None or bad[0] < first[0]):
            first = (int(bad[0]), problem)
    if first is not None:
        raise fail(first[0], first[1], want)
    return v


# ------------------------------------------------------------------------------ the table


@dataclass(frozen=True, eq=False)
class CsvTable:
    """A CSV file read as stripped strings (``frame``, one column per header name), with the
    physical line of the header and of every data row, and the ``#`` comment lines that
    precede the header. Its methods convert and check columns, failing with
    :class:`DataFormatError` on the first bad cell."""

    path: Path
    frame: pd.DataFrame
    header_line: int | None = None
    lines: np.ndarray | None = None
    """1-based physical line of each data row (``None``: not a CSV file, rows only)."""
    comments: tuple[str, ...] = ()
    num: dict[str, np.ndarray] = field(default_factory=dict)
    """Columns declared ``numeric=`` in :func:`read_csv`, already checked, as float64."""

    @classmethod
    def from_frame(cls, path, frame: pd.DataFrame) -> CsvTable:
        """Wrap a frame read by another reader (Parquet): errors name data rows only."""
        return cls(Path(path), frame.reset_index(drop=True))

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    def line(self, i: int) -> int:
        """Physical CSV line of 0-based data row ``i`` (0 when not read from a CSV file)."""
        return 0 if self.lines is None else int(self.lines[i])

    def where(self, i: int) -> str:
        """``data row R (CSV line L)`` of 0-based data row ``i``."""
        return _where(i, self.line(i) or None)

    def __getitem__(self, col: str) -> pd.Series:
        return self.frame[col]

    def col(self, name: str) -> list[str]:
        return self.frame[name].astype(str).tolist()

    def error(self, column: str | None, i: int, found, expected: str, problem: str = "is invalid") -> DataFormatError:
        """The error for 0-based data row ``i`` of ``column``."""
        return format_error(self.path, column, i, found, expected, line=self.line(i), problem=problem)

    def file_error(self, problem: str, expected: str) -> DataFormatError:
        return file_error(self.path, problem, expected)

    def require(self, required: Sequence[str], *, exact: bool = False) -> None:
        """Fail naming every column of ``required`` that the header lacks (and, with
        ``exact``, every column it has beyond them)."""
        cols = self.columns
        missing = [c for c in required if c not in cols]
        at = f" (header on CSV line {self.header_line})" if self.header_line else ""
        if missing:
            raise DataFormatError(f"{self.path}: missing column(s) {missing}{at}: expected columns {list(required)}, "
                                  f"found {cols}", file=self.path, column=missing[0], line=self.header_line,
                                  expected=f"columns {list(required)}")
        if exact:
            extra = [c for c in cols if c not in required]
            if extra:
                raise DataFormatError(f"{self.path}: unexpected column(s) {extra}{at}: expected exactly "
                                      f"{list(required)}", file=self.path, column=extra[0], line=self.header_line,
                                      expected=f"exactly the columns {list(required)}")

    def numbers(self, col: str, lo: float | None = None, hi: float | None = None, *, integer: bool = False,
                missing_ok: bool = False, inf_ok: bool = False, rows: Sequence[int] | None = None) -> np.ndarray:
        """Column ``col`` (or its ``rows``) as float64 (int64 when ``integer`` and no
        missing value is allowed), checked against :class:`Num` ``(lo, hi, ...)``."""
        spec = Num(lo, hi, integer, missing_ok, inf_ok)
        raw = self.frame[col]
        idx = None
        if rows is not None:
            idx = np.asarray(rows, dtype=np.int64)
            raw = raw.iloc[idx]

        def fail(k: int, problem: str, want: str) -> DataFormatError:
            i = int(idx[k]) if idx is not None else k
            return self.error(col, i, self.frame[col].iloc[i], want, problem)

        v = check_numbers(raw, spec, fail)
        return v.astype(np.int64) if integer and not missing_ok else v

    def choice(self, col: str, allowed: Iterable) -> np.ndarray:
        """Column ``col`` as stripped strings, each one of ``allowed``."""
        allowed = [str(a) for a in allowed]
        v = self.frame[col].astype(str).str.strip()
        bad = np.flatnonzero(~v.isin(allowed).to_numpy())
        if bad.size:
            i = int(bad[0])
            raise self.error(col, i, self.frame[col].iloc[i], f"one of {allowed}")
        return v.to_numpy(dtype=object)

    def nonempty(self, col: str, what: str) -> list[str]:
        """Column ``col`` as strings, none of them empty."""
        v = self.col(col)
        for i, s in enumerate(v):
            if not s.strip():
                raise self.error(col, i, s, what, "is empty")
        return v

    def datetimes(self, col: str, example: str, fmt: str = "mixed") -> pd.Series:
        """Column ``col`` as naive ``datetime64`` (any unambiguous layout, or ``fmt``)."""
        raw = self.frame[col]
        t = pd.to_datetime(raw.astype(str).str.strip(), errors="coerce", format=fmt)
        bad = np.flatnonzero(t.isna().to_numpy())
        if bad.size:
            i = int(bad[0])
            raise self.error(col, i, raw.iloc[i], f"a date-time like {example!r}")
        return t

    def times(self, col: str, convention: str = "utc", **kw) -> pd.DatetimeIndex:
        """Column ``col`` as a UTC index (:func:`gridshift.data.loaders.timeseries.parse_times`)."""
        from gridshift.data.loaders.timeseries import parse_times

        return parse_times(self.frame[col], convention, path=self.path, column=col, lines=self.lines, **kw)

    def check_unique(self, cols: Sequence[str] | str, what: str) -> None:
        """Fail on the first row whose ``cols`` repeat an earlier row's (``what``: the thing
        a row stands for, e.g. ``"unit"``)."""
        cols = [cols] if isinstance(cols, str) else list(cols)
        key = self.frame[cols].astype(str).apply(lambda s: s.str.strip())
        dup = key.duplicated(keep="first").to_numpy()
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            first = int(np.flatnonzero((key == key.iloc[i]).all(axis=1).to_numpy())[0])
            found = key.iloc[i, 0] if len(cols) == 1 else tuple(key.iloc[i])
            name = cols[0] if len(cols) == 1 else "/".join(cols)
            raise self.error(name, i, found, f"one row per {what} (unique {name!r})",
                             f"duplicates {self.where(first)}")
