"""The native RLlib path: the batched env behind RLlib's env types, the array sampler (checked
step for step against RLlib's own sampling loop and against a replay through the core), reward
units of the logs, and the NumPy export of trained modules.

Tiny scenario (2 DCs, 16-step episodes); one Ray instance for the module.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("ray.rllib")
torch = pytest.importorskip("torch")

from gridshift.agents.mlp import MLPPolicy  # noqa: E402
from gridshift.envs.dcgrid import core  # noqa: E402
from gridshift.envs.dcgrid.vector import DCGridVectorEnv  # noqa: E402
from gridshift.eval.runner import run_episode  # noqa: E402
from gridshift.training.export import actor_arrays, export_module, export_rllib_run  # noqa: E402
from gridshift.training.rllib_config import RLlibConfig, build_config  # noqa: E402
from gridshift.training.rllib_env import (  # noqa: E402
    DCGridMultiAgentEnv,
    DCGridVectorMultiAgentEnv,
    seed_stream,
)
from gridshift.training.rllib_train import per_agent_return, train_rllib  # noqa: E402

TINY = {"n_datacenters": 2, "horizon_steps": 16, "warmup_steps": 4}
CFG = {"scenario": "default", **TINY}


@pytest.fixture(scope="module")
def ray_local():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


# ------------------------------------------------------------------ env types
def test_single_env_is_a_valid_multiagent_env_and_matches_the_core():
    from ray.rllib.utils.pre_checks.env import check_multiagent_environments

    env = DCGridMultiAgentEnv(dict(CFG, reward_multiplier=0.5))
    check_multiagent_environments(env)  # RLlib's own checker: spaces, dict API, "__all__"
    obs, _ = env.reset(seed=3)
    ref = DCGridVectorEnv("default", num_envs=1, autoreset=False, action_mode="discrete", **TINY)
    ref._rng = seed_stream(3, 0)
    r_obs, _ = ref.reset()
    assert np.array_equal(np.stack([obs["dc_0"], obs["dc_1"]]), r_obs[0])
    for t in range(TINY["horizon_steps"]):
        obs, rew, term, trunc, _ = env.step({"dc_0": t % 6, "dc_1": (t + 1) % 6})
        r_obs, r_rew, _, r_trunc, _ = ref.step(np.array([[t % 6, (t + 1) % 6]]))
        assert np.array_equal(np.stack([obs["dc_0"], obs["dc_1"]]), r_obs[0])
        assert rew["dc_0"] == pytest.approx(0.5 * r_rew[0, 0]) and rew["dc_1"] == pytest.approx(0.5 * r_rew[0, 1])
        assert trunc["__all__"] == (t == TINY["horizon_steps"] - 1) and not term["__all__"]
    assert env.agents == []


def test_vector_env_steps_every_env_in_one_batch_with_next_step_autoreset():
    v = DCGridVectorMultiAgentEnv(dict(CFG, central=True), num_envs=3)
    obs, infos = v.reset(seed=1)
    assert len(obs) == 3 and set(obs[0]) == {"dc_0", "dc_1"} and len(infos) == 3
    s = core.global_state(v.venv.params, v.venv.state)
    assert np.array_equal(obs[2]["dc_1"]["state"], s[2]) and obs[2]["dc_1"]["obs"].shape == (v.venv.layout.size,)
    assert v.single_observation_space["dc_0"].contains(obs[0]["dc_0"])
    for _ in range(TINY["horizon_steps"]):
        obs, rew, term, trunc, _ = v.step([{"dc_0": 1, "dc_1": 2}] * 3)
    assert all(t["__all__"] for t in trunc) and not any(t["__all__"] for t in term)
    # next_step autoreset (RLlib's SyncVectorMultiAgentEnv): the next call only resets every env.
    obs, rew, term, trunc, _ = v.step([{"dc_0": 0, "dc_1": 0}] * 3)
    assert rew == [{"dc_0": 0.0, "dc_1": 0.0}] * 3 and not any(t["__all__"] for t in trunc)
    assert v.venv._steps == 0
    with pytest.raises(RuntimeError, match="stepped through the vector env"):
        v.envs[0].step({})


def test_training_streams_never_start_an_evaluation_seed():
    a = seed_stream(1000, 0).standard_normal(4)
    assert not np.array_equal(a, np.random.default_rng(1000).standard_normal(4))
    assert np.array_equal(seed_stream(5, 1).standard_normal(4), seed_stream(5, 1).standard_normal(4))
    assert not np.array_equal(seed_stream(5, 1).standard_normal(4), seed_stream(5, 2).standard_normal(4))


# ------------------------------------------------------------------ the array sampler
def _episodes(impl: str, explore: bool = False, **kw):
    conf, _ = build_config(RLlibConfig(overrides=TINY, train_batch_size=64, num_envs_per_env_runner=3, env_impl=impl,
                                       seed=7, **kw))
    algo = conf.build_algo()
    try:
        er = algo.env_runner
        return er.sample(num_timesteps=30, explore=explore) + er.sample(num_timesteps=30, explore=explore)
    finally:
        algo.stop()


def _same(x, y) -> bool:
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(np.allclose(x[k], y[k]) for k in x)
    return np.allclose(x, y)


@pytest.mark.parametrize("kw", [{}, {"critic": "central"}, {"algo": "dqn", "dqn_rollout_fragment_length": 10}],
                         ids=["ppo", "mappo", "dqn"])
def test_array_sampler_hands_rllib_the_episodes_of_its_own_loop(ray_local, kw):
    """Same seeds, greedy actions: the array sampler and RLlib's MultiAgentEnvRunner loop over the
    same vector env produce identical episode chunks (ids aside): data, lookback, boundaries, model
    outputs. (Greedy, because RLlib's loop orders the rows of its forward batch by set iteration
    order, which changes with the interpreter's hash seed, so its sampled actions are not
    reproducible across processes; the array sampler's rows are in agent order.)"""
    fast = _episodes("native", **kw)
    slow = _episodes("native_rllib_loop", **kw)
    assert len(fast) == len(slow) == 9  # 3 chunks of 10 steps, 3 ends of episode (6 steps), 3 new chunks of 4
    for a, b in zip(fast, slow, strict=True):
        assert (a.env_t_started, a.env_t, a.is_done, len(a)) == (b.env_t_started, b.env_t, b.is_done, len(b))
        assert sorted(a.agent_episodes) == sorted(b.agent_episodes)
        for aid, x in a.agent_episodes.items():
            y = b.agent_episodes[aid]
            assert x.observations.lookback == y.observations.lookback and x.t_started == y.t_started
            assert x.module_id == y.module_id
            for get in ("get_observations", "get_actions", "get_rewards"):
                assert _same(getattr(x, get)(), getattr(y, get)()), get
            assert set(x.extra_model_outputs) == set(y.extra_model_outputs)
            for k in y.extra_model_outputs:
                assert np.allclose(x.get_extra_model_outputs(k), y.get_extra_model_outputs(k), atol=1e-6), k  # float32 batch order
    # a continued chunk keeps its episode's ids (replay buffers concatenate chunks by id)
    for c in (e for e in fast if e.env_t_started > 0):
        first = next(e for e in fast if e.id_ == c.id_ and e.env_t_started == 0)
        assert all(first.agent_episodes[a].id_ == c.agent_episodes[a].id_ for a in c.agent_episodes)


def test_explored_actions_are_samples_of_the_modules_distribution(ray_local):
    eps = _episodes("native", explore=True)
    acts, logp, logits = [], [], []
    for e in eps:
        for sa in e.agent_episodes.values():
            acts.append(sa.get_actions())
            logp.append(sa.get_extra_model_outputs("action_logp"))
            logits.append(sa.get_extra_model_outputs("action_dist_inputs"))
    acts, logp, logits = np.concatenate(acts), np.concatenate(logp), np.concatenate(logits)
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert np.allclose(logp, log_softmax[np.arange(len(acts)), acts], atol=1e-5)
    assert len(np.unique(acts)) > 1  # sampled, not greedy


def test_sampled_data_replays_exactly_through_the_core_and_logs_per_agent_env_units(ray_local):
    """Hand check of the sampler's data path and units: replaying the sampled actions through a
    fresh core with the runner's stream gives the same observations; rewards are the core's times
    reward_multiplier; the logged episode return converts back to the per-agent env-unit mean."""
    mult = 0.01
    conf, _ = build_config(RLlibConfig(overrides=TINY, train_batch_size=64, num_envs_per_env_runner=2, seed=11,
                                       reward_multiplier=mult))
    algo = conf.build_algo()
    try:
        er = algo.env_runner
        eps = er.sample(num_episodes=2)
        metrics = er.get_metrics()
    finally:
        algo.stop()
    ref = DCGridVectorEnv("default", num_envs=2, autoreset=False, action_mode="discrete", **TINY)
    ref._rng = seed_stream(11, 0)
    obs, _ = ref.reset()
    ag = ["dc_0", "dc_1"]
    sa = [[e.agent_episodes[a] for a in ag] for e in eps]
    returns = np.zeros((2, 2))
    for t in range(TINY["horizon_steps"]):
        for b in range(2):
            assert np.array_equal(np.stack([sa[b][i].get_observations(t) for i in range(2)]), obs[b])
        acts = np.array([[sa[b][i].get_actions(t) for i in range(2)] for b in range(2)])
        obs, rew, _, _, _ = ref.step(acts)
        got = np.array([[sa[b][i].get_rewards(t) for i in range(2)] for b in range(2)])
        assert np.allclose(got, mult * rew, rtol=1e-6)
        returns += rew
    team = metrics["episode_return_mean"]
    team = float(team.peek()) if hasattr(team, "peek") else float(team)
    assert per_agent_return(team, 2, mult) == pytest.approx(returns.mean(), rel=1e-5)


def test_native_ppo_run_logs_against_agent_steps_and_exports_a_numpy_policy(tmp_path, ray_local):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "ppo"
    res = train_rllib(RLlibConfig(overrides=TINY, stop_iters=2, train_batch_size=64, num_envs_per_env_runner=4,
                                  eval_every=64, eval_seeds=(900,), run_dir=str(run)), log=lambda *a: None)
    assert res["agent_steps"] == 2 * res["env_steps"]
    acc = EventAccumulator(str(next((run / "tb").rglob("events.*"))))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"rollout/ep_rew_mean", "eval/d_social_cost_usd", "eval/work_served_mwh"} <= tags
    steps = [e.step for e in acc.Scalars("time/env_steps")]
    assert steps == [int(e.value) * 2 for e in acc.Scalars("time/env_steps")]  # x axis: agent-steps
    rows = [json.loads(x) for x in (run / "eval.jsonl").read_text().splitlines()]
    assert rows and rows[-1]["agent_steps"] == res["agent_steps"] and rows[-1]["work_served_mwh"] > 0

    out = export_rllib_run(run, tmp_path / "rllib_ppo.npz", rebuild_command="gridshift train rllib --test")
    assert out.stat().st_size <= 2 * 1024 * 1024
    pol = MLPPolicy.from_npz(out)
    assert pol.meta["rebuild_command"] == "gridshift train rllib --test" and pol.meta["output"] == "logits"
    rec = run_episode(pol, "default", seed=5, **TINY)
    assert len(rec.rewards) == TINY["horizon_steps"]
    with pytest.raises(ValueError, match="incompatible.*observation_size"):
        run_episode(pol, "default", seed=0, forecast_horizons_h=[4.0], **TINY)


