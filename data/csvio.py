"""The one CSV reader and the one error type of every gridshift data loader.

Every loader (grid time series, job traces, fleet tables, typical-day profiles, the
powersimdata plant table, the profile derivation) reads its file with :func:`read_csv` and
checks its cells with the methods of the returned :class:`CsvTable`. Anything wrong with a
file raises :class:`DataFormatError` (a ``ValueError``) whose message names the file, the
column, the row and what was expected, e.g.::

    fleet.csv: column 'capacity_mw', data row 2 (CSV line 4): value 'abc' is not a number:
    expected a number (finite, >= 0 and <= 1e+12)

The same facts are attributes of the error (``file``, ``column``, ``row``: 1-based data row,
``line``: 1-based physical line of the file, ``found`` and ``expected``). Rows are counted
both ways: *data row* 1 is the first row after the header; the *CSV line* counts every
physical line, preamble, header, blank and ``#`` comment lines included, so a cell can be
found with a text editor or with pandas alike.

What the reader rejects, each with its own message:

* a missing file: :class:`DataFileNotFoundError`, which is both a
  :class:`~gridshift.data.paths.DataNotFoundError` (a ``FileNotFoundError``; a missing data
  *directory* still raises the plain ``DataNotFoundError``) and a :class:`DataFormatError`;
* bytes that are not UTF-8 text: binary files (NUL bytes, e.g. Parquet or a spreadsheet),
  UTF-16 text (save it as UTF-8), invalid UTF-8 sequences (the line is named);
* an empty file, a header without data rows, rows with a wrong number of fields, duplicated
  header names, missing required columns (all of them named) and, with ``exact``, extra ones;
* in numeric columns (:meth:`CsvTable.numbers`): text that is not a number, missing/NaN
  cells where a value is required, ``inf`` and values that overflow (``1e400``), values
  outside the column's range; every number must also lie within ``+-``:data:`MAX_ABS` unless
  the column declares a wider range, so ``1e300`` cannot slip into a computation;
* cells outside a set of allowed values (:meth:`CsvTable.choice`), unparseable date-times
  (:meth:`CsvTable.datetimes`, :meth:`CsvTable.times`), duplicated keys
  (:meth:`CsvTable.check_unique`: a job or a fleet unit listed twice).

Code layout: the error types in :mod:`gridshift.data.csvio_errors`, the checked table in
:mod:`gridshift.data.csvio_table`, the reader here; all are importable from this module.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from gridshift.data.csvio_errors import (
    DataFileNotFoundError,
    DataFormatError,
    existing_file,
    file_error,
    format_error,
)
from gridshift.data.csvio_table import (
    MAX_ABS,
    NAN_TOKENS,
    CsvTable,
    Num,
    check_numbers,
    expected_number,
)


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def _looks_utf16(head: bytes) -> bool:
    """BOM-less UTF-16 of mostly ASCII text: one byte of each pair is NUL, the other is not."""
    if len(head) < 8:
        return False
    even, odd = head[0::2], head[1::2]
    zeros = (even.count(0) / len(even), odd.count(0) / len(odd))
    return max(zeros) >= 0.9 and min(zeros) <= 0.1


def decode_text(path, raw: bytes) -> str:
    """UTF-8 text of a file's bytes (a UTF-8 BOM is dropped); binary and UTF-16 input and
    invalid UTF-8 fail with a :class:`DataFormatError` saying which."""
    want = "a UTF-8 (or ASCII) CSV text file"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _looks_utf16(raw[:512]):
        raise file_error(path, "the file is UTF-16 encoded text", f"{want} (save it as UTF-8)")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise file_error(path, f"binary data (a NUL byte at byte offset {nul})", want, line=_line_of(raw, nul))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start:exc.start + 1]
        raise file_error(path, f"byte 0x{bad.hex()} at byte offset {exc.start} is not valid UTF-8", want,
                         line=_line_of(raw, exc.start)) from None


def read_text(path, what: str = "a CSV table") -> str:
    """The decoded text of an existing file (:func:`existing_file`, :func:`decode_text`)."""
    p = existing_file(path, what)
    return decode_text(p, p.read_bytes())


def read_head(path, n: int, what: str = "a CSV table") -> list[str]:
    """The first ``n`` lines of a text file, stripped (for format detection); the file must
    exist and be UTF-8 text like any other input."""
    p = existing_file(path, what)
    with p.open("rb") as fh:
        raw = fh.read(64 * 1024)
    if len(raw) == 64 * 1024:  # do not fail on a multi-byte character cut at the end
        raw = raw[:raw.rfind(b"\n") + 1] or raw
    lines = decode_text(p, raw).splitlines()
    return [s.strip() for s in lines[:n]] + [""] * max(0, n - len(lines))


def read_csv(path, required: Sequence[str] = (), *, exact: bool = False, skip_lines: int = 0,
             comments: bool = False, min_rows: int = 1, numeric: Mapping[str, Num] | None = None,
             unique: Sequence[str] | str | None = None, unique_what: str = "key",
             what: str = "a CSV table") -> CsvTable:
    """Read a CSV file into a :class:`CsvTable`, checking everything that does not depend on
    the format (module docstring), then the ``required`` columns (all of them; ``exact``: no
    other), at least ``min_rows`` data rows, the ``numeric`` columns (:class:`Num` specs,
    results in :attr:`CsvTable.num`) and the ``unique`` key.

    ``skip_lines``: preamble lines before the header (not parsed). ``comments``: lines whose
    first cell starts with ``#`` are ignored; those before the header are kept (without the
    ``#``) in :attr:`CsvTable.comments`. Blank lines are always ignored. ``what`` describes
    the file in messages ("a fleet table").
    """
    p = existing_file(path, what)
    text = decode_text(p, p.read_bytes())
    fh = io.StringIO(text, newline="")
    for _ in range(skip_lines):
        fh.readline()
    reader = csv.reader(fh)
    header: tuple[str, ...] | None = None
    header_line = None
    rows: list[tuple[str, ...]] = []
    lines: list[int] = []
    notes: list[str] = []
    raw_lines: list[str] | None = None
    try:
        for rec in reader:
            line = reader.line_num + skip_lines
            if not rec or all(not c.strip() for c in rec):
                continue
            if comments and rec[0].lstrip().startswith("#"):
                if header is None:
                    if raw_lines is None:
                        raw_lines = text.split("\n")
                    notes.append(raw_lines[line - 1].strip().lstrip("#").strip())
                continue
            cells = tuple(c.strip() for c in rec)
            if header is None:
                header, header_line = cells, line
                continue
            if len(cells) != len(header):
                raise DataFormatError(
                    f"{p}: CSV line {line} (data row {len(rows) + 1}) has {len(cells)} fields: expected "
                    f"{len(header)} (one per header column)", file=p, row=len(rows) + 1, line=line,
                    expected=f"{len(header)} fields")
            rows.append(cells)
            lines.append(line)
    except csv.Error as exc:
        raise file_error(p, f"not a readable CSV table ({exc})", what, line=reader.line_num + skip_lines) from None
    if header is None:
        cols = f" with columns {list(required)}" if required else ""
        raise file_error(p, "the file is empty (no header line)", f"{what}: a header line{cols} and data rows")
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        raise DataFormatError(f"{p}: duplicate column(s) {dup} in the header (CSV line {header_line}): expected "
                              "each column once", file=p, column=dup[0], line=header_line,
                              expected="each column once")
    frame = pd.DataFrame(rows, columns=list(header), dtype=object) if rows else pd.DataFrame(
        {c: pd.Series(dtype=object) for c in header})
    t = CsvTable(p, frame, header_line, np.asarray(lines, dtype=np.int64), tuple(notes))
    t.require(required, exact=exact)
    if len(rows) < min_rows:
        n = "no data rows" if not rows else f"only {len(rows)} data row(s)"
        raise file_error(p, f"{n} after the header (CSV line {header_line})",
                         f"at least {min_rows} data row(s) of {what}")
    for col, spec in (numeric or {}).items():
        t.num[col] = t.numbers(col, spec.lo, spec.hi, integer=spec.integer, missing_ok=spec.missing_ok,
                               inf_ok=spec.inf_ok)
    if unique is not None:
        t.check_unique(unique, unique_what)
    return t


__all__ = [
    "MAX_ABS", "NAN_TOKENS", "CsvTable", "DataFileNotFoundError", "DataFormatError", "Num", "check_numbers",
    "decode_text", "expected_number", "existing_file", "file_error", "format_error", "read_csv", "read_head", "read_text",
]
