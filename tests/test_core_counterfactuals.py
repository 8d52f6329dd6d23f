"""The simulator's counterfactual switches (issue #13): open vs closed loop, adequacy held fixed,
the forced drop-and-return event, coherent forecast errors and a pure ``observe``."""

from __future__ import annotations

import numpy as np
import pytest

from gridshift.envs.dcgrid import core
from gridshift.envs.dcgrid.scenario import load_scenario
from gridshift.envs.grid.types import ParamError

B = 3


def _run(scenario: str = "default", *, release=(1.0, 1.0, 1.0), steps=None, seed=0, **kw):
    sc = load_scenario(scenario, **kw)
    params = core.make_params(sc)
    rng = np.random.default_rng(seed)
    st = core.reset(params, rng, B)
    act = np.zeros((B, params.n_agents, 4))
    act[..., :3] = release
    obs, info = [], []
    for _ in range(steps or sc.horizon_steps):
        obs.append(core.observe(params, st))
        i = core.step(params, st, act, rng)
        info.append((i["grid"].price_usd_per_mwh.copy(), i["dc_load_total_mw"].copy(), i["reward"].copy()))
    return params, st, np.array(obs), info


def test_open_loop_equals_closed_loop_under_fifo():
    _, _, o_closed, i_closed = _run(signal_feedback="closed")
    _, _, o_open, i_open = _run(signal_feedback="open")
    np.testing.assert_array_equal(o_closed, o_open)
    for a, b in zip(i_closed, i_open, strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)


def test_open_loop_shows_the_fifo_grid_while_the_physical_grid_sees_the_real_load():
    """Holding E2/E3 changes the real grid; in open loop the observed price is FIFO's, in closed
    loop it is the real one."""
    _, _, o_fifo, _ = _run(signal_feedback="closed")
    params, _, o_open, i_open = _run(signal_feedback="open", release=(1.0, 0.0, 0.0))
    _, _, o_closed, i_closed = _run(signal_feedback="closed", release=(1.0, 0.0, 0.0))
    price = params.layout.names.index("price")
    # the physical grids of open and closed runs are the same (same actions, same load)
    for a, b in zip(i_open, i_closed, strict=True):
        np.testing.assert_array_equal(a[0], b[0])
    # what the agents see: open = FIFO's grid, closed = the real grid, and the two differ
    np.testing.assert_array_equal(o_open[:, :, :, price], o_fifo[:, :, :, price])
    assert np.abs(o_closed[:, :, :, price] - o_open[:, :, :, price]).max() > 0.01


def test_adequacy_scaled_fleet_keeps_the_reserve_margin():
    for pen in (0.12, 0.5):
        fixed = core.make_params(load_scenario("default", penetration=pen))
        scaled = core.make_params(load_scenario("default", penetration=pen, fleet_adequacy="scaled"))
        ratio = scaled.grid.fleet.total_capacity_mw() / fixed.grid.fleet.total_capacity_mw()
        assert ratio == pytest.approx(1.0 + pen)
        sc = scaled.scenario
        # capacity over peak load with the DCs at peak facility power = the no-DC margin
        with_dcs = scaled.grid.fleet.total_capacity_mw() / (sc.peak_demand_mw * (1 + pen))
        no_dcs = fixed.grid.fleet.total_capacity_mw() / sc.peak_demand_mw
        assert with_dcs == pytest.approx(no_dcs)


def test_forced_drop_and_return_event():
    kw = dict(load_loss_at_h=2.0, load_loss_duration_h=1.0, horizon_steps=24, warmup_steps=4)
    params, _, _, info = _run(**kw, steps=4 + 24)
    # steps are counted from the first warm-up step; the run above starts after the warm-up
    start = params.load_loss_start
    assert start == 4 + 8 and (params.load_loss_end == start + 4).all()
    loads = np.array([x[1] for x in info])  # [steps, B], first row = absolute step 4
    rel = lambda t: t - 4  # noqa: E731
    assert (loads[rel(start):rel(start + 4)] == 0).all()
    assert (loads[rel(start) - 1] > 100).all() and (loads[rel(start + 4)] > 100).all()
    # staggered return: DC i of N returns after i / (N - 1) of the window
    stag = core.make_params(load_scenario("default", **kw, load_loss_return_window_h=1.75))
    assert stag.load_loss_end[0] == start + 4 and stag.load_loss_end[-1] == start + 4 + 7
    assert (np.diff(stag.load_loss_end) >= 0).all()


