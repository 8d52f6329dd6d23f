"""The centralised critic (MAPPO-style, ``RLlibConfig.critic="central"``): the actor never reads
the global state, the critic does; both env paths feed it; trained actors play and export."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ray.rllib")
torch = pytest.importorskip("torch")

from gridshift.agents.trained import RLlibPolicy  # noqa: E402
from gridshift.envs.dcgrid import core  # noqa: E402
from gridshift.eval.runner import run_episode  # noqa: E402
from gridshift.training.rllib_config import RLlibConfig, build_config  # noqa: E402
from gridshift.training.rllib_env import DCGridMultiAgentEnv  # noqa: E402
from gridshift.training.rllib_mappo import CentralCriticPPOModule  # noqa: E402
from gridshift.training.rllib_train import train_rllib  # noqa: E402

TINY = {"n_datacenters": 2, "horizon_steps": 16, "warmup_steps": 4}


@pytest.fixture(scope="module")
def ray_local():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _module(**kw) -> CentralCriticPPOModule:
    conf, _ = build_config(RLlibConfig(critic="central", overrides=TINY, **kw))
    env = DCGridMultiAgentEnv({"scenario": "default", **TINY, "central": True})
    torch.manual_seed(0)
    spec = conf.get_multi_rl_module_spec(spaces={"shared": (env.observation_spaces["dc_0"], env.action_spaces["dc_0"])})
    mod = spec.build()["shared"]
    assert isinstance(mod, CentralCriticPPOModule)
    return mod


def _batch(mod, n=64, seed=0):
    rng = np.random.default_rng(seed)
    d_obs, d_state = mod.observation_space["obs"].shape[0], mod.observation_space["state"].shape[0]
    return (torch.from_numpy(rng.standard_normal((n, d_obs)).astype(np.float32)),
            torch.from_numpy(rng.standard_normal((n, d_state)).astype(np.float32)))


def test_actor_ignores_the_state_and_the_critic_reads_it():
    mod = _module(fcnet_hiddens=(16, 16), critic_hiddens=(32,))
    obs, state = _batch(mod)
    other_state = state + 3.0 * torch.randn_like(state)
    with torch.no_grad():
        logits = mod.forward_inference({"obs": {"obs": obs, "state": state}})["action_dist_inputs"]
        logits2 = mod.forward_train({"obs": {"obs": obs, "state": other_state}})["action_dist_inputs"]
        bare = mod.forward_inference({"obs": obs})["action_dist_inputs"]  # how RLlibPolicy and exports call it
        v = mod.compute_values({"obs": {"obs": obs, "state": state}})
        v_state = mod.compute_values({"obs": {"obs": obs, "state": other_state}})
        v_obs = mod.compute_values({"obs": {"obs": obs + 1.0, "state": state}})
    assert torch.equal(logits, logits2) and torch.equal(logits, bare)
    assert v.shape == (64,) and not torch.allclose(v, v_state) and not torch.allclose(v, v_obs)
    # and the gradients agree: the policy loss never reaches the critic's weights, nor the value loss the actor's
    out = mod.forward_train({"obs": {"obs": obs, "state": state}})["action_dist_inputs"].sum()
    out.backward()
    assert all(p.grad is None for p in mod.vf.parameters()) and all(p.grad is not None for p in mod.pi.parameters())
    mod.zero_grad(set_to_none=True)
    mod.compute_values({"obs": {"obs": obs, "state": state}}).sum().backward()
    assert all(p.grad is None for p in mod.pi.parameters()) and all(p.grad is not None for p in mod.vf.parameters())
    assert [m.out_features for m in mod.vf if isinstance(m, torch.nn.Linear)] == [32, 1]


def test_central_critic_needs_the_state_and_ppo():
    from gymnasium import spaces

    with pytest.raises(ValueError, match=r"critic='central' is invalid with algo='dqn'"):
        RLlibConfig(algo="dqn", critic="central")
    with pytest.raises(ValueError, match=r"critic='both' is invalid: allowed independent, central"):
        RLlibConfig(critic="both")
    with pytest.raises(ValueError, match="central=True"):
        CentralCriticPPOModule(observation_space=spaces.Box(-1, 1, (5,)), action_space=spaces.Discrete(3), model_config={})
    mod = _module()
    obs, _ = _batch(mod, 4)
    with pytest.raises(ValueError, match="needs the global state"):
        mod.compute_values({"obs": obs})


def test_env_state_is_the_cores_global_state():
    env = DCGridMultiAgentEnv({"scenario": "default", **TINY, "central": True})
    obs, _ = env.reset(seed=2)
    s = core.global_state(env.venv.params, env.venv.state)[0]
    assert s.shape == (core.state_size(env.venv.params),) == (11 + 5 * 2,)
    assert all(np.array_equal(obs[a]["state"], s) for a in obs)
    assert env.observation_spaces["dc_0"]["state"].contains(s)


@pytest.mark.parametrize("env_impl", ["native", "pettingzoo"])
def test_mappo_trains_on_both_env_paths_and_its_actor_plays(tmp_path, ray_local, env_impl):
    run = tmp_path / env_impl
    res = train_rllib(RLlibConfig(critic="central", env_impl=env_impl, overrides=TINY, stop_iters=1, train_batch_size=64,
                                  num_envs_per_env_runner=2, run_dir=str(run)), log=lambda *a: None)
    assert res["iterations"] == 1 and res["env_steps"] >= 64
    pol = RLlibPolicy.from_checkpoint(run)
    assert isinstance(pol.modules["shared"], CentralCriticPPOModule)
    rec = run_episode(pol, "default", seed=3, **TINY)  # the actor alone, from own observations
    assert len(rec.rewards) == TINY["horizon_steps"]
