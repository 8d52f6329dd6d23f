"""Replay of a job trace as per-DC job arrivals (:func:`trace_arrivals`): window, backlog,
resampling to the step, scaling and granularity, for a plain :class:`TraceReplay` or a
:class:`~gridshift.data.traces_hybrid.HybridReplay`. The rules are in
:mod:`gridshift.data.traces` ("Replay"); everything here is re-exported there."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridshift.data.paths import data_file
from gridshift.data.traces_formats import (
    ARRIVAL_FILES,
    LOOPED_TRACES,
    MAX_JOB_FRAC,
    SPAN_HEAD_QUANTILE,
    TRACE_FILES,
    TRACE_NAMES,
    TraceTooShortError,
    _load_cached,
    _stamp,
)
from gridshift.data.traces_hybrid import HybridReplay, _hybrid_rate, hybrid_jobs, make_hybrid_replay


@dataclass(frozen=True, eq=False)
class TraceReplay:
    """A trace reduced to what a replay needs: jobs sorted by submission (s), their run time
    (s), work (trace unit) and class, the replay span and the mean work rate over it."""

    name: str
    submit_s: np.ndarray
    duration_s: np.ndarray
    work: np.ndarray
    job_class: np.ndarray
    span_start_s: float
    span_end_s: float
    loop: bool
    mean_rate: float
    """Mean work per second over the replay span (trace unit / s)."""

    @property
    def span_s(self) -> float:
        return self.span_end_s - self.span_start_s

    def max_steps(self, step_minutes: float) -> int:
        """The longest episode (warm-up + horizon, in steps) a non-tiled replay can serve."""
        return int(math.floor(self.span_s / (60.0 * step_minutes) + 1e-9))


def make_replay(df: pd.DataFrame, name: str = "trace", *, loop: bool = False) -> TraceReplay:
    """Reduce a loaded trace to a :class:`TraceReplay`. The replay span runs from the
    :data:`SPAN_HEAD_QUANTILE` quantile of submissions to the last one; a tiled (``loop``)
    trace repeats with period ``last - first + mean gap`` from its first submission."""
    if len(df) == 0:
        raise ValueError(f"workload trace {name!r} has no jobs")
    sub = df["submit_s"].to_numpy(np.float64)
    order = np.argsort(sub, kind="stable")
    sub = sub[order]
    dur = np.maximum(df["duration_s"].to_numpy(np.float64)[order], 0.0)
    work = np.maximum(df["work"].to_numpy(np.float64)[order], 0.0)
    cls = df["job_class"].to_numpy(np.int8)[order]
    if loop:
        gap = (sub[-1] - sub[0]) / max(len(sub) - 1, 1)
        lo, hi = float(sub[0]), float(sub[-1] + max(gap, 1e-3))
        mean_rate = float(work.sum()) / (hi - lo)
    else:
        lo, hi = float(np.quantile(sub, SPAN_HEAD_QUANTILE)), float(sub[-1])
        # Work done inside the span: each job's work spread evenly over its run time.
        ov = np.clip(np.minimum(sub + dur, hi) - np.maximum(sub, lo), 0.0, None)
        frac = np.where(dur > 0, ov / np.where(dur > 0, dur, 1.0), ((sub >= lo) & (sub <= hi)).astype(float))
        mean_rate = float((work * frac).sum()) / (hi - lo) if hi > lo else 0.0
    if not mean_rate > 0:
        raise ValueError(f"workload trace {name!r} has no work in its replay span (all jobs have zero work)")
    return TraceReplay(name, sub, dur, work, cls, lo, hi, loop, mean_rate)


@functools.lru_cache(maxsize=16)
def _replay_cached(name: str, stamp: tuple) -> TraceReplay | HybridReplay:
    if name in ARRIVAL_FILES:  # the job file, then the arrival-count file
        return make_hybrid_replay(_load_cached(name, stamp[:1]), _load_cached(f"{name}_hourly", stamp[1:]), name)
    return make_replay(_load_cached(name, stamp), name, loop=name in LOOPED_TRACES)


def replay_table(name: str) -> TraceReplay | HybridReplay:
    """The cached replay of the named trace (parsed once per process): a
    :class:`HybridReplay` for the traces of :data:`ARRIVAL_FILES` (``google_2011``), else a
    :class:`TraceReplay`."""
    if name not in TRACE_FILES:
        raise ValueError(f"workload trace {name!r} is unknown: allowed one of {list(TRACE_NAMES)}")
    files = [data_file(*f) for f in TRACE_FILES[name]]
    if name in ARRIVAL_FILES:
        files.append(data_file(*ARRIVAL_FILES[name]))
    return _replay_cached(name, _stamp(files))


@dataclass(frozen=True, eq=False)
class DCArrivals:
    """One DC's replayed jobs, sorted by arrival step (then class)."""

    offset_s: float
    """Trace time of episode step 0 (s)."""
    job_class: np.ndarray  # int8
    arrival: np.ndarray  # int32, step (0 = first warm-up step)
    duration: np.ndarray  # int32, steps
    power_mw: np.ndarray  # float64, dynamic IT power while running


