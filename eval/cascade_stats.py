"""Closed loop, open loop and their paired difference, with bootstrap CIs over seeds.

Every cascade figure and table reports a metric three ways for each cell, from the per-seed
rows of the study (one closed-loop and one open-loop run per seed, the same exogenous inputs
and jobs):

* ``closed`` and ``open``: the mean over seeds and its 95 % bootstrap CI
  (:func:`gridshift.eval.stats.stratified_ci`, statistic ``mean``, one stratum);
* ``diff = closed - open`` per seed (paired): its mean and CI. This is the part of the metric
  that **endogenous feedback** causes (the DCs' own load moving the signal they react to); the
  open-loop value is what synchronisation alone gives (every DC reacting to the same signal);
* ``fifo``: the mean of FIFO on the same seeds (no deferral at all), and
  ``share = mean(diff) / mean(closed - fifo)``: the share of the policy's whole effect on the
  metric that is feedback, with a percentile bootstrap CI that resamples seeds jointly
  (``N_BOOT`` resamples, seeded). NaN when ``|mean(closed - fifo)|`` is below
  ``SHARE_MIN`` of the metric's scale (no effect to share).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridshift.eval.stats import stratified_ci

N_BOOT = 2000
SHARE_MIN = 1e-3


def mean_ci(x) -> tuple[float, float, float]:
    """``(mean, lo, hi)`` over the finite values of ``x`` (95 % bootstrap CI)."""
    return stratified_ci([np.asarray(x, float)], "mean")


def _share(diff: np.ndarray, effect: np.ndarray, seed: int = 0) -> tuple[float, float, float]:
    ok = np.isfinite(diff) & np.isfinite(effect)
    d, e = diff[ok], effect[ok]
    if d.size < 2:
        return (float("nan"),) * 3
    scale = max(float(np.abs(e).max()), float(np.abs(d).max()), 1e-12)
    if abs(e.mean()) < SHARE_MIN * scale:
        return (float("nan"),) * 3
    point = float(d.mean() / e.mean())
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, d.size, (N_BOOT, d.size))
    num, den = d[idx].mean(axis=1), e[idx].mean(axis=1)
    keep = np.abs(den) >= SHARE_MIN * scale
    if keep.sum() < N_BOOT // 2:
        return point, float("nan"), float("nan")
    r = num[keep] / den[keep]
    return point, float(np.percentile(r, 2.5)), float(np.percentile(r, 97.5))


def paired(rows: pd.DataFrame, metric: str, fifo: pd.DataFrame | None = None) -> dict[str, float]:
    """Closed, open, their paired difference and the feedback share of ``metric`` for one cell.

    ``rows`` has one row per (seed, feedback) with columns ``seed``, ``feedback`` (``closed`` /
    ``open``) and ``metric``; ``fifo`` one row per seed (FIFO on the same seeds) or None."""
    piv = rows.pivot_table(index="seed", columns="feedback", values=metric, aggfunc="first")
    out: dict[str, float] = {}
    for side in ("closed", "open"):
        x = piv[side].to_numpy(float) if side in piv else np.zeros(0)
        out[side], out[f"{side}_lo"], out[f"{side}_hi"] = mean_ci(x)
    if "closed" in piv and "open" in piv:
        diff = (piv["closed"] - piv["open"]).to_numpy(float)
        out["diff"], out["diff_lo"], out["diff_hi"] = mean_ci(diff)
    else:
        diff = np.zeros(0)
        out["diff"] = out["diff_lo"] = out["diff_hi"] = float("nan")
    out["fifo"] = out["share"] = out["share_lo"] = out["share_hi"] = float("nan")
    if fifo is not None and len(fifo) and metric in fifo and "closed" in piv and "open" in piv:
        f = fifo.set_index("seed")[metric].reindex(piv.index).to_numpy(float)
        out["fifo"] = float(np.nanmean(f)) if np.isfinite(f).any() else float("nan")
        out["share"], out["share_lo"], out["share_hi"] = _share(diff, piv["closed"].to_numpy(float) - f)
    out["n_seeds"] = float(len(piv))
    return out


def significant(lo: float, hi: float) -> bool:
    """True when a 95 % CI excludes zero."""
    return bool(np.isfinite(lo) and np.isfinite(hi) and (lo > 0 or hi < 0))


def fmt_ci(point: float, lo: float, hi: float, digits: int = 2) -> str:
    """``"1.23 [1.10, 1.35]"`` (``"–"`` for NaN); a bare point when the CI is undefined."""
    if not np.isfinite(point):
        return "–"
    f = f"{{:.{digits}f}}"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f.format(point)
    return f"{f.format(point)} [{f.format(lo)}, {f.format(hi)}]"
