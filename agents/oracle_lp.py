"""The oracle's linear program: when (and, with geo-shifting, where) all flexible work runs.

:func:`solve_schedule` solves one **LP** (HiGHS, through ``scipy.optimize.linprog``) that
schedules the flexible work (E1-E3) of every DC, together with the fleet's dispatch, to
minimise social cost over the horizon plus the settlement window, with perfect foresight of
every job and every exogenous input. :class:`~gridshift.agents.oracle.Oracle` replays it.

Over periods ``p`` of ``resolution_steps`` steps (default 4, i.e. hourly):

* **DC work.** Per origin DC ``o`` and class ``c`` in E1-E3, ``x[o,k,c,p]`` (MW, mean running
  power at DC ``k``) and the cumulative work ``Y[o,c,p] = Y[o,c,p-1] + sum_k x[o,k,c,p] * r * dt``.
  Without geo-shifting only ``k = o`` exists. Work may not be served before it arrives
  (``Y <= A``, arrivals of the period included) and must be served by its deadline
  (``Y + z[o,c] >= D``, deadlines of the period included; ``z`` is dropped work at the drop
  penalty, a slack that keeps the LP feasible). Capacity at DC ``k``: ``sum_{o,c} x[o,k,c,p]
  <= dynamic IT capacity - E0 load - work already running at the start``. E0 jobs and the
  jobs running at the first step are fixed loads.
* **Geo-shifting** (``Scenario.geo_shift``, :mod:`gridshift.envs.dcgrid.geo`). E2 and E3 work of
  origin ``o`` may run at other DCs: ``e[o,c,p]`` (MW) is its work running elsewhere, counted in
  ``Y[o,c,p]`` (it keeps its deadline), and ``m[k,c,p]`` the foreign work running at ``k``,
  within ``k``'s capacity at ``k``'s PUE; what leaves is what arrives, ``sum_o e[o,c,p] =
  sum_k m[k,c,p]``. It pays the move's delay: the cumulative exported work ``R[o,c,p] =
  R[o,c,p-1] + e[o,c,p] * r * dt`` is at most the work that arrived ``floor(delay / r)``
  periods earlier (``R[o,c,p] <= A[o,c,p-dp]``); and the move's network energy,
  ``geo_transfer_energy_frac`` x the work moved, is grid load at the origin (charged when the
  work runs, not when it moves: the same energy, at most ``dp`` periods apart). This pooled
  form is exact for the origin-to-target form ``x[o,k,c,p]``: every cost and constraint
  depends on the origin or on the target, never on the pair, so any ``e``, ``m`` that balance
  split into pairwise flows (a DC that both exports and imports the same class could instead
  keep its own work, saving the transfer energy; so the optimum does not rely on it).
* **Grid.** Every thermal unit runs between its minimum output and its capacity, its output
  split into segments (one for a linear cost, three equal segments for a quadratic one, each
  priced at the marginal cost at its midpoint, which is exact at the breakpoints) at fuel +
  carbon price x emission factor; ramp limits ``|P[g,p] - P[g,p-1]| <= ramp * r * dt`` from
  the dispatch the episode starts from; renewables at zero cost up to their availability,
  curtailment free; unserved energy at VOLL; over-generation spilled. Balance per period:
  thermal + renewables + unserved - spill = exogenous demand + sum_k PUE_k (idle + E0 +
  running + sum_{o,c} x[o,k,c,p]) + transfer energy.
* **Network** (a backend with a ``network``, :mod:`gridshift.envs.grid.network`): the same
  lossless DC power flow as the simulator's OPF (in its sparse angle form). Per bus ``b`` and period, the net injection
  ``inj[b,p]`` = the units at ``b`` + its renewables (at most its ``renewable_share`` of the
  availability) + its unserved load - its spill - its share of the exogenous load
  (``load_share``) - the DCs at ``b`` (and the transfer energy of work moved from them); line
  flows ``PTDF @ inj`` within ``+/- line_limit_mw``. The system balance above still holds
  (the per-bus renewables, unserved load and spill sum to the system's). So the LP sees
  congestion, and with geo-shifting it moves work toward the buses whose locational price is
  low.

With unit commitment (the state carries ``online``) the LP is its relaxation: every unit may
run anywhere in ``[0, capacity]`` with no start-up or no-load cost, so its cost stays a lower
bound. Why the optimum bounds every policy's settled social cost, and where the replay only
approximates it, is in :mod:`gridshift.agents.oracle`.
"""

from __future__ import annotations