# ------------------------------------------------------------------ export (no Ray needed)
def _module(algo: str, critic: str = "independent"):
    """A freshly built module of the config ``gridshift train rllib`` uses, with perturbed weights."""
    from gymnasium import spaces

    conf, _ = build_config(RLlibConfig(algo=algo, critic=critic, overrides=TINY, fcnet_hiddens=(16, 8)))
    env = DCGridMultiAgentEnv(dict(CFG, central=critic == "central"))
    sp = {"shared": (env.observation_spaces["dc_0"], env.action_spaces["dc_0"])}
    torch.manual_seed(0)
    mod = conf.get_multi_rl_module_spec(spaces=sp, inference_only=False).build()["shared"]
    with torch.no_grad():  # trained-looking weights: larger than the init, biases non-zero
        for p in mod.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return mod, isinstance(env.observation_spaces["dc_0"], spaces.Dict)


@pytest.mark.parametrize(("algo", "critic"), [("ppo", "independent"), ("ppo", "central"), ("dqn", "independent")])
def test_export_maps_observations_to_the_same_outputs_and_actions(tmp_path, algo, critic):
    mod, central = _module(algo, critic)
    pol = MLPPolicy.from_npz(export_module(mod, tmp_path / "p.npz", {"algo": algo}))
    rng = np.random.default_rng(0)
    obs = rng.uniform(-2, 2, (256, mod.observation_space["obs"].shape[0] if central else mod.observation_space.shape[0]))
    obs = obs.astype(np.float32)
    x = torch.from_numpy(obs)
    batch = {"obs": {"obs": x, "state": torch.zeros(256, mod.observation_space["state"].shape[0])}} if central else {"obs": x}
    with torch.no_grad():
        if algo == "dqn":
            ref = mod.compute_q_values(batch)["qf_preds"].numpy()  # dueling: V + A - mean(A)
            greedy = mod.forward_inference(batch)["actions"].numpy()
        else:
            ref = mod.forward_inference(batch)["action_dist_inputs"].numpy()
            greedy = ref.argmax(axis=1)
    out = pol.forward(obs)
    assert np.allclose(out, ref, atol=1e-5), np.abs(out - ref).max()
    assert np.array_equal(pol.act(obs, None), greedy)
    assert pol.meta["output"] == ("q_values" if algo == "dqn" else "logits")


