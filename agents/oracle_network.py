"""The network part of the oracle's LP (:mod:`gridshift.agents.oracle_lp`): buses, line limits
and the DC power flow, appended to the copper-plate LP when the env's backend has a network."""

from __future__ import annotations

import numpy as np


def network_rows(net, dc_bus, P, K, n, ix_seg, ix_ren, ix_uns, ix_spill, seg_unit, pmin, demand, avail, dcs,
                  fixed_p, xi, ev, mv, frac, eq_rows, eq_cols, eq_vals, b_eq, ne, nvar):
    """Append the network's variables and rows (module docstring) to the LP being built.

    The power flow is written in its sparse angle form, equivalent to the PTDF's on a connected
    network (:mod:`gridshift.envs.grid.network_params`): per period, bus angles ``theta[b]``
    (MW-scaled, ``theta[slack] = 0``), line flows ``f[l] = (theta[from] - theta[to]) / x[l]``
    bounded by the line limits, and per bus ``units + ren_b + uns_b - spill_b - loads = sum of
    flows out``. Per-bus renewables, unserved load and spill sum to the system's variables. All
    costless. The rows are appended to the lists given; returns the new row count, the new
    variables' lower and upper bounds (numbered from ``nvar``) and the number of rows added."""
    nb, nl = net.n_bus, net.n_line
    ren_share = np.asarray(net.renewable_share, float)
    ren_bus = np.flatnonzero(ren_share > 0)
    nr = len(ren_bus)
    dc_bus = np.asarray(dc_bus, np.int64)
    pmin_bus = np.bincount(net.gen_bus, weights=pmin, minlength=nb)
    dc_const = dcs.pue[:, None] * (dcs.idle_mw[:, None] + fixed_p)  # [N, P] MW at each DC's bus
    lf, lt, bl = np.asarray(net.line_from), np.asarray(net.line_to), 1.0 / np.asarray(net.line_x_pu)
    # new columns, each block [count, P]: ren_b, uns_b, spill_b, theta_b, flow_l
    i_ren = nvar
    i_uns = i_ren + nr * P
    i_spill = i_uns + nb * P
    i_th = i_spill + nb * P
    i_flow = i_th + nb * P
    end = i_flow + nl * P
    lb, ub = np.zeros(end - nvar), np.full(end - nvar, np.inf)
    lb[i_th - nvar:i_flow - nvar] = -np.inf
    ub[i_th - nvar + net.slack_bus * P:i_th - nvar + (net.slack_bus + 1) * P] = 0.0
    lb[i_th - nvar + net.slack_bus * P:i_th - nvar + (net.slack_bus + 1) * P] = 0.0
    start = ne
    for p in range(P):
        ub[i_ren - nvar + np.arange(nr) * P + p] = ren_share[ren_bus] * avail[p]
        lb[i_flow - nvar + np.arange(nl) * P + p] = -net.line_limit_mw
        ub[i_flow - nvar + np.arange(nl) * P + p] = net.line_limit_mw
        # the per-bus parts sum to the system's renewables, unserved load and spill
        for sys_col, first, count in ((ix_ren + p, i_ren, nr), (ix_uns + p, i_uns, nb), (ix_spill + p, i_spill, nb)):
            eq_rows += [ne] * (count + 1)
            eq_cols += [sys_col] + list(first + np.arange(count) * P + p)
            eq_vals += [-1.0] + [1.0] * count
            b_eq.append(0.0)
            ne += 1
        # per bus: -units - ren_b - uns_b + spill_b + DC load at b + flows out = pmin_b - load_b - fixed DC load
        bus_row = ne + np.arange(nb)
        rhs = pmin_bus - net.load_share * demand[p]
        np.subtract.at(rhs, dc_bus, dc_const[:, p])
        b_eq += list(rhs)
        ne += nb
        f_cols = i_flow + np.arange(nl) * P + p
        eq_rows += list(bus_row[lf]) + list(bus_row[lt])
        eq_cols += list(f_cols) * 2
        eq_vals += [1.0] * nl + [-1.0] * nl
        eq_rows += list(bus_row[net.gen_bus[seg_unit]])
        eq_cols += list(ix_seg + p * K + np.arange(K))
        eq_vals += [-1.0] * K
        eq_rows += list(bus_row[ren_bus])
        eq_cols += list(i_ren + np.arange(nr) * P + p)
        eq_vals += [-1.0] * nr
        eq_rows += list(bus_row) * 2
        eq_cols += list(i_uns + np.arange(nb) * P + p) + list(i_spill + np.arange(nb) * P + p)
        eq_vals += [-1.0] * nb + [1.0] * nb
        for k in range(n):
            for c in range(3):
                eq_rows.append(int(bus_row[dc_bus[k]]))
                eq_cols.append(xi(k, c, p))
                eq_vals.append(float(dcs.pue[k]))
        for o, c in zip(*np.nonzero(ev >= 0), strict=True):  # imports at the target, transfer energy at the origin
            eq_rows += [int(bus_row[dc_bus[o]])] * 2
            eq_cols += [int(mv[o, c] + p), int(ev[o, c] + p)]
            eq_vals += [float(dcs.pue[o]), frac]
        # flows: f[l] - (theta[from] - theta[to]) / x[l] = 0
        flow_row = ne + np.arange(nl)
        b_eq += [0.0] * nl
        ne += nl
        eq_rows += list(flow_row) * 3
        eq_cols += list(f_cols) + list(i_th + lf * P + p) + list(i_th + lt * P + p)
        eq_vals += [1.0] * nl + list(-bl) + list(bl)
    return ne, lb, ub, ne - start
