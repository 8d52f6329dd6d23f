"""The episode runner: one policy, one scenario, one seed -> a record, metrics and a JSON file.

Every policy goes through the same loop over the batched core at batch one (the same
dynamics as the PettingZoo env, without per-agent dicts). The record is what metrics are
computed from: a per-step grid table, per-step per-DC arrays, and the job ledger
(:mod:`gridshift.eval.metrics`).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gridshift.agents.base import Policy, PolicyContext
from gridshift.envs.dcgrid.core import DC_INDEX
from gridshift.envs.dcgrid.ledger import ledger_frame
from gridshift.envs.dcgrid.scenario import Scenario, load_scenario
from gridshift.envs.dcgrid.vector import DCGridVectorEnv
from gridshift.envs.grid.copper_plate import _OUT_FIELDS as GRID_FIELDS

#: Per-DC arrays recorded every step, ``[T, N]``.
DC_RECORD = ("load_mw", "flex_mw", "e0_mw", "bill_usd", "dr_revenue_usd", "carbon_t", "carbon_cost_usd",
             "sla_penalty_usd", "emergency_penalty_usd", "reward")
RUN_SCHEMA = 1


@dataclass
class EpisodeRecord:
    policy: str
    scenario: Scenario
    seed: int
    grid: pd.DataFrame
    dc: dict[str, np.ndarray]
    ledger: pd.DataFrame
    wall_s: float
    extra: dict = field(default_factory=dict)
    rewards: np.ndarray | None = None
    """Per-step, per-agent rewards [T, N] in the scenario's reward mode (for learning curves only;
    the metrics never read them)."""

    @property
    def steps(self) -> int:
        return len(self.grid)


def policy_context(env: DCGridVectorEnv) -> PolicyContext:
    sc = env.scenario
    return PolicyContext(layout=env.layout, scenario=sc, n_agents=env.n_agents, action_space=env.adapter.space,
                         step_hours=sc.step_hours, max_deferral_steps=sc.max_deferral_steps())


def run_episode(policy: Policy, scenario: str | Scenario = "default", seed: int = 0, **overrides) -> EpisodeRecord:
    """Run one full episode of ``policy`` and record it."""
    t0 = time.perf_counter()
    sc = load_scenario(scenario, **overrides)
    if sc.action_mode != policy.action_mode:
        sc = sc.replace(action_mode=policy.action_mode)
    env = DCGridVectorEnv(sc, num_envs=1, autoreset=False)
    obs = env.reset(seed=seed)
    policy.reset(seed, policy_context(env))
    T, n = sc.horizon_steps, env.n_agents
    grid = np.empty((T, len(GRID_FIELDS)))
    extra = np.empty((T, 7))
    dcrec = {k: np.empty((T, n)) for k in DC_RECORD}
    dc_rows = [DC_INDEX[k] for k in DC_RECORD]
    rewards = np.empty((T, n))
    info = None
    st = env.state
    for t in range(T):
        actions = policy.act(obs[0], info)
        tt = int(st.t[0])
        demand = st.demand_mw[0, tt]
        obs, rew, _, _, info = env.step(np.asarray(actions)[None])
        rewards[t] = rew[0]
        grid[t] = info["grid"].packed[:, 0]
        extra[t] = (demand, info["dc_load_total_mw"][0], info["flex_mw"][0].sum(), info["dr_active"][0],
                    info["emergency_active"][0], info["emergency_issued"][0], info["social_cost_usd"][0])
        table = info.dc[:, 0, :]
        for k, r in zip(DC_RECORD, dc_rows, strict=True):
            dcrec[k][t] = table[r]
    g = pd.DataFrame(grid, columns=list(GRID_FIELDS))
    g.insert(0, "step", np.arange(T))
    g["demand_mw"] = extra[:, 0]
    g["dc_load_total_mw"] = extra[:, 1]
    g["dc_flex_total_mw"] = extra[:, 2]
    g["dr_active"] = extra[:, 3].astype(bool)
    g["emergency_active"] = extra[:, 4].astype(bool)
    g["emergency_issued"] = extra[:, 5].astype(bool)
    g["social_cost_step_usd"] = extra[:, 6]
    led = ledger_frame(env.params, env.state, 0)
    return EpisodeRecord(policy=getattr(policy, "name", type(policy).__name__), scenario=sc, seed=seed, grid=g,
                         dc=dcrec, ledger=led, wall_s=time.perf_counter() - t0, rewards=rewards)


def episode_metrics(rec: EpisodeRecord) -> dict[str, float]:
    from gridshift.eval.metrics import compute_metrics

    return compute_metrics(rec.ledger, rec.grid, rec.dc, step_hours=rec.scenario.step_hours,
                           dr_threshold_mw=rec.scenario.dr_reserve_threshold_mw)


def _clean(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, (np.floating, np.integer, np.bool_)):
        return _clean(x.item())
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def run_file(out_dir: str | Path, scenario_name: str, policy_spec: str, seed: int) -> Path:
    safe = policy_spec.replace("/", "_").replace(":", "__")
    return Path(out_dir) / scenario_name / safe / f"seed{seed}.json"


def evaluate_run(policy_spec: str, scenario: str, seed: int, out_dir: str | Path | None = None,
                 parquet: bool = False, overrides: dict | None = None, policy_kwargs: dict | None = None) -> dict:
    """Run one (policy, scenario, seed) and write its JSON (and optionally the record as Parquet)."""
    from gridshift.agents.registry import make_policy
    from gridshift.eval.provenance import run_metadata

    policy = make_policy(policy_spec, **(policy_kwargs or {}))
    rec = run_episode(policy, scenario, seed, **(overrides or {}))
    metrics = episode_metrics(rec)
    result = {
        "schema": RUN_SCHEMA,
        "policy": policy_spec,
        "policy_name": rec.policy,
        "policy_kwargs": policy_kwargs or {},
        "scenario": rec.scenario.name,
        "scenario_config": rec.scenario.to_dict(),
        "overrides": overrides or {},
        "seed": seed,
        "steps": rec.steps,
        "wall_s": rec.wall_s,
        "env_steps_per_s": rec.steps / rec.wall_s,
        "metrics": metrics,
        **run_metadata(),
    }
    result = _clean(result)
    if out_dir is not None:
        path = run_file(out_dir, rec.scenario.name, policy_spec, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(result, indent=1) + "\n")
        tmp.replace(path)  # atomic: a killed run never leaves a half-written file under the final name
        if parquet:
            try:
                rec.grid.to_parquet(path.with_suffix(".grid.parquet"))
                pd.DataFrame({f"{k}_dc{i}": v[:, i] for k, v in rec.dc.items() for i in range(v.shape[1])}).to_parquet(
                    path.with_suffix(".dc.parquet"))
                rec.ledger.to_parquet(path.with_suffix(".ledger.parquet"))
            except ImportError as e:
                raise RuntimeError(f"--parquet needs pyarrow: pip install pyarrow ({e})") from e
        result["path"] = str(path)
    return result


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"1,5,9"``; ``"0-2,7"``."""
    seeds: list[int] = []
    try:
        for part in str(text).split(","):
            part = part.strip()
            if "-" in part[1:]:
                a, b = part.split("-", 1)
                lo, hi = int(a), int(b)
                if hi < lo:
                    raise ValueError
                seeds.extend(range(lo, hi + 1))
            elif part:
                seeds.append(int(part))
    except ValueError:
        raise ValueError(f"seeds={text!r} is invalid: allowed e.g. '0-4', '1,5,9' or '0-2,7'") from None
    if not seeds:
        raise ValueError(f"seeds={text!r} is invalid: no seed given")
    return seeds
