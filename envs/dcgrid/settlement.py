"""Settlement: every job that arrived in the horizon is paid for (DESIGN §12).

An episode's decisions end at the horizon, but its work does not: jobs still queued or
running at truncation would otherwise be free, and a policy that simply leaves flexible work
undone would look cheap. Two tools close that loophole.

**Settlement phase** (evaluation, :func:`settle`). After the horizon no new job arrives (the
job table only holds arrivals before it) and every queued job is released: each step runs the
FIFO action (release fraction 1 for E1-E3, battery idle) with the SLA rules unchanged, on the
same endogenous grid, with DR and emergency orders still in force. The phase lasts a **fixed
window per episode**, :func:`settlement_window`:

    S = max(0, max_j (deadline_j + duration_j + e3_checkpoint_overhead_steps) - t_end)

over every job in the table. A queued job is dropped at its deadline at the latest, and a job
started at ``deadline - 1`` finishes ``duration`` (+ one checkpoint overhead) later, so every
job is decided within ``S`` steps unless it was preempted more than once; the window depends
only on the job table, which depends only on the seed, so **all policies of one seed are
compared over the same steps**. If a job is still open after ``S`` steps (repeated E3
preemptions), the phase continues until none is, and :func:`settle` reports the extra steps
(``overrun_steps``) so that the leaderboard can flag the run.

Exogenous inputs continue their profiles: the arrays generated at reset cover the horizon plus
the forecast lookahead; beyond that, :func:`extend_exogenous` repeats the last generated day
(demand, renewables and the day-ahead signals, time of day preserved). This needs no random
numbers, so settlement never changes the horizon's trajectory.

**Batteries.** Every episode starts with each battery at ``BATTERY_START_SOC`` of its capacity,
and the settlement moves it back there at up to full power (:func:`battery_restore_command`),
so energy a policy drew from the battery during the horizon is bought back on the same grid
(and energy it stored is sold back). The window is at least long enough to recharge an empty
battery (:func:`battery_steps`); what is still missing at the end is reported as
``battery_shortfall_mwh``.

**Terminal backlog value** (training, :func:`backlog_value`). Simulating a settlement at
every truncation would double the cost of sampling, so training episodes instead end with a
documented estimate of the settlement cost of each DC's open work, added to its last reward
when ``Scenario.backlog_terminal_value`` is on (the default). For DC ``i`` with open jobs ``j``
(queued or running) at truncation step ``t``:

* facility energy still to serve ``E_i = PUE_i x sum_j remaining_j x power_j x dt`` (MWh);
* ``p_bar_i``: the mean day-ahead price over the steps in which the settlement serves that
  work: FIFO releases it at once, so it runs for about ``k_i = ceil(IT energy_i / (dynamic
  capacity_i x dt))`` steps (1 to ``steps_per_day``), ``da_price[t : t + k_i]``. (The mean over
  the whole next day, the first round's estimate, priced a backlog at the evening peak it never
  meets: 3.5x the simulated settlement's cost on a stressed seed.)
* SLA: a job that cannot finish on time even if started now (``t + remaining_j > deadline_j``)
  will complete late: ``late_penalty x energy_j``;
* selfish cost ``C_i = E_i x (p_bar + carbon_price x CI_avg / 1000) + SLA_i`` (bill, carbon
  cost at the last step's average intensity, penalties, as in the per-step selfish term), and
  the system's ``S = sum_i E_i x p_bar_i + SLA_i`` when ``carbon_in_dispatch`` (the price is
  then the marginal social cost, carbon included), else ``sum_i E_i x (p_bar_i +
  carbon_price x CI_marg / 1000) + SLA_i`` (marginal intensity: the emissions the extra load
  causes);
* terminal reward ``-((1 - w) C_i + w S / N) / reward_scale_usd``, the same mixing ``w`` as the
  per-step reward.

Like the per-step reward it is shaping; the leaderboard's KPIs always come from a real
settlement. ``tests/test_settlement.py`` checks that the estimate tracks the simulated
settlement and that the constant "defer E2 and E3" policy no longer gains return from the
work it leaves undone.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from gridshift.envs.dcgrid import jobs as J
from gridshift.envs.dcgrid.scenario import cooperative_weight

#: State arrays indexed by absolute step ``[B, T + H]`` that settlement may need to extend.
EXOGENOUS_ARRAYS = ("demand_mw", "solar_mw", "wind_mw", "da_price", "da_renewable_fraction", "da_reserve_mw",
                    "fc_err_renewable", "fc_err_price", "online", "gas_price")


def open_mask(st) -> np.ndarray:
    """``[B, N, J]`` True for jobs that are queued, running or in transit to another DC."""
    return (st.status == J.QUEUED) | (st.status == J.RUNNING) | (st.status == J.IN_TRANSIT)


def remaining_steps(st) -> np.ndarray:
    """``[B, N, J]`` steps of work left for open jobs (0 for the others). A job that never started
    has its whole duration left (the kernel sets ``remaining`` when a job first starts)."""
    rem = np.where(st.remaining > 0, st.remaining, st.jobs.duration)
    return np.where(open_mask(st), rem, 0)


def open_work_mwh(params, st) -> np.ndarray:
    """Remaining IT work of open jobs per DC, ``[B, N]`` MWh."""
    return (remaining_steps(st) * st.jobs.power_mw).sum(axis=2) * params.scenario.step_hours


#: Every episode starts with each battery at this share of its energy capacity.
BATTERY_START_SOC = 0.5


def battery_steps(params) -> int:
    """Steps a battery needs to go from empty (or full) back to its starting charge at full
    power: part of the settlement window when the scenario has batteries."""
    dcs = params.dcs
    has = dcs.battery_mwh > 0
    if not has.any():
        return 0
    dt = params.scenario.step_hours
    need = BATTERY_START_SOC * dcs.battery_mwh[has] / (dcs.battery_mw[has] * dcs.battery_efficiency * dt)
    return int(np.ceil(need.max())) + 1


def settlement_window(params, st, t_end=None) -> np.ndarray:
    """The fixed settlement length ``S`` (steps) of each env, ``[B]`` (module docstring), for a
    settlement that starts at absolute step ``t_end`` (default: the state's current step)."""
    tb = st.jobs
    valid = np.arange(tb.arrival.shape[2])[None, None, :] < tb.n_jobs[..., None]
    end = np.where(valid, tb.deadline.astype(np.int64) + tb.duration + params.scenario.e3_checkpoint_overhead_steps, 0)
    last = end.reshape(end.shape[0], -1).max(axis=1, initial=0)
    start = st.t if t_end is None else t_end
    return np.maximum(np.maximum(0, last - start), battery_steps(params)).astype(np.int64)


def battery_restore_command(params, st) -> np.ndarray:
    """The settlement's battery setpoint ``[B, N]`` in [-1, 1]: back toward the starting charge
    at up to full power, so energy taken from (or stored in) the battery during the horizon is
    paid for (or credited) on the same grid, not left on the table."""
    dcs = params.dcs
    dt = params.scenario.step_hours
    eta = dcs.battery_efficiency
    target = BATTERY_START_SOC * dcs.battery_mwh
    gap = target[None, :] - st.soc_mwh
    with np.errstate(divide="ignore", invalid="ignore"):
        charge = gap / (eta * dt) / dcs.battery_mw  # share of the rating that closes the gap in one step
        discharge = gap * eta / dt / dcs.battery_mw
    cmd = np.where(gap > 0, charge, discharge)
    return np.clip(np.nan_to_num(np.where(dcs.battery_mw > 0, cmd, 0.0), nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)


def extend_exogenous(params, st, length: int) -> None:
    """Make the exogenous arrays at least ``length`` steps long by repeating the last day."""
    spd = params.scenario.steps_per_day
    cur = st.demand_mw.shape[1]
    if length <= cur:
        return
    period = min(spd, cur)  # a record shorter than a day repeats whole
    k = np.arange(cur, length)
    src = cur - period + (k - cur) % period
    for name in EXOGENOUS_ARRAYS:
        a = getattr(st, name)
        if a is not None:  # the commitment and gas price exist only when the scenario uses them
            setattr(st, name, np.concatenate([a, a[:, src]], axis=1))


def settle(params, st, rng: np.random.Generator, *, max_overrun_steps: int = 100_000) -> Iterator:
    """Run the settlement phase of every env of ``st`` (from its current step), yielding each
    step's :class:`~gridshift.envs.dcgrid.core.StepInfo`. All envs step together for
    ``max(S)`` steps (:func:`settlement_window`), then on while any job is open."""
    from gridshift.envs.dcgrid import core

    h_max = max(params.horizon_steps_fc) + 1
    nb, n = st.batch_size, params.n_agents
    fifo = np.ones((nb, n, 4))
    fifo[..., 3] = 0.0
    steps, overrun = 0, 0
    target = int(settlement_window(params, st).max(initial=0))
    while steps < target or open_mask(st).any():
        if steps >= target:
            overrun += 1
            if overrun > max_overrun_steps:
                raise RuntimeError(f"settlement did not finish: {int(open_mask(st).sum())} jobs still open "
                                   f"{overrun} steps after the window of {target} steps")
        extend_exogenous(params, st, int(st.t.max()) + 1 + h_max)
        fifo[..., 3] = battery_restore_command(params, st)
        yield core.step(params, st, fifo, rng)
        steps += 1


def backlog_value(params, st) -> dict[str, np.ndarray]:
    """The estimated settlement cost of each DC's open work at the current step (module
    docstring): ``selfish_usd [B, N]``, ``system_usd [B]``, ``open_mwh [B, N]`` (facility
    energy) and the terminal ``reward [B, N]`` in the scenario's reward units."""
    sc, dcs = params.scenario, params.dcs
    dt = sc.step_hours
    nb = st.batch_size
    rows = np.arange(nb)
    rem = remaining_steps(st)
    it_mwh = open_work_mwh(params, st)
    energy_fac = it_mwh * dcs.pue
    t = st.t
    doomed = (rem > 0) & (t[:, None, None] + rem > st.jobs.deadline)  # rem > 0 exactly for open jobs
    job_energy = st.jobs.power_mw * st.jobs.duration * dt
    sla = sc.late_penalty_usd_per_mwh * np.where(doomed, job_energy, 0.0).sum(axis=2)
    spd = sc.steps_per_day
    extend_exogenous(params, st, int(t.max()) + spd + 1)
    # the settlement serves open work FIFO, as fast as each DC's capacity allows: price it over
    # those steps (k_i), not over a whole day whose peak it never meets
    k = np.clip(np.ceil(it_mwh / (dcs.dynamic_mw[None, :] * dt) - 1e-9), 1, spd).astype(np.int64)
    idx = t[:, None] + np.arange(spd)[None, :]
    cum = np.cumsum(st.da_price[rows[:, None], idx], axis=1)  # [B, spd]
    p_bar = cum[rows[:, None], k - 1] / k  # [B, N]
    g = st.last["grid"]
    cp = sc.carbon_price_usd_per_t
    selfish = energy_fac * (p_bar + cp * g.avg_ci_g_per_kwh[:, None] / 1000.0) + sla
    # with carbon in the offers the price already is the marginal social cost; without, add the
    # marginal emissions' carbon cost
    marg = 0.0 if getattr(sc, "carbon_in_dispatch", False) else cp * g.marginal_ci_g_per_kwh[:, None] / 1000.0
    system = (energy_fac * (p_bar + marg) + sla).sum(axis=1)
    w = cooperative_weight(sc)
    reward = -((1.0 - w) * selfish + w * system[:, None] / params.n_agents) / sc.reward_scale_usd
    return {"selfish_usd": selfish, "system_usd": system, "open_mwh": energy_fac, "reward": reward}
