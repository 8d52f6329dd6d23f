"""Real data-center job traces: loaders, the E0-E3 class mapping, and per-DC replay.

Four public traces (files under ``$GRIDSHIFT_DATA/workloads/``, see the data README,
"Data-center workload traces"). Each loader returns a :class:`pandas.DataFrame`, one row per
job, sorted by submission, with at least these typed columns:

* ``submit_s`` (float64): submission time in seconds, relative to the trace's first
  record (Alibaba: to the trace's own origin, which its times are already relative to);
* ``duration_s`` (float64): run time in seconds (how it is derived is per trace, below);
* ``job_class`` (int8): the elasticity class E0..E3 given by the mapping rule below;
* ``work`` (float64): the job's compute work in the trace's work unit
  (:data:`WORK_UNITS`), the quantity that is scaled to MWh when a trace is replayed;

plus the resource demand in named units and the original class fields of the trace.

Formats (the loader for a file can be declared, or detected from its header by
:func:`detect_trace_format`; :func:`load_trace` does either):

``alibaba_gpu_2023``
    ``openb_pod_list_default.csv`` of alibaba/clusterdata ``cluster-trace-gpu-v2023``
    (Weng et al., "Beware of Fragmentation", USENIX ATC'23), 8152 pods. Columns ``name,
    cpu_milli, memory_mib, num_gpu, gpu_milli, gpu_spec, qos, pod_phase, creation_time,
    deletion_time, scheduled_time``; times in seconds relative to the trace start (~149 days;
    all but ~20 pods are created in the last 40). ``duration_s = deletion_time - creation_time``
    (the pod's lifetime; the median scheduling wait is 2 s). Pods still ``Running`` at the
    snapshot are right-censored at its end (``censored``). Demand: ``gpus = num_gpu x
    gpu_milli / 1000`` (GPUs, fractional when shared), ``cpu_cores = cpu_milli / 1000``,
    ``memory_mib``. Work: nominal IT energy in kW.s with ``0.3 kW`` per GPU and ``0.01 kW``
    per CPU core (order of a data-center GPU board and of a server core; only the ratio
    matters, since a replay is rescaled to the DC).
``azure_llm_2023``
    ``AzureLLMInferenceTrace_{conv,code}.csv`` of Azure/AzurePublicDataset (Patel et al.,
    "Splitwise", ISCA'24; CC-BY-4.0): 19366 conversation and 8819 coding requests over one
    hour of 2023-11-16. Columns ``TIMESTAMP, ContextTokens, GeneratedTokens``. The trace has no
    service times: ``duration_s`` is a nominal 50 ms per generated token (decode dominates).
    Work: tokens processed (context + generated), since LLM compute is ~2 x parameters FLOPs
    per token. ``service`` is ``conv`` or ``code``; ``timestamp`` is the time as given.
``google_2011``
    ``jobs_first_19h_with_task_requests.csv``, derived from Google clusterdata-2011-2
    (Reiss et al. 2011; CC-BY-4.0): 15009 jobs submitted in trace seconds 600..70200 (t=600 s
    is 2011-05-01 19:00 EDT). Columns ``job_id, submit_s, schedule_s, end_s, duration_s,
    end_event, sched_class, priority, n_tasks, cpu_req_sum, mem_req_sum, disk_req_sum,
    cpu_req_max, mem_req_max, user``; CPU and memory requests are normalised to the largest
    machine (1.0). ``duration_s = end_s - schedule_s``; the 6 jobs with no end event are
    censored at the last ``end_s`` of the file. ``submit_s`` keeps the trace's clock and
    ``submit_utc`` gives the UTC time. Work: normalised CPU request x seconds.
``google_2011_hourly``
    ``job_arrivals_hourly_full_month.csv``, derived from the same trace: job submissions per
    hour x scheduling class over the whole trace, 697 hours (668,088 jobs). Columns
    ``hour_since_trace_start, sched_class_0, sched_class_1, sched_class_2, sched_class_3,
    total``; hour ``h`` is trace seconds ``[3600 h, 3600 (h + 1))`` (its hours 0..18 match the
    19-h job file class by class). Hours must run 0, 1, 2, ... with no gap and ``total`` must
    be the sum of the four classes. Hour 0 holds submissions from t = 600 s on and hour 696
    only the trace's last minutes (98 jobs), so both are partial. Not a job table:
    :func:`load_google_2011_hourly` returns the counts, and the replay uses them as the
    arrival process of ``google_2011`` (below).
``philly``
    ``philly_jobs_subset.csv``, derived from the Microsoft Philly trace (Jeon et al., ATC'19;
    CC-BY-4.0): 3034 DNN-training jobs with >= 4 GPUs and >= 10 min, 2017-09..12. Columns
    ``job_id, submitted_time, num_gpus, runtime_min, n_attempts, first_start, last_end``.
    ``duration_s = 60 x runtime_min``. Work: GPU.s.

Class mapping rule (EM §III: E0 urgent inference, E1 flexible inference, E2 batch
evaluation, E3 training). Each trace has a field saying how latency-sensitive a job is; that
field separates serving work (E0/E1, which cannot wait hours) from batch work (E2/E3). Batch
work is split by run time at :data:`BATCH_SPLIT_H` = 4 h, the geometric mean of the
synthetic generator's E2 and E3 median durations (2 h and 8 h), so that a trace job lands in
the class whose typical job it resembles on a log scale; long batch jobs are also the ones
that checkpoint, which is what E3's preemption models.

* Alibaba GPU 2023 (``qos``): ``LS`` (latency-sensitive; in the ATC'23 paper, inference
  services) and ``Guaranteed`` (Kubernetes QoS with reserved resources) -> E0, since they
  start on arrival; ``Burstable`` (requests below limits: tolerates being squeezed) -> E1;
  ``BE`` (best-effort: training and batch) -> E2 if it runs < 4 h, else E3.
* Google 2011 (``sched_class``, documented as 3 = most latency-sensitive, e.g. serving
  revenue-generating requests, and 0 = non-production): 3 -> E0, 2 -> E1, 0 and 1 -> E2 if
  < 4 h, else E3. ``priority`` governs Borg's preemption, not latency, and is kept as a
  column only.
* Azure LLM inference 2023: every request is interactive chat or code completion with a
  time-to-first-token objective of seconds -> E0.
* Philly: every job is DNN training, which tolerates queueing (jobs queued for minutes to
  hours in Philly itself, Jeon et al.) -> E2 if < 4 h, else E3 (multi-hour training checkpoints, and Philly restarted
  failed attempts from checkpoints: ``n_attempts``).

Replay (:func:`trace_arrivals`, used by the env when the scenario's ``workload_trace`` is
set). For each DC of each episode:

1. **Window.** An offset ``s0`` is drawn uniformly from the seeded generator, independently per
   DC (so DCs do not replay the same hour), such that the window ``[s0, s0 + (warmup +
   horizon) x step)`` lies in the trace's replay span: from the 1 % quantile of submissions
   (which skips the sparse head of the Alibaba snapshot) to the last submission. A trace whose
   span is shorter than the window raises :class:`TraceTooShortError`, naming the trace, both
   lengths and the longest episode it can serve (``google_2011``, replayed as a hybrid below,
   spans the 697 h of its hourly file). Only ``azure_llm_2023`` (one hour of a
   stationary request stream) is **tiled**: its hour repeats end to end, so any episode
   length is served, with no diurnal cycle. Trace time of day is not aligned to the DC's
   local time (the zones of the Alibaba and Azure clocks are not published).
2. **Backlog.** Jobs running at ``s0`` (submitted earlier, still running) arrive at step 0
   with their remaining run time and work, so a window starts in the trace's steady state.
3. **Resampling to the step.** A job arriving at ``s`` arrives at step ``floor((s - s0) /
   step)`` and lasts ``max(1, ceil(duration / step))`` steps; its power is its work over that
   rounded duration, so energy is preserved exactly. Jobs of one step with the same class and
   arrival step are merged into one batch job (the scheduler cannot tell them apart; this
   turns, e.g., the Azure requests into per-step inference batches).
4. **Scaling.** ``MW per work unit = target_utilization x dynamic IT capacity / r``, where
   ``r`` is the trace's work per second averaged over an episode window, in expectation over
   the offsets the window can take (a profile on one-minute bins; for a tiled trace, its mean
   rate). The expected utilisation of an episode is thus the target, whatever part of the
   trace the windows can cover, and a window keeps the trace's own burstiness (a busy window
   is busier; a trace lacks the jobs submitted before its start, so its load ramps up over
   its first hours). The scenario's ``job_mix``, ``job_duration_h``, ``job_power_frac``
   and diurnal/weekly shape do not apply: the trace gives them.
5. **Granularity.** A job or batch above :data:`MAX_JOB_FRAC` of the DC's dynamic capacity
   is split into equal parallel parts with the same arrival, duration and deadline (energy
   preserved), so that no job is too large for first-fit scheduling.

Google 2011 hybrid replay (:class:`HybridReplay`, :func:`hybrid_jobs`). The per-job Google
file covers only the first 19 h of a 29-day trace, too short for the default episode (1 day of
warm-up + 3 days); the hourly file covers the whole month but has counts only. ``google_2011``
is therefore replayed as a documented hybrid of the two:

* **Arrivals are real, month-long.** Hour ``h`` of the episode's window gets exactly the
  hourly file's number of submissions of each scheduling class (0..3), each at a uniform,
  seeded time in the hour. The daily and weekly cycle, the bursts and the class mix over time
  are the trace's own (within the hour, times are uniform); the replay span is the 697 h of
  the hourly file.
* **Job sizes are real, per class.** Each arriving job of scheduling class ``c`` is a copy of
  a job drawn uniformly, with replacement and seeded, from the jobs of the 19-h file with the
  same ``sched_class``: its run time, CPU request (hence ``work``), priority and end event come
  together from that one job, and its E0..E3 class is that job's (the rule above: ``sched_class``
  and run time). The 6 censored pool jobs keep their censored run times (lower bounds).
* **What is lost.** Job sizes are resampled i.i.d. from one 19-h pool per class, so any
  dependence of job size on the time of day or week, on the load, or between successive jobs
  (beyond what the class carries) is lost, and a class's size distribution is that of the
  trace's first 19 h; the 117 class-3 jobs of the pool stand for all 4,251 class-3 arrivals.
  The arrival counts and the per-class size distributions are each real; their combination
  is an assumption of independence.

The rest of the replay is as above: a window offset per DC (uniform over ``[0, 697 h -
episode]``); a backlog of the jobs submitted before the window and still running at its start
(drawn from the same process: the earlier hours are thinned exactly to their jobs that outlive
the gap, rather than drawn in full); resampling to the step, merging of one-step jobs and the
granularity split. Scaling uses the expected work rate of the process itself (over the
resampling and the window offsets, computed exactly on one-minute bins), so the expected
utilisation is again the target. No job is submitted before hour 0, so the load ramps up
over the first hours (most of it within ~6 h, the rest as multi-day jobs accumulate); windows
that start there are lighter, which the expectation includes. Each DC's draw uses its own seed
from the episode's generator: the same seed gives the same episode, a different seed another.

Parsed traces are cached per process (a reset re-uses them). Malformed files raise
:class:`~gridshift.data.loaders.timeseries.DataFormatError` naming the file, the column,
the row and what was expected.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gridshift.data.loaders.timeseries import DataFormatError, format_error, numeric, read_csv
from gridshift.data.paths import DataNotFoundError, data_file

#: Run time (hours) separating E2 batch jobs from E3 training jobs: sqrt(2 h x 8 h).
BATCH_SPLIT_H = 4.0
#: Largest job, as a share of a DC's dynamic IT capacity; larger jobs are split into parts.
MAX_JOB_FRAC = 0.1
#: Share of the earliest submissions left out of the replay span (the sparse head).
SPAN_HEAD_QUANTILE = 0.01

#: Nominal IT power per GPU and per CPU core (kW) used to weigh Alibaba pods.
ALIBABA_GPU_KW = 0.3
ALIBABA_CPU_CORE_KW = 0.01
ALIBABA_QOS = ("LS", "BE", "Burstable", "Guaranteed")
ALIBABA_PHASES = ("Running", "Failed", "Pending", "Succeeded")
#: Nominal decode time per generated token (s), the Azure trace's service-time proxy.
AZURE_S_PER_TOKEN = 0.05
AZURE_SERVICES = ("conv", "code")
#: Google 2011 trace time 0 in UTC (t = 600 s is 2011-05-01 19:00 EDT).
GOOGLE_T0_UTC = pd.Timestamp("2011-05-01 22:50:00", tz="UTC")

#: Work unit of each trace (``work`` column).
WORK_UNITS = {
    "alibaba_gpu_2023": "kW.s (nominal IT energy)",
    "azure_llm_2023": "tokens",
    "google_2011": "normalised CPU request x s",
    "philly": "GPU.s",
}
#: Trace name -> data files under the data directory.
TRACE_FILES: dict[str, tuple[tuple[str, ...], ...]] = {
    "alibaba_gpu_2023": (("workloads", "alibaba_gpu_2023", "openb_pod_list_default.csv"),),
    "azure_llm_2023": (("workloads", "azure_llm_2023", "AzureLLMInferenceTrace_conv.csv"),
                       ("workloads", "azure_llm_2023", "AzureLLMInferenceTrace_code.csv")),
    "google_2011": (("workloads", "google_2011", "jobs_first_19h_with_task_requests.csv"),),
    "philly": (("workloads", "philly_subset", "philly_jobs_subset.csv"),),
}
#: Arrival-count files of the traces replayed as a hybrid (arrival process from this file,
#: job attributes resampled from the job file): trace name -> file under the data directory.
ARRIVAL_FILES: dict[str, tuple[str, ...]] = {
    "google_2011": ("workloads", "google_2011", "job_arrivals_hourly_full_month.csv"),
}
#: Length of one bin of an arrival-count file (s).
HOUR_S = 3600.0
#: Google scheduling classes (columns ``sched_class_0..3`` of the hourly arrival file).
GOOGLE_SCHED_CLASSES = (0, 1, 2, 3)
#: Traces that are tiled end to end when an episode is longer than they are.
LOOPED_TRACES = frozenset({"azure_llm_2023"})
TRACE_NAMES = tuple(TRACE_FILES)

_REQUIRED = {
    "alibaba_gpu_2023": ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "qos", "pod_phase",
                         "creation_time", "deletion_time", "scheduled_time"),
    "azure_llm_2023": ("TIMESTAMP", "ContextTokens", "GeneratedTokens"),
    "google_2011": ("job_id", "submit_s", "schedule_s", "end_s", "duration_s", "end_event", "sched_class",
                    "priority", "n_tasks", "cpu_req_sum", "mem_req_sum"),
    "philly": ("job_id", "submitted_time", "num_gpus", "runtime_min", "n_attempts"),
    "google_2011_hourly": ("hour_since_trace_start", *(f"sched_class_{c}" for c in GOOGLE_SCHED_CLASSES), "total"),
}


class TraceTooShortError(ValueError):
    """A trace's replay span is shorter than the episode (warm-up + horizon) asked of it."""


