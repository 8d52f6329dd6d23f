"""The batched vector API over the simulator core: ``B`` envs x ``N`` agents in arrays.

``DCGridVectorEnv`` is what training at scale uses (and what the SB3 ``VecEnv`` adapter
wraps): observations ``[B, N, D]``, rewards ``[B, N]``, actions ``[B, N]`` (discrete) or
``[B, N, k]``. It follows Gymnasium's vector API where a multi-agent batch allows:
``reset(seed=...)`` returns ``(observations, infos)``; ``single_observation_space`` and
``single_action_space`` are one agent's spaces (every agent of every env shares them);
``observation_space`` and ``action_space`` are the batch's. All envs of a batch start together
and have the same horizon, so they truncate together; ``autoreset=True`` then resets the whole
batch in the same call, returns the final observations in ``info["final_observation"]`` and
keeps the finished episodes: ``info["final_state"]`` is their core state, and
``env.ledger(b, info["final_state"])`` (or ``env.final_ledgers(info)``) their job ledgers.
With ``autoreset=False`` a step past the horizon is refused: call ``reset()`` or ``settle()``.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import batch_space

from gridshift.builder import make_params
from gridshift.envs.dcgrid import core, settlement
from gridshift.envs.dcgrid.actions import make_adapter
from gridshift.envs.dcgrid.scenario import Scenario, load_scenario


class DCGridVectorEnv:
    """A batch of ``num_envs`` independent ``datacenter_grid_v0`` episodes."""

    def __init__(self, scenario: str | Scenario = "default", num_envs: int = 1, *, autoreset: bool = True, **overrides):
        if not (isinstance(num_envs, int) and num_envs >= 1):
            raise ValueError(f"num_envs={num_envs!r} is invalid: allowed an integer >= 1")
        self.scenario = load_scenario(scenario, **overrides)
        self.params = make_params(self.scenario)
        self.num_envs = num_envs
        self.n_agents = self.params.n_agents
        self.adapter = make_adapter(self.scenario.action_mode, bool(self.scenario.battery_hours > 0), self.scenario.geo_shift)
        self.layout = self.params.layout
        self.autoreset = autoreset
        self.state: core.CoreState | None = None
        self._rng = np.random.default_rng()
        self._steps = 0

        self.single_observation_space = spaces.Box(self.layout.low, self.layout.high, dtype=np.float32)
        self.observation_space = batch_space(self.single_observation_space, num_envs * self.n_agents)
        self.action_space = batch_space(self.adapter.space, num_envs * self.n_agents)

    @property
    def single_action_space(self):
        return self.adapter.space

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Start ``num_envs`` new episodes; returns ``(observations [B, N, D], infos)``."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.state = core.reset(self.params, self._rng, self.num_envs)
        self._steps = 0
        return core.observe(self.params, self.state, self._rng), {}

    def ledger(self, env_index: int = 0, state: core.CoreState | None = None):
        """The job ledger of env ``env_index`` (of ``state``, default the current one)."""
        from gridshift.envs.dcgrid.ledger import ledger_frame

        st = state if state is not None else self.state
        if st is None:
            raise RuntimeError("ledger() needs an episode: call reset() first")
        if not 0 <= env_index < st.batch_size:
            raise ValueError(f"env_index={env_index!r} is invalid: allowed 0..{st.batch_size - 1}")
        return ledger_frame(self.params, st, env_index)

    def final_ledgers(self, info) -> list:
        """The ledgers of the episodes that ``info`` (an autoreset step's) finished."""
        st = info.env.get("final_state") if hasattr(info, "env") else None
        if st is None:
            raise ValueError("this step finished no episode: info has no 'final_state'")
        return [self.ledger(b, st) for b in range(st.batch_size)]

    def step(self, actions: np.ndarray):
        """Returns ``(obs, rewards, terminated, truncated, info)``; ``info`` maps names to ``[B, N]``
        per-DC arrays and per-env values (:class:`gridshift.envs.dcgrid.core.StepInfo`)."""
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        if self._steps >= self.scenario.horizon_steps:
            raise RuntimeError(f"the episodes ended at the horizon ({self.scenario.horizon_steps} steps): call reset() "
                               "(or settle() to serve the backlog) before stepping again")
        core_actions = self.adapter.to_core(actions)
        if core_actions.shape != (self.num_envs, self.n_agents, 5 if self.scenario.geo_shift else 4):
            raise ValueError(
                f"actions of shape {np.shape(actions)} are invalid: allowed [num_envs={self.num_envs}, n_agents={self.n_agents}]"
                + ("" if self.adapter.mode == "discrete" else " x action size")
            )
        info = core.step(self.params, self.state, core_actions, self._rng)
        self._steps += 1
        obs = core.observe(self.params, self.state, self._rng)
        done = self._steps >= self.scenario.horizon_steps
        terminated = np.zeros((self.num_envs, self.n_agents), bool)
        truncated = np.full((self.num_envs, self.n_agents), done)
        rewards = info["reward"].astype(np.float32)
        if done and self.scenario.backlog_terminal_value:
            # Unfinished work is never free: the last reward carries its estimated settlement cost.
            bv = settlement.backlog_value(self.params, self.state)
            rewards = rewards + bv["reward"].astype(np.float32)
            info.env["backlog_value_usd"] = bv["selfish_usd"]
            info.env["backlog_open_mwh"] = bv["open_mwh"]
        if done and self.autoreset:
            info.env["final_observation"] = obs
            info.env["final_state"] = self.state  # reset builds a new state: the finished one is kept
            obs, _ = self.reset()
        return obs, rewards, terminated, truncated, info

    def settle(self):
        """After the horizon (``autoreset=False``), run the settlement phase: yields each step's
        info (:func:`gridshift.envs.dcgrid.settlement.settle`)."""
        if self.state is None or self._steps < self.scenario.horizon_steps:
            raise RuntimeError("settle() runs after the horizon: step the episode to truncation first")
        return settlement.settle(self.params, self.state, self._rng)

    def global_state(self) -> np.ndarray:
        return core.global_state(self.params, self.state)