def test_observe_is_a_pure_read_and_forecasts_are_coherent():
    sc = load_scenario("default", horizon_steps=48, forecast_noise=0.04, forecast_noise_corr_h=6.0)
    params = core.make_params(sc)
    st = core.reset(params, np.random.default_rng(0), 256)
    a = core.observe(params, st)
    np.testing.assert_array_equal(a, core.observe(params, st))
    # The error path is AR(1) over target steps: neighbouring targets correlate at exp(-0.25/6).
    z = st.fc_err_price
    assert np.std(z) == pytest.approx(1.0, rel=0.05)
    r = np.corrcoef(z[:, :-1].ravel(), z[:, 1:].ravel())[0, 1]
    assert r == pytest.approx(np.exp(-0.25 / 6.0), abs=0.01)
    # The 1-hour price forecast moves smoothly from one step to the next (fresh noise would not).
    lay = params.layout
    k = lay["price_fc_1h"]
    fifo = np.ones((256, params.n_agents, 4))
    fifo[..., 3] = 0
    rng = np.random.default_rng(1)
    fc, da = [], []
    for _ in range(8):
        fc.append(core.observe(params, st)[:, 0, k])
        da.append(st.da_price[np.arange(256), st.t + params.horizon_steps_fc[0]] / 100.0)
        core.step(params, st, fifo, rng)
    err = np.array(fc) / np.array(da) - 1.0
    ok = (np.array(da) > 0.1).all(axis=0)
    step_corr = np.corrcoef(err[:-1, ok].ravel(), err[1:, ok].ravel())[0, 1]
    assert step_corr > 0.9


@pytest.mark.parametrize("field,value", [("signal_feedback", "half"), ("fleet_adequacy", "more"),
                                         ("emergency_rule", "strict"), ("forecast_noise_corr_h", 0.0),
                                         ("emergency_release_steps", 0)])
def test_new_fields_fail_fast(field, value):
    with pytest.raises(ParamError, match=field):
        load_scenario("default", **{field: value})


def test_the_core_reaches_the_market_only_through_its_backend():
    """A backend whose DCs pay different prices (as on a network): each DC's bill uses its own."""
    import dataclasses

    from gridshift.envs.grid.backend import CopperPlateBackend, GridBackend

    class Zonal(CopperPlateBackend):
        def dc_price(self, result, n_dcs):
            return result.price_usd_per_mwh[:, None] * (1.0 + 0.1 * np.arange(n_dcs))[None, :]

    params = core.make_params(load_scenario("default", horizon_steps=8, warmup_steps=2))
    zonal = dataclasses.replace(params, backend=Zonal(params.grid))
    assert isinstance(zonal.backend, GridBackend)
    rng = np.random.default_rng(0)
    st = core.reset(zonal, rng, 2)
    act = np.ones((2, params.n_agents, 4))
    act[..., 3] = 0
    info = core.step(zonal, st, act, rng)
    price = info["grid"].price_usd_per_mwh
    want = price[:, None] * (1.0 + 0.1 * np.arange(params.n_agents)) * info["load_mw"] * 0.25
    np.testing.assert_allclose(info["bill_usd"], want)


def test_the_simulator_does_not_import_the_data_package():
    """The seams of issue #15: only gridshift.builder (and data/ itself) imports gridshift.data."""
    import ast
    from pathlib import Path

    import gridshift

    root = Path(gridshift.__file__).parent / "envs"
    offenders = []
    for f in root.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{f.relative_to(root)}: {n}" for n in names if n.startswith("gridshift.data")]
    assert offenders == []


def test_grid_data_bas_match_the_data_regions():
    from gridshift.data.scenario_builder import BA_REGIONS
    from gridshift.envs.dcgrid.scenario import GRID_DATA_BAS

    assert sorted(GRID_DATA_BAS) == sorted(BA_REGIONS)


def test_params_hold_the_generators_the_builder_picked(tmp_path):
    from gridshift.builder import make_params
    from gridshift.data.exogenous import SyntheticExogenous
    from gridshift.envs.dcgrid.generators import ExogenousGenerator, WorkloadGenerator
    from gridshift.envs.dcgrid.workload import SyntheticWorkload
    from gridshift.envs.grid.backend import CopperPlateBackend

    p = make_params(load_scenario("default"))
    assert isinstance(p.exogenous, SyntheticExogenous) and isinstance(p.exogenous, ExogenousGenerator)
    assert isinstance(p.workload, SyntheticWorkload) and isinstance(p.workload, WorkloadGenerator)
    assert isinstance(p.backend, CopperPlateBackend)


