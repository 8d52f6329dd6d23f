"""Oscillation metrics of the cascade study (DESIGN §11): is the DCs' back-and-forth there?

Pure functions of arrays, every one checked by hand in ``tests/test_oscillation.py``.

**Deferral state.** Per DC ``i``, class ``c`` (E1..E3) and step ``t`` the policy's release
fraction ``r[t, i, c]`` (the core action) gives the state *deferring* ``d = r < 0.5``: for the
bang-bang GAS and threshold rules (``r`` in {0, 1}) exactly their ``deferring`` flag; for
rules with intermediate fractions (ramps, the price band) the side of one half. Then

* a **deferral** starts at ``t`` when ``d[t] & ~d[t-1]`` (``d[-1] = False``), and a
  **resumption** when ``~d[t] & d[t-1]``;
* a **re-deferral** is a deferral that starts at most ``k`` steps after the previous
  resumption of the same DC and class (``t_defer - t_resume <= k``): the fast back-and-forth
  that endogenous feedback causes (the backlog restarts, the signal drops, the DCs defer again);
* a **defer/resume cycle** is a deferral that follows an earlier resumption of the same DC and
  class (so ``cycles = deferrals - (DC-classes that deferred at least once)``); the
  **cycle period** is the mean time between consecutive deferral starts of one DC and class,
  pooled over all of them (hours; NaN without a cycle).

**Aggregate flexible load.** ``x = diff(F)``, the step-to-step change of the aggregate flexible
load ``F`` (MW):

* ``dflex_acf1``: the lag-1 autocorrelation ``corr(x[:-1], x[1:])`` (Pearson; NaN if either
  side is constant or ``len(x) < 3``). A smooth drift gives > 0, white noise 0, a load that
  swings back every step < 0 (-1 for a perfect alternation);
* ``dflex_fast_power_share``: the share of the (one-sided) periodogram power of ``x - mean(x)``,
  i.e. of its variance, at frequencies of at least ``FAST_FREQ`` = 1/4 cycle per step (periods
  of 4 steps or less: one hour at 15-minute steps), the zero frequency excluded. White noise gives about one half, a
  back-and-forth every step 1, a daily cycle about 0;
* ``dflex_rms_mw``: ``sqrt(mean(x^2))``, MW per step.

**Price volatility**: ``price_volatility_usd_per_mwh = std(diff(price))`` (population std), $/MWh
per step.
"""

from __future__ import annotations

import numpy as np

NAN = float("nan")
#: Release fraction below which a DC-class counts as deferring.
DEFER_BELOW = 0.5
#: Lower edge of the "fast" band of the Δflex spectrum, cycles per step (periods <= 4 steps).
FAST_FREQ = 0.25


def deferral_state(release: np.ndarray) -> np.ndarray:
    """``[T, K]`` deferring flags from release fractions ``[T, ...]`` (trailing axes flattened)."""
    r = np.asarray(release, dtype=float)
    if r.ndim < 1:
        raise ValueError(f"release of shape {r.shape} is invalid: allowed [T, ...]")
    return (r.reshape(r.shape[0], -1) < DEFER_BELOW)


def deferral_events(release: np.ndarray, k: int = 1, step_hours: float = 1.0) -> dict[str, float]:
    """Deferral starts, resumptions, re-deferrals within ``k`` steps, cycles and their period
    (hours) from release fractions ``[T, N, 3]`` (module docstring)."""
    if int(k) < 0:
        raise ValueError(f"k={k!r} is invalid: allowed an integer >= 0")
    d = deferral_state(release)
    T, K = d.shape
    prev = np.vstack([np.zeros((1, K), bool), d[:-1]]) if T else d
    start = d & ~prev
    resume = ~d & prev
    n_start = int(start.sum())
    n_resume = int(resume.sum())
    redefer, cycles, gaps = 0, 0, []
    for j in np.flatnonzero(start.any(axis=0)):
        ts = np.flatnonzero(start[:, j])
        tr = np.flatnonzero(resume[:, j])
        gaps.extend(np.diff(ts).tolist())
        # the last resumption before each deferral start (none for the first deferral)
        pos = np.searchsorted(tr, ts, side="left") - 1
        has = pos >= 0
        cycles += int(has.sum())
        redefer += int(np.sum(ts[has] - tr[pos[has]] <= k))
    return {
        "deferral_starts": float(n_start),
        "resumptions": float(n_resume),
        "redeferrals": float(redefer),
        "defer_cycles": float(cycles),
        "defer_cycle_period_h": float(np.mean(gaps) * step_hours) if gaps else NAN,
    }


def lag1_autocorrelation(x: np.ndarray) -> float:
    """Pearson correlation of ``x[:-1]`` and ``x[1:]``; NaN if undefined."""
    x = np.asarray(x, dtype=float)
    if x.size < 3:
        return NAN
    a, b = x[:-1], x[1:]
    sa, sb = a.std(), b.std()
    scale = max(float(np.abs(x).max()), 1.0)
    if sa <= 1e-12 * scale or sb <= 1e-12 * scale:
        return NAN
    return float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb))


def fast_power_share(x: np.ndarray, fast_freq: float = FAST_FREQ) -> float:
    """Share of the periodogram power of ``x - mean(x)`` at frequencies ``>= fast_freq`` cycles per
    step, zero frequency excluded; NaN if ``x`` is constant or shorter than 4."""
    x = np.asarray(x, dtype=float)
    if x.size < 4:
        return NAN
    y = x - x.mean()
    p = np.abs(np.fft.rfft(y)) ** 2
    f = np.fft.rfftfreq(y.size)
    # one-sided spectrum: every bin but 0 and Nyquist stands for two (Parseval), so the shares are
    # shares of the variance
    p[1:] *= 2.0
    if y.size % 2 == 0:
        p[-1] /= 2.0
    p, f = p[1:], f[1:]
    total = p.sum()
    scale = max(float(np.abs(x).max()), 1.0) ** 2 * x.size
    if total <= 1e-18 * scale:
        return NAN
    return float(p[f >= fast_freq - 1e-12].sum() / total)


def flex_oscillation(flex_mw: np.ndarray) -> dict[str, float]:
    """``dflex_acf1``, ``dflex_fast_power_share`` and ``dflex_rms_mw`` of the aggregate flexible
    load ``[T]`` (module docstring)."""
    x = np.diff(np.asarray(flex_mw, dtype=float))
    return {
        "dflex_acf1": lag1_autocorrelation(x),
        "dflex_fast_power_share": fast_power_share(x),
        "dflex_rms_mw": float(np.sqrt(np.mean(x**2))) if x.size else NAN,
    }


def price_volatility(price: np.ndarray) -> float:
    """``std(diff(price))``, $/MWh per step (NaN below two steps)."""
    p = np.asarray(price, dtype=float)
    return float(np.diff(p).std()) if p.size >= 2 else NAN
