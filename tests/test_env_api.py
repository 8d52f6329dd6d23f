"""datacenter_grid_v0 against PettingZoo's harness, plus what the harness does not check:
determinism in both directions, observations inside their space at every step, pickling."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test

from gridshift.data.paths import data_root
from gridshift.envs import datacenter_grid_v0
from gridshift.envs.dcgrid.scenario import available_scenarios, load_scenario

# Short episodes keep the harness fast; everything else is the scenario's own.
SHORT = dict(horizon_steps=12, warmup_steps=8)


def _needs_data(name: str) -> bool:
    return load_scenario(name).needs_data


# Real-data scenarios (ercot_2022, ...) run when ../shared/data is present and skip otherwise.
SCENARIOS = [
    pytest.param(n, marks=pytest.mark.skipif(data_root() is None, reason="real-data scenario: shared data not found"))
    if _needs_data(n) else n
    for n in available_scenarios()
]
MODES = ("discrete", "multidiscrete", "box")


def small(scenario):
    kw = dict(SHORT)
    if scenario == "many_agents":
        kw["n_datacenters"] = 16
    return kw


def test_scenario_suite_is_complete():
    names = available_scenarios()
    for name in ("default", "high_penetration", "many_agents", "telemetry_faults", "emergency_events",
                 "ercot_2022", "caiso_2022", "pjm_2022"):
        assert name in names


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("mode", MODES)
def test_parallel_api(scenario, mode):
    env = datacenter_grid_v0.parallel_env(scenario=scenario, action_mode=mode, **small(scenario))
    parallel_api_test(env, num_cycles=20)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_aec_api(scenario):
    env = datacenter_grid_v0.env(scenario=scenario, **small(scenario))
    api_test(env, num_cycles=20)


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("mode", MODES)
def test_seed_tests(scenario, mode):
    kw = small(scenario)
    parallel_seed_test(lambda: datacenter_grid_v0.parallel_env(scenario=scenario, action_mode=mode, **kw), num_cycles=20)
    seed_test(lambda: datacenter_grid_v0.env(scenario=scenario, action_mode=mode, **kw), num_cycles=20)


def rollout(seed, scenario="default", action_seed=123, **kw):
    env = datacenter_grid_v0.parallel_env(scenario=scenario, **(SHORT | kw))
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(action_seed)
    n = env.action_space(env.possible_agents[0]).n
    trace = [np.stack([obs[a] for a in env.possible_agents])]
    rewards, prices = [], []
    while env.agents:
        acts = {a: int(rng.integers(n)) for a in env.agents}
        obs, rew, _, _, infos = env.step(acts)
        trace.append(np.stack([obs[a] for a in env.possible_agents]))
        rewards.append([rew[a] for a in env.possible_agents])
        prices.append(infos["dc_0"]["price_usd_per_mwh"])
    return np.stack(trace), np.array(rewards), np.array(prices), env.ledger()


@pytest.mark.parametrize("scenario", ["default", "telemetry_faults", "renewable_collapse"])
def test_full_episode_determinism_both_directions(scenario):
    o1, r1, p1, l1 = rollout(7, scenario)
    o2, r2, p2, l2 = rollout(7, scenario)
    np.testing.assert_array_equal(o1, o2)
    np.testing.assert_array_equal(r1, r2)
    np.testing.assert_array_equal(p1, p2)
    assert l1.equals(l2)
    o3, r3, p3, _ = rollout(8, scenario)
    assert not np.array_equal(o1, o3)
    assert not np.array_equal(p1, p3)


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("mode", MODES)
def test_observations_inside_space_and_finite(scenario, mode):
    env = datacenter_grid_v0.parallel_env(scenario=scenario, action_mode=mode, **small(scenario))
    obs, _ = env.reset(seed=3)
    for a in env.possible_agents:
        env.action_space(a).seed(11)
    space = env.observation_space("dc_0")
    while True:
        for a, o in obs.items():
            assert o.dtype == np.float32 and np.all(np.isfinite(o)), a
            assert space.contains(o), (a, env.layout.as_dict(o))
        s = env.state()
        assert env.state_space.contains(s) and np.all(np.isfinite(s))
        if not env.agents:
            break
        obs, *_ = env.step({a: env.action_space(a).sample() for a in env.agents})


def test_spaces_cached_and_identical():
    env = datacenter_grid_v0.parallel_env(**SHORT)
    a, b = env.possible_agents[:2]
    assert env.observation_space(a) is env.observation_space(b) is env.observation_space(a)
    assert env.action_space(a) is env.action_space(b)


def test_pickle_round_trip_mid_episode():
    env = datacenter_grid_v0.parallel_env(**SHORT)
    env.reset(seed=1)
    env.step({a: 0 for a in env.agents})
    clone = pickle.loads(pickle.dumps(env))
    acts = {a: 3 for a in env.agents}
    o1, r1, *_ = env.step(acts)
    o2, r2, *_ = clone.step(acts)
    for a in o1:
        np.testing.assert_array_equal(o1[a], o2[a])
        assert r1[a] == r2[a]


def test_invalid_action_names_agent_and_space():
    env = datacenter_grid_v0.parallel_env(**SHORT)
    env.reset(seed=0)
    acts = {a: 0 for a in env.agents}
    acts["dc_1"] = 17
    with pytest.raises(ValueError, match=r"dc_1.*Discrete\(6\)"):
        env.step(acts)
    with pytest.raises(ValueError, match="missing actions"):
        env.step({"dc_0": 0})
    with pytest.raises(ValueError, match="unknown"):
        env.step({a: 0 for a in env.agents} | {"dc_99": 0})


def test_render_rgb_array():
    pytest.importorskip("matplotlib")
    env = datacenter_grid_v0.parallel_env(render_mode="rgb_array", **SHORT)
    env.reset(seed=0)
    for _ in range(3):
        env.step({a: 0 for a in env.agents})
    img = env.render()
    assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8
    assert img.std() > 0


def test_observation_layout_names_match_kernel_order():
    env = datacenter_grid_v0.parallel_env(**SHORT)
    lay = env.layout
    assert lay["tod_sin"] == 0 and lay["price"] == 4 and lay["emergency"] == 14
    assert lay["renewable_fraction_fc_1h"] == 15 and lay["price_fc_1h"] == 19
    assert lay["queue_e1"] == 23 and lay["min_slack_e1"] == 26 and lay["soc"] == lay.size - 1
    obs, _ = env.reset(seed=0)
    env.step({a: 0 for a in env.agents})
    obs, _, _, _, infos = env.step({a: 0 for a in env.agents})
    # Without delay or anomalies the observed price is the last cleared price.
    assert lay.get(obs["dc_0"], "price") == pytest.approx(infos["dc_0"]["price_usd_per_mwh"] / 100, rel=1e-5)
    g = infos["dc_3"]
    assert lay.get(obs["dc_3"], "utilization") == pytest.approx(g["running_mw"] / env.params.dcs.dynamic_mw[3], rel=1e-5)


def test_infos_none_gives_empty_infos_and_identical_dynamics():
    full = datacenter_grid_v0.parallel_env(n_datacenters=3)
    lean = datacenter_grid_v0.parallel_env(n_datacenters=3, infos="none")
    parallel_api_test(datacenter_grid_v0.parallel_env(n_datacenters=3, infos="none"), num_cycles=10)
    o1, _ = full.reset(seed=4)
    o2, i2 = lean.reset(seed=4)
    rng = np.random.default_rng(0)
    for _ in range(40):
        acts = {a: int(rng.integers(6)) for a in full.agents}
        o1, r1, _, _, i1 = full.step(acts)
        o2, r2, _, _, i2 = lean.step(acts)
        assert r1 == r2
        for a in full.agents:
            np.testing.assert_array_equal(o1[a], o2[a])
            assert i2[a] == {} and "price_usd_per_mwh" in i1[a]
    assert full.ledger().equals(lean.ledger())
    with pytest.raises(ValueError, match="infos='some'.*'full'.*'none'"):
        datacenter_grid_v0.parallel_env(infos="some")
