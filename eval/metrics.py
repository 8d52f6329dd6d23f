"""Episode metrics, computed from the job ledger and the grid record (never from rewards).

The runner's records cover the horizon **plus the settlement phase** (DESIGN §12): work,
cost and emissions accounting is over horizon + settlement, the same work for every policy of
a seed. The cascade metrics (stress, rebound, spikes, oscillation) are over the **horizon rows
only** (the record's ``settlement`` column is False), where the policy decides
(:mod:`gridshift.eval.metrics_cascade`).

``compute_metrics(ledger, grid, dc, step_hours=..., dr_threshold_mw=...)`` returns one flat
``dict[str, float]``. Counts are floats too, so the dict is JSON-ready. ``NaN`` marks a value
that is undefined in the episode: for example, no started jobs of a class, or no stress event
with steps before and after it. ``falsifiability(metrics, fifo_metrics, guard_off_metrics)``
turns a metrics dict into the EM §V pass/fail checks (DESIGN §8).

Inputs and conventions
----------------------
* ``T`` is the number of grid rows (steps ``0..T-1``). ``dt`` is ``step_hours``. Energies are
  power × ``dt``. Aggregate DC load is the grid column ``dc_load_total_mw``, and aggregate
  flexible load is ``dc_flex_total_mw`` (running E1–E3 dynamic IT power).
* **Arrived jobs** are the ledger rows with ``arrival_step >= 0``. Warm-up jobs (negative
  arrival) are ignored everywhere.
* **Job outcomes.** A job is *decided* if it is ``completed_on_time``, ``completed_late`` or
  ``dropped``, or if it is still queued or running at the end but can no longer finish on time.
  That last kind is *doomed*. The job needs at least
  ``r = max(1, ceil((energy_mwh - served_mwh) / (power_mw * dt)))`` more steps (checkpoint
  overhead only adds work, so ``r`` is a lower bound). The earliest it can finish is therefore
  ``T + r``. The job completes on time iff ``finish <= deadline``, so it is doomed iff
  ``T + r > deadline_step``. This includes every job whose deadline has passed
  (``deadline_step <= T``). Doomed jobs count as **late**. Other unfinished jobs could still
  succeed: they are censored, and left out of every outcome denominator.
* **Stress steps** (horizon) are fixed by the exogenous inputs, never by the policy: the no-DC
  net demand ``demand_mw - renewable_available_mw`` at or above ``stress_net_demand_mw`` (the
  cascade study fixes it per scenario; default: the episode's own 0.9 quantile of the no-DC net
  demand). See :mod:`gridshift.eval.metrics_cascade` for events and thresholds.

Metrics (name: unit, definition)
--------------------------------
**The five EM outcomes**

* ``peak_dc_load_stress_mw``: MW, the mean aggregate DC load over stress steps.
  ``max_dc_load_stress_mw``: MW, its maximum. ``stress_steps``: the number of stress steps.
* ``renewable_alignment``: fraction in [0, 1], the share of flexible (E1–E3) compute energy
  run in high-renewable steps: ``sum(flex[rf > median(rf)]) / sum(flex)``, where ``rf`` is the
  ``renewable_fraction`` and the median is the episode's. NaN if no flexible energy ran.
* ``delay_mean_h_e{c}`` and ``delay_p95_h_e{c}`` for ``c`` in 0..3: hours, the mean and the
  95th percentile (numpy linear) of ``(start_step - arrival_step) × dt`` over arrived jobs of
  class ``c`` that started. Jobs that never started are censored, so these are lower bounds
  for policies that drop work. ``delay_mean_h_flex`` and ``delay_p95_h_flex`` are the same
  over E1–E3 pooled. NaN if no such job started.
* ``carbon_attributional_t``: tCO2,
  ``sum(dc_load_total_mw × dt × avg_ci_g_per_kwh) / 1000`` (g/kWh = kg/MWh).
* ``drop_or_late_rate_e{c}`` for ``c`` in 0..3: fraction, (dropped + completed late + doomed)
  / decided jobs of class ``c`` (NaN if none is decided). ``drop_or_late_rate_flex``: the same
  over E1–E3. ``dropped_rate`` and ``late_rate``: fractions over all decided jobs, of dropped
  jobs and of late (completed late or doomed) jobs. ``dropped_emergency_rate``: the fraction
  of decided jobs dropped by an emergency order.

**TSCO**

* ``system_cost_usd``: USD, the sum of ``system_cost_usd``. ``emissions_t``: tCO2, the sum
  of ``emissions_t_co2`` (whole system).
* ``curtailment_mwh``: MWh, ``sum(curtailment_mw) × dt``.
* ``job_success_rate``: fraction, completed on time / decided jobs.
* ``mean_tardiness_h``: hours, the mean over arrived completed jobs (on time or late) of
  ``max(0, finish_step - deadline_step) × dt``. NaN if none completed.
* ``jobs_arrived``, ``jobs_decided``: counts.

**Work** (DESIGN §12; IT energy ``power_mw x duration_steps x dt`` of arrived jobs)

* ``work_arrived_mwh``: MWh, all arrived jobs. ``work_served_mwh``: jobs completed (on time or
  late); ``work_late_mwh`` of them completed late. ``work_dropped_mwh``: jobs dropped (their whole energy: the work is lost even if part of
  it ran). ``work_open_mwh`` and ``jobs_open``: still queued or running at the end of the record.
  After the settlement phase ``jobs_open = 0`` and ``arrived = served + dropped`` exactly.
* ``geo_moved_jobs``, ``geo_moved_mwh``: jobs moved to another DC by geo-shifting and their
  IT energy (0 without it). A moved job counts once, at the DC that ran it (its source row,
  status ``moved``, is left out of every job and work figure), and its delay is measured from
  its landing there.
* ``cost_per_mwh_served_usd``: USD/MWh, the DCs' cost (energy bill + carbon cost + SLA and
  emergency penalties) per MWh of work served.
* Set by the runner, not by :func:`compute_metrics`: ``backlog_at_horizon_mwh`` (IT work still
  open at the horizon, before settlement), ``settlement_window_steps`` and
  ``settlement_overrun_steps`` (:mod:`gridshift.envs.dcgrid.settlement`).

**Economics** (sums over steps and DCs of the ``dc`` arrays)

* ``dc_energy_bill_usd`` (``bill_usd``), ``dr_revenue_usd``, ``dc_carbon_cost_usd``
  (``carbon_cost_usd``), ``sla_penalty_usd`` and ``emergency_penalty_usd``: all in USD. DR
  revenue is paid by the core only for reductions while no emergency order is in force; the
  energy it pays for and the rebound after each event are ``dr_curtailed_mwh`` and
  ``dr_rebound_mwh`` (:mod:`gridshift.eval.metrics_cascade`).
* ``social_cost_usd``: USD, **the grid's system cost**, ``system_cost_usd`` = fuel + VOLL x
  unserved energy + carbon price x emissions. It excludes every reward parameter: SLA and
  emergency penalties are prices the scenario sets for the agents' rewards, so a KPI that added
  them would move when only a penalty changes. Lateness and drops are reported as their own
  metrics (``late_rate``, ``dropped_rate``, ``work_late_mwh``, ``work_dropped_mwh``).
* ``dropped_work_value_usd``: USD, the IT energy of dropped jobs (``work_dropped_mwh``) at the
  scenario's value of lost load, ``voll_usd_per_mwh``: a dropped job is load its DC shed, priced
  as the grid prices the load it sheds. ``scored_cost_usd`` = ``social_cost_usd`` + it, the cost
  the leaderboard's score compares (:mod:`gridshift.eval.protocol`): without it, a policy that
  lets jobs hit their deadlines unserved saves their energy and looks cheaper on "the same
  work". Late work is served and is not charged here (``work_late_mwh`` reports it).

**Counterfactual emissions** (horizon + settlement; need the no-DC re-clearing ``no_dc``, the
runner's :func:`gridshift.eval.metrics_cascade.no_dc_clearing`)

* ``carbon_consequential_t``: tCO2, the system's emissions with the DCs minus without them (the
  grid re-cleared along the same exogenous inputs with no DC load). ``dc_system_cost_usd``: the
  same difference of system cost. NaN without ``no_dc``. ``carbon_marginal_proxy_t``: tCO2,
  ``sum(dc_load_total_mw x dt x marginal_ci_g_per_kwh) / 1000``, the per-step marginal proxy.

**Cascade** (horizon rows only; fixed thresholds): see :mod:`gridshift.eval.metrics_cascade`
(stress, rebound, price spikes and volatility, sync index, oscillation, DR accounting).
``unserved_mwh`` (whole record), ``system_peak_mw`` (``max(total_demand_mw)``),
``system_peak_no_dc_mw`` (``max(demand_mw)``) and ``peak_increase_mw`` (their difference) are
computed here.

**EM falsifiability inputs**

* ``e2e3_volume_share``: fraction, the E2+E3 share of the total ``energy_mwh`` of arrived jobs
  (a property of the job mix, reported for reference).
* ``e2e3_deferred_share``: fraction, the energy of arrived E2+E3 jobs **the policy deferred**
  (started at least one step after arrival, or never started) over the energy of all arrived
  jobs: the volume the policy actually shifted. Waits for IT capacity count too, so FIFO's own
  share is the floor (about 4 % on the default scenario).
* ``sla_violation_rate_e1e2``: fraction, E1+E2 jobs dropped or late (doomed included) / E1+E2
  decided jobs.

Falsifiability checks (``falsifiability``)
-------------------------------------------
* ``e2e3_deferred_ge_30pct``: ``e2e3_deferred_share >= 0.30``.
* ``alignment_gain_ge_8pp``: ``renewable_alignment - fifo.renewable_alignment >= 0.08``. None
  without FIFO metrics.
* ``sla_e1e2_le_2pct``: ``sla_violation_rate_e1e2 <= 0.02`` in the run as given (the SLA guard
  of the env starts any job at zero slack, so with the guard on this check passes for almost
  any policy).
* ``sla_e1e2_le_2pct_guard_off``: the same on metrics of the same policy and seed run with
  ``sla_guard = False`` (only when such metrics are passed): the check that can fail.

A check is None when its input is NaN or missing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from gridshift.eval.metrics_cascade import (
    PRICE_SPIKE_USD_PER_MWH,
    cascade_metrics,
    consequential,
    horizon_rows,
)

#: Headline metrics shown on the leaderboard.
HEADLINE = (
    "social_cost_usd",
    "emissions_t",
    "renewable_alignment",
    "peak_dc_load_stress_mw",
    "delay_mean_h_e2",
    "drop_or_late_rate_e1",
    "rebound_ratio",
    "price_spike_count",
    "sync_index",
    "unserved_mwh",
    "dc_energy_bill_usd",
)

#: One metric per EM outcome (§III), in the order of the five outcome plots.
EM_OUTCOMES = (
    "peak_dc_load_stress_mw",
    "renewable_alignment",
    "delay_mean_h_flex",
    "carbon_attributional_t",
    "drop_or_late_rate_flex",
)

NAN = float("nan")
_DONE = ("completed_on_time", "completed_late")


def _num(s: pd.Series) -> np.ndarray:
    """A nullable or object column as float, with NA as NaN."""
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else NAN


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x)) if x.size else NAN


def _p95(x: np.ndarray) -> float:
    return float(np.percentile(x, 95)) if x.size else NAN


def _col(grid: pd.DataFrame, name: str) -> np.ndarray:
    return grid[name].to_numpy(dtype=float)


def _job_metrics(ledger: pd.DataFrame, T: int, dt: float) -> dict[str, float]:
    arrived = ledger["arrival_step"].to_numpy() >= 0
    if "origin_job" in ledger and (ledger["origin_dc"].to_numpy() >= 0).any():
        # a moved job belongs to the record if it arrived (at its source) within it: its copy's
        # arrival is when it landed, which a job from the warm-up can do inside the record
        src = ledger.set_index(["dc", "job"])["arrival_step"]
        cp = ledger["origin_dc"].to_numpy() >= 0
        keys = pd.MultiIndex.from_arrays([ledger["origin_dc"].to_numpy()[cp], ledger["origin_job"].to_numpy()[cp]])
        arrived[cp] = src.reindex(keys).to_numpy(dtype=float) >= 0
    led = ledger[arrived]
    moved_in = led["origin_dc"].to_numpy() >= 0 if "origin_dc" in led else np.zeros(len(led), bool)
    geo = {"geo_moved_jobs": float(moved_in.sum()),
           "geo_moved_mwh": float(led["energy_mwh"].to_numpy(dtype=float)[moved_in].sum())}
    # a moved job's source row carries no work: its copy at the target is the job (ledger docs)
    led = led[led["status"].to_numpy(dtype=object) != "moved"]
    cls = led["job_class"].to_numpy(dtype=np.int64)
    status = led["status"].to_numpy(dtype=object)
    arrival = led["arrival_step"].to_numpy(dtype=float)
    deadline = led["deadline_step"].to_numpy(dtype=float)
    start = _num(led["start_step"])
    finish = _num(led["finish_step"])
    energy = led["energy_mwh"].to_numpy(dtype=float)
    served = led["served_mwh"].to_numpy(dtype=float)
    power = led["power_mw"].to_numpy(dtype=float)

    on_time = status == "completed_on_time"
    late_done = status == "completed_late"
    dropped = status == "dropped"
    open_ = (status == "queued") | (status == "running")
    with np.errstate(divide="ignore", invalid="ignore"):
        rem = np.ceil((energy - served) / (power * dt) - 1e-9)
    rem = np.where(np.isfinite(rem), np.maximum(rem, 1.0), 1.0)
    doomed = open_ & (T + rem > deadline)
    late = late_done | doomed
    bad = dropped | late
    decided = on_time | bad
    emerg = dropped & (led["drop_cause"].to_numpy(dtype=object) == "emergency")

    m: dict[str, float] = dict(geo)
    delay_h = (start - arrival) * dt
    started = np.isfinite(start)
    for c in range(4):
        k = cls == c
        d = delay_h[k & started]
        m[f"delay_mean_h_e{c}"] = _mean(d)
        m[f"delay_p95_h_e{c}"] = _p95(d)
    flex = cls >= 1
    d = delay_h[flex & started]
    m["delay_mean_h_flex"] = _mean(d)
    m["delay_p95_h_flex"] = _p95(d)

    for c in range(4):
        k = cls == c
        m[f"drop_or_late_rate_e{c}"] = _ratio(np.sum(bad & k), np.sum(decided & k))
    m["drop_or_late_rate_flex"] = _ratio(np.sum(bad & flex), np.sum(decided & flex))
    n_dec = float(np.sum(decided))
    m["dropped_rate"] = _ratio(np.sum(dropped), n_dec)
    m["late_rate"] = _ratio(np.sum(late), n_dec)
    m["dropped_emergency_rate"] = _ratio(np.sum(emerg), n_dec)
    m["job_success_rate"] = _ratio(np.sum(on_time), n_dec)
    done = on_time | late_done
    tard = np.maximum(0.0, finish[done] - deadline[done]) * dt
    m["mean_tardiness_h"] = _mean(tard)
    m["jobs_arrived"] = float(len(led))
    m["jobs_decided"] = n_dec

    # Work accounting (DESIGN §12): after settlement every arrived job is served or dropped.
    m["work_arrived_mwh"] = float(energy.sum())
    m["work_served_mwh"] = float(energy[done].sum())
    m["work_late_mwh"] = float(energy[late_done].sum())
    m["work_dropped_mwh"] = float(energy[dropped].sum())
    m["work_open_mwh"] = float(energy[open_].sum())
    m["jobs_open"] = float(np.sum(open_))

    e12 = (cls == 1) | (cls == 2)
    m["sla_violation_rate_e1e2"] = _ratio(np.sum(bad & e12), np.sum(decided & e12))
    m["e2e3_volume_share"] = _ratio(energy[cls >= 2].sum(), energy.sum())
    # what the policy actually shifted: E2+E3 jobs started at least one step after arrival, or never
    deferred = (cls >= 2) & (~started | (start - arrival >= 1))
    m["e2e3_deferred_share"] = _ratio(energy[deferred].sum(), energy.sum())
    return m


def compute_metrics(
    ledger: pd.DataFrame,
    grid: pd.DataFrame,
    dc: Mapping[str, np.ndarray],
    *,
    step_hours: float,
    dr_threshold_mw: float,
    rebound_window_steps: int = 8,
    price_spike_usd_per_mwh: float = PRICE_SPIKE_USD_PER_MWH,
    stress_net_demand_mw: float | None = None,
    no_dc: pd.DataFrame | None = None,
    voll_usd_per_mwh: float = NAN,
) -> dict[str, float]:
    """All episode metrics as a flat ``{name: float}`` dict (see the module docstring).

    ``no_dc`` is the grid re-cleared without the DCs over the record's steps (same rows), for
    the consequential metrics; ``stress_net_demand_mw`` the scenario's fixed stress threshold;
    ``voll_usd_per_mwh`` the scenario's value of lost load, which prices dropped work in
    ``scored_cost_usd`` (NaN without it)."""
    dt = float(step_hours)
    T = len(grid)
    m: dict[str, float] = {}

    load = _col(grid, "dc_load_total_mw")
    flex = _col(grid, "dc_flex_total_mw")
    demand = _col(grid, "demand_mw")
    total = _col(grid, "total_demand_mw")
    rf = _col(grid, "renewable_fraction")

    # --- cascade metrics, the EM stress outcome among them: horizon rows only
    h = horizon_rows(grid)
    gh = grid[h] if not h.all() else grid
    dch = {k: np.asarray(v)[h] for k, v in dc.items()} if not h.all() else dc
    m.update(cascade_metrics(gh, dch, step_hours=dt, dr_threshold_mw=dr_threshold_mw,
                             stress_net_demand_mw=stress_net_demand_mw, rebound_window_steps=rebound_window_steps,
                             price_spike_usd_per_mwh=price_spike_usd_per_mwh))

    high = rf > np.median(rf) if T else np.zeros(0, dtype=bool)
    m["renewable_alignment"] = _ratio(flex[high].sum(), flex.sum())

    m["carbon_attributional_t"] = float(np.sum(load * dt * _col(grid, "avg_ci_g_per_kwh")) / 1000.0)
    m["carbon_marginal_proxy_t"] = float(np.sum(load * dt * _col(grid, "marginal_ci_g_per_kwh")) / 1000.0)
    m.update(consequential(grid, no_dc))

    m.update(_job_metrics(ledger, T, dt))

    # --- TSCO
    m["system_cost_usd"] = float(_col(grid, "system_cost_usd").sum())
    m["emissions_t"] = float(_col(grid, "emissions_t_co2").sum())
    m["curtailment_mwh"] = float(_col(grid, "curtailment_mw").sum() * dt)

    # --- economics
    def dsum(k: str) -> float:
        return float(np.sum(dc[k])) if k in dc else NAN

    m["dc_energy_bill_usd"] = dsum("bill_usd")
    m["dr_revenue_usd"] = dsum("dr_revenue_usd")
    m["dc_carbon_cost_usd"] = dsum("carbon_cost_usd")
    m["sla_penalty_usd"] = dsum("sla_penalty_usd")
    m["emergency_penalty_usd"] = dsum("emergency_penalty_usd")
    m["social_cost_usd"] = m["system_cost_usd"]
    m["dropped_work_value_usd"] = float(voll_usd_per_mwh) * m["work_dropped_mwh"]
    m["scored_cost_usd"] = m["social_cost_usd"] + m["dropped_work_value_usd"]
    dc_cost = m["dc_energy_bill_usd"] + m["dc_carbon_cost_usd"] + m["sla_penalty_usd"] + m["emergency_penalty_usd"]
    m["cost_per_mwh_served_usd"] = _ratio(dc_cost, m["work_served_mwh"])

    m["unserved_mwh"] = float(_col(grid, "unserved_mw").sum() * dt)
    m["system_peak_mw"] = float(total.max()) if T else NAN
    m["system_peak_no_dc_mw"] = float(demand.max()) if T else NAN
    m["peak_increase_mw"] = m["system_peak_mw"] - m["system_peak_no_dc_mw"]
    return m


def _get(metrics: Mapping[str, float] | None, key: str) -> float | None:
    if metrics is None:
        return None
    v = metrics.get(key)
    if v is None:
        return None
    v = float(v)
    return None if math.isnan(v) else v


def falsifiability(metrics: Mapping[str, float], fifo_metrics: Mapping[str, float] | None = None,
                   guard_off_metrics: Mapping[str, float] | None = None) -> dict[str, bool | None]:
    """The EM §V checks as pass (True) or fail (False). A check is None when it cannot be
    evaluated: its metric is missing or NaN, or, for the alignment gain, there are no FIFO
    metrics. ``sla_e1e2_le_2pct_guard_off`` is present only when ``guard_off_metrics`` (the same
    policy and seed run with ``sla_guard = False``) are given."""
    vol = _get(metrics, "e2e3_deferred_share")
    al = _get(metrics, "renewable_alignment")
    al0 = _get(fifo_metrics, "renewable_alignment")
    sla = _get(metrics, "sla_violation_rate_e1e2")
    out = {
        "e2e3_deferred_ge_30pct": None if vol is None else bool(vol >= 0.30),
        "alignment_gain_ge_8pp": None if al is None or al0 is None else bool(al - al0 >= 0.08 - 1e-12),
        "sla_e1e2_le_2pct": None if sla is None else bool(sla <= 0.02),
    }
    if guard_off_metrics is not None:
        off = _get(guard_off_metrics, "sla_violation_rate_e1e2")
        out["sla_e1e2_le_2pct_guard_off"] = None if off is None else bool(off <= 0.02)
    return out
