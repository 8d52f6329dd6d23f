"""The cascade study's batched runner reproduces the single-seed runner exactly, FIFO's open
loop is its closed loop, and the no-DC counterfactual re-clears the same exogenous inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gridshift.agents.registry import make_policy
from gridshift.envs.dcgrid import core
from gridshift.envs.dcgrid import jobs as J
from gridshift.envs.dcgrid.scenario import load_scenario
from gridshift.eval.cascade_batch import reset_states, run_batch, stack_states
from gridshift.eval.metrics import compute_metrics
from gridshift.eval.runner import episode_metrics, run_episode

SMALL = dict(horizon_steps=24, warmup_steps=8, n_datacenters=4, action_mode="box", penetration=0.3)
SEEDS = (3, 4, 5)
BATCH_ONLY = ("deferral_starts", "resumptions", "redeferrals", "redeferrals_1h", "defer_cycles", "defer_cycle_period_h",
              "dr_curtailed_mwh", "dr_rebound_mwh", "dr_payback_share")
GRID_COLS = ("price_usd_per_mwh", "reserve_mw", "dc_load_total_mw", "dc_flex_total_mw", "emissions_t_co2",
             "system_cost_usd", "dr_active", "emergency_active")


def _metrics(rec):
    return compute_metrics(rec.ledger, rec.grid, rec.dc, step_hours=rec.scenario.step_hours,
                           dr_threshold_mw=rec.scenario.dr_reserve_threshold_mw, no_dc=rec.no_dc,
                           voll_usd_per_mwh=rec.scenario.voll_usd_per_mwh)


@pytest.mark.parametrize("feedback", ["closed", "open"])
@pytest.mark.parametrize("policy", ["fifo", "gas_literal", "gas_stagger"])
def test_batch_reproduces_run_episode_seed_by_seed(policy, feedback):
    sc = load_scenario("default", **SMALL, signal_feedback=feedback)
    recs = run_batch([make_policy(policy) for _ in SEEDS], sc, SEEDS)
    for rec in recs:
        one = run_episode(make_policy(policy), sc, rec.seed)
        assert len(one.grid) == len(rec.grid), rec.seed  # the seed's own settlement length
        for c in GRID_COLS:
            np.testing.assert_array_equal(one.grid[c].to_numpy(), rec.grid[c].to_numpy(), err_msg=f"{c} seed {rec.seed}")
        for k, v in one.dc.items():
            np.testing.assert_array_equal(v, rec.dc[k], err_msg=k)
        led = rec.ledger
        np.testing.assert_array_equal(one.ledger["status"].astype(str).to_numpy(), led["status"].astype(str).to_numpy())
        np.testing.assert_array_equal(one.ledger["energy_mwh"].to_numpy(), led["energy_mwh"].to_numpy())
        m1, m2 = episode_metrics(one), {**_metrics(rec), **rec.extra}
        for k, v in m1.items():
            assert m2[k] == pytest.approx(v, nan_ok=True, rel=1e-12), k
        # the oscillation and DR-baseline metrics need the release fractions and baselines, which
        # both runners record: defined for every policy (0 for FIFO, which never defers)
        for k in BATCH_ONLY[:5]:
            assert not math.isnan(m1[k]), k
        # the release fractions the policy chose are recorded, settlement steps as FIFO (1)
        assert rec.dc["release"].shape == (len(rec.grid), 4, 3)
        assert (rec.dc["release"][sc.horizon_steps:] == 1).all()


def test_fifo_open_loop_is_the_closed_loop():
    closed = run_batch([make_policy("fifo") for _ in SEEDS], load_scenario("default", **SMALL), SEEDS)
    opened = run_batch([make_policy("fifo") for _ in SEEDS], load_scenario("default", **SMALL, signal_feedback="open"),
                       SEEDS)
    for a, b in zip(closed, opened, strict=True):
        for c in GRID_COLS + ("backlog_mwh",):
            np.testing.assert_array_equal(a.grid[c].to_numpy(), b.grid[c].to_numpy(), err_msg=c)
        np.testing.assert_array_equal(a.dc["load_mw"], b.dc["load_mw"])


def test_a_deferring_policy_sees_other_signals_in_the_open_loop():
    sc = dict(SMALL, horizon_steps=96, penetration=0.5)
    c = run_batch([make_policy("gas_literal")], load_scenario("default", **sc), (7,))[0]
    o = run_batch([make_policy("gas_literal")], load_scenario("default", **sc, signal_feedback="open"), (7,))[0]
    # same exogenous inputs, different decisions: the open loop's agents see the FIFO shadow grid
    np.testing.assert_array_equal(c.grid["demand_mw"].to_numpy(), o.grid["demand_mw"].to_numpy())
    assert not np.array_equal(c.dc["release"][:96], o.dc["release"][:96])


def test_stack_states_pads_job_tables_with_empty_slots():
    params = core.make_params(load_scenario("default", **SMALL))
    singles = [core.reset(params, np.random.default_rng(s), 1) for s in SEEDS]
    st = stack_states(singles)
    assert st.batch_size == len(SEEDS)
    jmax = max(s.status.shape[2] for s in singles)
    assert st.status.shape == (len(SEEDS), 4, jmax)
    for b, s in enumerate(singles):
        j = s.status.shape[2]
        np.testing.assert_array_equal(st.status[b, :, :j], s.status[0])
        assert (st.status[b, :, j:] == J.EMPTY).all() and (st.start[b, :, j:] == -1).all()
        np.testing.assert_array_equal(st.demand_mw[b], s.demand_mw[0])
        np.testing.assert_array_equal(st.grid.dispatch_mw[b], s.grid.dispatch_mw[0])
    # reset_states is the same stack
    st2 = reset_states(params, SEEDS)
    np.testing.assert_array_equal(st2.jobs.arrival, st.jobs.arrival)


def test_no_dc_counterfactual_reclears_the_same_inputs_without_dc_load():
    rec = run_batch([make_policy("fifo")], load_scenario("default", **SMALL), (3,))[0]
    nd = rec.no_dc
    assert len(nd) == len(rec.grid)
    # the re-clearing serves exactly the exogenous demand: no DC load in it
    np.testing.assert_allclose(nd["total_demand_mw"].to_numpy(), rec.grid["demand_mw"].to_numpy())
    np.testing.assert_allclose(nd["renewable_available_mw"].to_numpy(), rec.grid["renewable_available_mw"].to_numpy())
    m = _metrics(rec)
    # 30 % penetration adds load: emissions with the DCs exceed those without, by less than the
    # DC energy times the dirtiest unit's factor
    fleet = core.make_params(rec.scenario).grid.fleet
    dc_mwh = float(rec.grid["dc_load_total_mw"].sum() * rec.scenario.step_hours)
    assert 0 < m["carbon_consequential_t"] <= dc_mwh * float(fleet.emission_t_co2_per_mwh.max()) * 1.01
    assert m["dc_system_cost_usd"] > 0
    assert not math.isnan(m["carbon_marginal_proxy_t"])


def test_run_batch_rejects_mismatched_inputs():
    sc = load_scenario("default", **SMALL)
    with pytest.raises(ValueError, match="2 policies for 3 seeds"):
        run_batch([make_policy("fifo"), make_policy("fifo")], sc, SEEDS)
    other = make_policy("fifo")
    other.action_mode = "discrete"
    with pytest.raises(ValueError, match="different action modes"):
        run_batch([make_policy("fifo"), other], sc, SEEDS[:2])
