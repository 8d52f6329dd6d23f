"""The oracle (DESIGN §7, §12): its LP on a hand-made case, its bound, and its replay."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from gridshift.agents.oracle import Oracle, OracleError, solve_schedule
from gridshift.agents.registry import make_policy
from gridshift.envs.dcgrid import jobs as J
from gridshift.envs.dcgrid import settlement
from gridshift.eval.runner import episode_metrics, run_episode


def _two_step_case(deadline: int = 2, ramp_mw_per_h: float = 1e9, power_mw: float = 40.0):
    """Two 1-hour steps. Fleet: a $10 unit and a $50 unit, 100 MW each, no minimum output.
    Demand 150 MW then 50 MW, no renewables. One DC (PUE 1, no idle) with one E2 job of
    ``power_mw`` x 1 step, arriving at 0 and due by ``deadline``."""
    fleet = SimpleNamespace(
        n_units=2, min_output_mw=np.zeros(2), capacity_mw=np.array([100.0, 100.0]),
        ramp_mw_per_h=np.full(2, ramp_mw_per_h), cost_a_usd_per_mw2h=np.zeros(2), cost_b_usd_per_mwh=np.array([10.0, 50.0]),
        cost_c_usd_per_h=np.zeros(2), emission_t_co2_per_mwh=np.zeros(2))
    grid = SimpleNamespace(fleet=fleet, offer_b_usd_per_mwh=lambda: fleet.cost_b_usd_per_mwh)
    sc = SimpleNamespace(step_hours=1.0, steps_per_day=24, carbon_price_usd_per_t=0.0, drop_penalty_usd_per_mwh=1000.0,
                         voll_usd_per_mwh=5000.0)
    dcs = SimpleNamespace(pue=np.ones(1), idle_mw=np.zeros(1), dynamic_mw=np.array([100.0]))
    params = SimpleNamespace(scenario=sc, dcs=dcs, grid=grid, n_agents=1, total_steps=2)
    jobs = SimpleNamespace(job_class=np.array([[[2]]]), arrival=np.array([[[0]]]), duration=np.array([[[1]]]),
                           deadline=np.array([[[deadline]]]), power_mw=np.array([[[power_mw]]]))
    ex = {k: np.zeros((1, 4)) for k in settlement.EXOGENOUS_ARRAYS}
    ex["demand_mw"] = np.array([[150.0, 50.0, 50.0, 50.0]])
    st = SimpleNamespace(t=np.array([0]), jobs=jobs, status=np.array([[[J.PENDING]]], np.int8),
                         remaining=np.zeros((1, 1, 1), np.int32), grid=SimpleNamespace(dispatch_mw=np.array([[100.0, 50.0]])),
                         batch_size=1, **ex)
    return params, st


def test_lp_finds_the_known_optimum_of_a_two_step_case():
    # Running the 40 MW job in step 1 costs 100x10 + 50x50 (step 0) + 90x10 (step 1) = 4,400 $;
    # in step 0 it would cost 100x10 + 90x50 + 50x10 = 6,000 $.
    params, st = _two_step_case()
    plan = solve_schedule(params, st, resolution_steps=1, window_steps=2)
    np.testing.assert_allclose(plan["x_mw"][0, 1], [0.0, 40.0], atol=1e-6)
    assert plan["x_mw"][0, [0, 2]].max() == pytest.approx(0.0, abs=1e-9)
    assert plan["lp_cost_usd"] == pytest.approx(4400.0)
    assert plan["lp_gap_usd"] == 0.0  # linear costs: the segments are exact


def test_lp_respects_the_deadline_and_ramp_limits():
    params, st = _two_step_case(deadline=1)  # due by the end of step 0: no choice
    plan = solve_schedule(params, st, resolution_steps=1, window_steps=2)
    np.testing.assert_allclose(plan["x_mw"][0, 1], [40.0, 0.0], atol=1e-6)
    assert plan["lp_cost_usd"] == pytest.approx(6000.0)
    # Ramps of 40 MW/h from the starting dispatch (100, 50): in step 1 the $50 unit cannot go
    # below 10 MW and the $10 unit not below 60 MW. Job in step 1: 3,500 $ + (80x10 + 10x50)
    # = 4,800 $. Job in step 0: 100x10 + 90x50 = 5,500 $, then 50 MW of demand against at
    # least 60 + 50 MW of output (60 MW spilled): 600 + 2,500 = 3,100 $, 8,600 $ in all.
    params, st = _two_step_case(ramp_mw_per_h=40.0)
    plan = solve_schedule(params, st, resolution_steps=1, window_steps=2)
    np.testing.assert_allclose(plan["x_mw"][0, 1], [0.0, 40.0], atol=1e-6)
    assert plan["lp_cost_usd"] == pytest.approx(4800.0)


def test_oracle_never_loses_to_fifo_and_its_bound_holds():
    for seed in range(1000, 1004):
        fifo = episode_metrics(run_episode(make_policy("fifo"), "default", seed))
        orc = episode_metrics(run_episode(make_policy("oracle"), "default", seed))
        hold = episode_metrics(run_episode(make_policy("hold_e2e3"), "default", seed))
        assert orc["social_cost_usd"] < fifo["social_cost_usd"], seed
        # the LP optimum bounds every policy's settled social cost from below
        assert orc["oracle_lp_bound_usd"] <= min(orc["social_cost_usd"], fifo["social_cost_usd"], hold["social_cost_usd"])
        assert orc["jobs_open"] == 0 and orc["oracle_solve_s"] < 30


def test_oracle_needs_the_runner():
    from gridshift.agents.base import PolicyContext
    from gridshift.envs.dcgrid.vector import DCGridVectorEnv

    env = DCGridVectorEnv("default", horizon_steps=8, warmup_steps=4)
    ctx = PolicyContext(layout=env.layout, scenario=env.scenario, n_agents=8, action_space=env.adapter.space,
                        step_hours=0.25, max_deferral_steps=env.scenario.max_deferral_steps())
    with pytest.raises(OracleError, match="perfect information"):
        Oracle().reset(0, ctx)
    with pytest.raises(ValueError, match="resolution_steps=0 is invalid"):
        solve_schedule(*_two_step_case(), resolution_steps=0, window_steps=2)