def test_export_refuses_what_one_mlp_cannot_express():
    mod, _ = _module("dqn")
    mod.num_atoms = 51
    with pytest.raises(ValueError, match="distributional DQN"):
        actor_arrays(mod)
    mod, _ = _module("ppo")
    mod.pi.net.mlp.append(torch.nn.ReLU())
    with pytest.raises(ValueError, match="mixing activations|allowed Linear"):
        actor_arrays(mod)


def test_custom_callbacks_fall_back_to_rllibs_own_loop(ray_local):
    """The array sampler runs no episode callbacks: with one configured, the runner uses RLlib's
    loop on the same vector env, and the callback sees every finished episode."""
    ends = []
    conf, _ = build_config(RLlibConfig(overrides=TINY, train_batch_size=64, num_envs_per_env_runner=2))
    conf = conf.callbacks(on_episode_end=lambda episode, **kw: ends.append(len(episode)))
    algo = conf.build_algo()
    try:
        er = algo.env_runner
        eps = er.sample(num_episodes=2)
        assert er._fast is False and len(eps) == 2 and all(e.is_done for e in eps)
        assert len(ends) == 2
    finally:
        algo.stop()


def test_bench_profile_split_names_where_sampling_time_goes():
    """`gridshift bench train` splits a cProfile of sampling by the code the time was spent in."""
    from types import SimpleNamespace

    from gridshift.eval.bench_train import PROFILE_PARTS, _profile_parts

    sp = "/x/.venv/lib/python3.11/site-packages"
    rows = {
        ("~", 0, "<built-in method torch._C._nn.linear>"): 1.0,
        (f"{sp}/torch/nn/modules/module.py", 1, "_call_impl"): 0.5,
        (f"{sp}/ray/rllib/env/multi_agent_episode.py", 1, "add_env_step"): 2.0,
        (f"{sp}/ray/rllib/env/utils/infinite_lookback_buffer.py", 1, "append"): 0.25,
        (f"{sp}/ray/rllib/connectors/module_to_env/get_actions.py", 1, "__call__"): 3.0,
        (f"{sp}/ray/rllib/utils/metrics/metrics_logger.py", 1, "log_value"): 4.0,
        (f"{sp}/ray/rllib/env/multi_agent_env_runner.py", 1, "_sample"): 5.0,
        ("/repo/envs/dcgrid/jobs.py", 1, "step_jobs"): 6.0,
        ("/repo/training/rllib_runner.py", 1, "_act"): 7.0,
        (f"{sp}/numpy/_core/fromnumeric.py", 1, "sum"): 8.0,
        ("~", 0, "<method 'append' of 'list' objects>"): 9.0,
    }
    parts = _profile_parts(SimpleNamespace(stats={k: (1, 1, v, v, {}) for k, v in rows.items()}))
    assert set(parts) == set(PROFILE_PARTS)
    assert parts == {"torch": 1.5, "rllib_episodes": 2.25, "rllib_connectors": 3.0, "rllib_metrics": 4.0, "rllib_other": 5.0,
                     "env": 6.0, "gridshift_sampler": 7.0, "numpy": 8.0, "other": 9.0}