# ------------------------------------------------------------------------------ class mapping


def _batch_class(duration_s: np.ndarray) -> np.ndarray:
    return np.where(np.asarray(duration_s, float) < BATCH_SPLIT_H * 3600.0, 2, 3).astype(np.int8)


def classify_alibaba(qos: Sequence[str], duration_s: Sequence[float]) -> np.ndarray:
    """E0..E3 of Alibaba pods: LS, Guaranteed -> E0; Burstable -> E1; BE -> E2 (< 4 h) or E3."""
    q = np.asarray(qos, dtype=object)
    out = _batch_class(duration_s)
    out[(q == "LS") | (q == "Guaranteed")] = 0
    out[q == "Burstable"] = 1
    return out


def classify_google(sched_class: Sequence[int], duration_s: Sequence[float]) -> np.ndarray:
    """E0..E3 of Google 2011 jobs: sched_class 3 -> E0, 2 -> E1, 0/1 -> E2 (< 4 h) or E3."""
    s = np.asarray(sched_class)
    out = _batch_class(duration_s)
    out[s == 3] = 0
    out[s == 2] = 1
    return out


def classify_azure(n: int) -> np.ndarray:
    """Every Azure LLM inference request is latency-critical: E0."""
    return np.zeros(n, np.int8)


def classify_philly(duration_s: Sequence[float]) -> np.ndarray:
    """Philly training jobs: E2 if they run < 4 h, else E3 (preemptible, checkpointing)."""
    return _batch_class(duration_s)