@dataclass(frozen=True, eq=False)
class _Split:
    """A replay split at one step length: jobs of at most one step ("short", replayed as
    per-step batches through per-class cumulative work) and the rest ("long", one by one)."""

    short: np.ndarray  # indices into the replay's arrays, sorted by submission
    long: np.ndarray
    short_sub: tuple[np.ndarray, ...]  # per class, sorted submissions of short jobs
    short_cum: tuple[np.ndarray, ...]  # per class, cumulative work with a leading 0
    long_max_s: float


@functools.lru_cache(maxsize=64)
def _split(rep: TraceReplay, step_s: float) -> _Split:
    is_short = np.ceil(rep.duration_s / step_s - 1e-9) <= 1
    short, long = np.flatnonzero(is_short), np.flatnonzero(~is_short)
    subs, cums = [], []
    for c in range(4):
        m = short[rep.job_class[short] == c]
        subs.append(rep.submit_s[m])
        cums.append(np.concatenate([[0.0], np.cumsum(rep.work[m])]))
    long_max = float(rep.duration_s[long].max()) if long.size else 0.0
    return _Split(short, long, tuple(subs), tuple(cums), long_max)


def _select(rep: TraceReplay, idx: np.ndarray, a: float, b: float) -> tuple[np.ndarray, ...]:
    """Jobs of ``idx`` (sorted by submission) submitted in ``[a, b)``; a tiled trace repeats
    with period ``span_s``, so every copy that meets ``[a, b)`` contributes."""
    sub = rep.submit_s[idx]
    if not rep.loop:
        i0, i1 = np.searchsorted(sub, [a, b])
        sel, shift = idx[i0:i1], np.zeros(i1 - i0)
    else:
        per, lo = rep.span_s, rep.span_start_s
        sels, shifts = [], []
        for k in range(int(math.floor((a - lo) / per)), int(math.floor((b - lo) / per)) + 1):
            i0, i1 = np.searchsorted(sub, [a - k * per, b - k * per])
            sels.append(idx[i0:i1])
            shifts.append(np.full(i1 - i0, k * per))
        sel, shift = (np.concatenate(sels), np.concatenate(shifts)) if sels else (idx[:0], np.zeros(0))
    return rep.submit_s[sel] + shift, rep.duration_s[sel], rep.work[sel], rep.job_class[sel]


def _cum_work(rep: TraceReplay, sp: _Split, c: int, t: np.ndarray) -> np.ndarray:
    """Work of the short class-``c`` jobs submitted before times ``t`` (tiled if looped)."""
    sub, cum = sp.short_sub[c], sp.short_cum[c]
    if not rep.loop:
        return cum[np.searchsorted(sub, t)]
    per, lo = rep.span_s, rep.span_start_s
    k = np.floor((t - lo) / per)
    return k * cum[-1] + cum[np.searchsorted(sub, t - k * per)]


def _window(rep: TraceReplay, s0: float, step_s: float, total_steps: int, mw_per_unit: float,
            max_power_mw: float) -> tuple[np.ndarray, ...]:
    end = s0 + total_steps * step_s
    sp = _split(rep, step_s)
    # Long jobs, one by one: those arriving in the window and those still running at s0.
    a = -np.inf if not rep.loop else s0 - sp.long_max_s
    sub, dur, work, cls = _select(rep, sp.long, a, end)
    # Short jobs still running at s0 (submitted less than a step before it).
    s_sub, s_dur, s_work, s_cls = _select(rep, sp.short, s0 - step_s, s0)
    sub, dur, work, cls = (np.concatenate(x) for x in ((sub, s_sub), (dur, s_dur), (work, s_work), (cls, s_cls)))
    extra = np.zeros(4 * total_steps)
    edges = s0 + step_s * np.arange(total_steps + 1)
    for c in range(4):
        if sp.short_sub[c].size:
            extra[c::4] += np.diff(_cum_work(rep, sp, c, edges))
    return _discretize(sub, dur, work, cls, s0, step_s, total_steps, mw_per_unit, max_power_mw, extra)


