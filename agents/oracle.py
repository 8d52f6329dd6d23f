"""The oracle: a centralised, perfect-foresight schedule of all flexible work (DESIGN §7, §12).

For one episode the oracle knows everything: every job's arrival, size and deadline, every
step's exogenous demand and renewable availability, the fleet and the dispatch it starts from.
At reset it solves one **linear program** (HiGHS, through ``scipy.optimize.linprog``) that
schedules the flexible work (E1-E3) of every DC, together with the fleet's dispatch, to
minimise social cost over the horizon plus the settlement window; then, step by step, it
releases queued jobs so that each DC's running power per class follows the plan. Its
schedule is **replayed through the real simulator** by the same runner as every other policy,
so its leaderboard metrics come from the same code path; the LP's own optimum is reported
beside them as ``oracle_lp_bound_usd``.

The LP (where, with geo-shifting, work runs as well as when; on a network backend with its
lines) is :mod:`gridshift.agents.oracle_lp`.

Where it is a **bound** and where only an **approximation**:

* The LP relaxes the simulator: jobs are divisible and preemptible without overhead and may
  run at any rate (no per-job power), deadlines and arrivals are rounded outward to whole
  periods, dispatch is chosen freely within capacity and ramp limits (the simulator
  dispatches by offer price in merit order), and averaging a schedule over a period can only
  lower a convex cost. For every policy whose jobs all complete, its social cost over the
  same window is therefore at least the LP optimum, up to the segment linearisation (the
  chord of a quadratic cost lies above it inside a segment; ``oracle_lp_gap_usd`` is that
  error's upper bound, subtracted in ``oracle_lp_bound_usd``). Emergency orders, which can
  shed E0 load, and DR payments are outside the LP. The LP has no batteries: in a scenario with
  ``battery_hours > 0`` storage arbitrage could beat it, so ``oracle_lp_bound_usd`` is NaN there
  (the oracle itself leaves its batteries idle; the settlement restores every battery's
  starting charge, so none of this energy is free).
* The LP is also a bound with **geo-shifting** and on a **network**: the simulator's moved work
  lands ``delay`` steps after its move, hence at least ``floor(delay / r)`` periods after it
  arrived, as the LP requires; the simulator's line flows within their limits at every step
  keep their period means within them; the LP lets work move to any DC at any time (the
  broker's rule is a restriction of that), and spreads renewables, unserved load and spill
  freely over the buses. The move's network energy is charged when the moved work runs
  rather than when it moves (the same MWh).
* The **replayed** oracle is only an approximation of that optimum: whole jobs start in EDF
  order within a release fraction, the SLA guard forces starts, work left at the horizon is
  settled FIFO like everyone's, and the simulator's dispatch is merit order (its OPF on a
  network). With geo-shifting it **offers** work, as every policy does (the fifth action
  component, ``shift``): each step it offers from each DC the share of its queued E2/E3 work
  that keeps the energy moved out so far on the plan's path (the plan's remote work up to
  ``delay`` steps ahead). The environment's broker chooses the target (the cheapest,
  least-loaded DC with room; :mod:`gridshift.envs.dcgrid.geo`), not the oracle, so the oracle
  predicts that choice by the broker's own rule and offers only as much as the predicted
  target still has to receive in the plan (work the plan keeps home is not sent elsewhere);
  the targets run what lands on their own plan. On a copper plate every DC's price is the
  same and the broker's choice is the least-loaded DC, rarely where the plan sends work, so
  the replay moves little there (the plan gains almost nothing by moving on a copper plate:
  location matters through congestion). Its simulated
  social cost is what the leaderboard's score anchors to (FIFO = 0, oracle = 100); a trained
  policy can score above 100. With ``sla_guard = false`` the replay starts zero-slack jobs
  itself, but capacity can still make some late: on the default scenario it then no longer
  beats FIFO on every seed (the leaderboard says on how many it does), and scores there are
  unreliable.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from gridshift.agents.base import PolicyContext
from gridshift.agents.oracle_lp import OracleError, geo_delay_steps, solve_schedule
from gridshift.envs.dcgrid import jobs as J

__all__ = ["Oracle", "OracleError", "solve_schedule"]

class Oracle:
    """Perfect-foresight LP schedule of all flexible work (HiGHS), replayed: the score's 100 anchor.

    See the module docstring. Needs the runner's live env in its :class:`PolicyContext`
    (``context.env``)."""

    name = "oracle"
    action_mode = "box"

    def __init__(self, resolution_steps: int = 4, settle_within_h: float = 12.0, plan_costs: str = "offer",
                 time_limit_s: float = 120.0, move_cost_usd_per_mwh: float = 0.0):
        self.plan_costs = plan_costs
        self.move_cost_usd_per_mwh = float(move_cost_usd_per_mwh)
        self.resolution_steps = int(resolution_steps)
        self.settle_within_h = float(settle_within_h)
        self.time_limit_s = float(time_limit_s)
        self.plan: dict | None = None
        self.bound: dict | None = None

    def reset(self, seed: int | None, context: PolicyContext) -> None:
        env = context.env
        if env is None or getattr(env, "state", None) is None or env.num_envs != 1:
            raise OracleError("the oracle needs perfect information: run it through the gridshift runner "
                              "(gridshift evaluate / leaderboard), which gives it the episode's env")
        self.env = env
        self._battery = bool(env.scenario.battery_hours > 0)
        self._geo = bool(env.scenario.geo_shift)
        self._delay = geo_delay_steps(env.scenario) if self._geo else 0
        kw = {"resolution_steps": self.resolution_steps, "time_limit_s": self.time_limit_s}
        self.bound = solve_schedule(env.params, env.state, **kw)
        within = int(round(self.settle_within_h / env.scenario.step_hours))
        self.plan = solve_schedule(env.params, env.state, settle_within_steps=within, costs=self.plan_costs,
                                   move_cost_usd_per_mwh=self.move_cost_usd_per_mwh, **kw)

    def stats(self) -> dict[str, float]:
        """Figures the runner stores with the run's metrics."""
        p, b = self.plan or {}, self.bound or {}
        if float(np.sum(self.env.params.dcs.battery_mwh)) > 0:
            b = {**b, "lp_cost_usd": np.nan}  # the LP has no storage: with batteries it bounds nothing
        return {"oracle_plan_lp_cost_usd": p.get("lp_cost_usd", np.nan),
                "oracle_lp_cost_usd": b.get("lp_cost_usd", np.nan),
                "oracle_lp_gap_usd": b.get("lp_gap_usd", np.nan),
                "oracle_lp_bound_usd": b.get("lp_cost_usd", np.nan) - b.get("lp_gap_usd", 0.0),
                "oracle_solve_s": p.get("solve_s", np.nan) + b.get("solve_s", np.nan),
                "oracle_lp_dropped_mwh": p.get("lp_dropped_mwh", np.nan),
                "oracle_plan_moved_mwh": float(p["moved_cum_mwh"][:, -1].sum()) if "moved_cum_mwh" in p else 0.0}

    def act(self, observations: np.ndarray, infos: Mapping | None) -> np.ndarray:
        st, plan = self.env.state, self.plan
        t = int(st.t[0])
        p = min((t - plan["t0"]) // plan["resolution_steps"], plan["periods"] - 1)
        target = plan["x_mw"][:, :, p]  # [N, 3]
        status, cls, pw, arr = st.status[0], st.jobs.job_class[0], st.jobs.power_mw[0], st.jobs.arrival[0]
        queued = (status == J.QUEUED) | ((status == J.PENDING) & (arr <= t))
        run = status == J.RUNNING
        dl = st.jobs.deadline[0]
        rem = np.where(st.remaining[0] > 0, st.remaining[0], st.jobs.duration[0])
        urgent = queued & (dl - t - rem <= 0)  # must start now to finish on time
        rel = np.zeros((status.shape[0], 3))
        shift = self._shift(t, queued, rem) if self._geo else None
        for c in range(3):
            k = cls == c + 1
            q = np.where(queued & k, pw, 0.0).sum(axis=1)
            if shift is not None and c >= 1:
                q = q * (1.0 - shift)  # the offered share leaves before the schedulers run
            ru = np.where(run & k, pw, 0.0).sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                if c == 2:  # E3: the release caps running + queued power; never preempt below what runs
                    r_c = np.maximum(target[:, c], ru) / (ru + q)
                else:
                    r_c = (target[:, c] - ru) / q
            r_c = np.clip(np.nan_to_num(r_c, nan=0.0, posinf=1.0), 0.0, 1.0)
            # Without the SLA guard nothing starts a job whose slack ran out, so the oracle
            # releases at least up to the last such job in EDF order (the guard's job otherwise;
            # releasing there too would start earlier-deadline jobs the plan keeps queued).
            for i in np.flatnonzero((urgent & k).any(axis=1)) if not self.env.scenario.sla_guard else ():
                jq = np.flatnonzero(queued[i] & k[i])
                order = jq[np.argsort(dl[i, jq], kind="stable")]
                last = np.flatnonzero(urgent[i, order]).max()
                need = pw[i, order[: last + 1]].sum()
                base = ru[i] if c == 2 else 0.0
                r_c[i] = max(r_c[i], min(1.0, (need + base) / ((ru[i] if c == 2 else 0.0) + q[i])))
            # with nothing queued, E3's release must stay 1 or it would preempt what runs
            rel[:, c] = np.where(q > 0, r_c, 1.0 if c == 2 else 0.0)
        parts = [rel]
        if self._battery:
            parts.append(np.zeros((rel.shape[0], 1)))
        if shift is not None:
            parts.append(shift[:, None])
        return np.concatenate(parts, axis=1).astype(np.float32)

    def _shift(self, t: int, queued: np.ndarray, rem: np.ndarray) -> np.ndarray:
        """The share of each DC's queued E2/E3 power to offer (module docstring): enough that the
        work moved out so far reaches the plan's remote work up to ``delay`` steps ahead, and
        only as much as the DC the broker would choose (predicted by its own rule) still has to
        receive in the plan: work the plan keeps home is not sent elsewhere."""
        from gridshift.envs.dcgrid.core import geo_broker_inputs

        env, st, plan = self.env, self.env.state, self.plan
        dt = env.scenario.step_hours
        p = min((t + self._delay - plan["t0"]) // plan["resolution_steps"], plan["periods"] - 1)
        status, cls, pw = st.status[0], st.jobs.job_class[0], st.jobs.power_mw[0]
        moved = np.where(status == J.MOVED, pw * rem * dt, 0.0).sum(axis=1)
        got = np.where(st.origin[0] >= 0, pw * st.jobs.duration[0] * dt, 0.0).sum(axis=1)
        deficit = np.maximum(plan["moved_cum_mwh"][:, p] - moved, 0.0)
        room_in = np.maximum(plan["imported_cum_mwh"][:, p] - got, 0.0)
        if st.last is not None:
            score, busy = (a[0] for a in geo_broker_inputs(env.params, st))
            dyn = env.params.dcs.dynamic_mw
            free = ~(deficit > 1e-6) & (dyn - busy > 0)
            for o in np.flatnonzero(deficit > 1e-6):
                ks = np.flatnonzero(free & (np.arange(free.size) != o))
                if ks.size == 0:
                    deficit[o] = 0.0
                    continue
                k = ks[np.lexsort((busy[ks] / dyn[ks], np.round(score[ks], 9)))[0]]  # the broker's choice
                deficit[o] = min(deficit[o], room_in[k])
        q23 = queued & (cls >= 2)
        cand = q23 & (st.origin[0] < 0) & (st.jobs.deadline[0] - (t + self._delay) - rem >= 0)
        cand_mwh = np.where(cand, pw * rem * dt, 0.0).sum(axis=1)
        cand_mw = np.where(cand, pw, 0.0).sum(axis=1)
        q23_mw = np.where(q23, pw, 0.0).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            # the broker's budget is a share of all queued E2/E3 power; offer the candidates' power
            # that carries the energy still to move (at the candidates' mean energy per MW)
            need_mw = np.minimum(deficit / (cand_mwh / cand_mw), cand_mw)
            share = np.nan_to_num(need_mw / q23_mw, nan=0.0, posinf=0.0)
        return np.clip(share, 0.0, 1.0)