# ------------------------------------------------------------------------------ loaders


def _check_in(df: pd.DataFrame, col: str, path, allowed: Sequence) -> np.ndarray:
    v = df[col].astype(str).str.strip()
    bad = np.flatnonzero(~v.isin([str(a) for a in allowed]).to_numpy())
    if bad.size:
        i = int(bad[0])
        raise format_error(path, col, i, df[col].iloc[i], f"one of {list(allowed)}")
    return v.to_numpy(dtype=object)


def _integers(df: pd.DataFrame, col: str, path, lo: int, hi: int) -> np.ndarray:
    v = numeric(df, col, path, lo=lo, hi=hi, allow_nan=False)
    bad = np.flatnonzero(v != np.round(v))
    if bad.size:
        i = int(bad[0])
        raise format_error(path, col, i, df[col].iloc[i], f"an integer in [{lo}, {hi}]")
    return v.astype(np.int64)


def _times(df: pd.DataFrame, col: str, path, example: str) -> pd.Series:
    raw = df[col]
    t = pd.to_datetime(raw.astype(str).str.strip(), errors="coerce", format="mixed")
    bad = np.flatnonzero(t.isna().to_numpy())
    if bad.size:
        i = int(bad[0])
        raise format_error(path, col, i, raw.iloc[i], f"a date-time like {example!r}")
    return t


