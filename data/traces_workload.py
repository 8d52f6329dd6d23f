"""Real job traces as the simulator's workload generator (:class:`TraceWorkload`).

Each episode replays one window of the trace per DC, drawn from the episode's generator
(:func:`gridshift.data.traces.trace_arrivals`: class mapping, scaling to ``target_utilization
x dynamic IT capacity``). The job table has the same contract as the synthetic generator's
(:mod:`gridshift.envs.dcgrid.workload`). The trace file is read once per process and cached.
"""

from __future__ import annotations

import numpy as np

from gridshift.data.traces import replay_table, trace_arrivals
from gridshift.envs.dcgrid.scenario import Scenario
from gridshift.envs.dcgrid.workload import DCParams, JobTable, _slots


class TraceWorkload:
    """A :class:`~gridshift.envs.dcgrid.generators.WorkloadGenerator` replaying ``sc.workload_trace``."""

    def __init__(self, sc: Scenario, dcs: DCParams):
        replay_table(sc.workload_trace)  # parse once (cached) so a missing or bad trace fails at construction
        self.scenario, self.dcs = sc, dcs

    def sample(self, rng: np.random.Generator, batch: int, start_dow: np.ndarray, total_steps: int) -> JobTable:
        del start_dow  # a trace carries its own weekly cycle
        return trace_jobs(self.scenario, self.dcs, rng, batch, total_steps)


def trace_jobs(sc: Scenario, dcp: DCParams, rng: np.random.Generator, n_envs: int, total_steps: int) -> JobTable:
    """Replay ``sc.workload_trace`` for ``n_envs`` envs x ``N`` DCs (one window per DC, drawn
    from ``rng``); see :mod:`gridshift.data.traces`. Raises ``TraceTooShortError`` when the
    trace cannot cover ``total_steps`` and ``DataNotFoundError`` when its file is absent."""

    rep = replay_table(sc.workload_trace)
    per_env = [trace_arrivals(rep, dcp.dynamic_mw, rng, step_minutes=sc.step_minutes, total_steps=total_steps,
                              target_utilization=sc.target_utilization) for _ in range(n_envs)]
    n = dcp.n
    per_dc = np.array([[w.arrival.size for w in env] for env in per_env], np.int32).reshape(n_envs, n)
    j_max = _slots(sc, per_dc)
    rs = (n_envs, n, j_max)
    job_class = np.zeros(rs, np.int8)
    arrival = np.full(rs, np.iinfo(np.int32).max, np.int32)
    duration = np.zeros(rs, np.int32)
    deadline = np.zeros(rs, np.int32)
    power = np.zeros(rs, np.float64)
    max_def = np.array(sc.max_deferral_steps(), np.int64)
    for b, env in enumerate(per_env):
        for i, w in enumerate(env):
            k = w.arrival.size
            job_class[b, i, :k] = w.job_class
            arrival[b, i, :k] = w.arrival
            duration[b, i, :k] = w.duration
            deadline[b, i, :k] = w.arrival + max_def[w.job_class] + w.duration
            power[b, i, :k] = w.power_mw
    return JobTable(job_class=job_class, arrival=arrival, duration=duration, deadline=deadline, power_mw=power,
                    n_jobs=per_dc)
