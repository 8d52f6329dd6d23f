"""The thin PettingZoo ``ParallelEnv`` over a batch of one (the docs live in
:mod:`gridshift.envs.datacenter_grid_v0`)."""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from gridshift.builder import make_params
from gridshift.envs.dcgrid import core, settlement
from gridshift.envs.dcgrid.actions import make_adapter
from gridshift.envs.dcgrid.scenario import Scenario, load_scenario
from gridshift.envs.grid.copper_plate import _OUT_FIELDS as _GRID_FIELDS

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


_GRID_PICK = operator.itemgetter(*[_GRID_FIELDS.index(k) for k in _GRID_INFO])
_DC_ROWS = np.asarray([core.DC_INDEX[k] for k in _DC_INFO], dtype=np.intp)
_REWARD_ROW = core.DC_INDEX["reward"]


class DataCenterGridEnv(ParallelEnv):
    metadata = {"render_modes": ["rgb_array", "human"], "name": "datacenter_grid_v0", "is_parallelizable": True, "render_fps": 4}

    def __init__(self, scenario: str | Scenario = "default", render_mode: str | None = None, infos: str = "full",
                 **overrides):
        if render_mode not in (None, "rgb_array", "human"):
            raise ValueError(f"render_mode={render_mode!r} is invalid: allowed None, 'rgb_array' or 'human'")
        if infos not in ("full", "none"):
            raise ValueError(f"infos={infos!r} is invalid: allowed 'full' (grid signals and DC KPIs per agent) "
                             "or 'none' (empty dicts, for training loops that never read them)")
        self.infos_mode = infos
        self.scenario = load_scenario(scenario, **overrides)
        self.params = make_params(self.scenario)
        self.render_mode = render_mode
        self.layout = self.params.layout
        n = self.params.n_agents
        self.possible_agents = [f"dc_{i}" for i in range(n)]
        self._index = {a: i for i, a in enumerate(self.possible_agents)}
        self.agents: list[str] = []
        self.adapter = make_adapter(self.scenario.action_mode, bool(self.scenario.battery_hours > 0), self.scenario.geo_shift)
        self._obs_space = spaces.Box(self.layout.low, self.layout.high, dtype=np.float32)
        self._state_space = spaces.Box(-np.inf, np.inf, shape=(core.state_size(self.params),), dtype=np.float32)
        self._rng = np.random.default_rng()
        self._state: core.CoreState | None = None
        self._steps = 0
        self._history: list[dict] = []
        # Valid discrete actions as a set: membership also accepts numpy integers (equal hashes).
        self._valid_discrete = frozenset(range(self.adapter.space.n)) if self.adapter.mode == "discrete" else None
        self._live: set[str] = set()

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
        self._live = set(self.agents)
        obs = core.observe(self.params, self._state, self._rng)[0]
        observations = {a: obs[i] for i, a in enumerate(self.agents)}
        infos = {a: {} for a in self.agents}
        return observations, infos

    def step(self, actions: dict):
        if self._state is None or not self.agents:
            raise RuntimeError("step() called on a finished or un-reset env: call reset() first")
        if not isinstance(actions, Mapping):
            raise ValueError(f"actions must be a dict {{agent: action}} for the live agents {self.agents}, "
                             f"not a {type(actions).__name__}")
        agents = self.agents
        if actions.keys() != self._live:
            unknown = set(actions) - set(agents)
            if unknown:
                raise ValueError(f"actions for unknown or finished agents {sorted(unknown)}: allowed {agents}")
            missing = [a for a in agents if a not in actions]
            raise ValueError(f"missing actions for agents {missing}: every live agent must act")
        vals = [actions[a] for a in agents]
        if self._valid_discrete is not None and self._fast_discrete(vals):
            core_actions = self.adapter.table.take(vals, axis=0)[None]  # fast path, validated
        else:
            core_actions = self._to_core_checked(vals, actions)
        if core_actions.shape != (1, len(agents), 5 if self.scenario.geo_shift else 4):
            raise ValueError(f"actions of shape {np.shape(vals)} are invalid: allowed one action in {self.adapter.space} per agent")
        info = core.step(self.params, self._state, core_actions, self._rng)
        self._steps += 1
        obs = core.observe(self.params, self._state, self._rng)[0]
        dc0 = info.dc[:, 0, :]  # [K, N]
        truncate = self._steps >= self.scenario.horizon_steps
        observations = dict(zip(agents, obs, strict=True))
        rew = dc0[_REWARD_ROW]
        if truncate and self.scenario.backlog_terminal_value:
            # Unfinished work is never free: the last reward carries its estimated settlement cost.
            rew = rew + settlement.backlog_value(self.params, self._state)["reward"][0]
        rewards = dict(zip(agents, rew.tolist(), strict=True))
        terms = dict.fromkeys(agents, False)
        truncs = dict.fromkeys(agents, truncate)
        full_infos = self.infos_mode == "full"
        if full_infos or self.render_mode is not None:
            grid_info = dict(zip(_GRID_INFO, _GRID_PICK(info["grid"].packed[:, 0].tolist()), strict=True))
            grid_info["dc_load_total_mw"] = info["dc_load_total_mw"][0].item()
            grid_info["dr_active"] = bool(info["dr_active"][0])
            grid_info["emergency_active"] = bool(info["emergency_active"][0])
            grid_info["telemetry_anomaly"] = int(info["anomaly"][0])
        if full_infos:
            rows = dc0.take(_DC_ROWS, axis=0).T.tolist()  # [N][K] python floats
            infos = {}
            for a, r in zip(agents, rows, strict=True):
                d = grid_info.copy()
                d.update(zip(_DC_INFO, r, strict=True))
                infos[a] = d
        else:
            infos = {a: {} for a in agents}
        if self.render_mode is not None:
            self._history.append(
                {"price": grid_info["price_usd_per_mwh"], "dc_load": grid_info["dc_load_total_mw"],
                 "queued": float(sum(info[f"queued_mwh_e{c}"][0].sum() for c in (1, 2, 3))),
                 "dr": grid_info["dr_active"], "emergency": grid_info["emergency_active"]}
            )
        if truncate:
            self.agents = []
            self._live = set()
        return observations, rewards, terms, truncs, infos

    def _fast_discrete(self, vals) -> bool:
        """Every action a valid Python or NumPy integer (a 0-d array is not hashable: slow path)."""
        try:
            return self._valid_discrete.issuperset(vals) and all(type(x) is not bool and not isinstance(x, np.bool_)
                                                                 for x in vals)
        except TypeError:
            return False

    def _to_core_checked(self, vals, actions):
        try:
            return self.adapter.to_core(np.asarray(vals)[None])
        except (ValueError, TypeError):
            for a in self.agents:  # name the offending agent
                try:
                    self.adapter.to_core(np.asarray(actions[a])[None])
                except (ValueError, TypeError) as e:
                    raise ValueError(f"action {actions[a]!r} of {a} is invalid: allowed {self.adapter.space} ({e})") from None
            raise

    def state(self) -> np.ndarray:
        if self._state is None:
            raise RuntimeError("call reset() before state()")
        return core.global_state(self.params, self._state)[0]

    # ------------------------------------------------------------------ ledger access
    def ledger(self):
        """The episode's job ledger as a pandas DataFrame (one row per job that arrived)."""
        from gridshift.envs.dcgrid.ledger import ledger_frame

        if self._state is None:
            raise RuntimeError("ledger() needs an episode: call reset() first")
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
