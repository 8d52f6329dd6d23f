"""Export a trained RLlib PPO or DQN actor to the ``.npz`` MLP that :mod:`gridshift.agents.mlp`
runs with NumPy alone (no Ray, no torch at play time).

The ``.npz`` holds one chain ``Linear, act, Linear, act, ..., Linear`` with a single activation
(``tanh`` or ``relu``), weights ``w{i} [out, in]`` and biases ``b{i}``, and a JSON ``meta`` with
the env signature the policy needs; :class:`~gridshift.agents.mlp.MLPPolicy` plays the arg-max
of its output. What is exported, per module type:

* RLlib's default PPO module: the actor encoder (``encoder.actor_encoder``, or the shared
  ``encoder.encoder`` with ``vf_share_layers``) and the ``pi`` head: **the action logits**;
* :class:`~gridshift.training.rllib_mappo.CentralCriticPPOModule`: its actor ``pi`` (the critic,
  which reads the global state, is not needed to act): **the action logits**;
* RLlib's default DQN module: the encoder and the Q head. A dueling head
  ``Q = V + A - mean(A)`` (two linear heads on the same features) is folded into one linear
  layer, ``W = W_A - mean_rows(W_A) + W_V`` and ``b = b_A - mean(b_A) + b_V``, so the export
  outputs **the Q-values** themselves, not only their arg-max.

A module of another shape (a head with hidden layers of another activation, distributional DQN,
a recurrent encoder) is refused with the reason. ``tests/test_rllib_native.py`` checks that the
export's outputs and greedy actions equal the torch module's on random observations.

    python -m gridshift.training.export RUN_DIR OUT.npz --name rllib_ppo --command "gridshift train rllib ..."
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

_ACT = {"Tanh": "tanh", "ReLU": "relu"}


def _chain(*parts, open_end: bool = False) -> tuple[list, str]:
    """The ``Linear``s of ``parts`` (torch modules, in order) and their one activation; refuses
    anything but ``Linear, act, ..., Linear`` (``..., Linear, act`` with ``open_end``: a body
    whose output layer is added separately)."""
    from torch import nn

    seq = [m for p in parts for m in p.modules() if isinstance(m, nn.Linear) or type(m).__name__ in _ACT
           or (len(list(m.children())) == 0 and not isinstance(m, nn.Identity))]
    kinds = ["L" if isinstance(m, nn.Linear) else type(m).__name__ for m in seq]
    acts = {k for k in kinds if k != "L"}
    unknown = acts - set(_ACT)
    if unknown:
        raise ValueError(f"cannot export an MLP with layers {sorted(unknown)}: allowed Linear with Tanh or ReLU")
    if len(acts) > 1:
        raise ValueError(f"cannot export an MLP mixing activations {sorted(acts)}: the .npz format has one activation")
    expect = ["L" if i % 2 == 0 else next(iter(acts), "") for i in range(len(kinds))]
    if not kinds or kinds != expect or (kinds[-1] == "L") == open_end:
        want = "Linear, activation, ..., Linear" + (", activation" if open_end else "")
        raise ValueError(f"cannot export layers {kinds}: allowed {want}")
    return [m for m in seq if isinstance(m, nn.Linear)], _ACT[next(iter(acts))] if acts else "tanh"


def actor_arrays(module) -> tuple[list[np.ndarray], list[np.ndarray], str, str]:
    """``(weights, biases, activation, output)`` of a trained RLlib module's acting network;
    ``output`` is ``logits`` (PPO) or ``q_values`` (DQN)."""
    if module.is_stateful():
        raise ValueError("cannot export a recurrent (stateful) module: the .npz format is a feed-forward MLP")
    if hasattr(module, "uses_dueling"):  # RLlib's default DQN module
        if getattr(module, "num_atoms", 1) > 1:
            raise ValueError("cannot export distributional DQN (num_atoms > 1): its Q-values are not an MLP output")
        if module.uses_dueling:
            body, act = _chain(module.encoder, open_end=True)
            a_heads, v_heads = _chain(module.af)[0], _chain(module.vf)[0]
            if len(a_heads) != 1 or len(v_heads) != 1:
                raise ValueError("cannot fold a dueling head with hidden layers (head_fcnet_hiddens) into one layer")
            a_head, v_head = a_heads[0], v_heads[0]
            wa, ba = (t.detach().cpu().double().numpy() for t in (a_head.weight, a_head.bias))
            wv, bv = (t.detach().cpu().double().numpy() for t in (v_head.weight, v_head.bias))
            w_last = (wa - wa.mean(axis=0, keepdims=True) + wv).astype(np.float32)
            b_last = (ba - ba.mean() + bv).astype(np.float32)
            ws = [lin.weight.detach().cpu().numpy().astype(np.float32) for lin in body] + [w_last]
            bs = [lin.bias.detach().cpu().numpy().astype(np.float32) for lin in body] + [b_last]
            return ws, bs, act, "q_values"
        linears, act = _chain(module.encoder, module.af)
        output = "q_values"
    elif hasattr(module, "encoder") and hasattr(module, "pi"):  # RLlib's default PPO module
        enc = module.encoder.actor_encoder if hasattr(module.encoder, "actor_encoder") else module.encoder.encoder
        linears, act = _chain(enc, module.pi)
        output = "logits"
    elif hasattr(module, "pi"):  # CentralCriticPPOModule
        linears, act = _chain(module.pi)
        output = "logits"
    else:
        raise ValueError(f"cannot export a {type(module).__name__}: allowed RLlib's default PPO and DQN modules and "
                         "CentralCriticPPOModule")
    ws = [lin.weight.detach().cpu().numpy().astype(np.float32) for lin in linears]
    bs = [lin.bias.detach().cpu().numpy().astype(np.float32) for lin in linears]
    return ws, bs, act, output


def export_module(module, out_path: str | Path, meta: dict | None = None) -> Path:
    """Write ``module``'s acting MLP as an ``.npz`` that :class:`gridshift.agents.mlp.MLPPolicy` loads."""
    ws, bs, act, output = actor_arrays(module)
    arrays = {"n_layers": np.array(len(ws)), "activation": np.array(act),
              "meta": np.array(json.dumps({**(meta or {}), "output": output}))}
    for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
        arrays[f"w{i}"], arrays[f"b{i}"] = w, b
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    return out


