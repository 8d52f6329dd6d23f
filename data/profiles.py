"""Typical-day profiles of demand, solar and wind: loader, interpolation and a noisy sampler.

The packaged table ``profiles/erco_2022_typical_day.csv`` is derived from EIA-930 ERCOT 2022
hourly data by :mod:`gridshift.data.derive_profiles` (provenance, normalising peaks and the
rebuild command in ``profiles/PROVENANCE.md``). It holds, per month (1-12) x daytype
(``weekday`` = Mon-Fri, ``weekend`` = Sat-Sun) x local hour (0-23), the mean and the
across-day standard deviation of

* ``demand_pu``: demand / annual peak demand (ERCO 2022: 79,830 MW),
* ``solar_pu``: solar output / annual max solar output (10,039 MW),
* ``wind_pu``: wind output / annual max wind output (26,871 MW),

and the means of ``hydro_pu`` and ``nuclear_pu`` (MW / annual peak demand). Row ``hour = h``
is the mean over the local clock hour ``[h, h+1)``; interpolation places it at ``h + 0.5``.

Scale the per-unit values by your own system's peak demand / solar / wind capacity to get MW.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from gridshift.data.csvio import DataFormatError, read_csv

#: The packaged ERCOT 2022 table.
DEFAULT_PROFILE_PATH: Path = (
    Path(__file__).resolve().parent / "profiles" / "erco_2022_typical_day.csv"
)

DAYTYPES: tuple[str, ...] = ("weekday", "weekend")
MEAN_FIELDS: tuple[str, ...] = (
    "demand_pu_mean",
    "solar_pu_mean",
    "wind_pu_mean",
    "hydro_pu_mean",
    "nuclear_pu_mean",
)
STD_FIELDS: tuple[str, ...] = ("demand_pu_std", "solar_pu_std", "wind_pu_std")
VALUE_FIELDS: tuple[str, ...] = (
    "demand_pu_mean",
    "demand_pu_std",
    "solar_pu_mean",
    "solar_pu_std",
    "wind_pu_mean",
    "wind_pu_std",
    "hydro_pu_mean",
    "nuclear_pu_mean",
)
COLUMNS: tuple[str, ...] = ("month", "daytype", "hour", *VALUE_FIELDS)
SHAPE: tuple[int, int, int] = (12, 2, 24)

#: Allowed range of every per-unit value (means and stds). Means are normalised by annual
#: peaks, so they stay <= 1; 1.5 leaves room for tables normalised by another base.
PU_MAX: float = 1.5

#: Default AR(1) noise correlation times (hours), used when the table header has no
#: ``tau_*_h`` entries: the e-folding times of the standardised residual of ERCO 2022
#: (``derive_profiles.residual_timescales_h``: demand 30.6, solar 10.1, wind 21.4 h).
DEFAULT_TAU_HOURS: Mapping[str, float] = MappingProxyType(
    {"demand": 30.0, "solar": 10.0, "wind": 20.0}
)

#: Solar means below this (per unit of max solar) are night: no noise is added there.
#: EIA-930 reports a few MW of "solar" at night in winter (metering/aux noise, <= 0.1 %).
SOLAR_NIGHT_PU: float = 1e-3

#: Calendar year used to turn a ``(month, day_of_week)`` start into a date.
REFERENCE_YEAR: int = 2022

_SERIES_VARS: tuple[str, ...] = ("demand", "solar", "wind")


#: The profile loader's error type: the one :class:`~gridshift.data.csvio.DataFormatError`.
ProfileFileError = DataFormatError


@dataclass(frozen=True, eq=False)
class ProfileTable:
    """Typical-day statistics, each array shaped ``[12, 2, 24]`` = (month-1, daytype, hour).

    ``daytype`` index 0 = weekday (Mon-Fri), 1 = weekend (Sat-Sun). All values per unit (see
    the module docstring for the bases). ``meta`` holds the ``key: value`` header comments of
    the file (normalising peaks in MW, time zone, noise correlation times).
    """

    demand_pu_mean: np.ndarray
    demand_pu_std: np.ndarray
    solar_pu_mean: np.ndarray
    solar_pu_std: np.ndarray
    wind_pu_mean: np.ndarray
    wind_pu_std: np.ndarray
    hydro_pu_mean: np.ndarray
    nuclear_pu_mean: np.ndarray
    meta: Mapping[str, str] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        for k in VALUE_FIELDS:
            a = np.array(getattr(self, k), dtype=np.float64, copy=True)
            if a.shape != SHAPE:
                raise ValueError(f"ProfileTable.{k} has shape {a.shape}, expected {SHAPE}")
            if not np.all(np.isfinite(a)) or (a < 0).any():
                raise ValueError(f"ProfileTable.{k} must be finite and >= 0")
            a.flags.writeable = False
            object.__setattr__(self, k, a)
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

    # ---------------------------------------------------------------- metadata helpers

    def _meta_float(self, key: str) -> float | None:
        try:
            return float(self.meta[key])
        except (KeyError, ValueError):
            return None

    @property
    def peak_demand_mw(self) -> float | None:
        """Normalising base of ``demand_pu`` (MW), from the file header, if recorded."""
        return self._meta_float("peak_demand_mw")

    @property
    def max_solar_mw(self) -> float | None:
        return self._meta_float("max_solar_mw")

    @property
    def max_wind_mw(self) -> float | None:
        return self._meta_float("max_wind_mw")

    @property
    def tz(self) -> str | None:
        """Local time zone of the table (IANA name), if recorded."""
        return self.meta.get("tz")

    def tau_hours(self) -> dict[str, float]:
        """AR(1) noise correlation time per variable (hours): header values, else defaults."""
        out = dict(DEFAULT_TAU_HOURS)
        for v in _SERIES_VARS:
            t = self._meta_float(f"tau_{v}_h")
            if t is not None and math.isfinite(t) and t > 0:
                out[v] = t
        return out

    # ---------------------------------------------------------------- interpolation

    def expected(self, month, daytype, hour) -> dict[str, np.ndarray | float]:
        """Mean per-unit values at local ``hour`` (float, 0 <= hour < 24) of a typical day.

        Linear interpolation between hourly rows, each placed at the middle of its hour
        (row ``h`` at ``h + 0.5``), periodic within the same (month, daytype): between 23:30
        and 00:30 it blends hour 23 and hour 0 of the *same* typical day. ``daytype`` is
        ``"weekday"``/``"weekend"`` or 0/1. Arguments broadcast; scalars in -> floats out.

        Returns ``demand_pu, solar_pu, wind_pu, hydro_pu, nuclear_pu``.
        """
        m = _month_index(month)
        d = _daytype_index(daytype)
        h = np.asarray(hour, dtype=np.float64)
        if not np.all(np.isfinite(h)):
            raise ValueError(f"hour={hour!r} is invalid: allowed finite values in [0, 24)")
        m, d, h = np.broadcast_arrays(m, d, h)
        u = np.mod(h - 0.5, 24.0)
        h0 = np.floor(u).astype(np.int64) % 24
        w = u - np.floor(u)
        h1 = (h0 + 1) % 24
        scalar = np.ndim(month) == 0 and np.ndim(daytype) == 0 and np.ndim(hour) == 0
        out: dict[str, np.ndarray | float] = {}
        for f in MEAN_FIELDS:
            a = getattr(self, f)
            v = (1.0 - w) * a[m, d, h0] + w * a[m, d, h1]
            out[f.removesuffix("_mean")] = float(v) if scalar else v
        return out

    def _interp_at(self, times: np.ndarray, f: str) -> np.ndarray:
        """``f`` at local naive ``datetime64`` times; neighbours from their own calendar day."""
        a = getattr(self, f)
        anchor = times - np.timedelta64(30, "m")
        t0 = anchor.astype("datetime64[h]")
        w = (anchor - t0) / np.timedelta64(1, "h")
        t1 = t0 + np.timedelta64(1, "h")
        v0 = a[_calendar_index(t0)]
        v1 = a[_calendar_index(t1)]
        return (1.0 - w) * v0 + w * v1

    def times(self, start, n_steps: int, step_minutes: float = 15.0) -> np.ndarray:
        """Local naive ``datetime64[s]`` times ``start + k * step`` (k = 0..n_steps-1)."""
        if int(n_steps) != n_steps or n_steps < 0:
            raise ValueError(f"n_steps={n_steps!r} is invalid: allowed an integer >= 0")
        if not (math.isfinite(step_minutes) and step_minutes > 0):
            raise ValueError(
                f"step_minutes={step_minutes!r} is invalid: allowed a finite value > 0"
            )
        t0 = _start_datetime64(start, self.tz)
        step = np.timedelta64(int(round(step_minutes * 60.0)), "s")
        if step <= np.timedelta64(0, "s"):
            raise ValueError(f"step_minutes={step_minutes!r} is below one second")
        return t0 + np.arange(int(n_steps)) * step

    def series(
        self,
        start,
        n_steps: int,
        step_minutes: float = 15.0,
        rng: np.random.Generator | None = None,
        noise: bool = True,
        *,
        batch: int | None = None,
        tau_hours: Mapping[str, float] | None = None,
    ) -> dict[str, np.ndarray]:
        """Per-unit ``demand_pu``, ``solar_pu``, ``wind_pu`` for consecutive local times.

        ``start`` is a local time (``datetime``, ``pandas.Timestamp``, ``numpy.datetime64`` or
        an ISO string; a tz-aware value is converted to the table's time zone) or a tuple
        ``(month, day_of_week[, hour])`` with ``day_of_week`` 0 = Monday .. 6 = Sunday, which
        means the first such weekday of that month in :data:`REFERENCE_YEAR` at ``hour``
        (default 0). Steps advance on the local clock (DST jumps are ignored); a series may
        cross midnight, weekends and months, taking each hour from its own calendar day.

        Mean: linear interpolation between hourly rows placed at mid-hour (as
        :meth:`expected`, but the neighbour across midnight is the next/previous calendar
        day's). With ``rng`` (a ``numpy.random.Generator``) and ``noise``, each variable gets
        independent stationary AR(1) noise ``e_k = phi e_{k-1} + sqrt(1 - phi^2) z_k`` with
        ``phi = exp(-step / tau)`` and unit variance, scaled by the interpolated std:
        ``x = mean + std * e``. ``tau`` defaults to :meth:`tau_hours`. No noise is added to
        solar where its mean is below :data:`SOLAR_NIGHT_PU` (night), and all values are
        clipped to ``>= 0``. Without ``rng`` (or with ``noise=False``) the means are returned.
        The global NumPy RNG is never used. Draw order is fixed (demand, solar, wind), so a
        seed gives the same series.

        Arrays have shape ``[n_steps]``, or ``[batch, n_steps]`` when ``batch`` is given.
        """
        t = self.times(start, n_steps, step_minutes)
        if batch is not None and (int(batch) != batch or batch < 1):
            raise ValueError(f"batch={batch!r} is invalid: allowed an integer >= 1")
        taus = self.tau_hours()
        if tau_hours:
            taus.update({k: float(v) for k, v in tau_hours.items()})
        shape = (n_steps,) if batch is None else (int(batch), n_steps)
        out: dict[str, np.ndarray] = {}
        for v in _SERIES_VARS:
            mean = self._interp_at(t, f"{v}_pu_mean")
            x = np.broadcast_to(mean, shape).copy()
            if rng is not None and noise and n_steps > 0:
                tau = taus[v]
                if not (math.isfinite(tau) and tau > 0):
                    raise ValueError(
                        f"tau_hours[{v!r}]={tau!r} is invalid: allowed a finite value > 0"
                    )
                std = self._interp_at(t, f"{v}_pu_std")
                e = _ar1(rng, shape, math.exp(-(step_minutes / 60.0) / tau))
                scale = std if v != "solar" else np.where(mean >= SOLAR_NIGHT_PU, std, 0.0)
                x = x + scale * e
            out[f"{v}_pu"] = np.maximum(x, 0.0)
        return out


# -------------------------------------------------------------------------------------------
# helpers
# -------------------------------------------------------------------------------------------


def _month_index(month) -> np.ndarray:
    m = np.asarray(month)
    if m.dtype.kind not in "iuf" or not np.all(np.isfinite(m)) or np.any(m != np.round(m)):
        raise ValueError(f"month={month!r} is invalid: allowed integers 1..12")
    m = m.astype(np.int64)
    if np.any((m < 1) | (m > 12)):
        raise ValueError(f"month={month!r} is invalid: allowed integers 1..12")
    return m - 1


def _daytype_index(daytype) -> np.ndarray:
    d = np.asarray(daytype)
    if d.dtype.kind in "US":
        bad = ~np.isin(d, DAYTYPES)
        if bad.any():
            raise ValueError(f"daytype={daytype!r} is invalid: allowed {DAYTYPES} or 0/1")
        return (d == "weekend").astype(np.int64)
    if d.dtype.kind in "iub" and np.all((d == 0) | (d == 1)):
        return d.astype(np.int64)
    raise ValueError(f"daytype={daytype!r} is invalid: allowed {DAYTYPES} or 0/1")


def _calendar_index(t_hour: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(month-1, daytype, hour) of ``datetime64[h]`` local times."""
    days = t_hour.astype("datetime64[D]")
    hour = (t_hour - days).astype(np.int64)
    month = days.astype("datetime64[M]").astype(np.int64) % 12
    dow = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday (dow 3, Monday = 0)
    return month, (dow >= 5).astype(np.int64), hour


def _start_datetime64(start, tz: str | None) -> np.datetime64:
    if isinstance(start, tuple):
        if len(start) not in (2, 3):
            raise ValueError(f"start={start!r} is invalid: allowed (month, day_of_week[, hour])")
        month, dow = start[0], start[1]
        hour = float(start[2]) if len(start) == 3 else 0.0
        if int(month) != month or not 1 <= month <= 12:
            raise ValueError(f"start month={month!r} is invalid: allowed integers 1..12")
        if int(dow) != dow or not 0 <= dow <= 6:
            raise ValueError(
                f"start day_of_week={dow!r} is invalid: allowed 0 (Monday)..6 (Sunday)"
            )
        if not (math.isfinite(hour) and 0.0 <= hour < 24.0):
            raise ValueError(f"start hour={hour!r} is invalid: allowed 0 <= hour < 24")
        d = _dt.date(REFERENCE_YEAR, int(month), 1)
        d += _dt.timedelta(days=(int(dow) - d.weekday()) % 7)
        return np.datetime64(d.isoformat(), "s") + np.timedelta64(int(round(hour * 3600.0)), "s")
    ts = pd.Timestamp(start)
    if ts is pd.NaT:
        raise ValueError(f"start={start!r} is invalid: allowed a date/time or (month, day_of_week)")
    if ts.tzinfo is not None:
        if tz is None:
            raise ValueError(f"start={start!r} is tz-aware but the table records no time zone")
        ts = ts.tz_convert(tz).tz_localize(None)
    return np.datetime64(ts.to_datetime64(), "s")


# -------------------------------------------------------------------------------------------
# loading
# -------------------------------------------------------------------------------------------


def _ar1(rng: np.random.Generator, shape: tuple[int, ...], phi: float) -> np.ndarray:
    """Stationary unit-variance AR(1) along the last axis."""
    z = rng.standard_normal(shape)
    e = np.empty(shape)
    e[..., 0] = z[..., 0]
    s = math.sqrt(max(0.0, 1.0 - phi * phi))
    for k in range(1, shape[-1]):
        e[..., k] = phi * e[..., k - 1] + s * z[..., k]
    return e


def load_profile_table(path: str | Path | None = None) -> ProfileTable:
    """Load and validate a typical-day table (default: the packaged ERCOT 2022 table).

    Read by :func:`gridshift.data.csvio.read_csv`. Checks: all :data:`COLUMNS` present;
    ``month`` integers 1..12, ``hour`` integers 0..23, ``daytype`` in ``{weekday, weekend}``;
    every value a finite number (no NaN) with means and stds in ``[0, PU_MAX]``; exactly one
    row per (month, daytype, hour), all 576 present. Failures raise
    :class:`~gridshift.data.csvio.DataFormatError` (alias :class:`ProfileFileError`) naming
    the file, the column, the row (data row and CSV line) and what is allowed. ``#`` lines
    are comments; ``# key: value`` lines before the header are kept in
    :attr:`ProfileTable.meta`.
    """
    p = Path(path) if path is not None else DEFAULT_PROFILE_PATH
    t = read_csv(p, COLUMNS, comments=True, what="a typical-day profile CSV")
    meta: dict[str, str] = {}
    for note in t.comments:
        key, sep, val = note.partition(":")
        if sep and key and all(c.isalnum() or c == "_" for c in key):
            meta[key] = val.strip()
    month = t.numbers("month", 1, 12, integer=True)
    hour = t.numbers("hour", 0, 23, integer=True)
    d = (t.choice("daytype", DAYTYPES) == "weekend").astype(np.int64)

    seen = np.full(SHAPE, -1, dtype=np.int64)
    for i, (mi, di, hi) in enumerate(zip(month - 1, d, hour, strict=True)):
        if seen[mi, di, hi] >= 0:
            raise t.error("month/daytype/hour", i, f"{mi + 1}/{DAYTYPES[di]}/{hi}",
                          "one row per (month, daytype, hour) cell",
                          f"duplicates {t.where(int(seen[mi, di, hi]))} for (month={mi + 1}, "
                          f"daytype={DAYTYPES[di]}, hour={hi})")
        seen[mi, di, hi] = i
    if (seen < 0).any():
        mi, di, hi = (int(x[0]) for x in np.nonzero(seen < 0))
        n_missing = int((seen < 0).sum())
        raise DataFormatError(
            f"{p}: columns month/daytype/hour: no row for (month={mi + 1}, daytype={DAYTYPES[di]}, "
            f"hour={hi}) ({n_missing} of {seen.size} cells missing): expected a complete "
            f"12 x 2 x 24 grid", file=p, column="month/daytype/hour", expected="a complete 12 x 2 x 24 grid")
    arrays: dict[str, np.ndarray] = {}
    for col in VALUE_FIELDS:
        a = np.empty(SHAPE)
        a[month - 1, d, hour] = t.numbers(col, 0.0, PU_MAX)
        arrays[col] = a
    return ProfileTable(**arrays, meta=meta, source=str(p))