import time

import numpy as np

from gridshift.envs.dcgrid import jobs as J

#: Segments of a quadratic-cost unit's output range.
QUAD_SEGMENTS = 3
#: Classes that geo-shifting may move (E2, E3), as indices into E1-E3.
GEO_CLASSES = (1, 2)


class OracleError(RuntimeError):
    """The oracle's LP could not be built or solved."""


def _period_sum(x: np.ndarray, r: int, n_periods: int) -> np.ndarray:
    """Sum of ``x[..., steps]`` over periods of ``r`` steps (the last one may be short)."""
    pad = n_periods * r - x.shape[-1]
    if pad:
        x = np.concatenate([x, np.zeros(x.shape[:-1] + (pad,))], axis=-1)
    return x.reshape(x.shape[:-1] + (n_periods, r)).sum(axis=-1)


def geo_delay_steps(sc) -> int:
    """The transfer delay of geo-shifting in steps (the core's rounding)."""
    return max(0, int(round(sc.geo_transfer_delay_h / sc.step_hours)))


def solve_schedule(params, st, *, resolution_steps: int = 4, window_steps: int | None = None,
                   settle_within_steps: int | None = None, costs: str = "social", time_limit_s: float = 120.0,
                   network: bool = True, move_cost_usd_per_mwh: float = 0.0) -> dict:
    """Solve the oracle LP for env 0 of ``st`` from its current step.

    Returns the plan ``x_mw [N, 3, P]`` (E1-E3 running power per period at each DC, moved-in
    work included), ``lp_cost_usd``, ``lp_gap_usd``, ``solve_s`` and sizes; with geo-shifting
    also ``export_mw`` and ``import_mw [N, 3, P]`` (each DC's own work running elsewhere and
    foreign work running there; zero for E1), ``moved_cum_mwh [N, P]`` (work of each origin
    run elsewhere) and ``imported_cum_mwh [N, P]`` (foreign work run at each DC), both
    cumulative to the end of each period. ``window_steps`` defaults to the horizon left plus
    the settlement window; ``network=False`` ignores a network backend's lines (copper plate);
    ``move_cost_usd_per_mwh`` prices each MWh of work moved (a plan's friction, not a cost of
    the simulator: leave it 0 for a bound)."""
    from scipy import sparse
    from scipy.optimize import linprog

    from gridshift.envs.dcgrid import settlement

    t_solve = time.perf_counter()
    sc, dcs, fleet = params.scenario, params.dcs, params.grid.fleet
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
    geo = bool(getattr(sc, "geo_shift", False))
    net = getattr(getattr(params, "backend", None), "network", None) if network else None

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
    A_geo = np.zeros((n, 3, P))  # arrivals of work that may still move (not moved in already)
    movable = flex if getattr(st, "origin", None) is None else flex & (st.origin[0] < 0)
    for i, j in zip(*np.nonzero(flex), strict=True):
        c = int(cls[i, j]) - 1
        A[i, c, rel_p[i, j]] += energy[i, j]
        D[i, c, due_p[i, j]] += energy[i, j]
        if movable[i, j]:
            A_geo[i, c, rel_p[i, j]] += energy[i, j]
    A, D, A_geo = np.cumsum(A, axis=2), np.cumsum(D, axis=2), np.cumsum(A_geo, axis=2)
    if settle_within_steps is not None:
        # The plan, unlike the bound, mimics the FIFO settlement: work left at the horizon must
        # be done within settle_within_steps of it, not in the cheapest hours of the window.
        p_set = (params.total_steps - t0 + int(settle_within_steps)) // r
        if p_set < P:
            D[:, :, p_set:] = np.maximum(D[:, :, p_set:], A[:, :, -1:])

    # ---- variable layout (the copper plate without geo-shifting first, in its historical order)
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
    # geo-shifting: exports e[o,c,p], imports m[k,c,p] and cumulative exports R[o,c,p] (c in E2/E3)
    dp = geo_delay_steps(sc) // r if geo else 0
    ev = np.full((n, 3), -1, np.int64)  # first column of each (DC, class) block of P, -1: none
    mv = np.full((n, 3), -1, np.int64)
    rv = np.full((n, 3), -1, np.int64)
    if geo:
        for blocks in (ev, mv, rv):
            for o in range(n):
                for c in GEO_CLASSES:
                    blocks[o, c] = nvar
                    nvar += P

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
    if geo:
        A_delay = np.zeros_like(A_geo)
        if dp < P:
            A_delay[:, :, dp:] = A_geo[:, :, :P - dp]
        for o in range(n):
            for c in GEO_CLASSES:
                cost[ev[o, c]:ev[o, c] + P] = float(move_cost_usd_per_mwh) * hours
                ub[mv[o, c]:mv[o, c] + P] = dyn_room[o]
                ub[rv[o, c]:rv[o, c] + P] = A_delay[o, c]

    rows, cols, vals = [], [], []
    b_eq, b_ub = [], []
    eq_rows, eq_cols, eq_vals = [], [], []
    ne = 0
    # Y definition: Y[p] - Y[p-1] - x[p] * hours[p] = 0 (rows (i * 3 + c) * P + p)
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
    bal0 = ne
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
    cap0 = nu
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

    frac = float(sc.geo_transfer_energy_frac) if geo else 0.0
    if geo:
        pr = np.arange(P)
        for o in range(n):
            for c in GEO_CLASSES:
                e_col, m_col = ev[o, c] + pr, mv[o, c] + pr
                # R definition: R[p] - R[p-1] - hours[p] e[o,c,p] = 0
                r_rows = ne + pr
                eq_rows += list(r_rows) + list(r_rows[1:]) + list(r_rows)
                eq_cols += list(rv[o, c] + pr) + list(rv[o, c] + pr[:-1]) + list(e_col)
                eq_vals += [1.0] * P + [-1.0] * (P - 1) + list(-hours)
                b_eq += [0.0] * P
                ne += P
                # exported work is the origin's work served; imported work is load at the target
                eq_rows += list((o * 3 + c) * P + pr) + list(bal0 + pr) * 2
                eq_cols += list(e_col) + list(e_col) + list(m_col)
                eq_vals += list(-hours) + [-frac] * P + [-float(dcs.pue[o])] * P
                rows += list(cap0 + o * P + pr)
                cols += list(m_col)
                vals += [1.0] * P
        for c in GEO_CLASSES:  # what leaves is what arrives: sum_o e - sum_k m = 0
            for p in range(P):
                eq_rows += [ne] * (2 * n)
                eq_cols += list(ev[:, c] + p) + list(mv[:, c] + p)
                eq_vals += [1.0] * n + [-1.0] * n
                b_eq.append(0.0)
                ne += 1
    n_bus_rows = 0
    if net is not None:
        from gridshift.agents.oracle_network import network_rows

        ne, extra_lb, extra_ub, n_bus_rows = network_rows(
            net, params.backend.dc_bus, P, K, n, ix_seg, ix_ren, ix_uns, ix_spill, seg_unit, pmin, demand, avail,
            dcs, fixed_p, xi, ev, mv, frac, eq_rows, eq_cols, eq_vals, b_eq, ne, nvar)
        nvar += extra_lb.size
        cost = np.concatenate([cost, np.zeros(extra_lb.size)])
        lb, ub = np.concatenate([lb, extra_lb]), np.concatenate([ub, extra_ub])
    A_eq = sparse.csr_matrix((eq_vals, (eq_rows, eq_cols)), shape=(ne, nvar))
    A_ub = sparse.csr_matrix((vals, (rows, cols)), shape=(nu, nvar))
    res = linprog(cost, A_ub=A_ub, b_ub=np.array(b_ub), A_eq=A_eq, b_eq=np.array(b_eq),
                  bounds=np.column_stack([lb, ub]), method="highs", options={"time_limit": float(time_limit_s)})
    if res.status != 0:
        raise OracleError(f"oracle LP not solved (status {res.status}: {res.message}); "
                          f"{nvar} variables, {ne + nu} constraints, window {W} steps")
    v = res.x
    x = v[:nx].reshape(n, 3, P).copy()
    out = {}
    if geo:
        exp, imp = np.zeros((n, 3, P)), np.zeros((n, 3, P))
        for o, c in zip(*np.nonzero(ev >= 0), strict=True):
            exp[o, c], imp[o, c] = v[ev[o, c]:ev[o, c] + P], v[mv[o, c]:mv[o, c] + P]
        x += imp  # work moved in runs at its target
        out = {"export_mw": exp, "import_mw": imp, "moved_cum_mwh": np.cumsum(exp.sum(axis=1) * hours, axis=1),
               "imported_cum_mwh": np.cumsum(imp.sum(axis=1) * hours, axis=1),
               "geo_delay_periods": dp}
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
            "network_rows": int(n_bus_rows), "periods": P, "resolution_steps": r, "window_steps": W, "t0": t0, **out}
