"""A centralised critic for RLlib PPO (MAPPO-style): the actor reads its own observation, the
critic the global state.

:class:`CentralCriticPPOModule` is a torch ``RLModule`` implementing RLlib's
``ValueFunctionAPI`` (what PPO's learner needs for GAE and the value loss):

* the **actor** is an MLP (``fcnet_hiddens``, ``fcnet_activation``) on the agent's own observation,
  then a linear head to the action logits. It accepts either the env's observation dict or the
  bare observation tensor, so a trained actor plays through the same paths as any other module
  (``RLlibPolicy``, the NumPy export of :mod:`gridshift.training.export`);
* the **critic** is a separate MLP (``critic_hiddens``) on ``[state, own observation]``: the
  global state of :func:`gridshift.envs.dcgrid.core.global_state` (the PettingZoo env's
  ``state()``: true grid signals, exogenous inputs, events, every DC's running/flexible/queued
  load) concatenated with the agent's own observation. The own observation is the
  "agent-specific global state" of Yu et al. (2022, *The Surprising Effectiveness of PPO in
  Cooperative Multi-Agent Games*): with shared parameters and per-agent rewards, a critic of the
  state alone would have to give every agent the same value.

The env supplies ``{"obs": own, "state": global}`` per agent (``central=True`` in
:mod:`gridshift.training.rllib_env`); the state never reaches the actor.
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
from ray.rllib.core.rl_module.torch import TorchRLModule
from torch import nn

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


def mlp(sizes: list[int], activation: str) -> nn.Sequential:
    """``Linear + activation`` for every layer but the last, which is linear."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def _own_obs(obs) -> torch.Tensor:
    return obs["obs"] if isinstance(obs, dict) else obs


class CentralCriticPPOModule(TorchRLModule, ValueFunctionAPI):
    """Actor on the own observation, critic on ``[global state, own observation]``.

    ``model_config``: ``fcnet_hiddens`` (actor, default ``[64, 64]``), ``critic_hiddens``
    (default: the actor's), ``fcnet_activation`` (``tanh`` or ``relu``)."""

    def setup(self):
        sp = self.observation_space
        if not (isinstance(sp, spaces.Dict) and set(sp.spaces) == {"obs", "state"}):
            raise ValueError(f"CentralCriticPPOModule needs observations {{'obs': own, 'state': global}}, got {sp} "
                             "(build the env with central=True)")
        if not isinstance(self.action_space, spaces.Discrete):
            raise ValueError(f"CentralCriticPPOModule needs a Discrete action space, got {self.action_space}")
        cfg = self.model_config or {}
        act = cfg.get("fcnet_activation", "tanh")
        if act not in ACTIVATIONS:
            raise ValueError(f"fcnet_activation={act!r} is invalid: allowed {sorted(ACTIVATIONS)}")
        hid = list(cfg.get("fcnet_hiddens", [64, 64]))
        chid = list(cfg.get("critic_hiddens") or hid)
        d_obs = int(sp["obs"].shape[0])
        d_state = int(sp["state"].shape[0])
        self.pi = mlp([d_obs, *hid, int(self.action_space.n)], act)
        self.vf = mlp([d_state + d_obs, *chid, 1], act)

    def _forward(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        return {Columns.ACTION_DIST_INPUTS: self.pi(_own_obs(batch[Columns.OBS]))}

    def _forward_train(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        return self._forward(batch)

    def compute_values(self, batch: dict[str, Any], embeddings: Any | None = None) -> torch.Tensor:
        obs = batch[Columns.OBS]
        if not isinstance(obs, dict):
            raise ValueError("the centralised critic needs the global state: observations {'obs': own, 'state': global}")
        return self.vf(torch.cat([obs["state"], obs["obs"]], dim=-1)).squeeze(-1)