def _discretize(sub: np.ndarray, dur: np.ndarray, work: np.ndarray, cls: np.ndarray, s0: float, step_s: float,
                total_steps: int, mw_per_unit: float, max_power_mw: float,
                extra: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Steps 2, 3 and 5 of the replay (module docstring) for jobs given one by one (submitted
    before the window's end): keep those arriving in the window or running at ``s0``; the
    latter arrive at step 0 with what is left of them. ``extra`` (length ``4 x total_steps``,
    index ``step x 4 + class``) is one-step work added to the per-step batches."""
    fin = sub + dur
    m = (sub >= s0) | (fin > s0)
    sub, dur, work, cls, fin = sub[m], dur[m], work[m], cls[m], fin[m]
    fly = sub < s0
    # Backlog: what is left of a job running at s0 arrives at step 0.
    left = np.where(fly, fin - s0, dur)
    work = np.where(fly, work * left / np.where(dur > 0, dur, 1.0), work)
    arr = np.minimum(np.floor((np.maximum(sub, s0) - s0) / step_s).astype(np.int64), total_steps - 1)
    steps = np.maximum(1, np.ceil(left / step_s - 1e-9)).astype(np.int64)
    # One-step jobs are merged per (arrival step, class) into batches.
    one = steps == 1
    b_work = np.bincount(arr[one] * 4 + cls[one], weights=work[one], minlength=4 * total_steps).astype(np.float64)
    if extra is not None:
        b_work += extra
    ukey = np.flatnonzero(b_work > 0)
    arr = np.concatenate([arr[~one], ukey // 4])
    cls = np.concatenate([cls[~one], (ukey % 4).astype(np.int8)])
    steps = np.concatenate([steps[~one], np.ones(ukey.size, np.int64)])
    work = np.concatenate([work[~one], b_work[ukey]])
    keep = work > 0
    arr, cls, steps, work = arr[keep], cls[keep], steps[keep], work[keep]
    power = work / (steps * step_s) * mw_per_unit
    # Split jobs above the granularity limit into equal parallel parts.
    parts = np.maximum(1, np.ceil(power / max_power_mw - 1e-9)).astype(np.int64)
    arr, cls, steps = np.repeat(arr, parts), np.repeat(cls, parts), np.repeat(steps, parts)
    power = np.repeat(power / parts, parts)
    order = np.lexsort((cls, arr))
    return arr[order], cls[order], steps[order], power[order]


@functools.lru_cache(maxsize=64)
def _expected_rate(rep: TraceReplay, need_s: float) -> float:
    """Work per second averaged over a window of ``need_s`` seconds, in expectation over the
    uniformly drawn window offsets (a tiled trace: its mean rate). Each job's work is spread
    evenly over its run time; the cumulative work ``C`` is exact at the edges of bins of at
    most one minute, and the window starts are taken on those edges."""
    if rep.loop or need_s >= rep.span_s:
        return rep.mean_rate
    b = min(60.0, need_s / 16.0)
    lo, hi = rep.span_start_s, rep.span_end_s
    nb = int(math.ceil((hi - lo) / b))
    s, d, w = rep.submit_s, rep.duration_s, rep.work
    m = (s + d > lo) & (s <= hi)
    s, d, w = s[m], d[m], w[m]
    x0 = (np.maximum(s, lo) - lo) / b
    x1 = (np.minimum(s + d, hi) - lo) / b
    pos = d > 0
    rate = np.where(pos, w / np.where(pos, d, 1.0), 0.0)
    # C(k) = b * sum_j rate_j * (ramp(k - x0_j) - ramp(k - x1_j)) + instantaneous jobs' work.
    slope, icpt, jump = np.zeros(nb + 2), np.zeros(nb + 2), np.zeros(nb + 2)
    c0, c1 = np.ceil(x0).astype(np.int64), np.ceil(x1).astype(np.int64)
    np.add.at(slope, c0, rate)
    np.add.at(slope, c1, -rate)
    np.add.at(icpt, c0, rate * x0)
    np.add.at(icpt, c1, -rate * x1)
    np.add.at(jump, c0[~pos], w[~pos])
    k = np.arange(nb + 2)
    cum = b * (k * np.cumsum(slope) - np.cumsum(icpt)) + np.cumsum(jump)
    win = max(1, int(round(need_s / b)))
    starts = np.arange(0, max(0, int(math.floor((hi - lo - need_s) / b + 1e-9))) + 1)
    return float(((cum[starts + win] - cum[starts]) / (win * b)).mean())


def trace_arrivals(rep: TraceReplay | HybridReplay, dynamic_mw: Sequence[float] | np.ndarray,
                   rng: np.random.Generator, *, step_minutes: float, total_steps: int, target_utilization: float,
                   max_job_frac: float = MAX_JOB_FRAC) -> list[DCArrivals]:
    """Per-DC job arrivals for one episode of ``total_steps`` steps (warm-up + horizon).

    One offset per DC is drawn from ``rng`` (``rng.random(N)``; for a :class:`HybridReplay`,
    then one seed per DC, ``rng.integers(2**63, size=N)``, for that DC's job draw), so the same
    generator state gives the same arrivals and different DCs replay different windows. Power
    is scaled so the expected dynamic utilisation is ``target_utilization`` of each DC's
    ``dynamic_mw`` (MW, ``P_peak - P_idle``). See the module docstring for the rules.
    Raises :class:`TraceTooShortError` when a non-tiled trace is shorter than the episode.
    """
    dyn = np.asarray(dynamic_mw, np.float64).reshape(-1)
    if total_steps < 1:
        raise ValueError(f"total_steps={total_steps} is invalid: allowed an integer >= 1")
    step_s = 60.0 * step_minutes
    need = total_steps * step_s
    if not rep.loop and need > rep.span_s + 1e-6:
        h = step_minutes / 60.0
        raise TraceTooShortError(
            f"workload trace {rep.name!r} is too short for this episode: its replay span is {rep.span_s / 3600:.1f} h "
            f"but warmup_steps + horizon_steps = {total_steps} steps x {step_minutes:g} min = {total_steps * h:.1f} h; "
            f"use at most {rep.max_steps(step_minutes)} steps in total (warm-up + horizon), or a longer trace")
    hybrid = isinstance(rep, HybridReplay)
    u = rng.random(dyn.size)
    seeds = rng.integers(0, 2**63, size=dyn.size) if hybrid else None
    rate = _hybrid_rate(rep, need) if hybrid else _expected_rate(rep, need)
    if not rate > 0:
        raise ValueError(f"workload trace {rep.name!r} has no work in any window of {need / 3600:.1f} h")
    slack = rep.span_s if rep.loop else rep.span_s - need
    out = []
    for i in range(dyn.size):
        s0 = rep.span_start_s + u[i] * max(slack, 0.0)
        mw_per_unit = target_utilization * dyn[i] / rate
        if hybrid:
            jobs = hybrid_jobs(rep, np.random.default_rng(int(seeds[i])), s0, s0 + need)
            arr, cls, steps, power = _discretize(
                jobs["submit_s"].to_numpy(), jobs["duration_s"].to_numpy(), jobs["work"].to_numpy(),
                jobs["job_class"].to_numpy(), s0, step_s, total_steps, mw_per_unit, max_job_frac * dyn[i])
        else:
            arr, cls, steps, power = _window(rep, s0, step_s, total_steps, mw_per_unit, max_job_frac * dyn[i])
        out.append(DCArrivals(float(s0), cls.astype(np.int8), arr.astype(np.int32), steps.astype(np.int32),
                              power.astype(np.float64)))
    return out


def class_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Jobs and share of work per class E0..E3 of a loaded trace."""
    g = df.groupby(df["job_class"].astype(int))["work"].agg(["size", "sum"]).reindex(range(4), fill_value=0)
    tot = g["sum"].sum()
    return pd.DataFrame({"jobs": g["size"].to_numpy(np.int64), "work_share": (g["sum"] / (tot or 1.0)).to_numpy()},
                        index=pd.Index([f"E{c}" for c in range(4)], name="class"))