def _not_before(path, col: str, later: np.ndarray, earlier: np.ndarray, raw: pd.Series, what: str) -> None:
    bad = np.flatnonzero(later < earlier)
    if bad.size:
        i = int(bad[0])
        raise format_error(path, col, i, raw.iloc[i], f"a time >= {what} ({earlier[i]!r})")


def _finish(out: dict, order_by: str = "submit_s") -> pd.DataFrame:
    df = pd.DataFrame(out)
    df["job_class"] = df["job_class"].astype(np.int8)
    return df.sort_values(order_by, kind="stable").reset_index(drop=True)


def _path_for(name: str, path) -> Path:
    return Path(path) if path is not None else data_file(*TRACE_FILES[name][0])


def load_alibaba_gpu_2023(path: str | Path | None = None) -> pd.DataFrame:
    """Alibaba GPU cluster pods (2023). Columns: ``name, submit_s, start_s, end_s, duration_s
    (s), gpus, cpu_cores, memory_mib, qos, pod_phase, censored, job_class, work (kW.s)``.
    ``start_s`` is NaN for pods never scheduled. See the module docstring for the source."""
    p = _path_for("alibaba_gpu_2023", path)
    df = read_csv(p, _REQUIRED["alibaba_gpu_2023"], dtype={"name": str, "qos": str, "pod_phase": str})
    cpu = numeric(df, "cpu_milli", p, lo=0, allow_nan=False)
    mem = numeric(df, "memory_mib", p, lo=0, allow_nan=False)
    ngpu = _integers(df, "num_gpu", p, 0, 1024)
    gmilli = numeric(df, "gpu_milli", p, lo=0, hi=1000, allow_nan=False)
    qos = _check_in(df, "qos", p, ALIBABA_QOS)
    phase = _check_in(df, "pod_phase", p, ALIBABA_PHASES)
    created = numeric(df, "creation_time", p, lo=0, allow_nan=False)
    deleted = numeric(df, "deletion_time", p, lo=0, allow_nan=False)
    sched = numeric(df, "scheduled_time", p, lo=0, allow_nan=True)
    _not_before(p, "deletion_time", deleted, created, df["deletion_time"], "creation_time")
    dur = deleted - created
    gpus = ngpu * gmilli / 1000.0
    cores = cpu / 1000.0
    return _finish({
        "name": df["name"].astype(str).to_numpy(),
        "submit_s": created, "start_s": sched, "end_s": deleted, "duration_s": dur,
        "gpus": gpus, "cpu_cores": cores, "memory_mib": mem,
        "qos": qos, "pod_phase": phase,
        "censored": (phase == "Running") & (deleted >= deleted.max()),
        "job_class": classify_alibaba(qos, dur),
        "work": (ALIBABA_GPU_KW * gpus + ALIBABA_CPU_CORE_KW * cores) * dur,
    })


