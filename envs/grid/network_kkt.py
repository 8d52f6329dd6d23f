"""Exact DC-OPF with quadratic costs by an active-set method, and its sensitivities (LMCI).

The OPF of one row (see :mod:`.network` for the model) is a convex QP: quadratic units
``g`` with ``C_g(p) = a_g p^2 + beta_g p`` on ``[lo_g, hi_g]``, *linear resources* ``j`` (linear
units, renewables at cost 0, unserved load at VOLL, spilled over-generation at ``-floor``) with
cost ``c_j`` per MW on ``[l_j, u_j]`` injecting ``sigma_j x_j`` (``sigma = -1`` for spill) at their
bus, one balance row and ``|PTDF (inj - load)| <= F`` per line.

**Active set.** Given which lines sit at a limit (``act_l = +-1``), which quadratic units are
strictly inside their bounds (``sq = 0``) and which linear resources are marginal (``sr = 0``),
the KKT conditions are linear. With rows ``m`` = the balance and the active lines,
``r_bal(k) = 1``, ``r_l(k) = PTDF[l, k]``, and multipliers ``w = (lambda, -eta_L)``:

* prices ``pi_k = sum_m r_m(k) w_m = lambda - sum_l PTDF[l, k] eta_l`` (``lambda`` is the price at
  the slack bus, where every PTDF column is 0; ``eta_l`` the line's shadow price, > 0 at ``+F``);
* free quadratic units ``p_g = (pi_k(g) - beta_g) / (2 a_g)``; marginal linear resources
  ``sigma_j pi_k(j) = c_j``;
* each row ``m`` holds with equality: ``sum_k r_m(k) (inj_k - load_k) = target_m`` (0 for the
  balance, ``act_l F_l`` for a line).

That is the saddle-point system ``[[H, C], [C^T, 0]] [w; x_J] = rhs`` with
``H = R_F diag(1/(2a)) R_F^T`` and ``C`` the columns ``sigma_j r(k(j))`` of the marginal
resources (members with the same cost and the same column, e.g. identical units at one bus,
are merged into one unknown and split afterwards: renewables first, then pro rata to
headroom, the copper plate's tie rule). :func:`solve_active_set` is a primal-dual active-set
iteration (Hintermueller, Ito & Kunisch, SIAM J. Optim. 13(3), 2003): solve, re-derive every
status from the new prices, flows and multipliers, repeat until nothing changes. A linear
resource whose reduced cost has the wrong sign becomes marginal; a marginal group outside
its bounds goes to the bound it crossed; lines enter (the most overloaded) or leave (the most
wrongly priced) one at a time. A fixed
point satisfies every KKT condition of the convex QP, so it is *the* optimum; it is checked
once more (balance, limits, equation residuals) before it is returned. Otherwise ``None``:
the caller tries another start or falls back to the LP. The iteration is a Numba kernel
(:mod:`.network_kkt_kernel`; tens of microseconds per solve on RTS-GMLC, where a NumPy version
spent about ten times that on call overhead).

**LMCI.** The locational marginal carbon intensity ``d(emissions)/d(load_k)`` follows from the
same system (Rudkevich & Ruiz, "Locational carbon footprint of the power industry:
implications for operations, planning and policy making", in *Handbook of CO2 in Power
Systems*, Springer 2012; Ruiz & Rudkevich, "Analysis of marginal carbon intensities in
constrained power networks", HICSS 2010): one more MW of load at bus ``k`` changes the
right-hand side by ``r_m(k)`` and leaves the marginal-resource equations alone, so
``[dw; dx_J] = K^-1 [R; 0] e_k``; the marginal units respond with ``dp_g = r(k(g))^T dw / (2 a_g)``
and ``dx_J``, and ``LMCI_k = sum_g e_g dp_g``. With no binding line every bus sees the same
mix (the copper plate's marginal CI); a binding line makes the marginal units' responses
location-specific and can make an LMCI negative (more load at a bus behind a constraint can
shift output from a dirty unit to a clean one). The derivative is one-sided at degenerate
points (a unit exactly at a bound), as for any basis-derived sensitivity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridshift.envs.grid.network_kkt_kernel import TOL_MW, _pdas

#: Most active-set iterations before giving up (the LP is the fallback).
MAX_ITER = 25


@dataclass(frozen=True, eq=False)
class RowProblem:
    """One row's OPF data (see the module docstring); ``q*`` quadratic units, ``r*`` linear resources."""

    ptdf: np.ndarray      # [nl, nb]
    limit: np.ndarray     # [nl]
    load: np.ndarray      # [nb] MW withdrawn at each bus
    qbus: np.ndarray      # [nq] int64
    qh: np.ndarray        # [nq] 1 / (2 a)
    qbeta: np.ndarray     # [nq] linear offer coefficient
    qlo: np.ndarray
    qhi: np.ndarray
    qe: np.ndarray        # [nq] emission factor (t/MWh)
    rbus: np.ndarray      # [nr] int64
    rsig: np.ndarray      # [nr] +1 injection, -1 withdrawal (spill)
    rcost: np.ndarray     # [nr] $/MWh
    rlo: np.ndarray
    rhi: np.ndarray
    re: np.ndarray        # [nr] emission factor (t/MWh)
    rprio: np.ndarray     # [nr] int64: 0 takes a tie first (renewables), 1 pro rata after


