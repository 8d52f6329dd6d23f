"""The thin PettingZoo ``ParallelEnv`` over a batch of one (the docs live in
:mod:`gridshift.envs.datacenter_grid_v0`)."""

from __future__ import annotations

import functools

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from gridshift.envs.dcgrid import core
from gridshift.envs.dcgrid.actions import make_adapter
from gridshift.envs.dcgrid.scenario import Scenario, load_scenario

#: Grid signals copied into every agent's ``infos`` (raw units).
_GRID_INFO = (
    "price_usd_per_mwh",
    "system_lambda_usd_per_mwh",
    "scarcity_adder_usd_per_mwh",
    "renewable_fraction",
    "avg_ci_g_per_kwh",
    "marginal_ci_g_per_kwh",
    "total_demand_mw",
    "reserve_mw",
    "curtailment_mw",
    "unserved_mw",
    "emissions_t_co2",
    "system_cost_usd",
)
_DC_INFO = (
    "load_mw",
    "it_mw",
    "baseline_mw",
    "bill_usd",
    "carbon_t",
    "carbon_cost_usd",
    "sla_penalty_usd",
    "dr_revenue_usd",
    "emergency_penalty_usd",
    "emergency_cap_mw",
    "dc_cost_usd",
    "running_mw",
    "flex_mw",
    "started",
    "completed_on_time",
    "completed_late",
    "dropped_deadline",
    "dropped_emergency",
    "preempted",
    "served_mwh",
)


class DataCenterGridEnv(ParallelEnv):
    metadata = {"render_modes": ["rgb_array", "human"], "name": "datacenter_grid_v0", "is_parallelizable": True, "render_fps": 4}

    def __init__(self, scenario: str | Scenario = "default", render_mode: str | None = None, **overrides):
        if render_mode not in (None, "rgb_array", "human"):
            raise ValueError(f"render_mode={render_mode!r} is invalid: allowed None, 'rgb_array' or 'human'")
        self.scenario = load_scenario(scenario, **overrides)
        self.params = core.make_params(self.scenario)
        self.render_mode = render_mode
        self.layout = self.params.layout
        n = self.params.n_agents
        self.possible_agents = [f"dc_{i}" for i in range(n)]
        self._index = {a: i for i, a in enumerate(self.possible_agents)}
        self.agents: list[str] = []
        self.adapter = make_adapter(self.scenario.action_mode, bool(self.scenario.battery_hours > 0))
        self._obs_space = spaces.Box(self.layout.low, self.layout.high, dtype=np.float32)
        self._state_space = spaces.Box(-np.inf, np.inf, shape=(core.state_size(self.params),), dtype=np.float32)
        self._rng = np.random.default_rng()
        self._state: core.CoreState | None = None
        self._steps = 0
        self._history: list[dict] = []

    # Spaces are built once and identical across agents (parameter sharing).
    @functools.cache  # noqa: B019 - one entry per agent, lives with the env
    def observation_space(self, agent):
        return self._obs_space

    @functools.cache  # noqa: B019
    def action_space(self, agent):
        return self.adapter.space

    @property
    def state_space(self):
        return self._state_space

    def reset(self, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._state = core.reset(self.params, self._rng, 1)
        self._steps = 0
        self._history = []
        self.agents = list(self.possible_agents)
        obs = core.observe(self.params, self._state, self._rng)[0]
        observations = {a: obs[i] for i, a in enumerate(self.agents)}
        infos = {a: {} for a in self.agents}
        return observations, infos

    def step(self, actions: dict):
        if self._state is None or not self.agents:
            raise RuntimeError("step() called on a finished or un-reset env: call reset() first")
        unknown = set(actions) - set(self.agents)
        if unknown:
            raise ValueError(f"actions for unknown or finished agents {sorted(unknown)}: allowed {self.agents}")
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise ValueError(f"missing actions for agents {missing}: every live agent must act")
        stacked = np.stack([np.asarray(actions[a]) for a in self.possible_agents])[None]
        try:
            core_actions = self.adapter.to_core(stacked)
        except ValueError:
            for a in self.agents:  # name the offending agent
                try:
                    self.adapter.to_core(np.asarray(actions[a])[None])
                except ValueError as e:
                    raise ValueError(f"action {actions[a]!r} of {a} is invalid: allowed {self.adapter.space} ({e})") from None
            raise
        info = core.step(self.params, self._state, core_actions, self._rng)
        self._steps += 1
        obs = core.observe(self.params, self._state, self._rng)[0]
        rew = info["reward"][0].tolist()
        g = info["grid"]
        grid_info = {k: float(getattr(g, k)[0]) for k in _GRID_INFO}
        grid_info["dc_load_total_mw"] = float(info["dc_load_total_mw"][0])
        grid_info["dr_active"] = bool(info["dr_active"][0])
        grid_info["emergency_active"] = bool(info["emergency_active"][0])
        grid_info["telemetry_anomaly"] = int(info["anomaly"][0])
        cols = [info[k][0].tolist() for k in _DC_INFO]
        truncate = self._steps >= self.scenario.horizon_steps
        observations, rewards, terms, truncs, infos = {}, {}, {}, {}, {}
        for i, a in enumerate(self.agents):
            observations[a] = obs[i]
            rewards[a] = rew[i]
            terms[a] = False
            truncs[a] = truncate
            d = dict(grid_info)
            d.update(zip(_DC_INFO, [c[i] for c in cols], strict=True))
            infos[a] = d
        if self.render_mode is not None:
            self._history.append(
                {"price": grid_info["price_usd_per_mwh"], "dc_load": grid_info["dc_load_total_mw"],
                 "queued": float(sum(info[f"queued_mwh_e{c}"][0].sum() for c in (1, 2, 3))),
                 "dr": grid_info["dr_active"], "emergency": grid_info["emergency_active"]}
            )
        if truncate:
            self.agents = []
        return observations, rewards, terms, truncs, infos

    def state(self) -> np.ndarray:
        if self._state is None:
            raise RuntimeError("call reset() before state()")
        return core.global_state(self.params, self._state)[0]

    # ------------------------------------------------------------------ ledger access
    def ledger(self):
        """The episode's job ledger as a pandas DataFrame (one row per job that arrived)."""
        from gridshift.envs.dcgrid.ledger import ledger_frame

        return ledger_frame(self.params, self._state, env_index=0)

    def render(self):
        if self.render_mode is None:
            return None
        from gridshift.envs.dcgrid.viewer import render_history

        return render_history(self._history, self.render_mode, self.scenario.step_hours)

    def close(self):
        if self.render_mode == "human":
            try:
                import matplotlib.pyplot as plt

                plt.close("all")
            except ImportError:  # pragma: no cover
                pass