def _commit() -> str | None:
    try:
        r = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                           cwd=Path(__file__).resolve().parent)
        return r.stdout.strip() or None if r.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def export_rllib_run(run: str | Path, out_path: str | Path, name: str | None = None,
                     rebuild_command: str | None = None) -> Path:
    """Export the shared module of an RLlib run directory (``gridshift train rllib``) with its
    env signature, seed and config (and the command that rebuilds it, when given)."""
    from gridshift.agents.trained import RLlibPolicy

    run = Path(run)
    meta_file = run / "policy.json"
    if not meta_file.is_file():
        raise FileNotFoundError(f"{run}: no policy.json (not a finished `gridshift train rllib` run directory)")
    meta = json.loads(meta_file.read_text())
    pol = RLlibPolicy.from_checkpoint(run)
    if sorted(pol.modules) != ["shared"]:
        raise ValueError(f"{run}: modules {sorted(pol.modules)}; only a shared module (sharing='shared') exports to the "
                         ".npz format, which holds one MLP for every agent")
    keep = {k: meta[k] for k in ("algo", "signature", "seed", "sharing", "critic", "env_steps", "agent_steps", "iteration")
            if k in meta}
    keep |= {"library": "rllib", "name": name or f"rllib_{meta.get('algo', 'policy')}", "config": meta.get("config", {})}
    if rebuild_command:
        keep["rebuild_command"] = rebuild_command
    commit = _commit()
    if commit:
        keep["trained_at_commit"] = commit
    return export_module(pol.modules["shared"], out_path, keep)


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - a maintenance command
    import argparse

    p = argparse.ArgumentParser(prog="python -m gridshift.training.export", description=__doc__.splitlines()[0])
    p.add_argument("run_dir")
    p.add_argument("out_npz")
    p.add_argument("--name", default=None)
    p.add_argument("--command", default=None, help="the exact command that trained the run (kept in the metadata)")
    a = p.parse_args(argv)
    out = export_rllib_run(a.run_dir, a.out_npz, a.name, a.command)
    print(f"{out} ({out.stat().st_size / 1024:.1f} KiB)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
