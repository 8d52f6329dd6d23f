"""``datacenter_grid_v0`` as RLlib's own env types, backed directly by the batched core.

RLlib 2.60's :class:`~ray.rllib.env.multi_agent_env_runner.MultiAgentEnvRunner` always builds its
envs through ``make_vec``, whose only multi-agent mode is ``SyncVectorMultiAgentEnv``: a Python loop
over ``num_envs_per_env_runner`` independent ``MultiAgentEnv`` objects, each stepping its own
batch-of-one core. There is no vectorised multi-agent env interface to plug the batched core into.
So this module provides:

* :class:`DCGridMultiAgentEnv`: a plain ``MultiAgentEnv`` (one episode) over
  :class:`~gridshift.envs.dcgrid.vector.DCGridVectorEnv`; RLlib's stock runner can use it (and
  its env checker does);
* :class:`DCGridVectorMultiAgentEnv`: RLlib's ``VectorMultiAgentEnv`` contract (lists of per-env
  agent dicts, ``"__all__"`` flags, ``next_step`` autoreset, like ``SyncVectorMultiAgentEnv``)
  over **one** ``DCGridVectorEnv`` of ``B`` envs: one kernel call steps all ``B x N`` agents;
* :class:`DCGridEnvRunner` (:mod:`gridshift.training.rllib_runner`) builds the latter instead of
  calling ``make_vec``, and samples from it with array code.

Observations are the env's own (``[D]`` float32 per agent). With ``central=True`` each agent's
observation is ``{"obs": own [D], "state": global [S]}``, ``state`` being
:func:`gridshift.envs.dcgrid.core.global_state` (the PettingZoo env's ``state()``): the
centralised critic reads it, the actor never does (:mod:`gridshift.training.rllib_mappo`).

Rewards are the env's (dollars / the scenario's ``reward_scale_usd``, default 1,000) times
``reward_multiplier``: RLlib's PPO does not normalise returns, so the learner sees rewards of
order one; every return gridshift logs is converted back to the env's units.

Every env of a batch starts and ends together (the horizon is fixed), so the whole batch
truncates on the same step and resets on the next ``step`` call.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from ray.rllib.env.multi_agent_env import MultiAgentEnv
from ray.rllib.env.vector.vector_multi_agent_env import VectorMultiAgentEnv

from gridshift.envs.dcgrid import core
from gridshift.envs.dcgrid.vector import DCGridVectorEnv

#: Keys of ``env_config`` that are not scenario overrides.
ENV_KEYS = ("scenario", "central", "reward_multiplier", "num_envs", "seed_offset")


def split_env_config(env_config) -> tuple[str, dict, dict]:
    """``(scenario, overrides, options)`` from an RLlib ``env_config``; the action mode is
    forced to ``discrete``."""
    cfg = dict(env_config)
    opts = {k: cfg.pop(k) for k in ENV_KEYS if k in cfg}
    scenario = opts.pop("scenario", "default")
    cfg["action_mode"] = "discrete"
    return scenario, cfg, opts


def seed_stream(seed: int | None, worker_index: int) -> np.random.Generator:
    """The env batch's random generator of one env runner: derived from ``(seed, worker)``
    through a ``SeedSequence``, so it never coincides with the stream an evaluation seed
    (``np.random.default_rng(seed)``, :mod:`gridshift.eval.runner`) starts."""
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(0x67726964, int(worker_index))))


class _Spaces:
    """Agents and per-agent spaces shared by the env classes of this module."""

    def _init_spaces(self, venv: DCGridVectorEnv, central: bool) -> None:
        self.possible_agents = [f"dc_{i}" for i in range(venv.n_agents)]
        self.agents = list(self.possible_agents)
        obs = venv.single_observation_space
        if central:
            n = core.state_size(venv.params)
            obs = spaces.Dict({"obs": obs, "state": spaces.Box(-np.inf, np.inf, (n,), np.float32)})
        self.observation_spaces = dict.fromkeys(self.possible_agents, obs)
        self.action_spaces = dict.fromkeys(self.possible_agents, venv.single_action_space)
        self.observation_space = spaces.Dict(self.observation_spaces)
        self.action_space = spaces.Dict(self.action_spaces)


class DCGridMultiAgentEnv(MultiAgentEnv, _Spaces):
    """One ``datacenter_grid_v0`` episode as an RLlib ``MultiAgentEnv`` (agents ``dc_0..``).

    ``env_config``: ``scenario`` (name or TOML path), scenario overrides, and ``central``,
    ``reward_multiplier`` (module docstring). Truncates at the horizon like the PettingZoo env
    (with the same terminal backlog value in the last reward)."""

    def __init__(self, env_config: dict | None = None):
        scenario, overrides, opts = split_env_config(env_config or {})
        self.venv = DCGridVectorEnv(scenario, num_envs=1, autoreset=False, **overrides)
        self.central = bool(opts.get("central", False))
        self.reward_multiplier = float(opts.get("reward_multiplier", 1.0))
        self._init_spaces(self.venv, self.central)
        super().__init__()

    def _obs(self, obs: np.ndarray) -> dict:
        if self.central:
            s = self.venv.global_state()[0]
            return {a: {"obs": o, "state": s} for a, o in zip(self.possible_agents, obs[0], strict=True)}
        return dict(zip(self.possible_agents, obs[0], strict=True))

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.venv._rng = seed_stream(seed, 0)
        obs, _ = self.venv.reset()
        self.agents = list(self.possible_agents)
        return self._obs(obs), {}

    def step(self, action_dict):
        a = np.array([[action_dict[k] for k in self.possible_agents]], np.int64)
        obs, rew, _, trunc, _ = self.venv.step(a)
        done = bool(trunc[0, 0])
        rewards = dict(zip(self.possible_agents, (rew[0] * self.reward_multiplier).tolist(), strict=True))
        terms = dict.fromkeys(self.possible_agents, False) | {"__all__": False}
        truncs = dict.fromkeys(self.possible_agents, done) | {"__all__": done}
        if done:
            self.agents = []
        return self._obs(obs), rewards, terms, truncs, {}

    def state(self) -> np.ndarray:
        return self.venv.global_state()[0]


class _AgentsView(MultiAgentEnv, _Spaces):
    """What RLlib's runner reads from ``vector_env.envs[i]``: agents and spaces. It is never
    stepped (the vector env steps every env at once)."""

    def __init__(self, owner: DCGridVectorMultiAgentEnv):
        self.owner = owner
        self._init_spaces(owner.venv, owner.central)
        super().__init__()

    def reset(self, *, seed=None, options=None):
        raise RuntimeError("a sub-env of DCGridVectorMultiAgentEnv is reset through the vector env")

    def step(self, action_dict):
        raise RuntimeError("a sub-env of DCGridVectorMultiAgentEnv is stepped through the vector env")


class DCGridVectorMultiAgentEnv(VectorMultiAgentEnv, _Spaces):
    """``num_envs`` episodes in one :class:`DCGridVectorEnv`, behind RLlib's
    ``VectorMultiAgentEnv`` API (per-env lists of agent dicts, ``next_step`` autoreset).

    Besides the dict API it exposes the arrays (:meth:`reset_arrays`, :meth:`step_arrays`) that
    :class:`~gridshift.training.rllib_runner.DCGridEnvRunner` samples from."""

    metadata = {"autoreset_mode": "next_step"}

    def __init__(self, env_config: dict | None = None, num_envs: int = 1, worker_index: int = 0):
        super().__init__()
        scenario, overrides, opts = split_env_config(env_config or {})
        self.venv = DCGridVectorEnv(scenario, num_envs=num_envs, autoreset=False, **overrides)
        self.num_envs = num_envs
        self.n_agents = self.venv.n_agents
        self.central = bool(opts.get("central", False))
        self.reward_multiplier = float(opts.get("reward_multiplier", 1.0))
        self.worker_index = worker_index
        self._init_spaces(self.venv, self.central)
        self.single_observation_spaces = self.observation_spaces
        self.single_action_spaces = self.action_spaces
        self.single_observation_space = self.observation_space
        self.single_action_space = self.action_space
        self.envs = [_AgentsView(self) for _ in range(num_envs)]
        self.horizon = self.venv.scenario.horizon_steps
        self._needs_reset = True

    # ------------------------------------------------------------------ arrays
    def reset_arrays(self, seed: int | None = None) -> np.ndarray:
        """Reset every env; observations ``[B, N, D]`` float32."""
        if seed is not None:
            self.venv._rng = seed_stream(seed, self.worker_index)
        obs, _ = self.venv.reset()
        self._needs_reset = False
        return obs

    def step_arrays(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """Step every env with discrete actions ``[B, N]``: ``(obs [B, N, D], rewards [B, N]
        in the env's units, truncated)``. After a truncation call :meth:`reset_arrays`."""
        obs, rew, _, trunc, _ = self.venv.step(actions)
        done = bool(trunc[0, 0])
        self._needs_reset = done
        return obs, rew, done

    def global_state(self) -> np.ndarray:
        """``[B, S]`` float32 (:func:`gridshift.envs.dcgrid.core.global_state`)."""
        return self.venv.global_state()

    # ------------------------------------------------------------------ RLlib's dict API
    def _obs_dicts(self, obs: np.ndarray) -> list[dict]:
        ag = self.possible_agents
        if self.central:
            st = self.global_state()
            return [{a: {"obs": o, "state": s} for a, o in zip(ag, ob, strict=True)} for ob, s in zip(obs, st, strict=True)]
        return [dict(zip(ag, ob, strict=True)) for ob in obs]

    def reset(self, *, seed=None, options=None):
        obs = self.reset_arrays(seed)
        return self._obs_dicts(obs), [{} for _ in range(self.num_envs)]

    def step(self, actions: list[dict]):
        ag, nb = self.possible_agents, self.num_envs
        if self._needs_reset:  # next_step autoreset: this call only resets (the actions are ignored)
            obs = self.reset_arrays()
            zero = dict.fromkeys(ag, 0.0)
            flags = dict.fromkeys(ag, False) | {"__all__": False}
            return (self._obs_dicts(obs), [dict(zero) for _ in range(nb)], [dict(flags) for _ in range(nb)],
                    [dict(flags) for _ in range(nb)], [{} for _ in range(nb)])
        a = np.fromiter((d[k] for d in actions for k in ag), np.int64, nb * self.n_agents).reshape(nb, self.n_agents)
        obs, rew, done = self.step_arrays(a)
        rew = (rew * self.reward_multiplier).tolist()
        terms = dict.fromkeys(ag, False) | {"__all__": False}
        truncs = dict.fromkeys(ag, done) | {"__all__": done}
        return (self._obs_dicts(obs), [dict(zip(ag, r, strict=True)) for r in rew], [dict(terms) for _ in range(nb)],
                [dict(truncs) for _ in range(nb)], [{} for _ in range(nb)])

    def close_extras(self, **kwargs):
        pass


def _pettingzoo_base():
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

    return ParallelPettingZooEnv


class PettingZooRLlibEnv(_pettingzoo_base()):
    """RLlib's ``ParallelPettingZooEnv`` around the PettingZoo env, with the same two options as
    the native path: rewards times ``reward_multiplier``, and (``central=True``) observations
    ``{"obs": own, "state": env.state()}``."""

    def __init__(self, par_env, central: bool = False, reward_multiplier: float = 1.0):
        super().__init__(par_env)
        self.central = bool(central)
        self.reward_multiplier = float(reward_multiplier)
        if self.central:
            sp = spaces.Dict({"obs": par_env.observation_space(self.possible_agents[0]), "state": par_env.state_space})
            self.observation_space = spaces.Dict(dict.fromkeys(self._agent_ids, sp))

    def _wrap(self, obs: dict) -> dict:
        if not self.central:
            return obs
        s = self.par_env.state()
        return {a: {"obs": o, "state": s} for a, o in obs.items()}

    def reset(self, *, seed=None, options=None):
        obs, infos = super().reset(seed=seed, options=options)
        return self._wrap(obs), infos

    def step(self, action_dict):
        obs, rew, term, trunc, infos = super().step(action_dict)
        if self.reward_multiplier != 1.0:
            rew = {a: r * self.reward_multiplier for a, r in rew.items()}
        return self._wrap(obs), rew, term, trunc, infos