def test_difference_reward_is_each_dcs_own_contribution_to_social_cost():
    """reward_design = difference, fully cooperative: reward_i = -(C(L) - C(L - f_i)) / scale with C
    re-cleared independently here through the public copper-plate API from the same previous
    dispatch; the selfish term prices the load at the marginal social cost."""
    from gridshift.envs.grid import Exogenous, copper_plate
    from gridshift.envs.grid.types import GridState

    kw = dict(reward_design="difference", horizon_steps=16, warmup_steps=8)
    params = core.make_params(load_scenario("default", reward_mode="cooperative", **kw))
    rng = np.random.default_rng(0)
    st = core.reset(params, rng, 2)
    act = np.ones((2, params.n_agents, 4))
    act[..., 3] = 0
    for _ in range(3):
        core.step(params, st, act, rng)
    prev = st.grid.dispatch_mw.copy()
    t = st.t.copy()
    info = core.step(params, st, act, rng)
    load = info["load_mw"]
    flex = np.minimum(params.dcs.pue * info["flex_mw"], load)
    ex = Exogenous(st.demand_mw[[0, 1], t], st.solar_mw[[0, 1], t], st.wind_mw[[0, 1], t])
    online = st.online[[0, 1], t]  # the step's unit commitment
    full = copper_plate.clear(params.grid, GridState(prev), ex, load.sum(axis=1), online=online)[1].system_cost_usd
    np.testing.assert_allclose(full, info["grid"].system_cost_usd)
    for i in range(params.n_agents):
        wo = copper_plate.clear(params.grid, GridState(prev), ex, load.sum(axis=1) - flex[:, i],
                                online=online)[1].system_cost_usd
        np.testing.assert_allclose(info["reward"][:, i], -(full - wo) / 1000.0, rtol=1e-9)
    # flexible load never lowers social cost; it costs something unless renewables are curtailed
    assert (info["reward"] <= 0).all() and (info["reward"] < 0).any()
    # selfish: the bill at the marginal social cost (= the price, carbon being in dispatch) + penalties - DR
    params = core.make_params(load_scenario("default", reward_mode="selfish", **kw))
    rng = np.random.default_rng(0)
    st = core.reset(params, rng, 2)
    info = core.step(params, st, act, rng)
    want = -(info["load_mw"] * 0.25 * info["grid"].price_usd_per_mwh[:, None] + info["sla_penalty_usd"]
             + info["emergency_penalty_usd"] - info["dr_revenue_usd"]) / 1000.0
    np.testing.assert_allclose(info["reward"], want)


def test_local_signals_reach_each_dcs_observation_with_the_telemetry_delay():
    """With a backend whose DCs see different prices (a network), each DC observes its own bus's
    price and marginal CI in ``local_price`` / ``local_marginal_ci``, delayed like the system signals."""
    from gridshift.builder import make_params
    from gridshift.envs.grid.backend import CopperPlateBackend

    class Zonal(CopperPlateBackend):
        def dc_price(self, result, n_dcs):
            return result.price_usd_per_mwh[:, None] * (1.0 + 0.1 * np.arange(n_dcs))[None, :]

    for delay in (0, 2):
        base = make_params(load_scenario("default", horizon_steps=8, warmup_steps=4, signal_delay_steps=delay))
        params = core.assemble(base.scenario, base.grid, Zonal(base.grid), base.exogenous, base.workload,
                               local_signals=True)
        lay = params.layout
        assert lay.names[-2:] == ("local_price", "local_marginal_ci") and lay.size == base.layout.size + 2
        rng = np.random.default_rng(0)
        st = core.reset(params, rng, 2)
        act = np.ones((2, params.n_agents, 4))
        act[..., 3] = 0
        prices, cis = [], []
        for _ in range(5):
            info = core.step(params, st, act, rng)
            prices.append(info["grid"].price_usd_per_mwh.copy())
            cis.append(info["grid"].marginal_ci_g_per_kwh.copy())
        obs = core.observe(params, st)
        want = prices[-1 - delay][:, None] * (1.0 + 0.1 * np.arange(params.n_agents)) / 100.0
        np.testing.assert_allclose(obs[..., lay["local_price"]], want, rtol=1e-6)
        np.testing.assert_allclose(obs[..., lay["local_marginal_ci"]][:, 0], cis[-1 - delay] / params.max_ci_g_per_kwh,
                                   rtol=1e-6)
        np.testing.assert_allclose(obs[..., lay["price"]][:, 0], prices[-1 - delay] / 100.0, rtol=1e-6)
