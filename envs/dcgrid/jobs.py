"""The job ledger and the per-step scheduler of every DC, as one compiled kernel.

Status codes of a job slot (``STATUS``) and drop causes (``CAUSE``) are public: metrics read
the ledger through them. Within step ``t`` of one DC, in this order (DESIGN §4, §5):

1. Arrivals at ``t`` enter the queue.
2. Queued jobs whose deadline has passed are **dropped** (cause ``deadline``).
3. An **emergency order** (if any) caps the dynamic IT power: running E3 jobs are preempted,
   then running E2, E1 and finally E0 jobs are shed, each shed job **dropped** with cause
   ``emergency``. No job starts beyond the cap, not even under the SLA guard.
4. **E3 preemption**: the agent's E3 release ``r3`` caps E3 power at ``r3 x`` (running + queued
   E3 power). Running E3 jobs above the cap are checkpointed back to the queue, latest
   deadline first, with ``checkpoint_overhead`` steps of extra work; jobs that would then miss
   their deadline are left running (the SLA guard protects them when it is on).
5. **Starts**, in priority order while capacity lasts: E0 (always on arrival; running E3 jobs
   are preempted to make room for it), then jobs forced by the **SLA guard** (slack
   ``deadline - t - remaining <= 0``), then the agent's release: for class ``c`` in E1..E3 the
   queued jobs in earliest-deadline-first order whose cumulative power stays within
   ``r_c x`` that class's queued power. Released jobs of all classes then start in one EDF
   order.
6. Running jobs do one step of work; a job with no work left completes, **on time** if
   ``t + 1 <= deadline`` and **late** otherwise.
"""

from __future__ import annotations

import numba
import numpy as np

#: Job-slot status codes.
#: ``IN_TRANSIT``: a job moved here from another DC (geo-shifting, :mod:`.geo`), queued on
#: arrival (its slot's ``arrival`` is the step it lands); ``MOVED``: the source slot of a moved
#: job, closed (its work is accounted for by the copy at the target, whose ``origin`` names this DC).
EMPTY, PENDING, QUEUED, RUNNING, DONE_ON_TIME, DONE_LATE, DROPPED, IN_TRANSIT, MOVED = 0, 1, 2, 3, 4, 5, 6, 7, 8
STATUS = {
    "empty": EMPTY,
    "pending": PENDING,
    "queued": QUEUED,
    "running": RUNNING,
    "completed_on_time": DONE_ON_TIME,
    "completed_late": DONE_LATE,
    "dropped": DROPPED,
    "in_transit": IN_TRANSIT,
    "moved": MOVED,
}
#: Drop causes.
CAUSE_NONE, CAUSE_DEADLINE, CAUSE_EMERGENCY = 0, 1, 2
CAUSE = {"none": CAUSE_NONE, "deadline": CAUSE_DEADLINE, "emergency": CAUSE_EMERGENCY}

#: Per-DC per-step outputs of the kernel (rows of ``out [K, B, N]``).
OUT_FIELDS = (
    "running_mw",  # dynamic IT power of running jobs (after the step's starts)
    "e0_mw",
    "flex_mw",  # E1-E3 running power
    "queued_mw_e1",
    "queued_mw_e2",
    "queued_mw_e3",
    "queued_mwh_e1",  # remaining work of queued jobs (MWh)
    "queued_mwh_e2",
    "queued_mwh_e3",
    "min_slack_e1",  # steps; large when the queue is empty
    "min_slack_e2",
    "min_slack_e3",
    "started",
    "completed_on_time",
    "completed_late",
    "dropped_deadline",
    "dropped_emergency",
    "preempted",
    "late_mwh",  # total energy of jobs completed late this step
    "dropped_mwh",  # total energy of jobs dropped this step
    "served_mwh",  # dynamic IT energy served this step
    "forced_starts",  # starts forced by the SLA guard
)
OUT_INDEX = {k: i for i, k in enumerate(OUT_FIELDS)}
NO_SLACK = 1_000_000
# Rows of ``out`` by name (module constants, so the compiled kernel addresses them statically).
O_RUNNING, O_E0, O_FLEX = OUT_INDEX["running_mw"], OUT_INDEX["e0_mw"], OUT_INDEX["flex_mw"]
O_QUEUED_MW = OUT_INDEX["queued_mw_e1"]  # + class - 1
O_QUEUED_MWH = OUT_INDEX["queued_mwh_e1"]  # + class - 1
O_MIN_SLACK = OUT_INDEX["min_slack_e1"]  # + class - 1
O_STARTED, O_ON_TIME, O_LATE = OUT_INDEX["started"], OUT_INDEX["completed_on_time"], OUT_INDEX["completed_late"]
O_DROP_DEADLINE, O_DROP_EMERGENCY = OUT_INDEX["dropped_deadline"], OUT_INDEX["dropped_emergency"]
O_PREEMPTED, O_LATE_MWH, O_DROPPED_MWH = OUT_INDEX["preempted"], OUT_INDEX["late_mwh"], OUT_INDEX["dropped_mwh"]
O_SERVED_MWH, O_FORCED = OUT_INDEX["served_mwh"], OUT_INDEX["forced_starts"]