@dataclass(frozen=True, eq=False)
class ActiveSet:
    sq: np.ndarray   # [nq] int8: -1 at lo, 0 free, +1 at hi
    sr: np.ndarray   # [nr] int8: -1 at lower, 0 marginal, +1 at upper
    act: np.ndarray  # [nl] int8: 0 inactive, +1 at +F, -1 at -F


@dataclass(frozen=True, eq=False)
class KktSolution:
    p: np.ndarray        # [nq] quadratic units' output
    x: np.ndarray        # [nr] linear resources' amounts
    price: np.ndarray    # [nb] energy LMP pi
    eta: np.ndarray      # [nl] line shadow prices (0 when inactive)
    flow: np.ndarray     # [nl]
    lmci: np.ndarray     # [nb] t/MWh
    active: ActiveSet
    iterations: int


def statuses_from_point(prob: RowProblem, p: np.ndarray, x: np.ndarray, flow: np.ndarray) -> ActiveSet:
    """Active set read off a (possibly approximate) solution, e.g. the LP's or the copper plate's."""
    tq = TOL_MW * np.maximum(1.0, prob.qhi - prob.qlo)
    sq = np.where(p <= prob.qlo + tq, -1, np.where(p >= prob.qhi - tq, 1, 0)).astype(np.int8)
    tr = TOL_MW * np.maximum(1.0, prob.rhi - prob.rlo)
    sr = np.where(x <= prob.rlo + tr, -1, np.where(x >= prob.rhi - tr, 1, 0)).astype(np.int8)
    tl = 1e-6 * np.maximum(1.0, prob.limit)
    act = np.where(flow >= prob.limit - tl, 1, np.where(flow <= -prob.limit + tl, -1, 0)).astype(np.int8)
    return ActiveSet(sq, sr, act)


def _args(prob: RowProblem):
    return (prob.ptdf, prob.limit, prob.load, prob.qbus, prob.qh, prob.qbeta, prob.qlo, prob.qhi, prob.qe, prob.rbus,
            prob.rsig, prob.rcost, prob.rlo, prob.rhi, prob.re, prob.rprio)


def solve_active_set(prob: RowProblem, start: ActiveSet, max_iter: int = MAX_ITER) -> KktSolution | None:
    """The exact optimum reached from ``start`` by the primal-dual active-set iteration, or
    ``None`` when it does not settle within ``max_iter`` or fails the final check."""
    nb, nl = prob.load.shape[0], prob.limit.shape[0]
    sq, sr, act = start.sq.copy(), start.sr.copy(), start.act.copy()
    p = np.empty(prob.qbus.shape[0])
    x = np.empty(prob.rbus.shape[0])
    price, lmci = np.empty(nb), np.empty(nb)
    eta, flow = np.empty(nl), np.empty(nl)
    it = _pdas(*_args(prob), sq, sr, act, max_iter, True, p, x, price, eta, flow, lmci)
    if it < 0:
        return None
    return KktSolution(p, x, price, eta, flow, lmci, ActiveSet(sq, sr, act), it)


def lmci_at(prob: RowProblem, act_set: ActiveSet, x: np.ndarray) -> np.ndarray:
    """LMCI (t/MWh) for a given active set and linear-resource amounts ``x``, without
    iterating (the LP fallback's statuses)."""
    nb, nl = prob.load.shape[0], prob.limit.shape[0]
    sq, sr, act = act_set.sq.copy(), act_set.sr.copy(), act_set.act.copy()
    p, x = np.empty(prob.qbus.shape[0]), np.array(x, dtype=np.float64)
    price, lmci, eta, flow = np.empty(nb), np.zeros(nb), np.empty(nl), np.empty(nl)
    _pdas(*_args(prob), sq, sr, act, 1, False, p, x, price, eta, flow, lmci)
    return lmci
