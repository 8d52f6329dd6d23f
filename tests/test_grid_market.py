"""Copper-plate market clearing: hand-computed cases, endogeneity, and invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridshift.data.synthetic import default_grid_params
from gridshift.envs.grid import (
    CopperPlateBackend,
    Exogenous,
    FleetParams,
    GridBackend,
    GridParams,
    GridState,
    MarketParams,
    ParamError,
    clear,
    initial_state,
)

# ORDC that is negligible unless reserve is below ~0 MW: isolates the energy price.
NO_SCARCITY = dict(ordc_mu_mw=0.0, ordc_sigma_mw=1e-3)


def fleet(units, fuel="gas"):
    """units: list of dicts with cap, b and optional a, c, pmin, ramp, e."""
    return FleetParams(
        name=tuple(f"u{i}" for i in range(len(units))),
        fuel=tuple(u.get("fuel", fuel) for u in units),
        capacity_mw=np.array([u["cap"] for u in units], float),
        min_output_mw=np.array([u.get("pmin", 0.0) for u in units], float),
        ramp_mw_per_h=np.array([u.get("ramp", np.inf) for u in units], float),
        cost_a_usd_per_mw2h=np.array([u.get("a", 0.0) for u in units], float),
        cost_b_usd_per_mwh=np.array([u["b"] for u in units], float),
        cost_c_usd_per_h=np.array([u.get("c", 0.0) for u in units], float),
        emission_t_co2_per_mwh=np.array([u.get("e", 0.5) for u in units], float),
    )


def clear_once(params, demand, solar=0.0, wind=0.0, dc=0.0, prev=None):
    ex = Exogenous(demand_mw=[demand], solar_mw=[solar], wind_mw=[wind])
    if prev is None:
        state = initial_state(params, ex, dc)
    else:
        state = GridState(dispatch_mw=np.array([prev], float))
    _, res = clear(params, state, ex, dc)
    return res


# ---------------------------------------------------------------- merit orders


def test_two_unit_merit_order_and_carbon():
    # Cheap dirty unit A (100 MW, $10, 1.0 t/MWh), dear clean unit B (100 MW, $30, 0.5 t/MWh).
    p = GridParams(fleet([dict(cap=100, b=10, e=1.0), dict(cap=100, b=30, e=0.5)]), MarketParams(**NO_SCARCITY))
    r = clear_once(p, 150.0)
    np.testing.assert_allclose(r.dispatch_mw[0], [100.0, 50.0])
    assert r.system_lambda_usd_per_mwh[0] == pytest.approx(30.0)
    assert r.price_usd_per_mwh[0] == pytest.approx(30.0)
    # Average CI: (100*1.0 + 50*0.5) / 150 t/MWh = 0.8333 -> 833.3 g/kWh; marginal is B's 500.
    assert r.avg_ci_g_per_kwh[0] == pytest.approx(1000 * 125 / 150)
    assert r.marginal_ci_g_per_kwh[0] == pytest.approx(500.0)
    # Below A's capacity, A is marginal: price 10, marginal CI 1000 but average also 1000.
    r = clear_once(p, 80.0)
    np.testing.assert_allclose(r.dispatch_mw[0], [80.0, 0.0])
    assert r.price_usd_per_mwh[0] == pytest.approx(10.0)
    assert r.marginal_ci_g_per_kwh[0] == pytest.approx(1000.0)
    # Emissions and cost over a 15-minute step: 125 t/h * 0.25 h; fuel (100*10 + 50*30) * 0.25.
    r = clear_once(p, 150.0)
    assert r.emissions_t_co2[0] == pytest.approx(125 * 0.25)
    assert r.fuel_cost_usd[0] == pytest.approx(2500 * 0.25)
    assert r.system_cost_usd[0] == pytest.approx(2500 * 0.25 + 50.0 * 125 * 0.25)


def test_three_unit_merit_order():
    p = GridParams(fleet([dict(cap=50, b=35), dict(cap=50, b=20), dict(cap=50, b=50)]), MarketParams(**NO_SCARCITY))
    r = clear_once(p, 120.0)
    np.testing.assert_allclose(r.dispatch_mw[0], [50.0, 50.0, 20.0])
    assert r.price_usd_per_mwh[0] == pytest.approx(50.0)
    r = clear_once(p, 70.0)
    np.testing.assert_allclose(r.dispatch_mw[0], [20.0, 50.0, 0.0])
    assert r.price_usd_per_mwh[0] == pytest.approx(35.0)


def test_tied_linear_units_share_pro_rata():
    p = GridParams(fleet([dict(cap=100, b=20), dict(cap=300, b=20)]), MarketParams(**NO_SCARCITY))
    r = clear_once(p, 200.0)
    np.testing.assert_allclose(r.dispatch_mw[0], [50.0, 150.0])
    assert r.price_usd_per_mwh[0] == pytest.approx(20.0)


def test_quadratic_equal_lambda():
    # C1 = 0.01 p^2 + 10 p, C2 = 0.02 p^2 + 12 p. Equal lambda: p1 = (l-10)/0.02, p2 = (l-12)/0.04,
    # p1 + p2 = 700  ->  75 l - 800 = 700  ->  l = 20, p1 = 500, p2 = 200.
    p = GridParams(
        fleet([dict(cap=1000, a=0.01, b=10, e=0.9), dict(cap=1000, a=0.02, b=12, e=0.4)]),
        MarketParams(**NO_SCARCITY),
    )
    r = clear_once(p, 700.0)
    assert r.system_lambda_usd_per_mwh[0] == pytest.approx(20.0)
    np.testing.assert_allclose(r.dispatch_mw[0], [500.0, 200.0])
    # Marginal CI weights the responding units by dp/dlambda = 1/(2a): 50 and 25.
    assert r.marginal_ci_g_per_kwh[0] == pytest.approx(1000 * (50 * 0.9 + 25 * 0.4) / 75)
    # Fuel cost: 0.01*500^2 + 10*500 + 0.02*200^2 + 12*200 = 2500+5000+800+2400 = 10700 $/h.
    assert r.fuel_cost_usd[0] == pytest.approx(10700 * 0.25)


def test_no_load_cost_only_when_running():
    p = GridParams(fleet([dict(cap=100, b=10, c=40.0), dict(cap=100, b=30, c=1000.0)]), MarketParams(**NO_SCARCITY))
    r = clear_once(p, 50.0)
    assert r.fuel_cost_usd[0] == pytest.approx((50 * 10 + 40.0) * 0.25)


# ---------------------------------------------------------------- ramps


def test_ramp_limited_peaker_sets_price():
    # Coal: $20, 1000 MW, ramp 400 MW/h = 100 MW per 15-min step. Peaker: $100, fast.
    units = [dict(cap=1000, b=20, ramp=400.0, e=1.0), dict(cap=500, b=100, e=0.6)]
    p = GridParams(fleet(units), MarketParams(**NO_SCARCITY))
    r = clear_once(p, 700.0, prev=[500.0, 0.0])
    np.testing.assert_allclose(r.dispatch_mw[0], [600.0, 100.0])
    assert r.price_usd_per_mwh[0] == pytest.approx(100.0)
    assert r.marginal_ci_g_per_kwh[0] == pytest.approx(600.0)
    # Same step without the ramp limit: coal serves it all at $20.
    units[0]["ramp"] = np.inf
    r = clear_once(GridParams(fleet(units), MarketParams(**NO_SCARCITY)), 700.0, prev=[500.0, 0.0])
    np.testing.assert_allclose(r.dispatch_mw[0], [700.0, 0.0])
    assert r.price_usd_per_mwh[0] == pytest.approx(20.0)


def test_ramp_down_limit_raises_minimum():
    # The unit ran at 800 MW and can drop only 100 MW: 700 MW floor, 500 MW demand -> 200 spilled.
    p = GridParams(fleet([dict(cap=1000, b=20, ramp=400.0)]), MarketParams(**NO_SCARCITY))
    r = clear_once(p, 500.0, prev=[800.0])
    assert r.dispatch_mw[0, 0] == pytest.approx(700.0)
    assert r.overgeneration_mw[0] == pytest.approx(200.0)
    assert r.price_usd_per_mwh[0] == pytest.approx(-20.0)


# ---------------------------------------------------------------- renewables


def test_curtailment_when_renewables_exceed_room():
    # Must-run nuclear 800-1000 MW. Demand 1000, renewables 500: only 200 fit, 300 curtailed.
    p = GridParams(fleet([dict(cap=1000, pmin=800, b=5, fuel="nuclear", e=0.0), dict(cap=500, b=40)]), MarketParams(**NO_SCARCITY))
    r = clear_once(p, 1000.0, solar=300.0, wind=200.0)
    assert r.renewable_used_mw[0] == pytest.approx(200.0)
    assert r.curtailment_mw[0] == pytest.approx(300.0)
    assert r.curtailment_mwh[0] == pytest.approx(75.0)
    assert r.price_usd_per_mwh[0] == pytest.approx(0.0)
    assert r.marginal_ci_g_per_kwh[0] == 0.0
    np.testing.assert_allclose(r.dispatch_mw[0], [800.0, 0.0])
    assert r.renewable_fraction[0] == pytest.approx(0.2)
    # Demand below the must-run floor: everything renewable is curtailed and 200 MW spill.
    r = clear_once(p, 600.0, solar=500.0)
    assert r.curtailment_mw[0] == pytest.approx(500.0)
    assert r.overgeneration_mw[0] == pytest.approx(200.0)
    assert r.price_usd_per_mwh[0] == pytest.approx(-20.0)


def test_renewables_displace_thermal_without_curtailment():
    p = GridParams(fleet([dict(cap=1000, b=20), dict(cap=1000, b=50)]), MarketParams(**NO_SCARCITY))
    r = clear_once(p, 1500.0, wind=600.0)
    assert r.curtailment_mw[0] == 0.0
    np.testing.assert_allclose(r.dispatch_mw[0], [900.0, 0.0])
    assert r.price_usd_per_mwh[0] == pytest.approx(20.0)



def test_negative_offer_runs_before_renewables_and_price_stays_monotone():
    # A must-run 100 MW unit at $20 and a flexible 10 MW unit offering -$5 (a PTC-style bid,
    # e = 0.9). Renewables (offer 0) come after the -$5 unit in the merit order.
    p = GridParams(fleet([dict(cap=200, pmin=100, b=20, e=0.4), dict(cap=10, b=-5, e=0.9)]), MarketParams(**NO_SCARCITY))
    # Demand 105 with 50 MW of wind: the -$5 unit serves 5 MW above the must-run, wind is fully
    # curtailed and the -$5 unit sets the price and the marginal CI.
    r = clear_once(p, 105.0, wind=50.0)
    np.testing.assert_allclose(r.dispatch_mw[0], [100.0, 5.0])
    assert r.renewable_used_mw[0] == 0.0 and r.curtailment_mw[0] == pytest.approx(50.0)
    assert r.price_usd_per_mwh[0] == pytest.approx(-5.0)
    assert r.marginal_ci_g_per_kwh[0] == pytest.approx(900.0)
    # Demand 130: the -$5 unit is full (10 MW), wind serves the next 20 MW and is marginal at 0.
    r = clear_once(p, 130.0, wind=50.0)
    np.testing.assert_allclose(r.dispatch_mw[0], [110.0 - 10.0, 10.0])
    assert r.renewable_used_mw[0] == pytest.approx(20.0) and r.curtailment_mw[0] == pytest.approx(30.0)
    assert r.price_usd_per_mwh[0] == pytest.approx(0.0)
    assert r.marginal_ci_g_per_kwh[0] == 0.0
    # Prices along a load ramp never fall (the case hypothesis found: before this ordering,
    # curtailed wind priced 0 at low load and the -$5 unit priced -5 just above it).
    prices = [clear_once(p, d, wind=50.0).price_usd_per_mwh[0] for d in np.linspace(100.0, 170.0, 71)]
    assert np.all(np.diff(prices) >= -1e-9)
    assert prices[0] == pytest.approx(-5.0) and prices[-1] == pytest.approx(20.0)

# ---------------------------------------------------------------- scarcity and VOLL


@pytest.mark.parametrize(
    "demand, reserve, lolp",
    [
        (700.0, 300.0, 0.5),  # H == mu
        (500.0, 500.0, 1 - 0.5 * (1 + math.erf(2 / math.sqrt(2)))),  # z = 2 -> 0.02275
        (800.0, 200.0, 1 - 0.5 * (1 + math.erf(-1 / math.sqrt(2)))),  # z = -1 -> 0.84134
    ],
)
def test_scarcity_adder(demand, reserve, lolp):
    m = MarketParams(ordc_mu_mw=300.0, ordc_sigma_mw=100.0, voll_usd_per_mwh=5000.0)
    p = GridParams(fleet([dict(cap=1000, b=50)]), m)
    r = clear_once(p, demand)
    assert r.reserve_mw[0] == pytest.approx(reserve)
    assert r.scarcity_adder_usd_per_mwh[0] == pytest.approx((5000 - 50) * lolp, rel=1e-9)
    assert r.price_usd_per_mwh[0] == pytest.approx(50 + (5000 - 50) * lolp, rel=1e-9)


def test_reserve_is_ramp_limited():
    # 1000 MW unit at 500 MW that ramps 400 MW/h: only 100 MW of headroom within the step.
    m = MarketParams(ordc_mu_mw=300.0, ordc_sigma_mw=100.0)
    p = GridParams(fleet([dict(cap=1000, b=50, ramp=400.0)]), m)
    r = clear_once(p, 500.0, prev=[500.0])
    assert r.reserve_mw[0] == pytest.approx(100.0)


def test_unserved_energy_priced_at_voll():
    p = GridParams(fleet([dict(cap=600, b=20), dict(cap=400, b=80, e=0.7)]), MarketParams())
    r = clear_once(p, 1200.0)
    assert r.unserved_mw[0] == pytest.approx(200.0)
    assert r.unserved_mwh[0] == pytest.approx(50.0)
    assert r.price_usd_per_mwh[0] == pytest.approx(5000.0)
    np.testing.assert_allclose(r.dispatch_mw[0], [600.0, 400.0])
    assert r.reserve_mw[0] == 0.0
    # The most expensive loaded unit is marginal.
    assert r.marginal_ci_g_per_kwh[0] == pytest.approx(700.0)
    fuel = (600 * 20 + 400 * 80) * 0.25
    emis = (600 * 0.5 + 400 * 0.7) * 0.25
    assert r.system_cost_usd[0] == pytest.approx(fuel + 5000 * 50.0 + 50 * emis)


# ---------------------------------------------------------------- endogeneity


def test_endogeneity_more_dc_load_raises_signals_on_default_grid():
    params = default_grid_params()
    dc = np.linspace(0.0, 8000.0, 33)
    ex = Exogenous(demand_mw=np.full(dc.size, 45000.0), solar_mw=np.full(dc.size, 3000.0), wind_mw=np.full(dc.size, 6000.0))
    state = initial_state(params, ex, 0.0)  # every row starts from the same dispatch
    state = GridState(dispatch_mw=np.repeat(state.dispatch_mw[:1], dc.size, axis=0))
    _, r = clear(params, state, ex, dc)
    assert np.all(np.diff(r.price_usd_per_mwh) >= -1e-9)
    assert np.all(np.diff(r.emissions_t_co2) >= -1e-9)
    assert np.all(np.diff(r.reserve_mw) <= 1e-9)
    assert r.price_usd_per_mwh[-1] > r.price_usd_per_mwh[0]
    assert r.emissions_t_co2[-1] > r.emissions_t_co2[0]


def test_endogeneity_strict_across_unit_boundary():
    p = GridParams(fleet([dict(cap=100, b=10, e=1.0), dict(cap=100, b=30, e=0.5)]), MarketParams(**NO_SCARCITY))
    below = clear_once(p, 95.0, dc=4.0)
    above = clear_once(p, 95.0, dc=6.0)
    assert above.price_usd_per_mwh[0] > below.price_usd_per_mwh[0]
    assert above.emissions_t_co2[0] > below.emissions_t_co2[0]
    assert above.total_demand_mw[0] == pytest.approx(101.0)


def test_backend_protocol():
    backend = CopperPlateBackend(default_grid_params())
    assert isinstance(backend, GridBackend)
    ex = Exogenous(demand_mw=[40000.0, 50000.0], solar_mw=[0.0, 5000.0], wind_mw=[8000.0, 2000.0])
    s0 = backend.initial_state(ex)
    s1, r = backend.clear(s0, ex, np.array([500.0, 1000.0]))
    assert s1.dispatch_mw.shape == (2, backend.params.fleet.n_units)
    np.testing.assert_array_equal(s1.dispatch_mw, r.dispatch_mw)
    assert r.row(1)["total_demand_mw"] == pytest.approx(51000.0)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(voll_usd_per_mwh=-1.0), "voll_usd_per_mwh"),
        (dict(floor_price_usd_per_mwh=5.0), "floor_price_usd_per_mwh"),
        (dict(ordc_sigma_mw=0.0), "ordc_sigma_mw"),
        (dict(step_minutes=0.0), "step_minutes"),
        (dict(carbon_price_usd_per_t=float("nan")), "carbon_price_usd_per_t"),
    ],
)
def test_market_params_reject_invalid(kwargs, field):
    with pytest.raises(ParamError, match=field):
        MarketParams(**kwargs)


@pytest.mark.parametrize(
    "change, field",
    [
        (dict(ramp=-1.0), "ramp_mw_per_h[0]"),
        (dict(cap=-5.0), "capacity_mw[0]"),
        (dict(pmin=200.0), "min_output_mw[0]"),
        (dict(b=float("nan")), "cost_b_usd_per_mwh[0]"),
        (dict(e=-0.1), "emission_t_co2_per_mwh[0]"),
        (dict(fuel="unobtainium"), "fuel[0]"),
    ],
)
def test_fleet_params_reject_invalid(change, field):
    unit = dict(cap=100.0, b=10.0) | change
    with pytest.raises(ParamError) as err:
        fleet([unit])
    assert field in str(err.value)
    assert "allowed" in str(err.value)


def test_clear_rejects_wrong_state_shape():
    p = GridParams(fleet([dict(cap=100, b=10)]))
    with pytest.raises(ValueError, match=r"expected \[B, 1\]"):
        clear(p, GridState(dispatch_mw=np.zeros((2, 3))), Exogenous([1.0, 1.0], [0.0, 0.0], [0.0, 0.0]))


# ---------------------------------------------------------------- properties


@st.composite
def grids(draw):
    n = draw(st.integers(1, 6))
    units = []
    for _ in range(n):
        cap = draw(st.floats(10.0, 1000.0))
        units.append(
            dict(
                cap=cap,
                pmin=draw(st.floats(0.0, 0.6)) * cap,
                ramp=draw(st.sampled_from([np.inf, 0.5 * cap, 2.0 * cap, 4.0 * cap])),
                a=draw(st.sampled_from([0.0, 0.0, 0.001, 0.02, 0.3])),
                b=draw(st.floats(-5.0, 200.0)),
                c=draw(st.floats(0.0, 100.0)),
                e=draw(st.floats(0.0, 1.2)),
            )
        )
    f = fleet(units)
    m = MarketParams(
        voll_usd_per_mwh=draw(st.sampled_from([1000.0, 5000.0])),
        ordc_mu_mw=draw(st.floats(0.0, 300.0)),
        ordc_sigma_mw=draw(st.floats(10.0, 300.0)),
    )
    nb = draw(st.integers(1, 6))
    frac = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=nb * n, max_size=nb * n))).reshape(nb, n)
    prev = f.min_output_mw + frac * (f.capacity_mw - f.min_output_mw)
    total = f.total_capacity_mw()
    demand = np.array(draw(st.lists(st.floats(0.0, 1.3 * total), min_size=nb, max_size=nb)))
    ren = np.array(draw(st.lists(st.floats(0.0, 0.8 * total), min_size=nb, max_size=nb)))
    dc = np.array(draw(st.lists(st.floats(0.0, 0.2 * total), min_size=nb, max_size=nb)))
    return GridParams(f, m), GridState(prev), Exogenous(demand, 0.4 * ren, 0.6 * ren), dc


@settings(max_examples=300, deadline=None)
@given(grids())
def test_clearing_invariants(case):
    params, state, ex, dc = case
    f, m = params.fleet, params.market
    _, r = clear(params, state, ex, dc)
    tol = 1e-6 * (1.0 + f.total_capacity_mw() + ex.demand_mw.max())
    # supply + unserved == demand + spilled over-generation;  used + curtailed == available
    np.testing.assert_allclose(r.thermal_mw + r.renewable_used_mw + r.unserved_mw, r.total_demand_mw + r.overgeneration_mw, atol=tol)
    np.testing.assert_allclose(r.renewable_used_mw + r.curtailment_mw, r.renewable_available_mw, atol=tol)
    np.testing.assert_allclose(r.total_demand_mw, ex.demand_mw + dc, rtol=1e-12)
    assert np.all(r.price_usd_per_mwh >= m.floor_price_usd_per_mwh - 1e-9)
    assert np.all(r.price_usd_per_mwh <= m.voll_usd_per_mwh + 1e-9)
    assert np.all(r.curtailment_mw >= -tol) and np.all(r.unserved_mw >= 0) and np.all(r.reserve_mw >= -tol)
    # Never shed load while curtailing renewables, never spill while shedding.
    assert not np.any((r.unserved_mw > tol) & (r.curtailment_mw > tol))
    # Unit bounds from the ramp limits.
    step = f.ramp_mw_per_h * m.step_hours
    lo = np.maximum(f.min_output_mw, state.dispatch_mw - step)
    hi = np.maximum(np.minimum(f.capacity_mw, state.dispatch_mw + step), lo)
    assert np.all(r.dispatch_mw >= lo - tol) and np.all(r.dispatch_mw <= hi + tol)
    # KKT of economic dispatch where lambda is the thermal fleet's: units strictly inside
    # their bounds sit at lambda; units at hi are no dearer, units at lo no cheaper.
    free = (r.curtailment_mw <= tol) & (r.overgeneration_mw <= tol) & (r.unserved_mw <= tol)
    offer = params.offer_b_usd_per_mwh()
    mc = 2 * f.cost_a_usd_per_mw2h * r.dispatch_mw + offer
    lam = r.system_lambda_usd_per_mwh[:, None]
    ptol = 1e-6 * (1 + np.abs(lam))
    inside = (r.dispatch_mw > lo + tol) & (r.dispatch_mw < hi - tol)
    assert np.all(~(free[:, None] & inside) | (np.abs(mc - lam) <= ptol + 1e-6))
    assert np.all(~(free[:, None] & (r.dispatch_mw > lo + tol)) | (mc <= lam + ptol))
    assert np.all(~(free[:, None] & (r.dispatch_mw < hi - tol)) | (mc >= lam - ptol))
    # Batch result == one-by-one result.
    for i in range(state.batch_size):
        one = Exogenous(ex.demand_mw[i : i + 1], ex.solar_mw[i : i + 1], ex.wind_mw[i : i + 1])
        _, ri = clear(params, GridState(state.dispatch_mw[i : i + 1]), one, dc[i : i + 1])
        for name, v in r.row(i).items():
            assert ri.row(0)[name] == pytest.approx(v, rel=1e-12, abs=1e-9), name
        np.testing.assert_allclose(ri.dispatch_mw[0], r.dispatch_mw[i], rtol=1e-12, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(grids(), st.floats(0.0, 500.0))
def test_price_and_emissions_monotone_in_dc_load(case, extra):
    params, state, ex, dc = case
    _, r0 = clear(params, state, ex, dc)
    _, r1 = clear(params, state, ex, dc + extra)
    assert np.all(r1.price_usd_per_mwh >= r0.price_usd_per_mwh - 1e-6)
    assert np.all(r1.emissions_t_co2 >= r0.emissions_t_co2 - 1e-6)


def test_threaded_clearing_of_large_batches_equals_row_by_row():
    from gridshift.envs.grid import copper_plate

    params = default_grid_params()
    nb = 3 * copper_plate.PARALLEL_MIN_ROWS
    rng = np.random.default_rng(0)
    ex = Exogenous(rng.uniform(25e3, 64e3, nb), rng.uniform(0, 8e3, nb), rng.uniform(0, 20e3, nb))
    dc = rng.uniform(0, 8e3, nb)
    state = initial_state(params, ex, dc)
    state = GridState(state.dispatch_mw * rng.uniform(0.9, 1.0, state.dispatch_mw.shape).clip(None, 1.0))
    _, r = clear(params, state, ex, dc)
    for i in range(0, nb, 7):
        one = Exogenous(ex.demand_mw[i : i + 1], ex.solar_mw[i : i + 1], ex.wind_mw[i : i + 1])
        _, ri = clear(params, GridState(state.dispatch_mw[i : i + 1]), one, dc[i : i + 1])
        np.testing.assert_array_equal(ri.packed[:, 0], r.packed[:, i])
        np.testing.assert_array_equal(ri.dispatch_mw[0], r.dispatch_mw[i])


# ---------------------------------------------------------------- unit commitment in real-time dispatch


def clear_on(params, demand, prev, online, solar=0.0, gas_price=None):
    ex = Exogenous(demand_mw=[demand], solar_mw=[solar], wind_mw=[0.0])
    _, r = clear(params, GridState(dispatch_mw=np.array([prev], float)), ex, 0.0,
                 online=np.array([online], bool), gas_price=gas_price)
    return r


def uc_fleet(units, **uc):
    f = fleet(units)
    return f.replace(**uc)


def test_offline_unit_produces_nothing_even_when_cheapest():
    p = GridParams(fleet([dict(cap=100, b=10), dict(cap=100, b=30)]), MarketParams(**NO_SCARCITY))
    r = clear_on(p, 50.0, prev=[0.0, 0.0], online=[False, True])
    np.testing.assert_allclose(r.dispatch_mw[0], [0.0, 50.0])
    assert r.price_usd_per_mwh[0] == pytest.approx(30.0)
    # online=None: every unit online (today's behaviour), the cheap unit serves it all.
    r = clear_once(p, 50.0, prev=[0.0, 0.0])
    np.testing.assert_allclose(r.dispatch_mw[0], [50.0, 0.0])


def test_start_up_synchronises_at_min_output_and_costs_its_start():
    # A: 200 MW, pmin 80, ramp 40 MW/h = 10 MW per 15-min step, start-up $5,000. It was off.
    # Its start-up capability is max(pmin, ramp step) = 80 MW: bounds [80, 80] this step.
    units = [dict(cap=200, pmin=80, ramp=40.0, b=20, c=100.0), dict(cap=500, b=60)]
    p = GridParams(uc_fleet(units, startup_cost_usd=np.array([5000.0, 0.0])), MarketParams(**NO_SCARCITY))
    r = clear_on(p, 150.0, prev=[0.0, 150.0], online=[True, True])
    np.testing.assert_allclose(r.dispatch_mw[0], [80.0, 70.0])
    assert r.price_usd_per_mwh[0] == pytest.approx(60.0)
    assert r.fuel_cost_usd[0] == pytest.approx((80 * 20 + 100.0 + 70 * 60) * 0.25 + 5000.0)
    # Next step it ramps from 80 by at most 10 MW, and no second start is charged.
    r2 = clear_on(p, 150.0, prev=r.dispatch_mw[0], online=[True, True])
    np.testing.assert_allclose(r2.dispatch_mw[0], [90.0, 60.0])
    assert r2.fuel_cost_usd[0] == pytest.approx((90 * 20 + 100.0 + 60 * 60) * 0.25)


def test_decommitted_unit_ramps_down_then_disconnects():
    # pmin 40, ramp 40 MW/h -> 10 MW per step; shut-down capability max(40, 10) = 40 MW.
    p = GridParams(fleet([dict(cap=100, pmin=40, ramp=40.0, b=10), dict(cap=500, b=50)]), MarketParams(**NO_SCARCITY))
    out = []
    prev = [65.0, 0.0]
    for _ in range(4):
        r = clear_on(p, 100.0, prev=prev, online=[False, True])
        prev = r.dispatch_mw[0]
        out.append(prev[0])
    assert out == pytest.approx([55.0, 45.0, 35.0, 0.0])
    assert r.dispatch_mw[0, 1] == pytest.approx(100.0)


def test_fast_start_unit_is_always_available_with_relaxed_minimum():
    # The peaker (pmin 30) is "offline" in the schedule but fast-start: it serves 10 MW.
    units = [dict(cap=50, b=10), dict(cap=100, pmin=30, b=90)]
    p = GridParams(uc_fleet(units, fast_start=np.array([False, True])), MarketParams(**NO_SCARCITY))
    r = clear_on(p, 60.0, prev=[50.0, 0.0], online=[True, False])
    np.testing.assert_allclose(r.dispatch_mw[0], [50.0, 10.0])
    assert r.price_usd_per_mwh[0] == pytest.approx(90.0)


def test_minimum_contingency_level_prices_at_voll():
    m = MarketParams(ordc_mu_mw=300.0, ordc_sigma_mw=100.0, voll_usd_per_mwh=5000.0, min_contingency_mw=200.0)
    p = GridParams(fleet([dict(cap=1000, b=50)]), m)
    r = clear_once(p, 850.0)  # reserve 150 <= X = 200: VOLL
    assert r.price_usd_per_mwh[0] == pytest.approx(5000.0)
    r = clear_once(p, 500.0)  # reserve 500: z = (500 - 200 - 300) / 100 = 0, LOLP 0.5
    assert r.price_usd_per_mwh[0] == pytest.approx(50 + 0.5 * 4950)
    r = clear_once(p, 300.0)  # reserve 700: z = 2
    assert r.scarcity_adder_usd_per_mwh[0] == pytest.approx(4950 * 0.5 * math.erfc(2 / math.sqrt(2)), rel=1e-12)


def test_market_params_scaled_to_peak():
    m = MarketParams.scaled_to_peak(80000.0, ordc_mu_frac=0.01, ordc_sigma_frac=0.02, min_contingency_frac=0.0375,
                                    step_minutes=60.0)
    assert (m.ordc_mu_mw, m.ordc_sigma_mw, m.min_contingency_mw, m.step_minutes) == pytest.approx((800, 1600, 3000, 60))
    for kw, name in ((dict(ordc_sigma_frac=0.0), "ordc_sigma_frac"), (dict(ordc_mu_frac=-0.1), "ordc_mu_frac"),
                     (dict(min_contingency_frac=0.9), "min_contingency_frac")):
        with pytest.raises(ParamError, match=name):
            MarketParams.scaled_to_peak(1000.0, **kw)
    with pytest.raises(ParamError, match="peak_demand_mw"):
        MarketParams.scaled_to_peak(0.0)
    with pytest.raises(ParamError, match="min_contingency_mw"):
        MarketParams(min_contingency_mw=-1.0)


def test_daily_gas_price_rescales_fuel_part_of_gas_offers():
    # Gas unit: b = 30 with VOM 2 at a fuel price of 4 $/MMBtu; at 8 $/MMBtu b = 28 * 2 + 2 = 58.
    units = [dict(cap=100, b=30, a=0.0, c=40.0), dict(cap=100, b=45, fuel="coal")]
    f = uc_fleet(units, vom_usd_per_mwh=np.array([2.0, 1.0]), fuel_price_usd_per_mmbtu=np.array([4.0, 2.0]))
    p = GridParams(f, MarketParams(**NO_SCARCITY))
    r = clear_on(p, 150.0, prev=[100.0, 50.0], online=[True, True], gas_price=[8.0])
    np.testing.assert_allclose(r.dispatch_mw[0], [50.0, 100.0])  # coal (45) now runs first
    assert r.price_usd_per_mwh[0] == pytest.approx(58.0)
    assert r.fuel_cost_usd[0] == pytest.approx((50 * 58 + 80.0 + 100 * 45) * 0.25)
    r = clear_on(p, 150.0, prev=[100.0, 50.0], online=[True, True], gas_price=[4.0])
    assert r.price_usd_per_mwh[0] == pytest.approx(45.0)
    with pytest.raises(ValueError, match="gas_price"):
        clear_on(p, 150.0, prev=[100.0, 50.0], online=[True, True], gas_price=[0.0])


def test_online_and_uc_fields_are_checked():
    p = GridParams(fleet([dict(cap=100, b=10), dict(cap=100, b=30)]))
    ex = Exogenous([50.0], [0.0], [0.0])
    with pytest.raises(ValueError, match="online has shape"):
        clear(p, GridState(np.zeros((1, 2))), ex, online=np.ones((1, 3), bool))
    with pytest.raises(ValueError, match="expected bool"):
        clear(p, GridState(np.zeros((1, 2))), ex, online=np.ones((1, 2)))
    for kw, name in ((dict(min_up_h=np.array([-1.0, 0.0])), "min_up_h[0]"),
                     (dict(startup_cost_usd=np.array([0.0, np.nan])), "startup_cost_usd[1]"),
                     (dict(fast_start=np.array([2, 0])), "fast_start[0]"),
                     (dict(min_down_h=np.zeros(3)), "min_down_h")):
        with pytest.raises(ParamError, match=name.replace("[", r"\[").replace("]", r"\]")):
            p.fleet.replace(**kw)


@settings(max_examples=150, deadline=None)
@given(grids(), st.data())
def test_clearing_invariants_with_commitment(case, data):
    params, state, ex, dc = case
    f = params.fleet
    nb, g = state.dispatch_mw.shape
    fast = np.array(data.draw(st.lists(st.booleans(), min_size=g, max_size=g)))
    online = np.array(data.draw(st.lists(st.booleans(), min_size=nb * g, max_size=nb * g))).reshape(nb, g)
    f = f.replace(fast_start=fast, startup_cost_usd=np.full(g, 100.0))
    params = GridParams(f, params.market)
    prev = np.where(data.draw(st.booleans()), state.dispatch_mw, state.dispatch_mw * online)  # some units were off
    _, r = clear(params, GridState(prev), ex, dc, online=online)
    tol = 1e-6 * (1.0 + f.total_capacity_mw() + ex.demand_mw.max())
    np.testing.assert_allclose(r.thermal_mw + r.renewable_used_mw + r.unserved_mw, r.total_demand_mw + r.overgeneration_mw, atol=tol)
    step = f.ramp_mw_per_h * params.market.step_hours
    sd = np.maximum(f.min_output_mw, step)
    off = ~online & ~fast
    # Offline slow units: 0 once at or below their shut-down capability, else forced down one ramp step.
    expect_off = np.where(prev <= sd + 1e-7, 0.0, prev - step)
    assert np.allclose(r.dispatch_mw[off], expect_off[off], atol=tol)
    on_slow = online & ~fast
    lo = np.maximum(f.min_output_mw, prev - step)
    assert np.all(r.dispatch_mw[on_slow] >= (lo - tol)[on_slow])
    assert np.all(r.dispatch_mw <= np.maximum(np.minimum(f.capacity_mw, np.maximum(prev + step, f.min_output_mw)), 0) + tol)
    assert np.all(r.dispatch_mw >= -tol)
    # Fuel cost counts one start per unit going from 0 to > 0.
    starts = ((prev <= 0) & (r.dispatch_mw > 0)).sum(axis=1)
    base = (f.cost_a_usd_per_mw2h * r.dispatch_mw**2 + f.cost_b_usd_per_mwh * r.dispatch_mw
            + np.where(r.dispatch_mw > 0, f.cost_c_usd_per_h, 0.0)).sum(axis=1) * params.market.step_hours
    np.testing.assert_allclose(r.fuel_cost_usd, base + 100.0 * starts, rtol=1e-9, atol=1e-6)
