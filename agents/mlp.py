"""Trained MLP policies without torch: the shipped agents as plain NumPy weights (``.npz``).

``make demo`` should not need a 2 GB torch + Ray install to run two 64-64 MLPs. A
stable-baselines3 PPO or DQN policy with an MLP (``MlpPolicy``; no observation normalisation,
as ``gridshift train sb3`` trains them) is exported once with :func:`export_sb3` (which needs
torch and SB3) into an ``.npz`` of its layers; :class:`MLPPolicy` then acts greedily with
NumPy alone, in float32 like torch, batched over the env's agents:

* PPO: ``mlp_extractor.policy_net`` (Linear + tanh per hidden layer), then ``action_net``;
  the greedy action is the arg-max logit.
* DQN: ``q_net`` (Linear + ReLU per hidden layer, then Linear); the greedy action is the
  arg-max Q-value.

``tests/test_mlp_policy.py`` checks that the exported policy's actions equal the SB3 policy's on
recorded observations. The ``.npz`` also stores the policy's env signature (the JSON beside the
zip) so that a mismatched env is refused, naming the difference.

Rebuild the shipped files after retraining::

    python -m gridshift.agents.mlp agents/weights/sb3_ppo_default.zip agents/weights/sb3_ppo_default.npz
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from gridshift.agents.trained import _TrainedBase

ACTIVATIONS = {"tanh": np.tanh, "relu": lambda x: np.maximum(x, 0.0)}


class MLPPolicy(_TrainedBase):
    """A greedy discrete-action MLP shared by all agents, in NumPy."""

    def __init__(self, weights: list[np.ndarray], biases: list[np.ndarray], activation: str, name: str,
                 meta: dict | None = None):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation={activation!r} is invalid: allowed {sorted(ACTIVATIONS)}")
        if len(weights) != len(biases) or not weights:
            raise ValueError(f"an MLP needs as many weight matrices as bias vectors (got {len(weights)} and {len(biases)})")
        super().__init__(name, meta)
        self.weights = [np.asarray(w, np.float32) for w in weights]
        self.biases = [np.asarray(b, np.float32) for b in biases]
        self.activation = activation

    @classmethod
    def from_npz(cls, path: str | Path, name: str | None = None) -> MLPPolicy:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"MLP policy file {p} not found")
        with np.load(p, allow_pickle=False) as z:
            n = int(z["n_layers"])
            ws = [z[f"w{i}"] for i in range(n)]
            bs = [z[f"b{i}"] for i in range(n)]
            act = str(z["activation"])
            meta = json.loads(str(z["meta"]))
        pol = cls(ws, bs, act, name or f"mlp:{p}", meta)
        pol.weights_path = str(p)
        return pol

    def forward(self, observations: np.ndarray) -> np.ndarray:
        """Logits (PPO) or Q-values (DQN), ``[N, n_actions]``."""
        x = np.asarray(observations, np.float32)
        f = ACTIVATIONS[self.activation]
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            x = f(x @ w.T + b)
        return x @ self.weights[-1].T + self.biases[-1]

    def act(self, observations: np.ndarray, infos: Mapping | None) -> np.ndarray:
        return np.argmax(self.forward(observations), axis=-1).astype(np.int64)


def export_sb3(zip_path: str | Path, out_path: str | Path) -> Path:
    """Export a stable-baselines3 PPO or DQN ``MlpPolicy`` zip to an ``.npz`` (needs torch + SB3)."""
    import torch
    from stable_baselines3 import DQN, PPO

    zp = Path(zip_path)
    meta_file = zp.with_suffix(".json") if zp.with_suffix(".json").is_file() else zp.parent / "policy.json"
    meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
    algo = meta.get("algo")
    if algo == "dqn":
        model = DQN.load(zp, device="cpu")
        seq, head, activation = model.policy.q_net.q_net, None, "relu"
    elif algo == "ppo":
        model = PPO.load(zp, device="cpu")
        seq, head, activation = model.policy.mlp_extractor.policy_net, model.policy.action_net, "tanh"
    else:
        raise ValueError(f"{zp}: its metadata (policy.json) must name algo 'ppo' or 'dqn', got {algo!r}")
    linears = [m for m in seq if isinstance(m, torch.nn.Linear)] + ([head] if head is not None else [])
    acts = {type(m).__name__ for m in seq if not isinstance(m, torch.nn.Linear)}
    want = {"tanh": {"Tanh"}, "relu": {"ReLU"}}[activation]
    if acts != want:
        raise ValueError(f"{zp}: only MLPs with {want} activations can be exported, found {sorted(acts)}")
    arrays = {"n_layers": np.array(len(linears)), "activation": np.array(activation),
              "meta": np.array(json.dumps({k: meta[k] for k in ("algo", "signature", "name", "seed", "rebuild_command",
                                                                "trained_at_commit") if k in meta}))}
    for i, lin in enumerate(linears):
        arrays[f"w{i}"] = lin.weight.detach().cpu().numpy().astype(np.float32)
        arrays[f"b{i}"] = lin.bias.detach().cpu().numpy().astype(np.float32)
    out = Path(out_path)
    np.savez_compressed(out, **arrays)
    return out


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m gridshift.agents.mlp SB3_ZIP OUT_NPZ")
    print(export_sb3(sys.argv[1], sys.argv[2]))