@numba.njit(cache=True, nogil=True, inline="always")
def _argsort_small(keys, n, order):  # pragma: no cover - compiled
    """Insertion argsort of ``keys[:n]`` into ``order[:n]``: queues are short, and this avoids
    an allocation per DC per step."""
    for a in range(n):
        order[a] = a
    for a in range(1, n):
        o = order[a]
        k = keys[o]
        c = a - 1
        while c >= 0 and keys[order[c]] > k:
            order[c + 1] = order[c]
            c -= 1
        order[c + 1] = o


@numba.njit(cache=True, nogil=True, inline="always")
def _latest_running(b, i, act, na, status, job_class, deadline, remaining, cls, tb, overhead, keep_slack):  # pragma: no cover
    """The running job of class ``cls`` with the latest deadline (-1 if none): the one to preempt
    or shed first. With ``keep_slack``, only jobs that could still finish on time after a
    preemption (one checkpoint ``overhead`` added) qualify."""
    best = -1
    bd = -1
    for a in range(na):
        j = act[a]
        if status[b, i, j] == RUNNING and job_class[b, i, j] == cls and deadline[b, i, j] > bd:
            if keep_slack and deadline[b, i, j] - tb - remaining[b, i, j] - overhead < 0:
                continue
            bd = deadline[b, i, j]
            best = j
    return best