def load_azure_llm_2023(path: str | Path | Sequence[str | Path] | None = None) -> pd.DataFrame:
    """Azure LLM inference requests (2023). ``path``: one file, several, or ``None`` for both
    services of the data directory (conv, then code). Columns: ``timestamp`` (as given),
    ``submit_s`` (s after the first request of all files), ``duration_s`` (nominal),
    ``context_tokens, generated_tokens, service, job_class (E0), work (tokens)``."""
    if path is None:
        paths = [data_file(*f) for f in TRACE_FILES["azure_llm_2023"]]
    elif isinstance(path, (str, Path)):
        paths = [Path(path)]
    else:
        paths = [Path(x) for x in path]
    parts = []
    for p in paths:
        df = read_csv(p, _REQUIRED["azure_llm_2023"], dtype={"TIMESTAMP": str})
        t = _times(df, "TIMESTAMP", p, "2023-11-16 18:17:03.9799600")
        ctx = _integers(df, "ContextTokens", p, 0, 10**9)
        gen = _integers(df, "GeneratedTokens", p, 0, 10**9)
        svc = next((s for s in AZURE_SERVICES if s in p.stem.lower()), p.stem)
        parts.append(pd.DataFrame({"timestamp": t.to_numpy(), "context_tokens": ctx, "generated_tokens": gen,
                                   "service": svc}))
    df = pd.concat(parts, ignore_index=True)
    t0 = df["timestamp"].min()
    out = {
        "timestamp": df["timestamp"].to_numpy(),
        "submit_s": (df["timestamp"] - t0).dt.total_seconds().to_numpy(np.float64),
        "duration_s": AZURE_S_PER_TOKEN * df["generated_tokens"].to_numpy(np.float64),
        "context_tokens": df["context_tokens"].to_numpy(), "generated_tokens": df["generated_tokens"].to_numpy(),
        "service": df["service"].to_numpy(dtype=object),
        "job_class": classify_azure(len(df)),
        "work": (df["context_tokens"] + df["generated_tokens"]).to_numpy(np.float64),
    }
    return _finish(out)


