"""A stable-baselines3 ``VecEnv`` over the batched core: one slot per (env, agent).

Parameter sharing in SB3 means one policy acting for every agent; the natural shape is a
``VecEnv`` with ``B x N`` sub-environments, slot ``b * N + i`` being agent ``i`` of env ``b``.
This adapter is that view of :class:`~gridshift.envs.dcgrid.vector.DCGridVectorEnv`: no
copies per agent, no SuperSuit (whose PettingZoo-to-SB3 path PettingZoo's own tutorial calls
broken). All envs of the batch truncate together; on truncation the whole batch resets in the
same call and each slot's ``info`` carries ``terminal_observation`` and
``TimeLimit.truncated = True``, as SB3 expects for bootstrapping.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from gridshift.envs.dcgrid.vector import DCGridVectorEnv


class DCGridSB3VecEnv(VecEnv):
    def __init__(self, scenario="default", num_envs: int = 4, seed: int | None = 0, **overrides):
        self.venv = DCGridVectorEnv(scenario, num_envs=num_envs, autoreset=False, **overrides)
        self.n_envs, self.n_agents = num_envs, self.venv.n_agents
        obs_space = spaces.Box(self.venv.layout.low, self.venv.layout.high, dtype=np.float32)
        super().__init__(num_envs * self.n_agents, obs_space, self.venv.adapter.space)
        self._seed = seed
        self._actions = None
        self._ep_return = np.zeros(self.num_envs)
        self._ep_len = 0

    # ------------------------------------------------------------------ VecEnv API
    def reset(self):
        seed = self._seed
        self._seed = None  # later resets continue the same generator
        obs, _ = self.venv.reset(seed=seed)
        self._ep_return[:] = 0.0
        self._ep_len = 0
        return obs.reshape(self.num_envs, -1)

    def step_async(self, actions):
        self._actions = np.asarray(actions)

    def step_wait(self):
        a = self._actions.reshape((self.n_envs, self.n_agents) + self._actions.shape[1:])
        obs, rew, term, trunc, _ = self.venv.step(a)
        rew = rew.reshape(-1).astype(np.float32)
        done = (term | trunc).reshape(-1)
        self._ep_return += rew
        self._ep_len += 1
        flat_obs = obs.reshape(self.num_envs, -1)
        if done.any():
            infos = [
                {"terminal_observation": flat_obs[k], "TimeLimit.truncated": bool(trunc.reshape(-1)[k]),
                 "episode": {"r": float(self._ep_return[k]), "l": self._ep_len}}
                for k in range(self.num_envs)
            ]
            flat_obs = self.reset()
        else:
            infos = [{} for _ in range(self.num_envs)]
        return flat_obs, rew, done, infos

    def close(self):
        pass

    def get_attr(self, attr_name, indices=None):
        return [getattr(self.venv, attr_name, None) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name, value, indices=None):
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name, *args, indices=None, **kwargs):
        fn = getattr(self.venv, method_name)
        return [fn(*args, **kwargs) for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class, indices=None):
        return [False for _ in self._get_indices(indices)]

    def seed(self, seed=None):
        self._seed = seed
        return [seed for _ in range(self.num_envs)]

    def get_images(self):
        return []

    # ------------------------------------------------------------------ checkpoint support
    def get_rng_state(self) -> dict:
        """The env batch's random-generator state (JSON-serialisable), saved with each checkpoint."""
        return {"bit_generator": self.venv._rng.bit_generator.state}

    def set_rng_state(self, state: dict) -> None:
        """Continue the env batch's random stream from ``state`` (from :meth:`get_rng_state`): the
        next ``reset`` draws from it instead of restarting from the configured seed."""
        bg_state = state["bit_generator"]
        bit_gen = getattr(np.random, bg_state["bit_generator"])()
        bit_gen.state = bg_state
        self.venv._rng = np.random.Generator(bit_gen)
        self._seed = None
