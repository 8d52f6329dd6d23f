"""Network backend (DC-OPF on a PTDF): hand-computed LMPs, parity with the copper plate,
invariants, LMCI against finite differences, an independent QP check, and the case loaders."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from gridshift.data.csvio import DataFormatError
from gridshift.envs.grid import copper_plate
from gridshift.envs.grid.backend import GridBackend
from gridshift.envs.grid.network import BusExogenous, NetworkBackend, NetworkOptions
from gridshift.envs.grid.network_opf import Layout, LpModel
from gridshift.envs.grid.network_params import NetworkParams
from gridshift.envs.grid.types import (
    Exogenous,
    FleetParams,
    GridParams,
    GridState,
    MarketParams,
    ParamError,
)

NO_SCARCITY = dict(ordc_mu_mw=0.0, ordc_sigma_mw=1e-3, carbon_price_usd_per_t=0.0)
LP_ONLY = NetworkOptions(fast_path=False, reuse_active_set=False)


def make_fleet(units):
    return FleetParams(
        name=tuple(f"u{i}" for i in range(len(units))), fuel=tuple(u.get("fuel", "gas") for u in units),
        capacity_mw=[u["cap"] for u in units], min_output_mw=[u.get("pmin", 0.0) for u in units],
        ramp_mw_per_h=[u.get("ramp", np.inf) for u in units], cost_a_usd_per_mw2h=[u.get("a", 0.0) for u in units],
        cost_b_usd_per_mwh=[u["b"] for u in units], cost_c_usd_per_h=[u.get("c", 0.0) for u in units],
        emission_t_co2_per_mwh=[u.get("e", 0.5) for u in units],
        fuel_price_usd_per_mmbtu=[u.get("fp", 0.0) for u in units], vom_usd_per_mwh=[u.get("vom", 0.0) for u in units])


def make_net(n_bus, lines, gen_bus, load_share, *, slack=0, solar=None, wind=None):
    """lines: (from, to, x, limit) with 0-based buses."""
    z = np.zeros(n_bus)
    return NetworkParams(
        bus_id=tuple(str(i + 1) for i in range(n_bus)), line_id=tuple(f"L{i}" for i in range(len(lines))),
        line_from=np.array([ln[0] for ln in lines]), line_to=np.array([ln[1] for ln in lines]),
        line_x_pu=[ln[2] for ln in lines], line_limit_mw=[ln[3] for ln in lines], gen_bus=np.array(gen_bus),
        load_share=load_share, solar_share=z if solar is None else solar, wind_share=z if wind is None else wind,
        slack_bus=slack)


def one_step(backend, demand, solar=0.0, wind=0.0, dc=0.0, prev=None):
    ex = Exogenous(np.atleast_1d(demand), np.atleast_1d(solar), np.atleast_1d(wind))
    state = backend.initial_state(ex, dc) if prev is None else GridState(np.atleast_2d(prev))
    return backend.clear(state, ex, dc)[1]


# ------------------------------------------------------------------ the textbook 3-bus case


def three_bus(**opts):
    # Equal reactances; G1 (bus 1, $10, 0.9 t/MWh), G2 (bus 2, $20, 0.4 t/MWh); 150 MW at bus 3;
    # line 1-3 limited to 80 MW. Slack bus 3.
    fleet = make_fleet([dict(cap=200, b=10, e=0.9, fuel="coal"), dict(cap=200, b=20, e=0.4)])
    net = make_net(3, [(0, 1, 0.1, 1000), (0, 2, 0.1, 80), (1, 2, 0.1, 1000)], [0, 1], [0, 0, 1], slack=2)
    return NetworkBackend(GridParams(fleet, MarketParams(**NO_SCARCITY)), net, options=NetworkOptions(**opts))


@pytest.mark.parametrize("opts", [{}, {"fast_path": False}, {"fast_path": False, "reuse_active_set": False}])
def test_three_bus_lmps_by_hand(opts):
    # PTDF (slack 3): an injection at bus 1 sends 2/3 over 1-3 and 1/3 over 1-2-3; at bus 2,
    # 1/3 over 1-3 (via 2-1-3) and 2/3 over 2-3. G1 alone would put 100 MW on 1-3 > 80, so
    # f13 = 2/3 p1 + 1/3 p2 = 80 with p1 + p2 = 150: p1 = 90, p2 = 60; f12 = 1/3 p1 - 1/3 p2 = 10,
    # f23 = 1/3 p1 + 2/3 p2 = 70. Both units are marginal: LMP1 = 10, LMP2 = 20. One more MW at
    # bus 3 at a fixed f13 needs dp1 + dp2 = 1, 2/3 dp1 + 1/3 dp2 = 0: dp1 = -1, dp2 = +2, so
    # LMP3 = -10 + 2 * 20 = 30 and LMCI3 = -0.9 + 2 * 0.4 = -0.1 t/MWh (-100 g/kWh). Shadow price
    # of 1-3: LMP1 = LMP3 - 2/3 eta -> eta = 30 $/MWh; rent = eta * 80 MW = 2,400 $/h
    # = 30 * 150 - 10 * 90 - 20 * 60.
    be = three_bus(**opts)
    res = one_step(be, 150.0)
    for _ in range(2):  # the second clear takes the reuse path where enabled
        np.testing.assert_allclose(res.dispatch_mw[0], [90, 60], atol=1e-6)
        np.testing.assert_allclose(res.lmp_usd_per_mwh[0], [10, 20, 30], atol=1e-6)
        np.testing.assert_allclose(res.lmci_g_per_kwh[0], [900, 400, -100], atol=1e-6)
        np.testing.assert_allclose(res.flow_mw[0], [10, 80, 70], atol=1e-6)
        assert res.binding[0].tolist() == [False, True, False]
        np.testing.assert_allclose(res.line_shadow_usd_per_mwh[0], [0, 30, 0], atol=1e-6)
        np.testing.assert_allclose(res.congestion_rent_usd[0], 2400 * 0.25, atol=1e-6)
        assert res.price_usd_per_mwh[0] == pytest.approx(30.0)  # all load at bus 3
        res = one_step(be, 150.0, prev=res.dispatch_mw[0])


def test_three_bus_uncongested_is_one_price():
    be = three_bus()
    res = one_step(be, 100.0)  # G1 alone: f13 = 66.7 < 80
    np.testing.assert_allclose(res.lmp_usd_per_mwh[0], 10.0)
    assert res.solve_path[0] == 0 and not res.binding.any() and res.congestion_rent_usd[0] == 0.0
    assert isinstance(be, GridBackend)


# ------------------------------------------------------------------ small meshed test system


def six_bus(limit=60.0, **market):
    units = [dict(cap=150, b=12, a=0.02, e=0.95, fuel="coal"), dict(cap=120, b=18, a=0.05, e=0.45),
             dict(cap=80, b=25, e=0.6, fuel="oil"), dict(cap=100, b=15, a=0.01, e=0.4, pmin=20, ramp=200),
             dict(cap=60, b=40, a=0.1, e=0.7)]
    lines = [(0, 1, 0.1, limit), (0, 3, 0.2, limit), (1, 2, 0.15, limit), (1, 3, 0.1, limit), (2, 5, 0.2, limit),
             (3, 4, 0.1, limit), (4, 5, 0.2, limit), (1, 4, 0.25, limit)]
    net = make_net(6, lines, [0, 1, 2, 3, 5], [0.05, 0.1, 0.15, 0.2, 0.3, 0.2],
                   solar=[0, 0, 0, 0, 0.5, 0.5], wind=[1.0, 0, 0, 0, 0, 0])
    return GridParams(make_fleet(units), MarketParams(**{**NO_SCARCITY, **market})), net


@st.composite
def bus_inputs(draw):
    d = np.array(draw(st.lists(st.floats(0, 90), min_size=6, max_size=6)))
    ren = np.array(draw(st.lists(st.floats(0, 60), min_size=6, max_size=6)))
    return d, ren


def pwl_reference(params, net, lo, hi, bus_load, bus_avail, k=1000):
    """The OPF in the angle formulation (no PTDF) with each quadratic cost cut into ``k`` chords,
    solved by ``scipy.optimize.linprog``: an independent check of the active-set solver.
    Returns the dispatch, the bus balances' duals, the LP objective and its chord error bound
    ``sum_g a_g (cap_g / k)^2 / 4`` (the chords over-estimate the quadratic by at most that)."""
    m = params.market
    a, b = params.fleet.cost_a_usd_per_mw2h, params.offer_b_cached()
    cap = params.fleet.capacity_mw
    g, nb, nl = a.size, net.n_bus, net.n_line
    gb = np.unique(net.gen_bus)
    cols_bus, cost, lb, ub, unit = [], [], [], [], []
    for u in range(g):
        if a[u] > 0:  # chords of [0, cap]; the ramp bounds go on the segments, filled in order
            w = cap[u] / k
            start = w * np.arange(k)
            cost += list(b[u] + a[u] * (2 * start + w))
            lb += list(np.clip(lo[u] - start, 0, w))
            ub += list(np.clip(hi[u] - start, 0, w))
            cols_bus += [net.gen_bus[u]] * k
            unit += [u] * k
        else:
            cost.append(b[u])
            lb.append(lo[u])
            ub.append(hi[u])
            cols_bus.append(net.gen_bus[u])
            unit.append(u)
    n_p = len(cost)
    sig = [1.0] * n_p + [1.0] * (2 * nb) + [-1.0] * gb.size
    cols_bus += list(range(nb)) * 2 + list(gb)
    cost += [0.0] * nb + [m.voll_usd_per_mwh] * nb + [-m.floor_price_usd_per_mwh] * gb.size
    lb += [0.0] * (2 * nb + gb.size)
    ub += list(bus_avail) + list(bus_load) + [hi.sum()] * gb.size
    th0 = len(cost)
    cost += [0.0] * nb
    lb += [0.0 if i == net.slack_bus else None for i in range(nb)]
    ub += [0.0 if i == net.slack_bus else None for i in range(nb)]
    a_eq = np.zeros((nb, th0 + nb))
    a_eq[np.array(cols_bus), np.arange(th0)] = sig
    a_ub = np.zeros((2 * nl, th0 + nb))
    for ln in range(nl):
        f, t, bl = net.line_from[ln], net.line_to[ln], 100.0 / net.line_x_pu[ln]
        a_eq[f, th0 + f] -= bl
        a_eq[f, th0 + t] += bl
        a_eq[t, th0 + f] += bl
        a_eq[t, th0 + t] -= bl
        a_ub[ln, [th0 + f, th0 + t]] = [bl, -bl]
        a_ub[nl + ln, [th0 + f, th0 + t]] = [-bl, bl]
    res = linprog(cost, A_ub=a_ub, b_ub=np.concatenate([net.line_limit_mw] * 2), A_eq=a_eq, b_eq=bus_load,
                  bounds=list(zip(lb, ub, strict=True)), method="highs")
    assert res.status == 0, res.message
    p = np.bincount(np.array(unit), res.x[:n_p], g)
    return p, res.eqlin.marginals, res.fun, float((a * (cap / k) ** 2 / 4).sum())


@settings(max_examples=40, deadline=None)
@given(bus_inputs())
@example((np.array([68.6328125, 1.0, 33.0, 2.0, 89.0, 0.0]), np.array([0.0, 24.0, 0.0, 1.0, 1e-6, 1.0])))
def test_invariants_and_independent_qp(inputs):
    d, ren = inputs
    params, net = six_bus()
    be = NetworkBackend(params, net)
    ex = BusExogenous(d[None], ren[None], np.zeros((1, 6)))
    state = be.initial_state(ex)
    _, r = be.clear(state, ex)
    tol = 1e-6 * max(1.0, d.sum())
    # energy balance and the copper plate's accounting identities
    assert r.thermal_mw[0] + r.renewable_used_mw[0] + r.unserved_mw[0] == pytest.approx(
        r.total_demand_mw[0] + r.overgeneration_mw[0], abs=tol)
    assert r.renewable_used_mw[0] + r.curtailment_mw[0] == pytest.approx(ren.sum(), abs=tol)
    # flows within limits and equal to PTDF x net injection
    assert (np.abs(r.flow_mw[0]) <= net.line_limit_mw + 1e-5).all()
    lo, hi = be.unit_bounds(state.dispatch_mw)
    assert (r.dispatch_mw >= lo - 1e-9).all() and (r.dispatch_mw <= hi + 1e-9).all()
    # congestion rent: merchandising surplus = sum over lines |eta| F
    eta = r.line_shadow_usd_per_mwh[0]
    assert r.congestion_rent_usd[0] == pytest.approx(0.25 * (np.abs(eta) * net.line_limit_mw).sum(), abs=1e-6)
    # LMPs = lambda_slack - PTDF^T eta
    pi = r.energy_lmp_usd_per_mwh[0]
    np.testing.assert_allclose(pi, pi[net.slack_bus] - net.ptdf.T @ eta, atol=1e-6)
    # the optimum of an independent formulation (angles, fine chords, scipy's linprog)
    p_ref, y_ref, obj_ref, chord = pwl_reference(params, net, lo[0], hi[0], r.bus_load_mw[0], ren)
    x = r.dispatch_mw[0]
    a, b = params.fleet.cost_a_usd_per_mw2h, params.offer_b_cached()
    obj = (a * x * x + b * x).sum() + 5000.0 * r.unserved_mw[0] + 20.0 * r.overgeneration_mw[0]
    # exact optimum between the LP's bounds, up to the LP solver's own tolerance (HiGHS stops
    # within ~1e-7 MW of feasibility: ~1e-5 $/h on a 2,500 $/h objective was seen)
    ftol = 1e-6 + 1e-8 * abs(obj_ref)
    assert obj_ref - chord - ftol <= obj <= obj_ref + ftol
    np.testing.assert_allclose(x, p_ref, atol=0.5)
    np.testing.assert_allclose(pi, y_ref, atol=0.1)


def test_parity_with_copper_plate_when_no_line_binds():
    params, net = six_bus(limit=1e5, carbon_price_usd_per_t=30.0, ordc_mu_mw=50.0, ordc_sigma_mw=40.0)
    rng = np.random.default_rng(7)
    for opts in (NetworkOptions(), NetworkOptions(fast_path=False), LP_ONLY):
        be = NetworkBackend(params, net, options=opts)
        demand = rng.uniform(40, 480, 12)
        solar, wind = rng.uniform(0, 80, 12), rng.uniform(0, 60, 12)
        ex = Exogenous(demand, solar, wind)
        st0 = be.initial_state(ex)
        prev = st0.dispatch_mw + rng.uniform(-30, 30, st0.dispatch_mw.shape)
        prev = np.clip(prev, params.fleet.min_output_mw, params.fleet.capacity_mw)
        _, res = be.clear(GridState(prev), ex)
        _, ref = copper_plate.clear(params, GridState(prev), ex)
        np.testing.assert_allclose(res.dispatch_mw, ref.dispatch_mw, atol=1e-6)
        np.testing.assert_allclose(res.packed, ref.packed, rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(res.lmp_usd_per_mwh, np.repeat(ref.price_usd_per_mwh[:, None], 6, 1), atol=1e-6)
        assert not res.binding.any()
        assert (res.solve_path == 0).all() if opts.fast_path else (res.solve_path > 0).all()


def test_parity_with_commitment_and_gas_price():
    params, net = six_bus(limit=1e5)
    params = GridParams(params.fleet.replace(fuel_price_usd_per_mmbtu=np.array([0, 3.0, 0, 3.0, 3.0]),
                                             vom_usd_per_mwh=np.array([0, 2.0, 0, 1.0, 3.0])), params.market)
    be = NetworkBackend(params, net, options=NetworkOptions(fast_path=False))
    ex = Exogenous(np.array([300.0, 420.0]), np.array([20.0, 0.0]), np.array([10.0, 5.0]))
    online = np.array([[True, True, False, True, True], [True, False, True, True, True]])
    prev = np.array([[100.0, 0.0, 30.0, 40.0, 0.0], [120.0, 50.0, 0.0, 60.0, 10.0]])
    gas = np.array([2.0, 6.5])
    _, res = be.clear(GridState(prev), ex, 0.0, online=online, gas_price=gas)
    _, ref = copper_plate.clear(params, GridState(prev), ex, 0.0, online=online, gas_price=gas)
    np.testing.assert_allclose(res.dispatch_mw, ref.dispatch_mw, atol=1e-6)
    np.testing.assert_allclose(res.packed, ref.packed, rtol=1e-9, atol=1e-6)


def test_lmci_matches_finite_differences():
    params, net = six_bus(limit=45.0)
    be = NetworkBackend(params, net, options=NetworkOptions(fast_path=False))
    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(6):
        d = rng.uniform(10, 70, 6)
        ex = BusExogenous(d[None], np.zeros((1, 6)), np.zeros((1, 6)))
        state = be.initial_state(ex)
        _, base = be.clear(state, ex)
        if not base.binding.any():
            continue
        eps = 1e-4
        for k in range(6):
            dk = d.copy()
            dk[k] += eps
            _, up = be.clear(state, BusExogenous(dk[None], np.zeros((1, 6)), np.zeros((1, 6))))
            fd = (up.emissions_t_co2[0] - base.emissions_t_co2[0]) / 0.25 / eps * 1000.0
            assert fd == pytest.approx(base.lmci_g_per_kwh[0, k], abs=1e-3)
            checked += 1
    assert checked >= 12  # at least two congested draws
    assert np.ptp(base.lmci_g_per_kwh) > 1.0  # and congestion does make LMCI location-specific


def test_paths_batch_and_reuse_agree():
    params, net = six_bus(limit=50.0)
    rng = np.random.default_rng(11)
    d = rng.uniform(5, 80, (8, 6))
    ren = rng.uniform(0, 40, (8, 6))
    ex = BusExogenous(d, ren, np.zeros((8, 6)))
    fast = NetworkBackend(params, net)
    state = fast.initial_state(ex)
    _, a = fast.clear(state, ex)
    _, a2 = fast.clear(state, ex)  # seeded by the first solve
    lp = NetworkBackend(params, net, options=LP_ONLY)
    rows = [lp.clear(GridState(state.dispatch_mw[i:i + 1]), BusExogenous(d[i:i + 1], ren[i:i + 1], np.zeros((1, 6))))[1]
            for i in range(8)]
    for res in (a2, *rows):
        assert res.solve_path.max() <= 4
    np.testing.assert_allclose(a.dispatch_mw, a2.dispatch_mw, atol=1e-6)
    np.testing.assert_allclose(a.dispatch_mw, np.vstack([r.dispatch_mw for r in rows]), atol=1e-6)
    np.testing.assert_allclose(a.lmp_usd_per_mwh, np.vstack([r.lmp_usd_per_mwh for r in rows]), atol=1e-6)
    assert fast.stats["reuse"] > 0 and lp.stats["lp"] == 8 and lp.stats["fallback"] == 0


def test_pwl_lp_error_is_within_its_bound():
    # The LP (the fallback answer) prices within a * cap / K of the exact quadratic optimum.
    params, net = six_bus(limit=1e5)
    lay = Layout.build(net, params.fleet.cost_a_usd_per_mw2h)
    be = NetworkBackend(params, net)
    for k in (2, 6, 20):
        model = LpModel(net, lay, params.fleet.capacity_mw, k)
        ex = Exogenous(np.array([330.0]), np.zeros(1), np.zeros(1))
        ref = copper_plate.clear_unconstrained(params, ex)
        lo, hi = be.unit_bounds(np.broadcast_to(params.fleet.min_output_mw, (1, 5)).copy(), ramp=False)
        prob = be.rows.row_problem(lo[0], hi[0], [c[0] for c in copper_plate_costs(params)], 330.0 * net.load_share,
                               np.zeros(6))
        p_q, x, price, _, _ = model.solve(params.fleet.cost_a_usd_per_mw2h[lay.qidx], prob.qbeta, prob.qlo, prob.qhi,
                                          prob.rcost, prob.rlo, prob.rhi, prob.load)
        bound = (params.fleet.cost_a_usd_per_mw2h * params.fleet.capacity_mw).max() / k
        assert abs(price[0] - ref.system_lambda_usd_per_mwh[0]) <= bound + 1e-9
        assert p_q.sum() + x[:lay.lidx.size].sum() == pytest.approx(330.0)


def copper_plate_costs(params):
    from gridshift.envs.grid.network_result import row_costs
    return row_costs(params, 1, None)


def test_hot_path_per_dc_and_day_ahead():
    params, net = six_bus(limit=40.0)
    be = NetworkBackend(params, net, dc_bus=["5", 2])  # bus id "5" (index 4) and index 2
    demand, avail = np.array([150.0, 200.0]), np.array([30.0, 10.0])
    dc = np.array([[20.0, 5.0], [0.0, 40.0]])
    prev = be.initial_dispatch(demand, avail, dc)
    res = be.clear_step(prev, demand, avail, dc)
    per_bus = np.zeros((2, 6))
    per_bus[:, 4], per_bus[:, 2] = dc[:, 0], dc[:, 1]
    ref = NetworkBackend(params, net).clear_bus_arrays(prev, demand[:, None] * net.load_share,
                                                       avail[:, None] * net.renewable_share, per_bus)
    np.testing.assert_allclose(res.lmp_usd_per_mwh, ref.lmp_usd_per_mwh, atol=1e-9)
    np.testing.assert_array_equal(be.dc_price(res, 2), res.lmp_usd_per_mwh[:, [4, 2]])
    da = be.day_ahead(np.array([100.0, 180.0, 260.0]), np.zeros(3), np.array([0.0, 20.0, 40.0]), 30.0)
    assert da.lmp_usd_per_mwh.shape == (3, 6) and (da.total_demand_mw == [130.0, 210.0, 290.0]).all()


# ------------------------------------------------------------------ bad input fails fast


def test_bad_inputs_name_the_field():
    params, net = six_bus()
    with pytest.raises(ParamError, match="line_x_pu"):
        net.replace(line_x_pu=np.r_[-1.0, net.line_x_pu[1:]])
    with pytest.raises(ParamError, match="connect every bus"):
        make_net(3, [(0, 1, 0.1, 10)], [0], [0.5, 0.5, 0])
    with pytest.raises(ParamError, match="load_share"):
        net.replace(load_share=np.full(6, 0.5))
    be = NetworkBackend(params, net, dc_bus=[1])
    ex = Exogenous(np.array([100.0]), np.zeros(1), np.zeros(1))
    with pytest.raises(ParamError, match="dc_load_mw"):
        be.clear(GridState(np.zeros((1, 5))), ex, np.ones((1, 3)))
    with pytest.raises(ParamError, match="BusExogenous.demand_mw"):
        BusExogenous(-np.ones((1, 6)), np.zeros((1, 6)), np.zeros((1, 6)))
    with pytest.raises(ParamError, match="dc_bus"):
        NetworkBackend(params, net, dc_bus=[9])
    with pytest.raises(ParamError, match="gen_bus"):
        NetworkBackend(GridParams(make_fleet([dict(cap=1, b=1)])), net)


# ------------------------------------------------------------------ the cases (shared data)


def dc_flows(net, inj):
    """Flows of a DC power-flow solve B theta = P (slack angle 0), independent of the PTDF."""
    inc = np.zeros((net.n_line, net.n_bus))
    inc[np.arange(net.n_line), net.line_from] = 1.0
    inc[np.arange(net.n_line), net.line_to] = -1.0
    b = 1.0 / net.line_x_pu
    bbus = inc.T @ (b[:, None] * inc)
    keep = np.arange(net.n_bus) != net.slack_bus
    theta = np.zeros(net.n_bus)
    theta[keep] = np.linalg.solve(bbus[np.ix_(keep, keep)], inj[keep])
    return b * (inc @ theta)


@pytest.mark.shared_data
def test_rts_gmlc_case(shared_data):
    from gridshift.data.network_cases import load_rts_gmlc_case, rts_bus_exogenous

    case = load_rts_gmlc_case(shared_data / "fleets")
    net = case.network
    assert (net.n_bus, net.n_line, len(set(net.bus_area.tolist()))) == (73, 120, 3)
    assert net.bus_id[net.slack_bus] == "113" and case.fleet.n_units == net.n_units
    assert case.peak_load_mw == pytest.approx(8550.0)
    rng = np.random.default_rng(0)
    inj = rng.normal(0, 100, net.n_bus)
    inj -= inj.mean()
    np.testing.assert_allclose(net.flows_mw(inj), dc_flows(net, inj), atol=1e-8)
    sites = case.dc_sites()
    assert len(sites.bus_id) == 8 and set(sites.tz) == {"America/Los_Angeles", "America/Phoenix"}
    assert case.dc_sites(["Astor", 113], n=2).bus_id == ("118", "113")
    idx, d, s, w = rts_bus_exogenous(case, shared_data / "fleets")
    assert d.shape == (8784, 73) and d.sum(axis=1).max() <= 8550.0 + 1e-6
    be = NetworkBackend(case.grid_params(step_minutes=60.0), net, dc_bus=sites.bus_index)
    ex = BusExogenous(d[4000:4002], s[4000:4002], w[4000:4002])
    state = be.initial_state(ex, np.full(8, 50.0))
    _, r = be.clear(state, ex, np.full(8, 50.0))
    assert (np.abs(r.flow_mw) <= net.line_limit_mw + 1e-5).all()
    assert r.total_demand_mw == pytest.approx(d[4000:4002].sum(axis=1) + 400.0)


@pytest.mark.shared_data
def test_ieee30_case(shared_data):
    from gridshift.data.network_cases import load_ieee30_case

    case = load_ieee30_case(shared_data / "fleets")
    net = case.network
    assert (net.n_bus, net.n_line, case.fleet.n_units) == (30, 41, 6)
    assert net.slack_bus == 0 and net.gen_bus.tolist() == [0, 1, 21, 26, 22, 12]
    assert (net.line_from[0], net.line_to[0], net.line_x_pu[0], net.line_limit_mw[0]) == (0, 1, 0.06, 130.0)
    assert case.peak_load_mw == pytest.approx(189.2)
    inj = np.random.default_rng(1).normal(0, 10, 30)
    inj -= inj.mean()
    np.testing.assert_allclose(net.flows_mw(inj), dc_flows(net, inj), atol=1e-9)
    assert case.dc_sites(n=5).bus_id == ("8", "7", "21", "12", "30")


def test_ieee30_branch_table_is_shipped(tmp_path):
    from gridshift.data.network_cases import IEEE30_BRANCH_CSV, load_ieee30_case

    text = IEEE30_BRANCH_CSV.read_text()
    assert "pypower 5.1.21" in text and "BSD" in text
    assert len([ln for ln in text.splitlines() if ln and not ln.startswith("#")]) == 42  # header + 41
    bad = tmp_path / "b.csv"
    bad.write_text(text.replace("\n6,28,", "\n6,99,"))
    (tmp_path / "ieee").mkdir()
    buses = "".join(f"{i},{3 if i == 1 else 1},1.0,1\n" for i in range(1, 31))
    (tmp_path / "ieee" / "case30_bus.csv").write_text("bus_i,type,Pd,area\n" + buses)
    (tmp_path / "ieee" / "case30_gen_gencost.csv").write_text(
        "bus,Pmax,Pmin,cost_coef_2,cost_coef_1,cost_coef_0\n1,50,0,0.01,2,0\n")
    assert load_ieee30_case(tmp_path).network.n_line == 41  # the shipped table on a synthetic bus table
    with pytest.raises(DataFormatError, match=r"column 'tbus', data row 41 .*99.*not a known bus"):
        load_ieee30_case(tmp_path, branch_csv=bad)


def test_backend_pickles_without_its_solver_caches():
    import pickle

    params, net = six_bus(limit=40.0)
    be = NetworkBackend(params, net)
    first = one_step(be, 260.0)
    assert first.binding.any() and (be.rows._models or be.rows._seed)
    again = one_step(pickle.loads(pickle.dumps(be)), 260.0)
    np.testing.assert_allclose(again.lmp_usd_per_mwh, first.lmp_usd_per_mwh, atol=1e-9)


# ------------------------------------------------------------------ the network scenarios (shared data)


@pytest.mark.shared_data
@pytest.mark.parametrize("scenario", ["rts_gmlc", "ieee30"])
def test_network_scenarios_pass_pettingzoo_conformance(scenario, shared_data):
    from pettingzoo.test import parallel_api_test

    from gridshift.envs import datacenter_grid_v0

    env = datacenter_grid_v0.parallel_env(scenario=scenario, horizon_steps=24, warmup_steps=8)
    parallel_api_test(env, num_cycles=30)
    env.reset(seed=0)
    n_bus = env.params.backend.network.n_bus
    assert env.state().shape == (11 + 5 * len(env.possible_agents) + n_bus + env.params.backend.network.n_line,)
    assert env.layout.names[-2:] == ("local_price", "local_marginal_ci")


@pytest.mark.shared_data
def test_dcs_at_different_buses_pay_and_see_their_own_lmp(shared_data):
    """IEEE 30: lines bind often; each DC's bill is its load at its bus's LMP, its observation
    shows that LMP, and DCs at different buses see different prices when a line binds."""
    from gridshift.envs.dcgrid import core
    from gridshift.envs.dcgrid.vector import DCGridVectorEnv

    env = DCGridVectorEnv("ieee30", num_envs=2, autoreset=False, horizon_steps=48, warmup_steps=8)
    env.reset(seed=0)
    p = env.params
    spread = 0.0
    for _ in range(48):
        info = env.step(np.zeros((2, p.n_agents), np.int64))[4]
        g = info["grid"]
        lmp = g.lmp_usd_per_mwh[:, list(p.backend.dc_bus)]
        np.testing.assert_allclose(info["bill_usd"], lmp * info["load_mw"] * p.scenario.step_hours)
        obs = core.observe(p, env.state)
        np.testing.assert_allclose(obs[..., p.layout["local_price"]], np.clip(lmp / 100.0, p.obs_low[-2], p.obs_high[-2]),
                                   rtol=1e-5)
        spread = max(spread, float((lmp.max(axis=1) - lmp.min(axis=1)).max()))
    assert spread > 1.0  # $/MWh: congestion separates the DCs' prices


@pytest.mark.shared_data
def test_no_line_binds_means_one_price_for_every_dc(shared_data):
    """With line limits lifted, the network gives every DC the copper plate's system price."""
    import dataclasses

    from gridshift.envs.dcgrid.vector import DCGridVectorEnv

    env = DCGridVectorEnv("ieee30", num_envs=1, autoreset=False, horizon_steps=16, warmup_steps=4)
    old = env.params.backend
    net = dataclasses.replace(old.network, line_limit_mw=old.network.line_limit_mw * 1e4)
    env.params = dataclasses.replace(env.params, backend=NetworkBackend(old.params, net, dc_bus=old.dc_bus))
    env.reset(seed=1)
    for _ in range(16):
        info = env.step(np.zeros((1, env.n_agents), np.int64))[4]
        lmp = info["grid"].lmp_usd_per_mwh
        assert not info["grid"].binding.any()
        np.testing.assert_allclose(lmp, np.broadcast_to(info["grid"].price_usd_per_mwh[:, None], lmp.shape), rtol=1e-9)