@numba.njit(cache=True, nogil=True)
def _step_env(b, t, release, dyn_cap_mw, emergency_cap_mw, dt_h, overhead, sla_guard,
              job_class, arrival, duration, deadline, power, n_jobs,
              status, cause, remaining, start, finish, served, active, n_active, next_arrival,
              out, cand, key, order, sel, skey, sorder, qpow, budget, used):  # pragma: no cover - compiled
    n = status.shape[1]
    tb = t[b]
    for i in range(n):
            for k in range(out.shape[0]):
                out[k, b, i] = 0.0
            cap = min(dyn_cap_mw[i], emergency_cap_mw[b, i])
            # 1. arrivals
            act = active[b, i]
            na = n_active[b, i]
            p = next_arrival[b, i]
            while p < n_jobs[b, i] and arrival[b, i, p] <= tb:
                status[b, i, p] = QUEUED
                act[na] = p
                na += 1
                p += 1
            next_arrival[b, i] = p

            # 2. deadline drops; tallies of running and queued work
            running = 0.0
            run_e3 = 0.0
            qpow[:] = 0.0
            for a in range(na):
                j = act[a]
                s = status[b, i, j]
                if s == IN_TRANSIT and tb >= arrival[b, i, j]:
                    status[b, i, j] = QUEUED  # a moved job lands
                    s = QUEUED
                if s == QUEUED and tb >= deadline[b, i, j]:
                    status[b, i, j] = DROPPED
                    cause[b, i, j] = CAUSE_DEADLINE
                    finish[b, i, j] = tb
                    out[O_DROP_DEADLINE, b, i] += 1
                    out[O_DROPPED_MWH, b, i] += power[b, i, j] * duration[b, i, j] * dt_h
                elif s == RUNNING:
                    running += power[b, i, j]
                    if job_class[b, i, j] == 3:
                        run_e3 += power[b, i, j]
                elif s == QUEUED:
                    qpow[job_class[b, i, j]] += power[b, i, j]

            # 3. emergency: preempt E3, then shed E2, E1, E0 (latest deadline first)
            if running > cap + 1e-9:
                for cls in (3, 2, 1, 0):
                    while running > cap + 1e-9:
                        best = _latest_running(b, i, act, na, status, job_class, deadline, remaining, cls, tb, overhead, False)
                        if best < 0:
                            break
                        running -= power[b, i, best]
                        if cls == 3:
                            run_e3 -= power[b, i, best]
                            status[b, i, best] = QUEUED
                            remaining[b, i, best] += overhead
                            qpow[3] += power[b, i, best]
                            out[O_PREEMPTED, b, i] += 1
                        else:
                            status[b, i, best] = DROPPED
                            cause[b, i, best] = CAUSE_EMERGENCY
                            finish[b, i, best] = tb
                            out[O_DROP_EMERGENCY, b, i] += 1
                            out[O_DROPPED_MWH, b, i] += power[b, i, best] * duration[b, i, best] * dt_h

            # 4. E3 preemption down to r3 x (running + queued E3 power)
            e3_cap = release[b, i, 2] * (run_e3 + qpow[3])
            while run_e3 > e3_cap + 1e-9:
                best = _latest_running(b, i, act, na, status, job_class, deadline, remaining, 3, tb, overhead, sla_guard)
                if best < 0:
                    break
                run_e3 -= power[b, i, best]
                running -= power[b, i, best]
                status[b, i, best] = QUEUED
                remaining[b, i, best] += overhead
                qpow[3] += power[b, i, best]
                out[O_PREEMPTED, b, i] += 1

            # 5. starts. Priority key: E0 first, then SLA-forced, then released; EDF within.
            nc = 0
            budget[:] = 0.0
            budget[1] = release[b, i, 0] * qpow[1]
            budget[2] = release[b, i, 1] * qpow[2]
            budget[3] = max(0.0, min(release[b, i, 2] * qpow[3], e3_cap - run_e3))
            # EDF order of all queued jobs, to apply per-class budgets in deadline order
            for a in range(na):
                j = act[a]
                if status[b, i, j] == QUEUED:
                    cand[nc] = j
                    key[nc] = deadline[b, i, j] + 1e-6 * j
                    nc += 1
            _argsort_small(key, nc, order)
            used[:] = 0.0
            nsel = 0
            for oi in range(nc):
                j = cand[order[oi]]
                c = job_class[b, i, j]
                rem = remaining[b, i, j] if remaining[b, i, j] > 0 else duration[b, i, j]
                slack = deadline[b, i, j] - tb - rem
                if c == 0:
                    pri = 0.0
                elif sla_guard and slack <= 0:
                    pri = 1.0
                elif used[c] + power[b, i, j] <= budget[c] + 1e-9:
                    used[c] += power[b, i, j]
                    pri = 2.0
                else:
                    continue
                sel[nsel] = j
                skey[nsel] = pri * 1e9 + key[order[oi]]
                nsel += 1
            _argsort_small(skey, nsel, sorder)
            for si in range(nsel):
                j = sel[sorder[si]]
                pw = power[b, i, j]
                if running + pw > cap + 1e-9 and job_class[b, i, j] == 0 and emergency_cap_mw[b, i] == np.inf:
                    # E0 preempts running E3 work (latest deadline first) to fit.
                    while running + pw > cap + 1e-9:
                        best = _latest_running(b, i, act, na, status, job_class, deadline, remaining, 3, tb, overhead, False)
                        if best < 0:
                            break
                        running -= power[b, i, best]
                        status[b, i, best] = QUEUED
                        remaining[b, i, best] += overhead
                        out[O_PREEMPTED, b, i] += 1
                if running + pw > cap + 1e-9:
                    continue  # no room this step; it stays queued
                status[b, i, j] = RUNNING
                if remaining[b, i, j] <= 0:
                    remaining[b, i, j] = duration[b, i, j]
                if start[b, i, j] < 0:
                    start[b, i, j] = tb
                running += pw
                out[O_STARTED, b, i] += 1
                if skey[sorder[si]] >= 1e9 and skey[sorder[si]] < 2e9:
                    out[O_FORCED, b, i] += 1

            # 6. run one step; tallies for the observation
            e0 = 0.0
            flex = 0.0
            for cls in range(1, 4):
                out[O_MIN_SLACK + cls - 1, b, i] = NO_SLACK
            keep = 0
            for a in range(na):
                j = act[a]
                s = status[b, i, j]
                c = job_class[b, i, j]
                if s == RUNNING:
                    e = power[b, i, j] * dt_h
                    served[b, i, j] += e
                    out[O_SERVED_MWH, b, i] += e
                    if c == 0:
                        e0 += power[b, i, j]
                    else:
                        flex += power[b, i, j]
                    remaining[b, i, j] -= 1
                    if remaining[b, i, j] <= 0:
                        finish[b, i, j] = tb + 1
                        if tb + 1 <= deadline[b, i, j]:
                            status[b, i, j] = DONE_ON_TIME
                            out[O_ON_TIME, b, i] += 1
                        else:
                            status[b, i, j] = DONE_LATE
                            out[O_LATE, b, i] += 1
                            out[O_LATE_MWH, b, i] += power[b, i, j] * duration[b, i, j] * dt_h
                elif s == QUEUED and c > 0:
                    rem = remaining[b, i, j] if remaining[b, i, j] > 0 else duration[b, i, j]
                    out[O_QUEUED_MW + c - 1, b, i] += power[b, i, j]
                    out[O_QUEUED_MWH + c - 1, b, i] += power[b, i, j] * rem * dt_h
                    slack = deadline[b, i, j] - (tb + 1) - rem
                    if slack < out[O_MIN_SLACK + c - 1, b, i]:
                        out[O_MIN_SLACK + c - 1, b, i] = slack
                if status[b, i, j] == QUEUED or status[b, i, j] == RUNNING or status[b, i, j] == IN_TRANSIT:
                    act[keep] = j  # compact the open list in place (order kept)
                    keep += 1
            n_active[b, i] = keep
            out[O_RUNNING, b, i] = e0 + flex
            out[O_E0, b, i] = e0
            out[O_FLEX, b, i] = flex


