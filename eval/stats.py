"""Statistics a reviewer accepts (Agarwal et al. 2021, "Deep RL at the edge of the statistical
precipice"; DESIGN §12): interquartile means, stratified-bootstrap confidence intervals and the
probability of improvement, on paired per-seed differences.

The bootstrap is SciPy's (``scipy.stats.bootstrap``, percentile method, seeded): given one
sample per scenario it resamples each independently, which is rliable's *stratified*
bootstrap (seeds resampled within each task). ``rliable`` itself pins an old ``arch`` and is not
needed for these three estimators.
"""

from __future__ import annotations

import numpy as np

N_BOOT = 2000
CONFIDENCE = 0.95


def iqm(x) -> float:
    """Interquartile mean: the mean of the middle 50 % (scipy's trimmed mean, 25 % cut each side);
    the plain mean below 4 values. NaNs are ignored."""
    from scipy.stats import trim_mean

    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan")
    if x.size < 4:
        return float(x.mean())
    return float(trim_mean(x, 0.25))


def _stat(name: str):
    if name == "iqm":
        return lambda *xs, axis=-1: np.apply_along_axis(iqm, axis, np.concatenate(xs, axis=axis))
    if name == "mean":
        return lambda *xs, axis=-1: np.concatenate(xs, axis=axis).mean(axis=axis)
    raise ValueError(f"statistic={name!r} is invalid: allowed 'iqm' or 'mean'")


def stratified_ci(samples, statistic: str = "iqm", *, seed: int = 0, n_boot: int = N_BOOT) -> tuple[float, float, float]:
    """``(point, lo, hi)``: the statistic over all values and its stratified-bootstrap 95 % CI.
    ``samples`` is one array per stratum (scenario); NaNs are dropped. With fewer than 2 values
    the CI is NaN (a bootstrap of one value says nothing)."""
    from scipy.stats import bootstrap

    xs = [np.asarray(s, float)[np.isfinite(np.asarray(s, float))] for s in samples]
    xs = [s for s in xs if s.size]
    if not xs:
        return float("nan"), float("nan"), float("nan")
    f = _stat(statistic)
    point = float(f(*xs))
    if any(s.size < 2 for s in xs):
        return point, float("nan"), float("nan")
    if all(np.ptp(s) == 0 for s in xs):
        return point, point, point  # every resample is the same
    res = bootstrap(tuple(xs), f, n_resamples=n_boot, confidence_level=CONFIDENCE, method="percentile",
                    vectorized=True, random_state=np.random.default_rng(seed))
    return point, float(res.confidence_interval.low), float(res.confidence_interval.high)


def probability_of_improvement(x, y) -> float:
    """``P(X < Y)`` for costs (lower is better) over the values of one scenario, ties counting
    one half: the Mann-Whitney statistic divided by ``n x m``, rliable's definition."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if not x.size or not y.size:
        return float("nan")
    less = (x[:, None] < y[None, :]).mean()
    ties = (x[:, None] == y[None, :]).mean()
    return float(less + 0.5 * ties)


def paired_win_rate(x, y) -> float:
    """The share of paired seeds on which ``x < y`` (ties one half)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return float("nan")
    return float(np.mean((x[ok] < y[ok]) + 0.5 * (x[ok] == y[ok])))
