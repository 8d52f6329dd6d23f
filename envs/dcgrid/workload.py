"""Synthetic workload generator and DC sizing (DESIGN §4).

A whole episode's arrivals (warm-up included) are drawn at reset from the episode's
``numpy.random.Generator``, so that the job table is the ledger: every job that will arrive has
a slot from the start, sorted by arrival, and keeps exactly one status to the end.

Arrivals per class are Poisson with a rate that follows the DC's *local* time: a diurnal cosine
peaking at 15:00 with the class's amplitude, times ``weekend_factor`` on local weekends. Job
power and duration are log-normal around the class medians. The rates are sized so that the
expected compute energy per step is ``target_utilization x dynamic IT capacity``, split across
classes by ``job_mix`` (EM §III: 15/35/30/20 % of compute energy for E0..E3).

When the scenario's ``workload_trace`` names a real trace, the builder picks
:class:`gridshift.data.traces_workload.TraceWorkload` instead (class mapping, per-DC windows
drawn from the episode's generator, scaling to ``target_utilization x dynamic IT capacity``);
the job table has the same contract.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridshift.envs.dcgrid.scenario import N_CLASSES, Scenario
from gridshift.envs.grid.types import ParamError

PEAK_LOCAL_HOUR = 15.0


@dataclass(frozen=True, eq=False)
class DCParams:
    """Static per-DC parameters, arrays of shape ``[N]`` (MW, MWh, hours)."""

    it_capacity_mw: np.ndarray
    """IT peak power ``P_peak`` (TSCO eq. 9)."""
    idle_mw: np.ndarray
    """IT idle power ``P_idle``."""
    pue: np.ndarray
    utc_offset_h: np.ndarray
    battery_mwh: np.ndarray
    battery_mw: np.ndarray
    battery_efficiency: float

    @property
    def dynamic_mw(self) -> np.ndarray:
        """``P_peak - P_idle``: the IT power jobs can draw."""
        return self.it_capacity_mw - self.idle_mw

    @property
    def n(self) -> int:
        return int(self.it_capacity_mw.shape[0])


def dc_params(sc: Scenario) -> DCParams:
    """Deterministic DC sizes from the scenario.

    Sizes follow fixed log-normal quantiles (no RNG: the fleet of DCs is part of the scenario,
    not of the episode), renormalised so that total peak facility power equals
    ``penetration x peak_demand_mw``.
    """
    n = sc.n_datacenters
    q = (np.arange(n) + 0.5) / n
    # Inverse normal CDF by a rational approximation is overkill here: use evenly spaced
    # z-scores over [-1.5, 1.5], then shuffle deterministically so DC 0 is not the smallest.
    z = np.linspace(-1.5, 1.5, n) if n > 1 else np.zeros(1)
    rel = np.exp(sc.dc_size_spread * z)
    rel = rel[np.argsort(np.sin(np.arange(n) * 12.9898) * 43758.5453 % 1.0)] if n > 1 else rel
    del q
    facility_peak_mw = sc.penetration * sc.peak_demand_mw * rel / rel.sum()
    it_cap = facility_peak_mw / sc.pue
    offs = np.array([sc.dc_utc_offsets_h[i % len(sc.dc_utc_offsets_h)] for i in range(n)], float)
    return DCParams(
        it_capacity_mw=it_cap,
        idle_mw=sc.idle_power_frac * it_cap,
        pue=np.full(n, sc.pue),
        utc_offset_h=offs,
        battery_mwh=sc.battery_hours * it_cap,
        battery_mw=sc.battery_power_frac * it_cap * (sc.battery_hours > 0),
        battery_efficiency=sc.battery_efficiency,
    )


#: Most jobs one DC may expect in one episode, and bytes per job slot of the job table and ledger.
MAX_JOBS_PER_DC = 2_000_000
_BYTES_PER_JOB = 40


def check_job_count(sc: Scenario, expected_per_dc: float, n_tables: int) -> None:
    """Fail before allocating when the workload would need an absurd number of job slots (tiny
    jobs: ``job_power_frac`` x ``job_duration_h`` near zero make the arrival rate explode)."""
    if not expected_per_dc <= MAX_JOBS_PER_DC:
        gib = expected_per_dc * n_tables * _BYTES_PER_JOB / 2**30
        raise ParamError(
            f"scenario gives about {expected_per_dc:,.0f} jobs per DC per episode ({gib:,.1f} GiB of job tables for "
            f"{n_tables} DC-episodes): allowed at most {MAX_JOBS_PER_DC:,}; raise job_power_frac "
            f"{list(sc.job_power_frac)} or job_duration_h {list(sc.job_duration_h)}, or shorten the episode")


def class_rates_per_step(sc: Scenario, dcp: DCParams) -> np.ndarray:
    """Mean arrivals per step per class, ``[N, 4]``, before the diurnal/weekly shape."""
    dt = sc.step_hours
    sig_p, sig_d = sc.job_power_sigma, sc.job_duration_sigma
    mean_power = np.array(sc.job_power_frac) * np.exp(sig_p**2 / 2)  # share of dynamic capacity
    # Durations are rounded up to whole steps; use the mean of the rounded duration.
    mean_steps = np.maximum(1.0, np.array(sc.job_duration_h) * np.exp(sig_d**2 / 2) / dt + 0.5)
    energy_share = np.array(sc.job_mix)
    # Per step, expected dynamic power drawn by class c = rate_c * mean_power_c * mean_steps_c.
    # Week-averaged shape: (5 + 2 * weekend_factor) / 7 (the diurnal cosine averages to 1).
    week_mean = (5 + 2 * sc.weekend_factor) / 7
    target = sc.target_utilization * energy_share / week_mean
    rate = target / (mean_power * mean_steps)
    return np.broadcast_to(rate, (dcp.n, N_CLASSES)).copy()


@dataclass(frozen=True, eq=False)
class JobTable:
    """The episode's jobs, ``[B, N, J]`` arrays sorted by arrival; ``n_jobs [B, N]`` are used."""

    job_class: np.ndarray  # int8
    arrival: np.ndarray  # int32, absolute step (0 = first warm-up step)
    duration: np.ndarray  # int32, steps of work
    deadline: np.ndarray  # int32, arrival + max_deferral + duration
    power_mw: np.ndarray  # float64, dynamic IT power while running
    n_jobs: np.ndarray  # int32 [B, N]


