"""The exact reference for :mod:`gridshift.envs.grid.commitment`: unit commitment as a
mixed-integer linear programme solved by HiGHS (``scipy.optimize.milp``), one episode at a
time. Used to measure the priority list's cost gap (tests, calibration report), not in the
environment's reset (too slow for a batch; see the :mod:`~gridshift.envs.grid.commitment`
docstring).

Formulation per commitment period ``t`` (hours, same periods and requirement as the list),
with ``S`` the slow units and ``F`` the fast-start units (Rajan and Takriti's min up/down
inequalities, IBM research report RC23628, 2005; the 3-binary form of Carrion and Arroyo,
IEEE Trans. Power Syst. 21(3), 2006, with continuous start/stop variables):

* variables: ``u[g,t]`` binary (``g`` in ``S``), start ``v`` and stop ``w`` in ``[0, 1]``,
  output above minimum ``q[g,t] in [0, (cap - pmin) u]``, fast output ``f in [0, cap]``,
  renewables used ``y in [0, A_t]``, unserved ``z >= 0``, spilled ``o >= 0``;
* cost ``sum_t h [sum_S (C_g(pmin) u + m_g q) + sum_F m_f f + VOLL z] + sum_S SU_g v`` with
  ``C_g`` the unit's quadratic offer cost and ``m_g`` its secant slope over
  ``[pmin, cap]`` (``[0, cap]`` for fast units);
* energy balance ``sum_S (pmin u + q) + sum_F f + y + z - o = D_t`` (mean demand of the
  period); the list's capacity requirement ``sum_S cap u >= NL_t + R - sum_F cap``;
  ``u_t - u_{t-1} = v_t - w_t``; ``sum_{last UT periods} v <= u_t``;
  ``sum_{last DT periods} w <= 1 - u_t``. The initial state is free (no start cost in the
  first period), as in the list.
"""

from __future__ import annotations

import numpy as np

from gridshift.envs.grid.commitment import default_reserve_mw, periods, unit_costs
from gridshift.envs.grid.types import GridParams


