"""Common time-series utilities for the real-data loaders: time index, gaps, DST, units.

Every loader in :mod:`gridshift.data.loaders` returns a :class:`TimeSeriesData`: a
``pandas.DataFrame`` with a tz-aware **UTC** ``DatetimeIndex`` at a regular step and
unit-named float columns (``demand_mw``, ``price_usd_per_mwh``, ``ci_g_per_kwh``...), plus
the source file and the long gaps that were left as NaN.

Time conventions handled by :func:`parse_times` (``convention=``):

* ``"utc"``: naive timestamps that are UTC (EIA-930 exports, Electricity Maps, most
  green-dcc price files), or strings with an explicit offset, which are honoured.
* ``"offset"``: local time with an explicit UTC offset (``2022-11-06 01:00:00-05:00``);
  the repeated hour at the end of DST is unambiguous because the offset differs.
* ``"local:<IANA tz>"``: naive local wall-clock time (hour-beginning). Repeated hours at
  the end of DST are disambiguated by order (first = DST) or by a repeated-hour flag; the
  hour skipped at the start of DST must not appear.
* Hour-ending (ERCOT ``Hour Ending 01:00..24:00``) is converted by the ERCOT loader to
  hour-beginning before localisation (:func:`hour_ending_to_start`).

Gaps (:func:`regularize`): after reindexing to a regular grid, runs of at most
``max_gap_steps`` missing values are filled by linear interpolation; longer runs stay NaN
and are reported as :class:`Gap` records (never silently invented).

Units (:func:`to_g_per_kwh`): emission rates in lbs/MWh, kg/kWh (= t/MWh), kg/MWh, g/kWh
to gCO2/kWh (1 lb = 0.45359237 kg, NIST).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# The one error type of the data loaders (still importable from here).
from gridshift.data.csvio import DataFormatError, format_error

_KG_PER_LB = 0.45359237

#: Emission-rate units accepted by :func:`to_g_per_kwh` -> factor to gCO2/kWh.
CI_UNIT_FACTORS: dict[str, float] = {
    "g/kwh": 1.0,
    "kg/mwh": 1.0,
    "kg/kwh": 1000.0,
    "t/mwh": 1000.0,
    "lbs/mwh": _KG_PER_LB,  # lb/MWh * 0.4536 kg/lb = kg/MWh = g/kWh
    "lb/mwh": _KG_PER_LB,
}


@dataclass(frozen=True)
class Gap:
    """A run of missing values longer than the interpolation limit (left as NaN)."""

    column: str
    start: pd.Timestamp
    end: pd.Timestamp
    """Last missing timestamp (inclusive)."""
    n_steps: int


@dataclass(frozen=True, eq=False)
class TimeSeriesData:
    """A regular, UTC-indexed table of unit-named series.

    ``frame``: float columns, ``DatetimeIndex`` tz=UTC at ``step_minutes``. ``source``: the
    file(s) read. ``gaps``: runs of NaN too long to interpolate (see :func:`regularize`).
    """

    frame: pd.DataFrame
    step_minutes: float
    source: str = ""
    gaps: tuple[Gap, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        idx = self.frame.index
        if not isinstance(idx, pd.DatetimeIndex) or str(idx.tz) != "UTC":
            raise ValueError("TimeSeriesData.frame must have a tz-aware UTC DatetimeIndex")

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)

    def __getitem__(self, col: str) -> pd.Series:
        return self.frame[col]

    def between(self, start=None, end=None) -> TimeSeriesData:
        """Rows with ``start <= t < end`` (UTC; naive values are read as UTC). Fails when the
        range is empty or outside the data, naming the available range."""
        s, e = check_range(self.frame.index, start, end, what=self.source or "series")
        f = self.frame.loc[(self.frame.index >= s) & (self.frame.index < e)]
        gaps = tuple(g for g in self.gaps if g.end >= s and g.start < e)
        return TimeSeriesData(f, self.step_minutes, self.source, gaps)

    def resample(self, step_minutes: float, *, how: str = "interpolate") -> TimeSeriesData:
        """This table at another step (see :func:`resample`)."""
        return TimeSeriesData(resample(self.frame, self.step_minutes, step_minutes, how=how),
                              float(step_minutes), self.source, self.gaps)


def _as_utc(t) -> pd.Timestamp:
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def check_range(index: pd.DatetimeIndex, start, end, *, what: str = "series") -> tuple[pd.Timestamp, pd.Timestamp]:
    """Validate ``[start, end)`` against ``index``; ``None`` = the data's own bound."""
    if len(index) == 0:
        raise ValueError(f"{what}: no data")
    lo, hi = index[0], index[-1]
    try:
        s = lo if start is None else _as_utc(start)
        e = hi + pd.Timedelta(1, "ns") if end is None else _as_utc(end)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"start={start!r}/end={end!r} is invalid: allowed ISO dates ({exc})") from None
    if not s < e:
        raise ValueError(f"start={start!r} end={end!r} is invalid: allowed start < end")
    if s > hi or e <= lo:
        raise ValueError(f"start={start!r} end={end!r} is out of range for {what}: allowed dates within "
                         f"[{lo.isoformat()}, {hi.isoformat()}]")
    return s, e


