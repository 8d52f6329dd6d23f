"""Trained policies as first-class :class:`~gridshift.agents.base.Policy` objects.

* ``SB3Policy.from_zip(path)``: a stable-baselines3 PPO or DQN zip (``gridshift train sb3``).
* ``RLlibPolicy.from_checkpoint(path)``: an RLlib checkpoint directory (``gridshift train
  rllib``), or a run directory (its ``policy.json`` names the checkpoint, relative to the run
  directory; an absolute path written by older versions is accepted).

Inference is on the CPU, greedy, and batched across all agents of the env in one forward pass.
Each loader reads the env signature saved beside the weights (``policy.json``) and refuses an
env with different spaces or observation fields, naming the mismatch. Loading a checkpoint
unpickles and executes code: load only files you trust.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from gridshift.agents.base import PolicyContext
from gridshift.training.common import check_signature


def _read_meta(path: Path) -> dict | None:
    for cand in (path.with_suffix(".json"), path / "policy.json", path.parent / "policy.json", path.parent.parent / "policy.json"):
        if cand.is_file():
            return json.loads(cand.read_text())
    return None


class _TrainedBase:
    action_mode = "discrete"

    def __init__(self, name: str, meta: dict | None):
        self.name = name
        self.meta = meta or {}

    def reset(self, seed: int | None, context: PolicyContext) -> None:
        sig = self.meta.get("signature")
        if sig:
            check_signature(sig, context.scenario, action_mode="discrete")
        self.context = context


class SB3Policy(_TrainedBase):
    """A stable-baselines3 policy shared by all agents."""

    def __init__(self, model, name: str, meta: dict | None):
        super().__init__(name, meta)
        self.model = model

    @classmethod
    def from_zip(cls, path: str | Path) -> SB3Policy:
        import torch
        from stable_baselines3 import DQN, PPO

        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"SB3 policy file {p} not found")
        meta = _read_meta(p)
        algo = (meta or {}).get("algo")
        loaders = {"ppo": PPO, "dqn": DQN}
        torch.set_num_threads(1)
        if algo in loaders:
            model = loaders[algo].load(p, device="cpu")
        else:  # no metadata: try both
            try:
                model = PPO.load(p, device="cpu")
            except Exception:  # noqa: BLE001 - SB3 raises various errors for a mismatched class
                model = DQN.load(p, device="cpu")
        return cls(model, f"sb3:{p}", meta)

    def act(self, observations: np.ndarray, infos: Mapping | None) -> np.ndarray:
        actions, _ = self.model.predict(np.asarray(observations, np.float32), deterministic=True)
        return np.asarray(actions, dtype=np.int64).reshape(-1)


def _run_checkpoint(run: Path, named: str) -> Path:
    """The checkpoint a run directory's ``policy.json`` names, resolved in that run directory.

    ``gridshift train rllib`` writes it relative to the run directory. Older runs wrote an
    absolute path: its run-relative part (from ``checkpoints/`` on) is preferred when it exists
    here, so a copied run never silently loads the original run's weights."""
    ck = Path(named)
    if not ck.is_absolute():
        return run / ck
    parts = ck.parts
    if "checkpoints" in parts:
        i = len(parts) - 1 - parts[::-1].index("checkpoints")
        local = run.joinpath(*parts[i:])
        if local.is_dir():
            return local
    return ck


class RLlibPolicy(_TrainedBase):
    """An RLlib RLModule (shared, or one per agent) loaded from a checkpoint."""

    def __init__(self, modules: dict, module_for_agent, name: str, meta: dict | None):
        super().__init__(name, meta)
        self.modules = modules
        self.module_for_agent = module_for_agent

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> RLlibPolicy:
        import torch
        from ray.rllib.core.rl_module.rl_module import RLModule

        p = Path(path).resolve()  # RLlib reads checkpoints by absolute URI
        meta = _read_meta(p)
        if (p / "policy.json").is_file() and not (p / "learner_group").exists():
            p = _run_checkpoint(p, json.loads((p / "policy.json").read_text())["checkpoint"])
        root = p / "learner_group" / "learner" / "rl_module"
        if not root.is_dir():
            raise FileNotFoundError(f"RLlib checkpoint {path} has no {root.relative_to(p)}: not an RLlib algorithm checkpoint")
        torch.set_num_threads(1)
        modules = {d.name: RLModule.from_checkpoint(d) for d in sorted(root.iterdir()) if (d / "module_state.pkl").exists()}
        if not modules:
            raise FileNotFoundError(f"no RLModule found under {root}")

        def module_for_agent(i: int) -> str:
            return "shared" if "shared" in modules else f"dc_{i}"

        return cls(modules, module_for_agent, f"rllib:{path}", meta)

    def act(self, observations: np.ndarray, infos: Mapping | None) -> np.ndarray:
        import torch

        obs = torch.as_tensor(np.asarray(observations, np.float32))
        n = obs.shape[0]
        actions = np.zeros(n, np.int64)
        groups: dict[str, list[int]] = {}
        for i in range(n):
            groups.setdefault(self.module_for_agent(i), []).append(i)
        with torch.no_grad():
            for mid, idx in groups.items():
                if mid not in self.modules:
                    raise ValueError(f"checkpoint has no module for {mid!r} (modules: {sorted(self.modules)})")
                out = self.modules[mid].forward_inference({"obs": obs[idx]})
                if "actions" in out:
                    a = out["actions"]
                else:
                    a = out["action_dist_inputs"].argmax(dim=-1)
                actions[idx] = np.asarray(a).reshape(-1)
        return actions


def load_sb3(path: str, **kwargs) -> SB3Policy:
    return SB3Policy.from_zip(path)


def load_rllib(path: str, **kwargs) -> RLlibPolicy:
    return RLlibPolicy.from_checkpoint(path)
