"""The one ``Policy`` protocol shared by heuristics and learned policies (DESIGN §7).

A policy acts for **all agents of one env at once**: ``act(observations, infos)`` takes the
stacked observations ``[N, D]`` (float32, named by ``context.layout``) and returns the
actions of all ``N`` agents in the env's action space: ``[N]`` integers for ``Discrete``,
``[N, k]`` for ``MultiDiscrete`` and ``Box``. ``infos`` is the previous step's info mapping
(``None`` right after reset); heuristics must not use it for anything an agent could not
observe (it carries the true, undelayed grid signals), and the built-in ones read only the
observation.

A policy says which ``action_mode`` it speaks; the runner builds the env with that mode.
``reset(seed, context)`` is called at the start of every episode, with the episode's seed
(policies that randomise draw from ``numpy.random.default_rng(seed)``) and a
:class:`PolicyContext`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from gridshift.envs.dcgrid.observation import ObservationLayout
from gridshift.envs.dcgrid.scenario import Scenario


@dataclass(frozen=True, eq=False)
class PolicyContext:
    """What a policy may know about the env it acts in."""

    layout: ObservationLayout
    """Field names of the observation vector: ``layout.get(obs, "price")``."""
    scenario: Scenario
    n_agents: int
    action_space: Any
    """The (identical) per-agent gymnasium action space."""
    step_hours: float
    max_deferral_steps: tuple[int, ...]
    """Per class E0..E3."""
    env: Any = None
    """The live :class:`~gridshift.envs.dcgrid.vector.DCGridVectorEnv` the runner steps. Only the
    perfect-information ``oracle`` reads it (the whole episode's exogenous inputs and job table);
    a policy that competes on the leaderboard must not."""


@runtime_checkable
class Policy(Protocol):
    name: str
    action_mode: str
    """``discrete``, ``multidiscrete`` or ``box``: the env's action adapter for this policy."""

    def reset(self, seed: int | None, context: PolicyContext) -> None: ...

    def act(self, observations: np.ndarray, infos: Mapping | None) -> np.ndarray: ...


class ReleasePolicy:
    """Base for heuristics that decide release fractions ``[N, 3]`` for E1..E3 (``box`` mode).

    Subclasses implement :meth:`release`; with a battery the setpoint is 0 (idle); with
    geo-shifting (``Scenario.geo_shift``) the offered share is :meth:`shift` (default 0: keep
    the work here).
    """

    name = "release"
    action_mode = "box"

    def reset(self, seed: int | None, context: PolicyContext) -> None:
        self.context = context
        self.layout = context.layout
        self.rng = np.random.default_rng(seed)
        self._battery = bool(context.scenario.battery_hours > 0)
        self._geo = bool(getattr(context.scenario, "geo_shift", False))

    def release(self, obs: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def shift(self, obs: np.ndarray) -> np.ndarray:
        """Share of each DC's queued E2/E3 work offered to other DCs, ``[N]`` (geo-shifting)."""
        return np.zeros(obs.shape[0], np.float32)

    def act(self, observations: np.ndarray, infos: Mapping | None) -> np.ndarray:
        r = np.clip(np.asarray(self.release(observations), dtype=np.float32), 0.0, 1.0)
        if self._battery:
            r = np.concatenate([r, np.zeros((r.shape[0], 1), np.float32)], axis=1)
        if self._geo:
            r = np.concatenate([r, np.clip(self.shift(observations), 0.0, 1.0).astype(np.float32)[:, None]], axis=1)
        return r