def commit_milp(grid: GridParams, demand_mw, renewable_mw, steps_per_day: int, *, dc_load_mw=0.0,
                reserve_mw: float | None = None, time_limit_s: float = 60.0, mip_rel_gap: float = 1e-3
                ) -> tuple[np.ndarray, dict]:
    """Commitment of one episode (``demand_mw``, ``renewable_mw`` of shape ``[T]``) by MILP.

    Returns ``(online [T, G] bool, info)`` with ``info`` = HiGHS status, objective ($), MIP
    gap and wall time.
    """
    import time

    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    f = grid.fleet
    d = np.asarray(demand_mw, dtype=np.float64)
    if d.ndim != 1:
        raise ValueError(f"demand_mw has shape {d.shape}; expected [T] (one episode)")
    nt = d.shape[0]
    ren = np.broadcast_to(np.asarray(renewable_mw, dtype=np.float64), (nt,))
    dc = np.broadcast_to(np.asarray(dc_load_mw, dtype=np.float64), (nt,))
    spp, h = periods(steps_per_day)
    npd = -(-nt // spp)
    pad = npd * spp - nt

    def per(x, how):
        x = np.concatenate([x, np.repeat(x[-1:], pad)]) if pad else x
        return getattr(x.reshape(npd, spp), how)(axis=1)

    tot = d + dc
    dem = per(tot, "mean")
    avail = per(ren, "mean")
    nl = per(np.maximum(tot - ren, 0.0), "max")
    r = default_reserve_mw(grid) if reserve_mw is None else float(reserve_mw)
    a, b, c = unit_costs(grid, None)
    cap, pmin = f.capacity_mw, f.min_output_mw
    slow = np.flatnonzero(~f.fast_start)
    fast = np.flatnonzero(f.fast_start)
    ns, nf, T = slow.size, fast.size, npd
    # variable blocks
    iu = np.arange(ns * T).reshape(ns, T)
    iv = iu + ns * T
    iw = iv + ns * T
    iq = iw + ns * T
    i_f = 4 * ns * T + np.arange(nf * T).reshape(nf, T)
    base = 4 * ns * T + nf * T
    iy, iz, io = base + np.arange(T), base + T + np.arange(T), base + 2 * T + np.arange(T)
    nv = base + 3 * T
    cost = np.zeros(nv)
    cs = cap[slow]
    ps = pmin[slow]
    c_min = a[slow] * ps**2 + b[slow] * ps + c[slow]
    slope_s = b[slow] + a[slow] * (ps + cs)
    cost[iu] = h * c_min[:, None]
    cost[iq] = h * slope_s[:, None]
    cost[iv] = f.startup_cost_usd[slow][:, None]
    cost[i_f] = h * (b[fast] + a[fast] * cap[fast])[:, None]
    cost[iz] = h * grid.market.voll_usd_per_mwh
    lb = np.zeros(nv)
    ub = np.full(nv, np.inf)
    ub[iu] = ub[iv] = ub[iw] = 1.0
    ub[i_f] = cap[fast][:, None]
    ub[iy] = avail
    ub[iv[:, 0]] = ub[iw[:, 0]] = 0.0  # free initial state
    integrality = np.zeros(nv)
    integrality[iu] = 1

    rows, cols, vals, lo, hi = [], [], [], [], []
    k = 0

    def add(idx, coef, lo_, hi_):
        nonlocal k
        rows.extend([k] * len(idx))
        cols.extend(idx)
        vals.extend(coef)
        lo.append(lo_)
        hi.append(hi_)
        k += 1

    for t in range(T):
        add(list(iu[:, t]) + list(iq[:, t]) + list(i_f[:, t]) + [iy[t], iz[t], io[t]],
            list(ps) + [1.0] * ns + [1.0] * nf + [1.0, 1.0, -1.0], dem[t], dem[t])
        add(list(iu[:, t]), list(cs), nl[t] + r - cap[fast].sum(), np.inf)
    up_p = np.ceil(f.min_up_h[slow] / h - 1e-9).astype(int)
    dn_p = np.ceil(f.min_down_h[slow] / h - 1e-9).astype(int)
    for s in range(ns):
        for t in range(T):
            add([iq[s, t], iu[s, t]], [1.0, -(cs[s] - ps[s])], -np.inf, 0.0)
            if t >= 1:
                add([iu[s, t], iu[s, t - 1], iv[s, t], iw[s, t]], [1.0, -1.0, -1.0, 1.0], 0.0, 0.0)
            if up_p[s] > 1 and t >= 1:
                taus = range(max(1, t - up_p[s] + 1), t + 1)
                add([iv[s, q] for q in taus] + [iu[s, t]], [1.0] * len(taus) + [-1.0], -np.inf, 0.0)
            if dn_p[s] > 1 and t >= 1:
                taus = range(max(1, t - dn_p[s] + 1), t + 1)
                add([iw[s, q] for q in taus] + [iu[s, t]], [1.0] * len(taus) + [1.0], -np.inf, 1.0)
    A = sparse.csr_array((vals, (rows, cols)), shape=(k, nv))
    t0 = time.perf_counter()
    res = milp(cost, constraints=LinearConstraint(A, lo, hi), integrality=integrality, bounds=Bounds(lb, ub),
               options={"time_limit": float(time_limit_s), "mip_rel_gap": float(mip_rel_gap), "disp": False})
    wall = time.perf_counter() - t0
    if res.x is None:
        raise RuntimeError(f"HiGHS found no commitment: {res.message}")
    u = np.round(res.x[iu]).astype(bool)
    on_p = np.ones((T, f.n_units), dtype=bool)
    on_p[:, slow] = u.T
    online = np.repeat(on_p, spp, axis=0)[:nt]
    info = {"status": int(res.status), "message": str(res.message), "objective_usd": float(res.fun),
            "mip_gap": float(getattr(res, "mip_gap", np.nan)), "wall_s": wall, "binaries": int(ns * T)}
    return online, info
