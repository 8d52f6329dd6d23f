"""Hybrid replay of a trace (``google_2011``): real month-long arrival counts per hour and
scheduling class, each arriving job's attributes resampled from the job pool of its class.
The rules are in :mod:`gridshift.data.traces` ("Google 2011 hybrid replay"); everything here
is re-exported there."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridshift.data.traces_formats import GOOGLE_SCHED_CLASSES, HOUR_S


@dataclass(frozen=True, eq=False)
class HybridReplay:
    """A trace replayed as a hybrid: arrival counts per hour and scheduling class from an
    arrival-count file, each arriving job's attributes resampled from the job pool of its
    scheduling class (module docstring, "Google 2011 hybrid replay")."""

    name: str
    hourly: np.ndarray
    """Arrivals per hour x scheduling class, shape ``(hours, 4)``, int64."""
    pool_row: tuple[np.ndarray, ...]
    """Per scheduling class: row numbers in the job table of its jobs, sorted by run time."""
    pool_duration_s: tuple[np.ndarray, ...]  # per scheduling class, ascending
    pool_work: tuple[np.ndarray, ...]
    pool_job_class: tuple[np.ndarray, ...]  # E0..E3 (int8)
    loop: bool = False

    @property
    def span_start_s(self) -> float:
        return 0.0

    @property
    def span_end_s(self) -> float:
        return HOUR_S * self.hourly.shape[0]

    @property
    def span_s(self) -> float:
        return self.span_end_s - self.span_start_s

    def max_steps(self, step_minutes: float) -> int:
        """The longest episode (warm-up + horizon, in steps) the replay can serve."""
        return int(math.floor(self.span_s / (60.0 * step_minutes) + 1e-9))


def make_hybrid_replay(jobs: pd.DataFrame, hourly: pd.DataFrame, name: str = "google_2011") -> HybridReplay:
    """A :class:`HybridReplay` from a loaded Google job table (the pool: ``sched_class,
    duration_s, work, job_class``) and a loaded hourly arrival table (``sched_class_0..3``).
    Every scheduling class that has arrivals must have jobs in the pool."""
    counts = np.stack([hourly[f"sched_class_{c}"].to_numpy(np.int64) for c in GOOGLE_SCHED_CLASSES], axis=1)
    if counts.shape[0] == 0 or counts.sum() == 0:
        raise ValueError(f"workload trace {name!r}: the arrival-count table has no arrivals")
    sc = jobs["sched_class"].to_numpy(np.int64)
    dur = np.maximum(jobs["duration_s"].to_numpy(np.float64), 0.0)
    work = np.maximum(jobs["work"].to_numpy(np.float64), 0.0)
    jc = jobs["job_class"].to_numpy(np.int8)
    rows, durs, works, jcs = [], [], [], []
    for c in GOOGLE_SCHED_CLASSES:
        r = np.flatnonzero(sc == c)
        if r.size == 0 and counts[:, c].sum() > 0:
            raise ValueError(f"workload trace {name!r}: {int(counts[:, c].sum())} arrivals of sched_class {c} in the "
                             f"arrival-count table but no job of that class in the job table to resample from")
        r = r[np.argsort(dur[r], kind="stable")]
        rows.append(r)
        durs.append(dur[r])
        works.append(work[r])
        jcs.append(jc[r])
    if not any(w.sum() > 0 for c, w in enumerate(works) if counts[:, c].sum() > 0):
        raise ValueError(f"workload trace {name!r} has no work (all jobs that can arrive have zero work)")
    return HybridReplay(name, counts, tuple(rows), tuple(durs), tuple(works), tuple(jcs))


def hybrid_jobs(rep: HybridReplay, rng: np.random.Generator, start_s: float, end_s: float) -> pd.DataFrame:
    """One draw of the hybrid job process: the jobs submitted in ``[start_s, end_s)`` and those
    submitted before ``start_s`` and still running at it (``submit_s + duration_s > start_s``).

    Hour ``h`` has ``rep.hourly[h, c]`` arrivals of scheduling class ``c``, each at a uniform
    time in the hour and with a job drawn uniformly (with replacement) from the pool of class
    ``c``. Whole hours inside ``[start_s, end_s)`` (and the hours that hold either end) are
    drawn arrival by arrival. The earlier hours only matter through their jobs still running
    at ``start_s``; they are thinned exactly rather than drawn in full: of the ``n`` arrivals of
    an hour whose end lies ``a`` seconds before ``start_s``, ``Binomial(n, P(D > a))`` have a
    run time ``D > a`` (each drawn uniformly from those pool jobs), and of these, the ones
    whose uniform arrival time plus run time passes ``start_s`` are kept. Returns, sorted by
    submission: ``submit_s, sched_class, row`` (the pool job's row in the job table),
    ``duration_s, work, job_class``."""
    nh = rep.hourly.shape[0]
    h_a = int(np.clip(math.floor(start_s / HOUR_S), 0, nh))
    h_b = int(np.clip(math.ceil(end_s / HOUR_S), h_a, nh))
    parts = []
    for c in GOOGLE_SCHED_CLASSES:
        dur_c = rep.pool_duration_s[c]
        n_pool = dur_c.size
        if n_pool == 0:
            continue
        # Hours meeting [start_s, end_s): every arrival.
        n = rep.hourly[h_a:h_b, c]
        hours = np.repeat(np.arange(h_a, h_b), n)
        t = (hours + rng.random(hours.size)) * HOUR_S
        j = rng.integers(0, n_pool, hours.size)
        keep = ((t >= start_s) & (t < end_s)) | ((t < start_s) & (t + dur_c[j] > start_s))
        parts.append((t[keep], np.full(int(keep.sum()), c), j[keep]))
        # Earlier hours: only the arrivals still running at start_s, by exact thinning.
        h0 = max(0, int(math.floor((start_s - dur_c[-1]) / HOUR_S)) - 1)
        hrs = np.arange(h0, h_a)
        lag = start_s - (hrs + 1) * HOUR_S  # >= 0: from the hour's end to start_s
        m = n_pool - np.searchsorted(dur_c, lag, side="right")  # pool jobs with D > lag
        k = rng.binomial(rep.hourly[h0:h_a, c], m / n_pool)
        hours = np.repeat(hrs, k)
        mm = np.repeat(m, k)
        j = n_pool - mm + (rng.random(hours.size) * mm).astype(np.int64)
        j = np.minimum(j, n_pool - 1)
        t = (hours + rng.random(hours.size)) * HOUR_S
        keep = t + dur_c[j] > start_s
        parts.append((t[keep], np.full(int(keep.sum()), c), j[keep]))
    t = np.concatenate([p[0] for p in parts])
    sc = np.concatenate([p[1] for p in parts]).astype(np.int64)
    j = np.concatenate([p[2] for p in parts]).astype(np.int64)
    order = np.argsort(t, kind="stable")
    t, sc, j = t[order], sc[order], j[order]
    out = {"submit_s": t, "sched_class": sc, "row": np.zeros(t.size, np.int64), "duration_s": np.zeros(t.size),
           "work": np.zeros(t.size), "job_class": np.zeros(t.size, np.int8)}
    for c in GOOGLE_SCHED_CLASSES:
        m = sc == c
        if m.any():
            out["row"][m] = rep.pool_row[c][j[m]]
            out["duration_s"][m] = rep.pool_duration_s[c][j[m]]
            out["work"][m] = rep.pool_work[c][j[m]]
            out["job_class"][m] = rep.pool_job_class[c][j[m]]
    return pd.DataFrame(out)


#: Bin (s) on which the hybrid replay's expected work is computed (divides an hour).
_HYBRID_BIN_S = 60.0


@functools.lru_cache(maxsize=64)
def _hybrid_rate(rep: HybridReplay, need_s: float) -> float:
    """Expected work per second of the hybrid process over a window of ``need_s`` seconds, in
    expectation over the resampling and over the window offsets (taken on one-minute edges).

    A job of class ``c`` arriving at ``u`` has done ``Q_c(t - u) = E[min(work, rate x (t -
    u))]`` work by ``t`` in expectation; with ``R_c(x)`` the integral of ``Q_c`` over ``[0,
    x]``, arrivals spread uniformly over one-minute bins (``n / 60`` per bin of an hour of
    ``n``) give the expected cumulative work ``C(k b) = sum_i N_i (R(k b - i b) - R(k b - i b
    - b)) / b`` exactly, a convolution (done by FFT)."""
    b = _HYBRID_BIN_S
    per_hour = int(round(HOUR_S / b))
    nb = rep.hourly.shape[0] * per_hour
    x = b * np.arange(nb + 1)
    size = 1 << int(math.ceil(math.log2(2 * (nb + 1))))
    cum = np.zeros(nb + 1)
    for c in GOOGLE_SCHED_CLASSES:
        d, w = rep.pool_duration_s[c], rep.pool_work[c]
        if d.size == 0 or rep.hourly[:, c].sum() == 0:
            continue
        r = np.where(d > 0, w / np.where(d > 0, d, 1.0), 0.0)
        s1 = np.concatenate([[0.0], np.cumsum(w)])
        s2 = np.concatenate([[0.0], np.cumsum(w * d)])
        s0 = np.concatenate([[0.0], np.cumsum(r)])
        k = np.searchsorted(d, x, side="right")  # jobs done by x (D <= x)
        big_r = (x * s1[k] - 0.5 * s2[k] + 0.5 * x * x * (s0[-1] - s0[k])) / d.size
        kern = np.concatenate([[0.0], np.diff(big_r) / b])  # K(m), m = 0..nb
        arrivals = np.repeat(rep.hourly[:, c].astype(np.float64) / per_hour, per_hour)
        cum += np.fft.irfft(np.fft.rfft(arrivals, size) * np.fft.rfft(kern, size), size)[:nb + 1]
    win = max(1, int(round(need_s / b)))
    starts = np.arange(0, max(0, nb - win) + 1)
    return float(((cum[starts + win] - cum[starts]) / (win * b)).mean())
