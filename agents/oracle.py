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

The LP, over periods ``p`` of ``resolution_steps`` steps (default 4, i.e. hourly):

* **DC work.** Per DC ``i`` and class ``c`` in E1-E3, ``x[i,c,p]`` (MW, mean running power)
  and the cumulative work ``Y[i,c,p] = Y[i,c,p-1] + x[i,c,p] * r * dt``. Work may not be served
  before it arrives (``Y <= A``, arrivals of the period included) and must be served by its
  deadline (``Y + z[i,c] >= D``, deadlines of the period included; ``z`` is dropped work at the
  drop penalty, a slack that keeps the LP feasible). Capacity: ``sum_c x[i,c,p] <= dynamic
  IT capacity - E0 load - work already running at the start``. E0 jobs and the jobs running at
  the first step are fixed loads.
* **Grid.** Every thermal unit runs between its minimum output and its capacity, its output
  split into segments (one for a linear cost, three equal segments for a quadratic one, each
  priced at the marginal cost at its midpoint, which is exact at the breakpoints) at fuel +
  carbon price x emission factor; ramp limits ``|P[g,p] - P[g,p-1]| <= ramp * r * dt`` from
  the dispatch the episode starts from; renewables at zero cost up to their availability,
  curtailment free; unserved energy at VOLL; over-generation spilled. Balance per period:
  thermal + renewables + unserved - spill = exogenous demand + sum_i PUE_i (idle + E0 +
  running + sum_c x).

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
* The **replayed** oracle is only an approximation of that optimum: whole jobs start in EDF
  order within a release fraction, the SLA guard forces starts, work left at the horizon is
  settled FIFO like everyone's, and the simulator's dispatch is merit order. Its simulated
  social cost is what the leaderboard's score anchors to (FIFO = 0, oracle = 100); a trained
  policy can score above 100. With ``sla_guard = false`` the replay starts zero-slack jobs
  itself, but capacity can still make some late: on the default scenario it then no longer
  beats FIFO on every seed (the leaderboard says on how many it does), and scores there are
  unreliable.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np

from gridshift.agents.base import PolicyContext
from gridshift.envs.dcgrid import jobs as J

#: Segments of a quadratic-cost unit's output range.
QUAD_SEGMENTS = 3


class OracleError(RuntimeError):
    """The oracle's LP could not be built or solved."""


def _period_sum(x: np.ndarray, r: int, n_periods: int) -> np.ndarray:
    """Sum of ``x[..., steps]`` over periods of ``r`` steps (the last one may be short)."""
    pad = n_periods * r - x.shape[-1]
    if pad:
        x = np.concatenate([x, np.zeros(x.shape[:-1] + (pad,))], axis=-1)
    return x.reshape(x.shape[:-1] + (n_periods, r)).sum(axis=-1)


