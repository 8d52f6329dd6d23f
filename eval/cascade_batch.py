"""Many seeds of one (policy, scenario) in one batched core: the cascade study's runner.

:func:`run_batch` runs ``len(seeds)`` episodes side by side through :mod:`gridshift.envs.dcgrid.core`
(one kernel call steps every seed) and returns one :class:`~gridshift.eval.runner.EpisodeRecord`
per seed, **the same episode** ``run_episode(policy, scenario, seed)`` records: each seed's state
is built by ``core.reset(params, default_rng(seed), 1)``, as the vector env does at batch one,
and the states are stacked (job tables padded with empty slots). The ledger is built by
:func:`fast_ledger` (same values, categorical status). Envs of a batch never
interact, so seed ``s``'s trajectory does not depend on its neighbours; each record is cut at
that seed's own settlement end (:mod:`gridshift.envs.dcgrid.settlement`: its fixed window, then
on while any of its jobs is open), so horizon + settlement cover the same steps as the
single-seed runner (``tests/test_cascade_batch.py`` checks the equality).

Each seed gets its own policy instance, reset with that seed. Policies see ``infos=None``
(the built-in heuristics read only the observation). The records carry, besides the runner's
per-DC arrays, ``release`` (the core release fractions ``[T, N, 3]`` the policy chose, the input
of the oscillation metrics) and ``baseline_mw`` (each DC's customer baseline, for DR
accounting).

:func:`reset_states` builds the stacked start state once; a sweep that runs several policies on
one scenario passes it to every :func:`run_batch` (the reset, warm-up included, is the same for
every policy of a seed).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from gridshift.agents.base import PolicyContext
from gridshift.envs.dcgrid import core, settlement
from gridshift.envs.dcgrid import jobs as J
from gridshift.envs.dcgrid.actions import make_adapter
from gridshift.envs.dcgrid.core import DC_INDEX, StepInfo
from gridshift.envs.dcgrid.scenario import Scenario
from gridshift.envs.grid import copper_plate
from gridshift.envs.grid.copper_plate import _OUT_FIELDS as GRID_FIELDS
from gridshift.envs.grid.types import ClearingResult
from gridshift.eval.metrics_cascade import no_dc_clearing
from gridshift.eval.runner import DC_RECORD, EpisodeRecord

#: Per-DC arrays recorded besides the runner's: the customer baseline (DR accounting).
BATCH_DC_RECORD = DC_RECORD  # the runner's record (which includes the DC baselines)
#: Fill values for padded job slots (empty slots are never read by the kernels).
_PAD = {"status": J.EMPTY, "start": -1, "finish": -1}


def _stack(vals: list, name: str = ""):
    """Concatenate one state field of single-env states along the batch axis."""
    v0 = vals[0]
    if v0 is None:
        return None
    if isinstance(v0, ClearingResult):
        packed = np.concatenate([v.packed for v in vals], axis=1)
        kw = {f: packed[i] for i, f in enumerate(GRID_FIELDS)}
        return ClearingResult(dispatch_mw=np.concatenate([v.dispatch_mw for v in vals]), step_hours=v0.step_hours,
                              packed=packed, **kw)
    if isinstance(v0, StepInfo):
        return StepInfo(np.concatenate([v.dc for v in vals], axis=1), {k: _stack([v.env[k] for v in vals], k) for k in v0.env})
    if isinstance(v0, np.ndarray):
        if v0.ndim == 0:
            return v0
        shape = np.max([v.shape for v in vals], axis=0)
        out = []
        for v in vals:
            pad = [(0, 0)] + [(0, int(m - s)) for s, m in zip(v.shape[1:], shape[1:], strict=True)]
            out.append(np.pad(v, pad, constant_values=_PAD.get(name, 0)) if any(p[1] for p in pad) else v)
        return np.concatenate(out, axis=0)
    if dataclasses.is_dataclass(v0):
        return dataclasses.replace(v0, **{f.name: _stack([getattr(v, f.name) for v in vals], f.name)
                                          for f in dataclasses.fields(v0) if f.init})
    return v0


def stack_states(states: Sequence[core.CoreState]) -> core.CoreState:
    """One batched state from single-env states (job slots padded to the largest table)."""
    if not states:
        raise ValueError("stack_states needs at least one state")
    return _stack(list(states))


def reset_states(params: core.CoreParams, seeds: Sequence[int]) -> core.CoreState:
    """The stacked start states of ``seeds`` (each exactly the vector env's ``reset(seed=s)``)."""
    return stack_states([core.reset(params, np.random.default_rng(int(s)), 1) for s in seeds])


_STATUS_CATS = [k for k, _ in sorted(J.STATUS.items(), key=lambda kv: kv[1])]
_CAUSE_CATS = [k for k, _ in sorted(J.CAUSE.items(), key=lambda kv: kv[1])]


def fast_ledger(params, st, b: int) -> pd.DataFrame:
    """The job ledger of env ``b`` (arrived jobs), as :func:`~gridshift.envs.dcgrid.ledger.ledger_frame`
    builds it but with categorical ``status`` / ``drop_cause`` and float ``start_step`` /
    ``finish_step`` (NaN = never): the same values, about ten times faster to build."""
    tb = st.jobs
    jmax = tb.arrival.shape[2]
    mask = (np.arange(jmax)[None, :] < tb.n_jobs[b][:, None]) & (st.status[b] != J.PENDING)
    dc, slot = np.nonzero(mask)
    w = params.scenario.warmup_steps
    start = st.start[b, dc, slot].astype(np.float64)
    finish = st.finish[b, dc, slot].astype(np.float64)
    return pd.DataFrame({
        "dc": dc, "job": slot,
        "job_class": tb.job_class[b, dc, slot].astype(np.int64),
        "arrival_step": tb.arrival[b, dc, slot].astype(np.int64) - w,
        "duration_steps": tb.duration[b, dc, slot],
        "deadline_step": tb.deadline[b, dc, slot].astype(np.int64) - w,
        "power_mw": tb.power_mw[b, dc, slot],
        "start_step": np.where(start >= 0, start - w, np.nan),
        "finish_step": np.where(finish >= 0, finish - w, np.nan),
        "status": pd.Categorical.from_codes(st.status[b, dc, slot].astype(np.int64), _STATUS_CATS),
        "drop_cause": pd.Categorical.from_codes(st.cause[b, dc, slot].astype(np.int64), _CAUSE_CATS),
        "served_mwh": st.served_mwh[b, dc, slot],
        "energy_mwh": tb.power_mw[b, dc, slot] * tb.duration[b, dc, slot] * params.scenario.step_hours,
    })


def _context(params, sc: Scenario, adapter) -> PolicyContext:
    return PolicyContext(layout=params.layout, scenario=sc, n_agents=params.n_agents, action_space=adapter.space,
                         step_hours=sc.step_hours, max_deferral_steps=sc.max_deferral_steps(), env=None)


def run_batch(policies: Sequence, sc: Scenario, seeds: Sequence[int], *, params: core.CoreParams | None = None,
              start: core.CoreState | None = None, settle: bool = True,
              probe_mw: float | None = None) -> list[EpisodeRecord]:
    """Run one policy instance per seed (``policies[b]`` on ``seeds[b]``) and record each episode.

    ``params`` and ``start`` (from :func:`reset_states`, not modified) may be passed to reuse
    them across policies; they must come from ``sc`` (in the policies' action mode).

    The grid records get two columns besides the runner's: ``backlog_mwh`` (queued E1-E3 IT
    work over all DCs after the step) and, with ``probe_mw = d > 0``, ``supply_slope``: the
    real-time market's price slope at the step's operating point in $/MWh per MW, the central
    finite difference ``(p(L + d) - p(L - d)) / 2d`` of the same clearing (same exogenous
    inputs and previous dispatch, so ramp limits and the scarcity adder included) with the DC
    load ``L`` moved by ``+-d`` (NaN without a probe)."""
    t0 = time.perf_counter()
    seeds = [int(s) for s in seeds]
    if len(policies) != len(seeds):
        raise ValueError(f"run_batch got {len(policies)} policies for {len(seeds)} seeds: allowed one policy per seed")
    modes = {p.action_mode for p in policies}
    if len(modes) != 1:
        raise ValueError(f"run_batch policies speak different action modes {sorted(modes)}: allowed one")
    mode = modes.pop()
    if sc.action_mode != mode:
        sc = sc.replace(action_mode=mode)
    params = params if params is not None else core.make_params(sc)
    st = (start if start is not None else reset_states(params, seeds)).copy()
    nb, n = st.batch_size, params.n_agents
    if nb != len(seeds):
        raise ValueError(f"start state has {nb} envs for {len(seeds)} seeds")
    adapter = make_adapter(sc.action_mode, bool(sc.battery_hours > 0))
    ctx = _context(params, sc, adapter)
    for pol, s in zip(policies, seeds, strict=True):
        pol.reset(s, ctx)
    rng = np.random.default_rng(seeds[0])  # per-step draws: telemetry anomalies only
    T = sc.horizon_steps
    rows = np.arange(nb)
    rec_rows = [DC_INDEX[k] for k in BATCH_DC_RECORD]
    grid, extra, dcs, rel = [], [], [], []

    def slope(prev, demand, avail, dc_total, t):
        if not probe_mw:
            return np.full(nb, np.nan)
        d = float(probe_mw)
        # the same step's market: the same commitment and gas price as the run's clearing
        kw = {}
        if st.online is not None:
            kw["online"] = st.online[rows, t]
        if st.gas_price is not None:
            kw["gas_price"] = st.gas_price[rows, t]
        hi = copper_plate.clear_arrays(params.grid, prev, demand, avail, dc_total + d, **kw).price_usd_per_mwh
        lo = copper_plate.clear_arrays(params.grid, prev, demand, avail, np.maximum(dc_total - d, 0.0),
                                       **kw).price_usd_per_mwh
        return (hi - lo) / (dc_total + d - np.maximum(dc_total - d, 0.0))

    def record(info, demand, release, sl):
        grid.append(info["grid"].packed.copy())
        backlog = sum(info[f"queued_mwh_e{c}"].sum(axis=1) for c in (1, 2, 3))
        extra.append(np.stack([demand, info["dc_load_total_mw"], info["flex_mw"].sum(axis=1), info["dr_active"],
                               info["emergency_active"], info["emergency_issued"], info["social_cost_usd"], backlog, sl]))
        dcs.append(info.dc[rec_rows].copy())
        rel.append(release)

    obs = core.observe(params, st, rng)
    for _ in range(T):
        acts = np.stack([np.asarray(p.act(obs[b], None)) for b, p in enumerate(policies)])
        core_act = adapter.to_core(acts)
        demand = st.demand_mw[rows, st.t].copy()
        avail = st.solar_mw[rows, st.t] + st.wind_mw[rows, st.t]
        prev, t_now = st.grid.dispatch_mw.copy(), st.t.copy()
        info = core.step(params, st, core_act, rng)
        record(info, demand, core_act[..., :3].astype(np.float32),
               slope(prev, demand, avail, info["dc_load_total_mw"], t_now))
        obs = core.observe(params, st, rng)
    if sc.backlog_terminal_value:
        # the vector env prices the backlog at truncation, which extends the exogenous arrays by a
        # day (settlement.backlog_value); do the same so the settlement sees the same inputs
        settlement.extend_exogenous(params, st, int(st.t.max()) + sc.steps_per_day + 1)
    backlog = settlement.open_work_mwh(params, st).sum(axis=1)
    window = settlement.settlement_window(params, st)
    length = np.full(nb, T)
    if settle:
        done = np.zeros(nb, bool)
        k = 0
        fifo_rel = np.ones((nb, n, 3), np.float32)
        still_open = st.n_active.sum(axis=1) > 0  # queued or running jobs left
        newly = ~done & (window <= 0) & ~still_open
        length[newly], done[newly] = T, True
        for sinfo in settlement.settle(params, st, rng):
            k += 1
            record(sinfo, st.demand_mw[rows, st.t - 1], fifo_rel, np.full(nb, np.nan))
            still_open = st.n_active.sum(axis=1) > 0
            newly = ~done & (k >= window) & ~still_open
            length[newly], done[newly] = T + k, True
        length[~done] = T + k
    g_all = np.stack(grid)  # [L, F, B]
    x_all = np.stack(extra)  # [L, 9, B]
    d_all = np.stack(dcs)  # [L, K, B, N]
    r_all = np.stack(rel)  # [L, B, N, 3]
    target = settlement.BATTERY_START_SOC * params.dcs.battery_mwh
    no_dc = no_dc_clearing(params, st, sc.warmup_steps, length)
    wall = time.perf_counter() - t0
    out = []
    for b, (pol, s) in enumerate(zip(policies, seeds, strict=True)):
        L = int(length[b])
        x = x_all[:L, :, b]
        cols = {"step": np.arange(L), **{f: g_all[:L, i, b] for i, f in enumerate(GRID_FIELDS)},
                "demand_mw": x[:, 0], "dc_load_total_mw": x[:, 1], "dc_flex_total_mw": x[:, 2],
                "dr_active": x[:, 3].astype(bool), "emergency_active": x[:, 4].astype(bool),
                "emergency_issued": x[:, 5].astype(bool), "social_cost_step_usd": x[:, 6], "backlog_mwh": x[:, 7],
                "supply_slope": x[:, 8], "settlement": np.arange(L) >= T}
        g = pd.DataFrame(cols)
        dc = {k: d_all[:L, i, b, :] for i, k in enumerate(BATCH_DC_RECORD)}
        dc["release"] = r_all[:L, b]
        ex = {"backlog_at_horizon_mwh": float(backlog[b]), "settlement_window_steps": int(window[b]) if settle else 0,
              "settlement_overrun_steps": max(0, L - T - int(window[b])) if settle else 0,
              "battery_shortfall_mwh": float(np.maximum(target - st.soc_mwh[b], 0.0).sum())}
        if hasattr(pol, "stats"):
            ex.update(pol.stats())
        out.append(EpisodeRecord(policy=getattr(pol, "name", type(pol).__name__), scenario=sc, seed=s, grid=g, dc=dc,
                                 ledger=fast_ledger(params, st, b), wall_s=wall / nb, extra=ex, no_dc=no_dc[b]))
    return out