# ------------------------------------------------------------------------------------ times


def hour_ending_to_start(dates: pd.Series, hour_ending: pd.Series, *, path="", date_col="", hour_col="",
                         lines=None) -> pd.Series:
    """Local naive hour-beginning timestamps from a date and an ``HH:MM`` hour-ending label
    (``01:00`` .. ``24:00``): ``HE h`` on day ``D`` covers ``[D + (h-1) h, D + h h)``."""
    d = pd.to_datetime(dates, format="%m/%d/%Y", errors="coerce")
    bad = np.flatnonzero(d.isna().to_numpy())
    if bad.size:
        i = int(bad[0])
        raise format_error(path, date_col, i, dates.iloc[i], "a date MM/DD/YYYY", line=_line(lines, i))
    hh = hour_ending.astype(str).str.strip().str.extract(r"^(\d{1,2})(?::(\d{2}))?$")
    h = pd.to_numeric(hh[0], errors="coerce")
    bad = np.flatnonzero((h.isna() | (h < 1) | (h > 24)).to_numpy())
    if bad.size:
        i = int(bad[0])
        raise format_error(path, hour_col, i, hour_ending.iloc[i], "an hour-ending label 01:00..24:00",
                           line=_line(lines, i))
    return d + pd.to_timedelta(h - 1, unit="h")


def _line(lines, i: int):
    """Physical CSV line of value ``i`` (``lines`` given), else ``None``: the default of
    :func:`~gridshift.data.csvio.format_error`."""
    return None if lines is None else int(lines[i])


