"""Per-row exact solve of the network backend (:mod:`.network`): seeds, the LP pool, the fallback.

:class:`RowSolver` turns one congested row into a :class:`~gridshift.envs.grid.network_kkt.RowProblem`
and solves it in the order of :mod:`.network`'s stages 1-4: the row's previous active set, the
copper plate's statuses, the HiGHS LP (one warm-started :class:`~gridshift.envs.grid.network_opf.LpModel`
per row key, built on first use) followed by the active-set iteration, and finally the LP's
own answer. It also keeps the statistics the benchmark reports.
"""

from __future__ import annotations

import time

import numpy as np

from gridshift.envs.grid.network_kkt import (
    MAX_ITER,
    RowProblem,
    lmci_at,
    solve_active_set,
    statuses_from_point,
)
from gridshift.envs.grid.network_opf import Layout, LpModel
from gridshift.envs.grid.network_params import NetworkParams
from gridshift.envs.grid.network_result import (
    PATH_FALLBACK,
    PATH_LP,
    PATH_NAMES,
    PATH_REUSE,
    PATH_SEEDED,
    row_costs,
)
from gridshift.envs.grid.types import GridParams

#: Active-set iterations allowed from a seed (previous step, copper plate) before the LP; a
#: seed that has not settled by then is usually wandering (measured on RTS-GMLC: successes
#: take 1-5, failures burn the whole budget).
SEED_ITER = 8


class RowSolver:
    """The congested rows' solver of one :class:`~gridshift.envs.grid.network.NetworkBackend`."""

    def __init__(self, params: GridParams, network: NetworkParams, options):
        self.params, self.network, self.options = params, network, options
        self.layout = Layout.build(network, params.fleet.cost_a_usd_per_mw2h)
        g, nb = params.fleet.n_units, network.n_bus
        self.gen_map = np.zeros((g, nb))
        self.gen_map[np.arange(g), network.gen_bus] = 1.0
        self._models: dict[tuple, LpModel] = {}
        self._seed: dict[tuple, object] = {}
        self.reset_stats()

    def __getstate__(self) -> dict:
        # The HiGHS models and the active-set seeds are caches (warm starts): not pickled.
        state = dict(self.__dict__)
        state["_models"], state["_seed"] = {}, {}
        return state

    def reset_stats(self) -> None:
        self.stats = {"rows": 0, **{p: 0 for p in PATH_NAMES}, "binding_rows": 0, "lp_s": 0.0, "kkt_s": 0.0,
                      "lp_iterations": 0}

    def warm_up(self) -> None:
        """Compile the active-set kernel and solve one LP (see ``NetworkBackend.warm_up``)."""
        fleet, net = self.params.fleet, self.network
        lo = np.asarray(fleet.min_output_mw, dtype=np.float64)
        hi = np.asarray(fleet.capacity_mw, dtype=np.float64)
        load = net.load_share * 0.5 * (lo.sum() + hi.sum())
        costs = [c[0] for c in row_costs(self.params, 1, None)]
        prob = self.row_problem(lo, hi, costs, load, np.zeros(net.n_bus))
        model = LpModel(net, self.layout, fleet.capacity_mw, self.options.segments)
        p_q, x, _, _, flow = model.solve(costs[0][self.layout.qidx], prob.qbeta, prob.qlo, prob.qhi, prob.rcost,
                                         prob.rlo, prob.rhi, load)
        start = statuses_from_point(prob, p_q, x, flow)
        solve_active_set(prob, start)
        lmci_at(prob, start, x)

    def row_problem(self, lo, hi, costs, bus_load, bus_avail) -> RowProblem:
        lay, net, m = self.layout, self.network, self.params.market
        a, bo = costs[0], costs[1]
        q, li = lay.qidx, lay.lidx
        nbus = net.n_bus
        e = self.params.fleet.emission_t_co2_per_mwh
        spill_cap = (hi @ self.gen_map)[lay.spill_bus]
        ns = lay.spill_bus.size
        return RowProblem(
            ptdf=net.ptdf, limit=net.line_limit_mw, load=bus_load,
            qbus=lay.qbus, qh=0.5 / a[q], qbeta=bo[q], qlo=lo[q], qhi=hi[q], qe=e[q],
            rbus=lay.rbus, rsig=lay.rsig,
            rcost=np.concatenate((bo[li], np.zeros(nbus), np.full(nbus, m.voll_usd_per_mwh),
                                  np.full(ns, -m.floor_price_usd_per_mwh))),
            rlo=np.concatenate((lo[li], np.zeros(2 * nbus + ns))),
            rhi=np.concatenate((hi[li], bus_avail, np.maximum(bus_load, 0.0), spill_cap)),
            re=np.concatenate((e[li], np.zeros(2 * nbus + ns))),
            rprio=lay.rprio,
        )

    def _kkt(self, prob, start, max_iter):
        t0 = time.perf_counter()
        sol = solve_active_set(prob, start, max_iter)
        self.stats["kkt_s"] += time.perf_counter() - t0
        return sol

    def solve(self, key, lo, hi, costs, bus_load, bus_avail, cp_point):
        lay, net = self.layout, self.network
        prob = self.row_problem(lo, hi, costs, bus_load, bus_avail)
        st = self.stats
        sol, path, lp_sol = None, PATH_REUSE, None
        seed = self._seed.get(key) if self.options.reuse_active_set else None
        if seed is not None:
            sol = self._kkt(prob, seed, SEED_ITER)
        if sol is None and self.options.reuse_active_set:
            # The copper plate's dispatch with its overloaded lines put at their limits.
            path = PATH_SEEDED
            p_cp, ren, uns, spill, flow = cp_point
            x_cp = np.concatenate((p_cp[lay.lidx], ren, uns, spill[lay.spill_bus]))
            sol = self._kkt(prob, statuses_from_point(prob, p_cp[lay.qidx], x_cp, flow), SEED_ITER)
        if sol is None:
            path = PATH_LP
            model = self._models.get(key)
            if model is None:
                model = self._models[key] = LpModel(net, lay, self.params.fleet.capacity_mw, self.options.segments)
            t0 = time.perf_counter()
            lp_sol = model.solve(costs[0][lay.qidx], prob.qbeta, prob.qlo, prob.qhi, prob.rcost, prob.rlo, prob.rhi,
                                 bus_load)
            st["lp_s"] += time.perf_counter() - t0
            st["lp_iterations"] += model.iterations()
            sol = self._kkt(prob, statuses_from_point(prob, lp_sol[0], lp_sol[1], lp_sol[4]), MAX_ITER)
        if sol is not None:
            self._seed[key] = sol.active
            p_q, x, price, eta, flow, lmci = sol.p, sol.x, sol.price, sol.eta, sol.flow, sol.lmci
        else:
            path = PATH_FALLBACK
            p_q, x, price, eta, flow = lp_sol
            lmci = lmci_at(prob, statuses_from_point(prob, p_q, x, flow), x)
            self._seed.pop(key, None)
        p = np.empty(lo.shape[0])
        p[lay.qidx] = p_q
        nl, nbus = lay.lidx.size, net.n_bus
        p[lay.lidx] = x[:nl]
        ren = x[nl:nl + nbus]
        uns = x[nl + nbus:nl + 2 * nbus]
        spill = np.zeros(nbus)
        spill[lay.spill_bus] = x[nl + 2 * nbus:]
        return p, ren, uns, spill, price, eta, lmci, flow, path
