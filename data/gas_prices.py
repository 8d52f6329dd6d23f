"""Gas prices for the real-data grid: the EIA daily Henry Hub spot price and each BA's
fitted regional basis.

Daily gas (:func:`daily_gas_price`): the Henry Hub spot price of each step's local day
(weekends and holidays interpolated between trading days, as the loader returns them) plus
the BA's basis (:data:`GAS_BASIS_USD_PER_MMBTU`), the delivered-price series that
``clear_arrays(..., gas_price=...)`` and ``commit_schedule(..., gas_price=...)`` take. The
file ends on 2022-12-13 (:func:`hh_last_day`); the rest of December 2022 carries that price
forward (:data:`HH_CARRY_DAYS`).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from gridshift.data.loaders.grid import load_henry_hub
from gridshift.data.loaders.timeseries import check_range

#: Regional gas basis ($/MMBtu) added to the daily Henry Hub price for each BA's gas units.
#: Fitted by ``gridshift calibrate --ba BA --year 2022`` on the fit half (Jan-Jun 2022: jointly
#: with the ORDC spread, the basis that zeroes the mean price bias; see
#: :mod:`gridshift.eval.calibrate`) for the BAs with a price series; 0 (Henry Hub itself) for
#: the others, whose price cannot be checked. A fitted basis also absorbs the model's own
#: price bias (it is an *effective* basis). For comparison, EIA reports the 2022 average cost
#: of gas delivered to US power plants at $7.51/Mcf (about $7.3/MMBtu) against a Henry Hub
#: average of $6.45/MMBtu: a national basis of about +$0.8/MMBtu (EIA, "Natural gas
#: explained: data and statistics"); the New York and California fits (+7) carry those
#: markets' winter gas spikes, which Henry Hub does not. PJM's (-2.7) is near the search's
#: lower bound (-3): its fit chose a wide ORDC (sigma 0.10 of peak, the highest fit-half price
#: r within the std band), whose scarcity adders the basis then offsets. ERCOT's (+2.4) is
#: well above the Texas hubs' 2022 spread to Henry Hub: it offsets a narrower ORDC (0.08).
GAS_BASIS_USD_PER_MMBTU: dict[str, float] = {
    "ERCO": 2.449, "CISO": 6.668, "PJM": -2.707, "NYIS": 7.02, "MISO": 0.0, "SOCO": 0.0, "AZPS": 0.0, "BPAT": 0.0,
}
#: Days after the Henry Hub file's last trading day (2022-12-13) for which its last price is
#: carried forward (the rest of December 2022); later dates fail.
HH_CARRY_DAYS = 31


def hh_last_day() -> pd.Timestamp:
    """The last trading day of the Henry Hub file (naive date): after it, :func:`daily_gas_price`
    carries that price forward (:data:`HH_CARRY_DAYS`), so a model fed with it has no real gas
    price there."""
    return _hh_daily().index[-1] - pd.Timedelta(days=HH_CARRY_DAYS)


@functools.lru_cache(maxsize=1)
def _hh_daily() -> pd.Series:
    """Henry Hub price per calendar day (naive dates), carried forward after the last one."""
    hh = load_henry_hub().frame["gas_price_usd_per_mmbtu"].dropna()
    days = hh.index.tz_convert(None).normalize()
    s = pd.Series(hh.to_numpy(), index=days).groupby(level=0).last().sort_index()
    full = pd.date_range(s.index[0], s.index[-1] + pd.Timedelta(days=HH_CARRY_DAYS), freq="D")
    return s.reindex(full).ffill()


def daily_gas_price(times, *, basis_usd_per_mmbtu: float = 0.0, utc_offset_h: float = 0.0) -> np.ndarray:
    """Delivered gas price ($/MMBtu) at each of ``times`` (UTC timestamps, any shape): the
    Henry Hub price of the local day (``utc_offset_h``) plus ``basis_usd_per_mmbtu``. Days
    outside the file (1997-01-07 .. 2022-12-13, plus :data:`HH_CARRY_DAYS`) fail naming the
    range."""
    s = _hh_daily()
    t = pd.DatetimeIndex(np.asarray(times).ravel())
    if t.tz is not None:
        t = t.tz_convert(None)
    day = (t + pd.Timedelta(hours=utc_offset_h)).normalize()
    lo, hi = s.index[0], s.index[-1]
    bad = (day < lo) | (day > hi)
    if bad.any():
        raise ValueError(f"date {day[bad][0].date()} is out of range for Henry Hub daily prices: allowed "
                         f"{lo.date()} .. {hi.date()}")
    v = s.reindex(day).to_numpy() + float(basis_usd_per_mmbtu)
    if not np.isfinite(v).all() or (v <= 0).any():
        raise ValueError(f"basis_usd_per_mmbtu={basis_usd_per_mmbtu!r} is invalid: the delivered price must stay > 0")
    return v.reshape(np.shape(times))


def henry_hub_price(start, end) -> float:
    """Mean Henry Hub spot price ($/MMBtu) over trading days in ``[start, end)`` (UTC dates).
    Out-of-range dates fail naming the available range (1997-01-07 .. 2022-12-13)."""
    hh = load_henry_hub()
    s, e = check_range(hh.frame.index, start, end, what="Henry Hub daily prices")
    v = hh.frame["gas_price_usd_per_mmbtu"].loc[s:e - pd.Timedelta(1, "ns")].dropna()
    if v.empty:
        raise ValueError(f"start={start!r} end={end!r}: no Henry Hub trading day in range")
    return float(v.mean())