def parse_times(values: pd.Series, convention: str = "utc", *, path="", column="",
                repeated: pd.Series | None = None, lines=None) -> pd.DatetimeIndex:
    """Parse timestamps to a UTC ``DatetimeIndex`` (see the module docstring for conventions).

    ``repeated`` (booleans, optional, ``local:`` only) marks the second occurrence of the
    repeated hour at the end of DST; without it, occurrences are disambiguated by order.
    ``lines``: physical CSV line of each value, for error messages (default: value ``i`` on
    line ``i + 2``).
    """
    s = pd.Series(values).reset_index(drop=True)
    if convention in ("utc", "offset"):
        txt = s.astype(str).str.strip()
        try:
            t = pd.to_datetime(txt, utc=True, format="ISO8601", errors="coerce")
        except (ValueError, TypeError):
            t = pd.to_datetime(txt, utc=True, errors="coerce", format="mixed")
        bad = np.flatnonzero(t.isna().to_numpy())
        if bad.size:
            i = int(bad[0])
            raise format_error(path, column, i, s.iloc[i], "an ISO date-time (UTC, or with a UTC offset)",
                               line=_line(lines, i))
        if convention == "offset":
            has_off = txt.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z)$", regex=True)
            bad = np.flatnonzero(~has_off.to_numpy())
            if bad.size:
                i = int(bad[0])
                raise format_error(path, column, i, s.iloc[i], "a local time with a UTC offset, e.g. 2022-11-06 01:00:00-05:00",
                                   line=_line(lines, i))
        return pd.DatetimeIndex(t).as_unit("ns")
    if convention.startswith("local:"):
        tz = convention.split(":", 1)[1]
        t = s if pd.api.types.is_datetime64_any_dtype(s.dtype) else pd.to_datetime(s, errors="coerce")
        bad = np.flatnonzero(pd.isna(t).to_numpy())
        if bad.size:
            i = int(bad[0])
            raise format_error(path, column, i, s.iloc[i], "a local date-time", line=_line(lines, i))
        t = pd.Series(pd.DatetimeIndex(t))
        if repeated is not None:
            amb = ~pd.Series(repeated).reset_index(drop=True).astype(bool).to_numpy()
        else:
            # first occurrence of a wall-clock time = DST, second = standard time
            amb = ~t.duplicated(keep="first").to_numpy()
        try:
            loc = pd.DatetimeIndex(t).tz_localize(tz, ambiguous=amb, nonexistent="raise")
        except Exception as exc:  # pytz/zoneinfo raise different classes
            raise DataFormatError(f"{path}: column {column!r}: local time not valid in {tz} ({exc}); "
                                  "expected no time inside the DST spring-forward gap", file=path, column=column,
                                  expected="no time inside the DST spring-forward gap") from None
        return loc.tz_convert("UTC").as_unit("ns")
    raise ValueError(f"convention={convention!r} is invalid: allowed 'utc', 'offset', 'local:<IANA tz>'")


def detect_convention(sample: Sequence[str]) -> str:
    """``"offset"`` when the timestamps carry a UTC offset, else ``"utc"``."""
    txt = pd.Series([str(x).strip() for x in sample])
    return "offset" if txt.str.contains(r"[+-]\d{2}:?\d{2}$", regex=True).all() else "utc"


# ------------------------------------------------------------------------ regular grid, gaps


def infer_step_minutes(index: pd.DatetimeIndex) -> float:
    """The most common spacing of ``index`` (minutes)."""
    if len(index) < 2:
        raise ValueError("cannot infer the time step from fewer than 2 timestamps")
    d = np.diff(index.as_unit("ns").asi8) / 6e10
    d = d[d > 0]
    vals, counts = np.unique(np.round(d, 6), return_counts=True)
    return float(vals[np.argmax(counts)])


def regularize(frame: pd.DataFrame, step_minutes: float | None = None, *, max_gap_steps: int = 3,
               duplicates: str = "mean", path="") -> tuple[pd.DataFrame, float, tuple[Gap, ...]]:
    """Sort, de-duplicate, reindex to a regular UTC grid, interpolate short gaps.

    Duplicated timestamps (e.g. a repeated DST hour already mapped to the same UTC time by a
    source that dropped the offset) are averaged (``duplicates="mean"``), or fail
    (``"error"``). Runs of ``<= max_gap_steps`` missing steps are linearly interpolated
    (time-weighted); longer runs stay NaN and are returned as :class:`Gap` records.
    """
    f = frame.sort_index()
    f.index = pd.DatetimeIndex(f.index).as_unit("ns")
    if f.index.has_duplicates:
        if duplicates == "error":
            d = f.index[f.index.duplicated()][0]
            raise DataFormatError(f"{path}: duplicate timestamp {d.isoformat()}: expected one row per time", file=path,
                                  expected="one row per time")
        f = f.groupby(level=0).mean()
    step = float(step_minutes) if step_minutes else infer_step_minutes(f.index)
    full = pd.date_range(f.index[0].floor(f"{int(step * 60)}s"), f.index[-1], freq=pd.Timedelta(minutes=step))
    off_grid = ~f.index.isin(full)
    if off_grid.any():
        # snap to the grid by time interpolation rather than dropping observations
        f = f.reindex(f.index.union(full)).interpolate(method="time", limit_area="inside").reindex(full)
    else:
        f = f.reindex(full)
    gaps: list[Gap] = []
    for col in f.columns:
        na = f[col].isna().to_numpy()
        if not na.any():
            continue
        edges = np.flatnonzero(np.diff(np.r_[0, na.astype(np.int8), 0]))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            if b - a > max_gap_steps or a == 0 or b == len(na):
                gaps.append(Gap(str(col), f.index[a], f.index[b - 1], int(b - a)))
        filled = f[col].interpolate(method="time", limit=max_gap_steps, limit_area="inside")
        # do not partially fill long runs: restore NaN inside every reported gap
        for g in gaps:
            if g.column == col:
                filled.loc[g.start:g.end] = np.nan
        f[col] = filled
    f.index.name = "time_utc"
    return f, step, tuple(gaps)


