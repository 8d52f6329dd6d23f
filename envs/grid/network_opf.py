"""The HiGHS linear program of the network backend (:mod:`.network`): built once, updated per solve.

The LP is the DC-OPF of one row with each quadratic unit's cost piecewise-linearised into
``segments`` equal segments of ``[0, capacity]`` (chords of the convex cost, so the LP cost is
an upper bound that touches the quadratic at the breakpoints). It is not the answer the
backend returns: it finds the *active set* (binding lines, marginal resources), from which
:func:`gridshift.envs.grid.network_kkt.solve_active_set` computes the exact quadratic
optimum. The LP's own solution is the fallback when that iteration does not settle
(counted in :attr:`NetworkBackend.stats <gridshift.envs.grid.network.NetworkBackend.stats>`).

PTDF formulation with one free net-injection column ``n_k`` per bus, so the dense PTDF block
appears once rather than once per resource (3x fewer non-zeros on RTS-GMLC):

* columns: the segments ``delta_{g,s}`` of each quadratic unit (``p_g = sum_s delta_{g,s}``), one
  column per linear resource (linear units, renewables at every bus, unserved load at every
  bus, spill at every generator bus; see :class:`Layout`), and ``n_k`` (free);
* rows: per bus ``sum(sigma x at k) - n_k = load_k`` (its dual is the bus's LMP),
  ``sum_k n_k = 0``, and per line ``-F_l <= sum_k PTDF[l, k] n_k <= F_l`` (constant bounds).

Per solve only column bounds (ramp-limited unit bounds, renewable availability, loads) and
the bus rows' right-hand sides change (and the costs of gas units when the gas price moves);
HiGHS keeps the previous optimal basis of the same model object, so the dual simplex starts
warm and usually needs a handful of iterations. One model is kept per batch row (a pool in
the backend), so every environment warm-starts from its own previous step.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from gridshift.envs.grid.network_params import NetworkParams

#: Default number of linear segments per quadratic unit in the LP.
DEFAULT_SEGMENTS = 6


@dataclass(frozen=True, eq=False)
class Layout:
    """Static index structure shared by the LP and the active-set solver.

    Linear resources, in this order: linear units (``a = 0``), renewables at every bus,
    unserved load at every bus, spill at every bus that has a unit.
    """

    qidx: np.ndarray      # [nq] fleet index of each quadratic unit
    lidx: np.ndarray      # [nlu] fleet index of each linear unit
    qbus: np.ndarray
    rbus: np.ndarray      # [nr]
    rsig: np.ndarray      # [nr]
    rkind: np.ndarray     # [nr] 0 unit, 1 renewable, 2 unserved, 3 spill
    spill_bus: np.ndarray  # [ns] buses with a unit
    rprio: np.ndarray     # [nr] 0 for renewables (first to take a tie), 1 for the others

    @classmethod
    def build(cls, net: NetworkParams, a: np.ndarray) -> Layout:
        nb = net.n_bus
        qidx = np.flatnonzero(a > 0.0)
        lidx = np.flatnonzero(a <= 0.0)
        spill_bus = np.unique(net.gen_bus)
        rbus = np.concatenate((net.gen_bus[lidx], np.arange(nb), np.arange(nb), spill_bus))
        rkind = np.concatenate((np.zeros(lidx.size), np.ones(nb), np.full(nb, 2), np.full(spill_bus.size, 3))).astype(np.int8)
        rsig = np.where(rkind == 3, -1.0, 1.0)
        rprio = np.where(rkind == 1, 0, 1).astype(np.int64)
        return cls(qidx, lidx, net.gen_bus[qidx], rbus, rsig, rkind, spill_bus, rprio)

    @property
    def nr(self) -> int:
        return int(self.rbus.shape[0])


def _new_highs() -> highspy.Highs:
    """A HiGHS instance without its banner (printed to the C-level stdout by the constructor,
    before any option can silence it)."""
    import os
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class LpModel:
    """One HiGHS model of the network LP (module docstring)."""

    def __init__(self, net: NetworkParams, layout: Layout, capacity: np.ndarray, segments: int):
        self.net, self.lay, self.k = net, layout, int(segments)
        nb, nl = net.n_bus, net.n_line
        nq = layout.qidx.size
        self.cap_q = capacity[layout.qidx]
        self.width = self.cap_q / self.k                                       # [nq]
        self.start = self.width[:, None] * np.arange(self.k)[None, :]          # [nq, k]
        self.nseg = nq * self.k
        self.ncol = self.nseg + layout.nr + nb
        self.nrow = nb + 1 + nl
        seg_bus = np.repeat(layout.qbus, self.k)
        rows = np.concatenate((seg_bus, layout.rbus, np.arange(nb)))
        cols = np.arange(self.nseg + layout.nr + nb)
        vals = np.concatenate((np.ones(self.nseg), layout.rsig, -np.ones(nb)))
        # sum n = 0, then the lines on the n columns.
        ptdf = net.ptdf
        li, lk = np.nonzero(ptdf)
        rows = np.concatenate((rows, np.full(nb, nb), nb + 1 + li))
        cols = np.concatenate((cols, self.nseg + layout.nr + np.arange(nb), self.nseg + layout.nr + lk))
        vals = np.concatenate((vals, np.ones(nb), ptdf[li, lk]))
        a = sp.csc_matrix((vals, (rows, cols)), shape=(self.nrow, self.ncol))
        inf = highspy.kHighsInf
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.ncol, self.nrow
        lp.col_cost_ = np.zeros(self.ncol)
        lp.col_lower_ = np.concatenate((np.zeros(self.ncol - nb), np.full(nb, -inf)))
        lp.col_upper_ = np.concatenate((np.zeros(self.ncol - nb), np.full(nb, inf)))
        lim = net.line_limit_mw
        lp.row_lower_ = np.concatenate((np.zeros(nb + 1), -lim))
        lp.row_upper_ = np.concatenate((np.zeros(nb + 1), lim))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = a.indptr.astype(np.int32)
        lp.a_matrix_.index_ = a.indices.astype(np.int32)
        lp.a_matrix_.value_ = a.data
        h = _new_highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", "off")  # keeps the basis across solves; the model is small
        h.passModel(lp)
        self.h = h
        self._cols = np.arange(self.ncol - nb, dtype=np.int32)
        self._rows = np.arange(nb, dtype=np.int32)
        self._cost = np.full(self.ncol - nb, np.nan)

    def solve(self, a_q: np.ndarray, beta_q: np.ndarray, lo_q: np.ndarray, hi_q: np.ndarray,
              rcost: np.ndarray, rlo: np.ndarray, rhi: np.ndarray, load: np.ndarray):
        """Solve with these costs/bounds; returns ``(p_q, x_r, price [nb], eta [nl], flow [nl])``.

        ``price`` are the bus rows' duals (LMPs); ``eta`` the line shadow prices in the
        convention of :mod:`.network_kkt` (``pi = lambda - PTDF^T eta``): the free column
        ``n_k`` has zero reduced cost, so ``pi_k = y_sum + sum_l PTDF[l, k] y_l`` and ``eta = -y_line``."""
        k = self.k
        seg_cost = beta_q[:, None] + a_q[:, None] * (2.0 * self.start + self.width[:, None])
        cost = np.concatenate((seg_cost.ravel(), rcost))
        changed = cost != self._cost
        if changed.any():
            idx = self._cols[changed]
            self.h.changeColsCost(idx.size, idx, cost[changed])
            self._cost = cost
        w = self.width[:, None]
        seg_lo = np.clip(lo_q[:, None] - self.start, 0.0, w).ravel()
        seg_hi = np.clip(hi_q[:, None] - self.start, 0.0, w).ravel()
        self.h.changeColsBounds(self._cols.size, self._cols, np.concatenate((seg_lo, rlo)), np.concatenate((seg_hi, rhi)))
        self.h.changeRowsBounds(self._rows.size, self._rows, load, load)
        self.h.run()
        status = self.h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"network LP ({self.net.name}): HiGHS returned {self.h.modelStatusToString(status)}, "
                               "expected Optimal (the slack columns make every instance feasible)")
        sol = self.h.getSolution()
        xv = np.asarray(sol.col_value)
        p_q = xv[:self.nseg].reshape(-1, k).sum(axis=1) if k else np.zeros(0)
        x_r = xv[self.nseg:self.nseg + self.lay.nr]
        n = xv[self.nseg + self.lay.nr:]
        y = np.asarray(sol.row_dual)
        nb = self.net.n_bus
        return p_q, x_r, y[:nb], -y[nb + 1:], self.net.ptdf @ n

    def iterations(self) -> int:
        """Simplex iterations of the last solve."""
        return int(self.h.getInfo().simplex_iteration_count)