@numba.njit(cache=True, nogil=True)
def _step_serial(t, release, dyn_cap_mw, emergency_cap_mw, dt_h, overhead, sla_guard,
                 job_class, arrival, duration, deadline, power, n_jobs,
                 status, cause, remaining, start, finish, served, active, n_active, next_arrival, out):  # pragma: no cover
    jmax = status.shape[2]
    cand = np.empty(jmax, np.int64)
    key = np.empty(jmax, np.float64)
    order = np.empty(jmax, np.int64)
    sel = np.empty(jmax, np.int64)
    skey = np.empty(jmax, np.float64)
    sorder = np.empty(jmax, np.int64)
    qpow = np.empty(4)
    budget = np.empty(4)
    used = np.empty(4)
    for b in range(status.shape[0]):
        _step_env(b, t, release, dyn_cap_mw, emergency_cap_mw, dt_h, overhead, sla_guard,
                  job_class, arrival, duration, deadline, power, n_jobs,
                  status, cause, remaining, start, finish, served, active, n_active, next_arrival,
                  out, cand, key, order, sel, skey, sorder, qpow, budget, used)


@numba.njit(cache=True, nogil=True, parallel=True)
def _step_parallel(t, release, dyn_cap_mw, emergency_cap_mw, dt_h, overhead, sla_guard,
                   job_class, arrival, duration, deadline, power, n_jobs,
                   status, cause, remaining, start, finish, served, active, n_active, next_arrival, out):  # pragma: no cover
    jmax = status.shape[2]
    for b in numba.prange(status.shape[0]):
        # Envs are independent: each thread has its own buffers, results do not depend on threads.
        _step_env(b, t, release, dyn_cap_mw, emergency_cap_mw, dt_h, overhead, sla_guard,
                  job_class, arrival, duration, deadline, power, n_jobs,
                  status, cause, remaining, start, finish, served, active, n_active, next_arrival,
                  out, np.empty(jmax, np.int64), np.empty(jmax, np.float64), np.empty(jmax, np.int64),
                  np.empty(jmax, np.int64), np.empty(jmax, np.float64), np.empty(jmax, np.int64),
                  np.empty(4), np.empty(4), np.empty(4))


#: Batches at least this large are stepped with one thread per core (``numba.prange``).
PARALLEL_MIN_BATCH = 16


def step_jobs(t, release, dyn_cap_mw, emergency_cap_mw, dt_h, overhead, sla_guard,
              job_class, arrival, duration, deadline, power, n_jobs,
              status, cause, remaining, start, finish, served, active, n_active, next_arrival, out):
    """Advance every DC of every env by one step. Arrays are ``[B, N, ...]``; ``t`` is ``[B]``.

    ``release [B, N, 3]`` are the E1..E3 release fractions in [0, 1]; ``emergency_cap_mw
    [B, N]`` caps dynamic IT power (``inf`` when no order). ``active [B, N, J]`` lists the
    first ``n_active [B, N]`` open (queued or running) jobs of each DC, so a step touches only
    open jobs, never the finished history. Mutates the ledger in place and writes the per-DC
    outputs into ``out [K, B, N]``.
    """
    fn = _step_parallel if status.shape[0] >= PARALLEL_MIN_BATCH else _step_serial
    fn(t, release, dyn_cap_mw, emergency_cap_mw, dt_h, overhead, sla_guard,
       job_class, arrival, duration, deadline, power, n_jobs,
       status, cause, remaining, start, finish, served, active, n_active, next_arrival, out)
