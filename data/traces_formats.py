"""Job-trace formats: constants, the E0-E3 class mapping, one loader per trace file, format
detection and the per-process cache of parsed traces (see :mod:`gridshift.data.traces` for
the formats, the mapping rule and the replay; everything here is re-exported there).

Every file is read by :func:`gridshift.data.csvio.read_csv`: a malformed file (binary or
UTF-16 bytes, no data rows, a missing column, a cell that is not a finite number in range, a
job listed twice...) raises :class:`~gridshift.data.csvio.DataFormatError` naming the file,
the column, the row and what was expected.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from gridshift.data.csvio import CsvTable, DataFormatError, read_csv, read_head
from gridshift.data.paths import data_file

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


class TraceTooShortError(DataFormatError):
    """A trace's replay span is shorter than the episode (warm-up + horizon) asked of it.

    A :class:`~gridshift.data.csvio.DataFormatError` (hence a ``ValueError``): the trace
    file is well-formed but does not hold enough of what the episode needs."""


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

#: Upper bounds of the trace columns (a cell beyond one is a malformed file, not a job).
MAX_TIME_S = 1e10  # trace clocks in seconds (~300 years)
MAX_COUNT = 10**9


def _not_before(t: CsvTable, col: str, later: np.ndarray, earlier: np.ndarray, what: str) -> None:
    bad = np.flatnonzero(later < earlier)
    if bad.size:
        i = int(bad[0])
        raise t.error(col, i, t[col].iloc[i], f"a time >= {what} ({earlier[i]!r})")


def _finish(out: dict, order_by: str = "submit_s") -> pd.DataFrame:
    df = pd.DataFrame(out)
    df["job_class"] = df["job_class"].astype(np.int8)
    return df.sort_values(order_by, kind="stable").reset_index(drop=True)


def _path_for(name: str, path) -> Path:
    return Path(path) if path is not None else data_file(*TRACE_FILES[name][0])


def _read(p: Path, fmt: str, **kw) -> CsvTable:
    return read_csv(p, _REQUIRED[fmt], what=f"a {fmt} trace", **kw)


def load_alibaba_gpu_2023(path: str | Path | None = None) -> pd.DataFrame:
    """Alibaba GPU cluster pods (2023). Columns: ``name, submit_s, start_s, end_s, duration_s
    (s), gpus, cpu_cores, memory_mib, qos, pod_phase, censored, job_class, work (kW.s)``.
    ``start_s`` is NaN for pods never scheduled. See the module docstring for the source."""
    p = _path_for("alibaba_gpu_2023", path)
    t = _read(p, "alibaba_gpu_2023", unique="name", unique_what="pod")
    cpu = t.numbers("cpu_milli", 0, 1e8)
    mem = t.numbers("memory_mib", 0, 1e10)
    ngpu = t.numbers("num_gpu", 0, 1024, integer=True)
    gmilli = t.numbers("gpu_milli", 0, 1000)
    qos = t.choice("qos", ALIBABA_QOS)
    phase = t.choice("pod_phase", ALIBABA_PHASES)
    created = t.numbers("creation_time", 0, MAX_TIME_S)
    deleted = t.numbers("deletion_time", 0, MAX_TIME_S)
    sched = t.numbers("scheduled_time", 0, MAX_TIME_S, missing_ok=True)
    _not_before(t, "deletion_time", deleted, created, "creation_time")
    dur = deleted - created
    gpus = ngpu * gmilli / 1000.0
    cores = cpu / 1000.0
    return _finish({
        "name": t["name"].astype(str).to_numpy(),
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
    ``context_tokens, generated_tokens, service, job_class (E0), work (tokens)``. A request
    listed twice in a file (same time and token counts) is an error."""
    if path is None:
        paths = [data_file(*f) for f in TRACE_FILES["azure_llm_2023"]]
    elif isinstance(path, (str, Path)):
        paths = [Path(path)]
    else:
        paths = [Path(x) for x in path]
    parts = []
    for p in paths:
        t = _read(p, "azure_llm_2023", unique=_REQUIRED["azure_llm_2023"], unique_what="request")
        ts = t.datetimes("TIMESTAMP", "2023-11-16 18:17:03.9799600")
        ctx = t.numbers("ContextTokens", 0, MAX_COUNT, integer=True)
        gen = t.numbers("GeneratedTokens", 0, MAX_COUNT, integer=True)
        svc = next((s for s in AZURE_SERVICES if s in p.stem.lower()), p.stem)
        parts.append(pd.DataFrame({"timestamp": ts.to_numpy(), "context_tokens": ctx, "generated_tokens": gen,
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
    t = _read(p, "google_2011", unique="job_id", unique_what="job")
    job_id = t.numbers("job_id", 0, 1e15, integer=True)
    sub = t.numbers("submit_s", 0, MAX_TIME_S)
    sch = t.numbers("schedule_s", 0, MAX_TIME_S)
    end = t.numbers("end_s", 0, MAX_TIME_S, missing_ok=True)
    dur = t.numbers("duration_s", 0, MAX_TIME_S, missing_ok=True)
    _not_before(t, "schedule_s", sch, sub, "submit_s")
    sc = t.numbers("sched_class", 0, 3, integer=True)
    prio = t.numbers("priority", 0, 11, integer=True)
    ntask = t.numbers("n_tasks", 1, MAX_COUNT, integer=True)
    cpu = t.numbers("cpu_req_sum", 0, 1e7)
    mem = t.numbers("mem_req_sum", 0, 1e7)
    censored = np.isnan(dur)
    if censored.any():
        horizon = np.nanmax(end) if np.isfinite(end).any() else np.nanmax(sch)
        dur = np.where(censored, np.maximum(horizon - sch, 0.0), dur)
    return _finish({
        "job_id": job_id, "submit_s": sub,
        "submit_utc": GOOGLE_T0_UTC + pd.to_timedelta(sub, unit="s"),
        "schedule_s": sch, "end_s": end, "duration_s": dur,
        "end_event": t["end_event"].fillna("").astype(str).to_numpy(dtype=object),
        "sched_class": sc, "priority": prio, "n_tasks": ntask, "cpu_req_sum": cpu, "mem_req_sum": mem,
        "censored": censored, "job_class": classify_google(sc, dur), "work": cpu * dur,
    })


def load_philly(path: str | Path | None = None) -> pd.DataFrame:
    """Microsoft Philly training jobs (subset, >= 4 GPUs, >= 10 min). Columns: ``job_id,
    submitted_time`` (as given), ``submit_s`` (s after the first submission), ``duration_s,
    gpus, n_attempts, job_class, work (GPU.s)``."""
    p = _path_for("philly", path)
    t = _read(p, "philly", unique="job_id", unique_what="job")
    ts = t.datetimes("submitted_time", "2017-09-04 10:30:41")
    gpus = t.numbers("num_gpus", 1, 100_000, integer=True)
    rt = t.numbers("runtime_min", 0, MAX_TIME_S / 60.0)
    att = t.numbers("n_attempts", 0, 10**6, integer=True)
    dur = 60.0 * rt
    return _finish({
        "job_id": t["job_id"].astype(str).to_numpy(), "submitted_time": ts.to_numpy(),
        "submit_s": (ts - ts.min()).dt.total_seconds().to_numpy(np.float64), "duration_s": dur,
        "gpus": gpus, "n_attempts": att, "job_class": classify_philly(dur), "work": gpus * dur,
    })


def load_google_2011_hourly(path: str | Path | None = None) -> pd.DataFrame:
    """Google cluster 2011 job submissions per hour and scheduling class, over the whole trace
    (697 hours). Columns: ``hour`` (int64, hours since the trace start, 0, 1, 2, ... with no
    gap), ``sched_class_0 .. sched_class_3`` and ``total`` (int64 counts; ``total`` must be
    their sum). Hour ``h`` covers trace seconds ``[3600 h, 3600 (h + 1))``."""
    p = Path(path) if path is not None else data_file(*ARRIVAL_FILES["google_2011"])
    t = _read(p, "google_2011_hourly", unique="hour_since_trace_start", unique_what="hour")
    hour = t.numbers("hour_since_trace_start", 0, 10**7, integer=True)
    bad = np.flatnonzero(hour != np.arange(len(t)))
    if bad.size:
        i = int(bad[0])
        raise t.error("hour_since_trace_start", i, t["hour_since_trace_start"].iloc[i],
                      f"{i} (consecutive hours from 0, one row each)")
    out = {"hour": hour}
    for c in GOOGLE_SCHED_CLASSES:
        out[f"sched_class_{c}"] = t.numbers(f"sched_class_{c}", 0, MAX_COUNT, integer=True)
    total = t.numbers("total", 0, 10 * MAX_COUNT, integer=True)
    want = sum(out[f"sched_class_{c}"] for c in GOOGLE_SCHED_CLASSES)
    bad = np.flatnonzero(total != want)
    if bad.size:
        i = int(bad[0])
        raise t.error("total", i, t["total"].iloc[i], f"sched_class_0 + .. + sched_class_3 = {int(want[i])}")
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
    header = read_head(p, 1, "a job-trace CSV file")[0]
    cols = {c.strip() for c in header.split(",")}
    for name, req in _REQUIRED.items():
        if set(req) <= cols:
            return name
    raise DataFormatError(f"{p}: unknown job-trace format (header {header[:120]!r}): expected the columns of one of "
                          + "; ".join(f"{k}: {list(v)}" for k, v in _REQUIRED.items()), file=p, line=1,
                          expected=f"the header of one of {list(_REQUIRED)}")


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