def load_google_2011(path: str | Path | None = None) -> pd.DataFrame:
    """Google cluster 2011 jobs (first 19 h). Columns: ``job_id, submit_s, submit_utc,
    schedule_s, end_s, duration_s (s), end_event, sched_class, priority, n_tasks, cpu_req_sum,
    mem_req_sum`` (normalised to the largest machine), ``censored, job_class, work``."""
    p = _path_for("google_2011", path)
    df = read_csv(p, _REQUIRED["google_2011"], dtype={"end_event": str, "user": str})
    sub = numeric(df, "submit_s", p, lo=0, allow_nan=False)
    sch = numeric(df, "schedule_s", p, lo=0, allow_nan=False)
    end = numeric(df, "end_s", p, lo=0, allow_nan=True)
    dur = numeric(df, "duration_s", p, lo=0, allow_nan=True)
    _not_before(p, "schedule_s", sch, sub, df["schedule_s"], "submit_s")
    sc = _integers(df, "sched_class", p, 0, 3)
    prio = _integers(df, "priority", p, 0, 11)
    ntask = _integers(df, "n_tasks", p, 1, 10**9)
    cpu = numeric(df, "cpu_req_sum", p, lo=0, allow_nan=False)
    mem = numeric(df, "mem_req_sum", p, lo=0, allow_nan=False)
    censored = np.isnan(dur)
    if censored.any():
        horizon = np.nanmax(end) if np.isfinite(end).any() else np.nanmax(sch)
        dur = np.where(censored, np.maximum(horizon - sch, 0.0), dur)
    return _finish({
        "job_id": df["job_id"].to_numpy(), "submit_s": sub,
        "submit_utc": GOOGLE_T0_UTC + pd.to_timedelta(sub, unit="s"),
        "schedule_s": sch, "end_s": end, "duration_s": dur,
        "end_event": df["end_event"].fillna("").astype(str).to_numpy(dtype=object),
        "sched_class": sc, "priority": prio, "n_tasks": ntask, "cpu_req_sum": cpu, "mem_req_sum": mem,
        "censored": censored, "job_class": classify_google(sc, dur), "work": cpu * dur,
    })


