"""Shared pieces of the training entry points: run directories, env signatures, seeding."""

from __future__ import annotations

import json
from pathlib import Path

from gridshift.envs.dcgrid.scenario import load_scenario

ENV_ID = "datacenter_grid_v0"
ALGOS = ("ppo", "dqn")
SHARING = ("shared", "independent")


def check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is invalid: allowed {', '.join(allowed)}")


def env_signature(scenario, **overrides) -> dict:
    """What a trained policy depends on: env version, spaces and observation field names."""
    from gridshift.envs.dcgrid.vector import DCGridVectorEnv

    v = DCGridVectorEnv(load_scenario(scenario, **overrides), num_envs=1)
    sp = v.adapter.space
    return {
        "env": ENV_ID,
        "observation_fields": list(v.layout.names),
        "observation_size": v.layout.size,
        "action_mode": v.adapter.mode,
        "action_space": repr(sp),
        "n_agents": v.n_agents,
    }


def check_signature(saved: dict, scenario, **overrides) -> None:
    """Fail with the mismatch when a policy was trained on an incompatible env."""
    cur = env_signature(scenario, **overrides)
    problems = []
    for k in ("env", "observation_size", "action_mode", "action_space", "observation_fields"):
        if saved.get(k) != cur[k]:
            if k == "observation_fields":
                a, b = saved.get(k) or [], cur[k]
                diff = sorted(set(a) ^ set(b))[:6] or "order"
                problems.append(f"observation fields differ ({diff})")
            else:
                problems.append(f"{k}: policy {saved.get(k)!r} vs env {cur[k]!r}")
    if problems:
        raise ValueError("policy incompatible with this environment: " + "; ".join(problems))


def write_json(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1) + "\n")
    tmp.replace(path)
