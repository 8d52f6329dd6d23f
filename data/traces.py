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

Parsed traces are cached per process (a reset re-uses them). Every file is read by
:func:`gridshift.data.csvio.read_csv`; a malformed file (binary or UTF-16 bytes, no data rows,
a missing column, a non-finite or out-of-range number, a job listed twice...) raises
:class:`~gridshift.data.csvio.DataFormatError` naming the file, the column, the row and what
was expected. :class:`TraceTooShortError` is a ``DataFormatError`` too.

Code layout: formats, class mapping, loaders and the parse cache in
:mod:`gridshift.data.traces_formats`; the replay in :mod:`gridshift.data.traces_replay`; the
hybrid replay in :mod:`gridshift.data.traces_hybrid`. This module re-exports all of them.
"""

from __future__ import annotations

from gridshift.data.csvio import DataFormatError
from gridshift.data.traces_formats import (
    ALIBABA_CPU_CORE_KW,
    ALIBABA_GPU_KW,
    ALIBABA_PHASES,
    ALIBABA_QOS,
    ARRIVAL_FILES,
    AZURE_S_PER_TOKEN,
    AZURE_SERVICES,
    BATCH_SPLIT_H,
    GOOGLE_SCHED_CLASSES,
    GOOGLE_T0_UTC,
    HOUR_S,
    LOADERS,
    LOOPED_TRACES,
    MAX_JOB_FRAC,
    SPAN_HEAD_QUANTILE,
    TRACE_FILES,
    TRACE_NAMES,
    WORK_UNITS,
    TraceTooShortError,
    classify_alibaba,
    classify_azure,
    classify_google,
    classify_philly,
    detect_trace_format,
    load_alibaba_gpu_2023,
    load_azure_llm_2023,
    load_google_2011,
    load_google_2011_hourly,
    load_named_trace,
    load_philly,
    load_trace,
)
from gridshift.data.traces_hybrid import HybridReplay, hybrid_jobs, make_hybrid_replay
from gridshift.data.traces_replay import (
    DCArrivals,
    TraceReplay,
    class_summary,
    make_replay,
    replay_table,
    trace_arrivals,
)

__all__ = [
    "BATCH_SPLIT_H", "MAX_JOB_FRAC", "WORK_UNITS", "TRACE_NAMES", "LOOPED_TRACES", "LOADERS",
    "ARRIVAL_FILES", "HOUR_S", "TraceTooShortError", "TraceReplay", "HybridReplay", "DCArrivals",
    "classify_alibaba", "classify_google", "classify_azure", "classify_philly",
    "load_alibaba_gpu_2023", "load_azure_llm_2023", "load_google_2011", "load_google_2011_hourly", "load_philly",
    "detect_trace_format", "load_trace", "load_named_trace", "make_replay", "make_hybrid_replay", "hybrid_jobs",
    "replay_table", "trace_arrivals", "class_summary", "DataFormatError", "TRACE_FILES", "SPAN_HEAD_QUANTILE",
    "GOOGLE_SCHED_CLASSES", "GOOGLE_T0_UTC", "ALIBABA_GPU_KW", "ALIBABA_CPU_CORE_KW", "ALIBABA_QOS",
    "ALIBABA_PHASES", "AZURE_S_PER_TOKEN", "AZURE_SERVICES",
]

# Private helpers that tests and callers reach through this module (T._hybrid_rate...).
from gridshift.data.traces_formats import _load_cached  # noqa: E402,F401
from gridshift.data.traces_hybrid import _hybrid_rate  # noqa: E402,F401
from gridshift.data.traces_replay import _discretize, _expected_rate, _replay_cached  # noqa: E402,F401