def load_philly(path: str | Path | None = None) -> pd.DataFrame:
    """Microsoft Philly training jobs (subset, >= 4 GPUs, >= 10 min). Columns: ``job_id,
    submitted_time`` (as given), ``submit_s`` (s after the first submission), ``duration_s,
    gpus, n_attempts, job_class, work (GPU.s)``."""
    p = _path_for("philly", path)
    df = read_csv(p, _REQUIRED["philly"], dtype={"job_id": str, "submitted_time": str})
    t = _times(df, "submitted_time", p, "2017-09-04 10:30:41")
    gpus = _integers(df, "num_gpus", p, 1, 100_000)
    rt = numeric(df, "runtime_min", p, lo=0, allow_nan=False)
    att = _integers(df, "n_attempts", p, 0, 10**6)
    dur = 60.0 * rt
    return _finish({
        "job_id": df["job_id"].astype(str).to_numpy(), "submitted_time": t.to_numpy(),
        "submit_s": (t - t.min()).dt.total_seconds().to_numpy(np.float64), "duration_s": dur,
        "gpus": gpus, "n_attempts": att, "job_class": classify_philly(dur), "work": gpus * dur,
    })


def load_google_2011_hourly(path: str | Path | None = None) -> pd.DataFrame:
    """Google cluster 2011 job submissions per hour and scheduling class, over the whole trace
    (697 hours). Columns: ``hour`` (int64, hours since the trace start, 0, 1, 2, ... with no
    gap), ``sched_class_0 .. sched_class_3`` and ``total`` (int64 counts; ``total`` must be
    their sum). Hour ``h`` covers trace seconds ``[3600 h, 3600 (h + 1))``."""
    p = Path(path) if path is not None else data_file(*ARRIVAL_FILES["google_2011"])
    df = read_csv(p, _REQUIRED["google_2011_hourly"])
    if len(df) == 0:
        raise DataFormatError(f"{p}: no data rows; expected one row per hour from hour 0")
    hour = _integers(df, "hour_since_trace_start", p, 0, 10**7)
    bad = np.flatnonzero(hour != np.arange(len(df)))
    if bad.size:
        i = int(bad[0])
        raise format_error(p, "hour_since_trace_start", i, df["hour_since_trace_start"].iloc[i],
                           f"{i} (consecutive hours from 0, one row each)")
    out = {"hour": hour}
    for c in GOOGLE_SCHED_CLASSES:
        out[f"sched_class_{c}"] = _integers(df, f"sched_class_{c}", p, 0, 10**9)
    total = _integers(df, "total", p, 0, 10**10)
    want = sum(out[f"sched_class_{c}"] for c in GOOGLE_SCHED_CLASSES)
    bad = np.flatnonzero(total != want)
    if bad.size:
        i = int(bad[0])
        raise format_error(p, "total", i, df["total"].iloc[i], f"sched_class_0 + .. + sched_class_3 = {int(want[i])}")
    out["total"] = total
    return pd.DataFrame(out)