def solve_schedule(params, st, *, resolution_steps: int = 4, window_steps: int | None = None,
                   settle_within_steps: int | None = None, costs: str = "social", time_limit_s: float = 120.0) -> dict:
    """Solve the oracle LP for env 0 of ``st`` from its current step. Returns the plan
    ``x_mw [N, 3, P]`` (E1-E3 running power per period), ``lp_cost_usd``, ``lp_gap_usd``,
    ``solve_s`` and sizes. ``window_steps`` defaults to the horizon left plus the settlement
    window."""
    from scipy import sparse
    from scipy.optimize import linprog

    from gridshift.envs.dcgrid import settlement

    t_solve = time.perf_counter()
    sc, dcs, fleet = params.scenario, params.dcs, params.grid.fleet
    # With unit commitment the LP is its relaxation: every unit may run anywhere in [0, capacity]
    # (no minimum output, no start-up or no-load cost), so its cost stays a lower bound.
    pmin = fleet.min_output_mw if getattr(st, "online", None) is None else np.zeros(fleet.n_units)
    r = int(resolution_steps)
    if r < 1:
        raise ValueError(f"resolution_steps={resolution_steps!r} is invalid: allowed an integer >= 1")
    dt = sc.step_hours
    t0 = int(st.t[0])
    if window_steps is None:
        left = params.total_steps - t0
        end_abs = t0 + left + int(settlement.settlement_window(params, st, t_end=params.total_steps)[0])
        window_steps = max(1, end_abs - t0)
    W = int(window_steps)
    P = -(-W // r)
    settlement.extend_exogenous(params, st, t0 + P * r + 1)
    steps = np.arange(t0, t0 + P * r)
    in_win = (steps < t0 + W).astype(float)
    demand = _period_sum(st.demand_mw[0, steps] * in_win, r, P) / r
    avail = _period_sum((st.solar_mw[0, steps] + st.wind_mw[0, steps]) * in_win, r, P) / r
    wlen = _period_sum(in_win, r, P)  # steps of each period inside the window

    # ---- jobs: fixed loads (E0, already running) and the flexible groups
    n = params.n_agents
    tb = st.jobs
    status, cls = st.status[0], tb.job_class[0]
    arr, dur, dl, pw = tb.arrival[0].astype(np.int64), tb.duration[0].astype(np.int64), tb.deadline[0].astype(np.int64), tb.power_mw[0]
    rem = np.where(st.remaining[0] > 0, st.remaining[0], dur).astype(np.int64)
    running = status == J.RUNNING
    pending_e0 = (status == J.PENDING) & (cls == 0) & (arr < t0 + W)
    fixed = np.zeros((n, W))
    for i, j in zip(*np.nonzero(running | pending_e0), strict=True):
        s0 = 0 if running[i, j] else int(arr[i, j] - t0)
        length = int(rem[i, j]) if running[i, j] else int(dur[i, j])
        fixed[i, s0:min(W, s0 + length)] += pw[i, j]
    fixed_p = _period_sum(fixed, r, P) / np.maximum(wlen, 1)  # mean MW per period

    flex = ((status == J.QUEUED) | ((status == J.PENDING) & (arr < t0 + W))) & (cls >= 1)
    energy = np.where(flex, rem * pw * dt, 0.0)
    rel_p = np.clip((np.maximum(arr, t0) - t0) // r, 0, P - 1)
    due_p = np.clip((dl - t0 - 1) // r, 0, P - 1)
    A = np.zeros((n, 3, P))
    D = np.zeros((n, 3, P))
    for i, j in zip(*np.nonzero(flex), strict=True):
        c = int(cls[i, j]) - 1
        A[i, c, rel_p[i, j]] += energy[i, j]
        D[i, c, due_p[i, j]] += energy[i, j]
    A, D = np.cumsum(A, axis=2), np.cumsum(D, axis=2)
    if settle_within_steps is not None:
        # The plan, unlike the bound, mimics the FIFO settlement: work left at the horizon must
        # be done within settle_within_steps of it, not in the cheapest hours of the window.
        p_set = (params.total_steps - t0 + int(settle_within_steps)) // r
        if p_set < P:
            D[:, :, p_set:] = np.maximum(D[:, :, p_set:], A[:, :, -1:])

    # ---- variable layout
    nx = n * 3 * P
    ix_x = 0
    ix_y = nx
    ix_z = 2 * nx
    nz = n * 3
    if costs not in ("social", "offer"):
        raise ValueError(f"costs={costs!r} is invalid: allowed 'social' or 'offer'")
    offer_b = params.grid.offer_b_usd_per_mwh()
    seg_w, seg_cost, seg_unit = [], [], []
    for g in range(fleet.n_units):
        lo, hi = float(pmin[g]), float(fleet.capacity_mw[g])
        a, b, e = float(fleet.cost_a_usd_per_mw2h[g]), float(fleet.cost_b_usd_per_mwh[g]), float(fleet.emission_t_co2_per_mwh[g])
        if costs == "offer":  # the simulator's own merit order: dispatch as it dispatches
            b, e = float(offer_b[g]), 0.0
        k = QUAD_SEGMENTS if a > 0 else 1
        edges = np.linspace(lo, hi, k + 1)
        for s0, s1 in zip(edges[:-1], edges[1:], strict=True):
            if s1 - s0 <= 0:
                continue
            seg_w.append(s1 - s0)
            seg_cost.append(b + a * (s0 + s1) + sc.carbon_price_usd_per_t * e)
            seg_unit.append(g)
    seg_w, seg_cost, seg_unit = np.array(seg_w), np.array(seg_cost), np.array(seg_unit, np.int64)
    K = len(seg_w)
    ix_seg = ix_z + nz
    ix_ren = ix_seg + K * P
    ix_uns = ix_ren + P
    ix_spill = ix_uns + P
    nvar = ix_spill + P

    def xi(i, c, p):
        return ix_x + (i * 3 + c) * P + p

    def yi(i, c, p):
        return ix_y + (i * 3 + c) * P + p

    hours = wlen * dt  # hours of each period inside the window
    cost = np.zeros(nvar)
    lb, ub = np.zeros(nvar), np.full(nvar, np.inf)
    cost[ix_z:ix_z + nz] = sc.drop_penalty_usd_per_mwh
    for p in range(P):
        cost[ix_seg + p * K: ix_seg + (p + 1) * K] = seg_cost * hours[p]
        ub[ix_seg + p * K: ix_seg + (p + 1) * K] = seg_w
    ub[ix_ren:ix_ren + P] = avail
    cost[ix_uns:ix_uns + P] = sc.voll_usd_per_mwh * hours
    dyn_room = np.maximum(dcs.dynamic_mw[:, None] - fixed_p, 0.0)  # [N, P]
    for i in range(n):
        for c in range(3):
            sl = slice(xi(i, c, 0), xi(i, c, 0) + P)
            ub[sl] = dyn_room[i]
            ub[yi(i, c, 0):yi(i, c, 0) + P] = A[i, c]

    rows, cols, vals = [], [], []
    b_eq, b_ub = [], []
    eq_rows, eq_cols, eq_vals = [], [], []
    ne = 0
    # Y definition: Y[p] - Y[p-1] - x[p] * hours[p] = 0
    for i in range(n):
        for c in range(3):
            for p in range(P):
                eq_rows += [ne, ne]
                eq_cols += [yi(i, c, p), xi(i, c, p)]
                eq_vals += [1.0, -hours[p]]
                if p > 0:
                    eq_rows.append(ne)
                    eq_cols.append(yi(i, c, p - 1))
                    eq_vals.append(-1.0)
                b_eq.append(0.0)
                ne += 1
    # Balance: sum seg + ren + uns - spill - sum_i PUE_i x = demand + fixed DC load
    base_dc = (dcs.pue[:, None] * (dcs.idle_mw[:, None] + fixed_p)).sum(axis=0)
    min_total = float(pmin.sum())
    for p in range(P):
        k_idx = ix_seg + p * K + np.arange(K)
        eq_rows += [ne] * (K + 3)
        eq_cols += list(k_idx) + [ix_ren + p, ix_uns + p, ix_spill + p]
        eq_vals += [1.0] * K + [1.0, 1.0, -1.0]
        for i in range(n):
            for c in range(3):
                eq_rows.append(ne)
                eq_cols.append(xi(i, c, p))
                eq_vals.append(-float(dcs.pue[i]))
        b_eq.append(float(demand[p] + base_dc[p] - min_total))
        ne += 1
    nu = 0
    # Deadlines: -Y[p] - z <= -D[p]
    for i in range(n):
        for c in range(3):
            for p in range(P):
                if D[i, c, p] <= 0:
                    continue
                rows += [nu, nu]
                cols += [yi(i, c, p), ix_z + i * 3 + c]
                vals += [-1.0, -1.0]
                b_ub.append(-float(D[i, c, p]))
                nu += 1
    # DC capacity: sum_c x <= room (also bounded per class; this couples the classes)
    for i in range(n):
        for p in range(P):
            rows += [nu] * 3
            cols += [xi(i, c, p) for c in range(3)]
            vals += [1.0] * 3
            b_ub.append(float(dyn_room[i, p]))
            nu += 1
    # Ramps on each unit's output above its minimum: +/-(sum_k seg[g,p] - sum_k seg[g,p-1]) <= R
    prev = st.grid.dispatch_mw[0] - pmin
    ramp = fleet.ramp_mw_per_h * dt
    for g in range(fleet.n_units):
        kg = np.flatnonzero(seg_unit == g)
        if kg.size == 0:
            continue
        for p in range(P):
            R = float(ramp[g] * wlen[p])
            if R >= float(fleet.capacity_mw[g] - pmin[g]):
                continue  # never binds
            cur = list(ix_seg + p * K + kg)
            for sign in (1.0, -1.0):
                rows += [nu] * len(cur)
                cols += cur
                vals += [sign] * len(cur)
                if p > 0:
                    rows += [nu] * len(cur)
                    cols += list(ix_seg + (p - 1) * K + kg)
                    vals += [-sign] * len(cur)
                    b_ub.append(R)
                else:
                    b_ub.append(R + sign * float(prev[g]))
                nu += 1
    A_eq = sparse.csr_matrix((eq_vals, (eq_rows, eq_cols)), shape=(ne, nvar))
    A_ub = sparse.csr_matrix((vals, (rows, cols)), shape=(nu, nvar))
    res = linprog(cost, A_ub=A_ub, b_ub=np.array(b_ub), A_eq=A_eq, b_eq=np.array(b_eq),
                  bounds=np.column_stack([lb, ub]), method="highs", options={"time_limit": float(time_limit_s)})
    if res.status != 0:
        raise OracleError(f"oracle LP not solved (status {res.status}: {res.message}); "
                          f"{nvar} variables, {ne + nu} constraints, window {W} steps")
    v = res.x
    x = v[:nx].reshape(n, 3, P)
    # constants: minimum output's fuel (+ no-load cost of units always on) and carbon
    lo = pmin
    const_rate = float((fleet.cost_a_usd_per_mw2h * lo**2 + fleet.cost_b_usd_per_mwh * lo
                        + np.where(lo > 0, fleet.cost_c_usd_per_h, 0.0)
                        + sc.carbon_price_usd_per_t * fleet.emission_t_co2_per_mwh * lo).sum())
    lp_cost = float(res.fun) + const_rate * float(hours.sum())
    # chord error of the linearisation: a (w/2)^2 per quadratic segment and hour, at most
    quad = fleet.cost_a_usd_per_mw2h[seg_unit] * (seg_w / 2) ** 2
    gap = float(quad.sum() * hours.sum())
    return {"x_mw": x, "lp_cost_usd": lp_cost, "lp_gap_usd": gap, "lp_dropped_mwh": float(v[ix_z:ix_z + nz].sum()),
            "solve_s": time.perf_counter() - t_solve, "n_variables": int(nvar), "n_constraints": int(ne + nu),
            "periods": P, "resolution_steps": r, "window_steps": W, "t0": t0}


class Oracle:
    """Perfect-foresight LP schedule of all flexible work (HiGHS), replayed: the score's 100 anchor.

    See the module docstring. Needs the runner's live env in its :class:`PolicyContext`
    (``context.env``)."""

    name = "oracle"
    action_mode = "box"

    def __init__(self, resolution_steps: int = 4, settle_within_h: float = 12.0, plan_costs: str = "offer",
                 time_limit_s: float = 120.0):
        self.plan_costs = plan_costs
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
        if env.scenario.geo_shift:
            raise OracleError("the oracle plans when work runs, not where: scenarios with geo_shift=True are not "
                              "supported (allowed: geo_shift=False)")
        self.env = env
        self._battery = bool(env.scenario.battery_hours > 0)
        kw = {"resolution_steps": self.resolution_steps, "time_limit_s": self.time_limit_s}
        self.bound = solve_schedule(env.params, env.state, **kw)
        within = int(round(self.settle_within_h / env.scenario.step_hours))
        self.plan = solve_schedule(env.params, env.state, settle_within_steps=within, costs=self.plan_costs, **kw)

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
                "oracle_lp_dropped_mwh": p.get("lp_dropped_mwh", np.nan)}

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
        for c in range(3):
            k = cls == c + 1
            q = np.where(queued & k, pw, 0.0).sum(axis=1)
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
        out = rel.astype(np.float32)
        if self._battery:
            out = np.concatenate([out, np.zeros((out.shape[0], 1), np.float32)], axis=1)
        return out