def generate_jobs(sc: Scenario, dcp: DCParams, rng: np.random.Generator, n_envs: int, start_dow: np.ndarray, total_steps: int) -> JobTable:
    """Draw every arrival of ``total_steps`` steps for ``n_envs`` envs x ``N`` DCs.

    ``start_dow [B]`` is the grid-local day of week (0 = Monday) of step 0. Synthetic jobs
    only: a ``workload_trace`` is replayed by :class:`gridshift.data.traces_workload.TraceWorkload`.
    """
    if sc.workload_trace:
        raise ParamError(f"scenario field workload_trace={sc.workload_trace!r}: generate_jobs draws synthetic jobs; "
                         "a trace is replayed by gridshift.data.traces_workload.TraceWorkload (gridshift.builder picks it)")
    n = dcp.n
    dt = sc.step_hours
    steps = np.arange(total_steps)
    # Local hour and weekday of each step for each DC and env: [B, N, T].
    grid_hours = steps * dt
    local = grid_hours[None, None, :] + (dcp.utc_offset_h - sc.grid_utc_offset_h)[None, :, None]
    local = local + 24.0 * start_dow[:, None, None]
    hod = np.mod(local, 24.0)
    dow = np.mod(np.floor(local / 24.0), 7)
    weekend = np.where(dow >= 5, sc.weekend_factor, 1.0)
    rate = class_rates_per_step(sc, dcp)  # [N, C]
    amp = np.array(sc.diurnal_amplitude)
    diurnal = 1.0 + amp[None, None, None, :] * np.cos(2 * np.pi * (hod[..., None] - PEAK_LOCAL_HOUR) / 24.0)
    lam = rate[None, :, None, :] * diurnal * weekend[..., None]  # [B, N, T, C]
    counts = rng.poisson(lam)
    per_dc = counts.sum(axis=(2, 3))  # [B, N]
    j_max = _slots(sc, per_dc)

    flat = counts.reshape(-1)
    total = int(flat.sum())
    idx = np.repeat(np.arange(flat.size), flat)  # which (b, i, t, c) each job comes from
    b_i, rem = np.divmod(idx, total_steps * N_CLASSES)
    t_of, c_of = np.divmod(rem, N_CLASSES)
    # Order within a DC: by arrival, then class (the repeat already yields that order).
    start_of_dc = np.concatenate([[0], np.cumsum(per_dc.reshape(-1))[:-1]])
    slot = np.arange(total) - start_of_dc[b_i]

    max_def = np.array(sc.max_deferral_steps())
    dur_h = np.array(sc.job_duration_h)[c_of] * np.exp(sc.job_duration_sigma * rng.standard_normal(total))
    duration = np.maximum(1, np.ceil(dur_h / dt - 1e-9)).astype(np.int32)
    dyn = np.broadcast_to(dcp.dynamic_mw, (n_envs, n)).reshape(-1)[b_i]
    pfrac = np.array(sc.job_power_frac)[c_of] * np.exp(sc.job_power_sigma * rng.standard_normal(total))
    power = np.minimum(pfrac, 0.5) * dyn

    shape = (n_envs * n, j_max)
    job_class = np.zeros(shape, np.int8)
    arrival = np.full(shape, np.iinfo(np.int32).max, np.int32)
    dur_a = np.zeros(shape, np.int32)
    deadline = np.zeros(shape, np.int32)
    power_a = np.zeros(shape, np.float64)
    job_class[b_i, slot] = c_of
    arrival[b_i, slot] = t_of
    dur_a[b_i, slot] = duration
    deadline[b_i, slot] = t_of + max_def[c_of] + duration
    power_a[b_i, slot] = power
    rs = (n_envs, n, j_max)
    return JobTable(
        job_class=job_class.reshape(rs),
        arrival=arrival.reshape(rs),
        duration=dur_a.reshape(rs),
        deadline=deadline.reshape(rs),
        power_mw=power_a.reshape(rs),
        n_jobs=per_dc.astype(np.int32),
    )