#: Format name -> loader. All but ``google_2011_hourly`` (arrival counts, not jobs) return a
#: job table.
LOADERS = {
    "alibaba_gpu_2023": load_alibaba_gpu_2023,
    "azure_llm_2023": load_azure_llm_2023,
    "google_2011": load_google_2011,
    "philly": load_philly,
    "google_2011_hourly": load_google_2011_hourly,
}


def detect_trace_format(path: str | Path) -> str:
    """The trace format of a CSV file (a key of :data:`LOADERS`), from its header."""
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"data not found at {p}; see README, 'Real data'")
    with p.open(encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline().strip()
    cols = {c.strip() for c in header.split(",")}
    for name, req in _REQUIRED.items():
        if set(req) <= cols:
            return name
    raise DataFormatError(f"{p}: unknown job-trace format (header {header[:120]!r}); expected the columns of one of "
                          + "; ".join(f"{k}: {list(v)}" for k, v in _REQUIRED.items()))


def load_trace(path: str | Path, fmt: str | None = None) -> pd.DataFrame:
    """Load any supported trace file; ``fmt`` declares the format (else it is detected)."""
    fmt = fmt or detect_trace_format(path)
    if fmt not in LOADERS:
        raise ValueError(f"fmt={fmt!r} is invalid: allowed one of {list(LOADERS)}")
    return LOADERS[fmt](path)


def _stamp(paths: list[Path]) -> tuple:
    return tuple((str(p.resolve()), p.stat().st_mtime_ns, p.stat().st_size) for p in paths)


@functools.lru_cache(maxsize=16)
def _load_cached(name: str, stamp: tuple) -> pd.DataFrame:
    paths = [Path(s[0]) for s in stamp]
    return LOADERS[name](paths if name == "azure_llm_2023" else paths[0])


def load_named_trace(name: str) -> pd.DataFrame:
    """The trace ``name`` (one of :data:`TRACE_NAMES`) from the data directory, parsed once per
    process (the cache is keyed by file path, time and size). Do not mutate the result."""
    if name not in TRACE_FILES:
        raise ValueError(f"workload trace {name!r} is unknown: allowed one of {list(TRACE_NAMES)}")
    return _load_cached(name, _stamp([data_file(*f) for f in TRACE_FILES[name]]))


# ------------------------------------------------------------------------------ replay


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


# ------------------------------------------------------------------------------ hybrid replay


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


__all__ = [
    "BATCH_SPLIT_H", "MAX_JOB_FRAC", "WORK_UNITS", "TRACE_NAMES", "LOOPED_TRACES", "LOADERS",
    "ARRIVAL_FILES", "HOUR_S", "TraceTooShortError", "TraceReplay", "HybridReplay", "DCArrivals",
    "classify_alibaba", "classify_google", "classify_azure", "classify_philly",
    "load_alibaba_gpu_2023", "load_azure_llm_2023", "load_google_2011", "load_google_2011_hourly", "load_philly",
    "detect_trace_format", "load_trace", "load_named_trace", "make_replay", "make_hybrid_replay", "hybrid_jobs",
    "replay_table", "trace_arrivals", "class_summary",
]
