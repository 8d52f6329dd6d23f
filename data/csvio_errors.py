"""The one error type of the data loaders (:class:`DataFormatError`) and its helpers; see
:mod:`gridshift.data.csvio`, which re-exports everything here."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gridshift.data.paths import DataNotFoundError

_NO_VALUE = object()


class DataFormatError(ValueError):
    """A data file that does not have the expected format or values.

    The message names the file, the column, the row (1-based data row and physical CSV line
    where known) and what was expected; the same are attributes: ``file``, ``column``,
    ``row`` (1-based data row or ``None``), ``line`` (1-based CSV line or ``None``),
    ``found`` (the offending cell text, if any) and ``expected``.
    """

    def __init__(self, message: str, *, file=None, column: str | None = None, row: int | None = None,
                 line: int | None = None, found=_NO_VALUE, expected: str | None = None) -> None:
        super().__init__(message)
        self.file = None if file is None else str(file)
        self.column = column
        self.row = row
        self.line = line
        self.found = None if found is _NO_VALUE else found
        self.expected = expected


class DataFileNotFoundError(DataNotFoundError, DataFormatError):
    """A data file that does not exist: a :class:`~gridshift.data.paths.DataNotFoundError`
    (``FileNotFoundError``) that is also a :class:`DataFormatError`, so either catches it."""

    def __new__(cls, message: str, **kw):
        return DataNotFoundError.__new__(cls, message)

    def __init__(self, message: str, **kw) -> None:
        DataFormatError.__init__(self, message, **kw)


def _where(row: int | None, line: int | None) -> str:
    """``data row R (CSV line L)`` for a 0-based data row (``line``: physical, 1-based)."""
    if row is None:
        return f"CSV line {line}" if line is not None else ""
    return f"data row {row + 1}" + (f" (CSV line {line})" if line is not None else "")


def format_error(path, column: str | None, row: int | None, found, expected: str, *, line: int | None = None,
                 problem: str = "is invalid") -> DataFormatError:
    """A :class:`DataFormatError` for one cell. ``row`` is the 0-based data row; ``line`` its
    physical CSV line (default: ``row + 2``, a file whose header is on line 1; ``0``: not a
    CSV file, no line is named)."""
    if line is None and row is not None:
        line = row + 2
    if isinstance(found, np.generic):
        found = found.item()
    line = line or None
    loc = ", ".join(x for x in (f"column {column!r}" if column is not None else "", _where(row, line)) if x)
    what = f"value {found!r} {problem}" if found is not _NO_VALUE else problem
    return DataFormatError(f"{path}: {loc + ': ' if loc else ''}{what}: expected {expected}", file=path,
                           column=column, row=None if row is None else row + 1, line=line,
                           found=None if found is _NO_VALUE else found, expected=expected)


def file_error(path, problem: str, expected: str, *, line: int | None = None) -> DataFormatError:
    """A :class:`DataFormatError` about the whole file (or one of its lines)."""
    loc = f"CSV line {line}: " if line is not None else ""
    return DataFormatError(f"{path}: {loc}{problem}: expected {expected}", file=path, line=line, expected=expected)


def existing_file(path, what: str = "a CSV table") -> Path:
    """``Path(path)``, failing with :class:`DataFileNotFoundError` when it is not a file."""
    p = Path(path)
    if not p.is_file():
        raise DataFileNotFoundError(f"data not found at {p}: file not found; expected {what} "
                                    "(see README, 'Real data')", file=p, expected=what)
    return p