def check_step(source_minutes: float, target_minutes: float) -> None:
    """Fail unless ``target`` divides a day and is a divisor or a multiple of ``source``."""
    ok = (math.isfinite(target_minutes) and target_minutes > 0 and (1440 / target_minutes).is_integer())
    if ok:
        r = target_minutes / source_minutes
        ok = abs(r - round(r)) < 1e-9 or abs(1 / r - round(1 / r)) < 1e-9
    if not ok:
        raise ValueError(f"step_minutes={target_minutes!r} is incompatible with the data step {source_minutes:g} min: "
                         f"allowed a divisor of 1440 that divides or is a multiple of {source_minutes:g}")


def resample(frame: pd.DataFrame, source_minutes: float, target_minutes: float, *, how: str = "interpolate") -> pd.DataFrame:
    """Change the step of a regular UTC table.

    Coarser: mean over each target interval (energy-conserving for MW, time-average for
    prices and intensities). Finer: ``how="interpolate"`` places each source value at the
    middle of its interval and interpolates linearly (physical quantities, as
    :mod:`gridshift.data.profiles` does); ``how="hold"`` repeats the value over its interval
    (settlement prices, which are constant over their hour).
    """
    check_step(source_minutes, target_minutes)
    if how not in ("interpolate", "hold"):
        raise ValueError(f"how={how!r} is invalid: allowed 'interpolate' or 'hold'")
    if target_minutes == source_minutes:
        return frame.copy()
    tgt = pd.Timedelta(minutes=target_minutes)
    if target_minutes > source_minutes:
        out = frame.resample(tgt, origin="start_day", label="left", closed="left").mean()
        return out
    src = pd.Timedelta(minutes=source_minutes)
    idx = pd.date_range(frame.index[0], frame.index[-1] + src - tgt, freq=tgt)
    if how == "hold":
        return frame.reindex(idx, method="ffill")
    mid = frame.copy()
    mid.index = mid.index + src / 2
    x = (idx + tgt / 2).as_unit("ns").asi8.astype(np.float64)
    xp = mid.index.as_unit("ns").asi8.astype(np.float64)
    out = pd.DataFrame(index=idx, columns=frame.columns, dtype=np.float64)
    for c in frame.columns:
        out[c] = np.interp(x, xp, mid[c].to_numpy(np.float64))
    out.index.name = frame.index.name
    return out


# ----------------------------------------------------------------------------------- units


def to_g_per_kwh(values, unit: str):
    """Convert an emission rate to gCO2/kWh; ``unit`` is a key of :data:`CI_UNIT_FACTORS`
    (case-insensitive; ``lbs/MWh``, ``kg/kWh``...)."""
    key = unit.strip().lower().replace(" ", "").replace("co2", "").replace("eq", "")
    if key not in CI_UNIT_FACTORS:
        raise ValueError(f"unit={unit!r} is invalid: allowed {sorted(CI_UNIT_FACTORS)}")
    return values * CI_UNIT_FACTORS[key]