def _slots(sc: Scenario, per_dc: np.ndarray) -> int:
    """Job slots per DC: the most jobs any DC draws, or ``max_jobs_per_dc`` when set."""
    j_max = int(per_dc.max()) if per_dc.size else 0
    if sc.max_jobs_per_dc:
        if j_max > sc.max_jobs_per_dc:
            raise ValueError(
                f"max_jobs_per_dc={sc.max_jobs_per_dc} is too small: this episode draws up to {j_max} jobs "
                "for one DC; raise it or set 0 to size it automatically"
            )
        j_max = sc.max_jobs_per_dc
    return max(j_max, 1)


class SyntheticWorkload:
    """The synthetic :class:`~gridshift.envs.dcgrid.generators.WorkloadGenerator`: :func:`generate_jobs`."""

    def __init__(self, sc: Scenario, dcs: DCParams):
        if sc.workload_trace:
            raise ParamError(f"scenario field workload_trace={sc.workload_trace!r}: SyntheticWorkload draws synthetic "
                             "jobs; use gridshift.data.traces_workload.TraceWorkload")
        check_job_count(sc, float(class_rates_per_step(sc, dcs).sum(axis=1).max()) * (sc.warmup_steps + sc.horizon_steps),
                        dcs.n)
        self.scenario, self.dcs = sc, dcs

    def sample(self, rng: np.random.Generator, batch: int, start_dow: np.ndarray, total_steps: int) -> JobTable:
        return generate_jobs(self.scenario, self.dcs, rng, batch, start_dow, total_steps)
