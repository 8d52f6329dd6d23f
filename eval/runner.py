"""The episode runner: one policy, one scenario, one seed -> a record, metrics and a JSON file.

Every policy goes through the same loop over the batched core at batch one (the same
dynamics as the PettingZoo env, without per-agent dicts). The record is what metrics are
computed from: a per-step grid table, per-step per-DC arrays, and the job ledger
(:mod:`gridshift.eval.metrics`).
"""

from __future__ import annotations

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
from gridshift.eval.metrics_cascade import no_dc_clearing
from gridshift.eval.runfiles import (
    RUN_SCHEMA,
    atomic_write_bytes,
    atomic_write_json,
    cache_key,
    policy_hash,
    run_path,
)

#: Per-DC arrays recorded every step, ``[T, N]``.
DC_RECORD = ("load_mw", "flex_mw", "e0_mw", "bill_usd", "dr_revenue_usd", "carbon_t", "carbon_cost_usd",
             "sla_penalty_usd", "emergency_penalty_usd", "reward", "baseline_mw")
#: Besides them, ``dc["release"]`` ``[T, N, 3]``: the core release fractions of E1-E3 the policy
#: chose each step (1 in the settlement phase, which releases everything), for the oscillation
#: metrics (re-deferrals, defer/resume cycles; :func:`gridshift.eval.oscillation.deferral_events`).


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
    no_dc: pd.DataFrame | None = None
    """The grid re-cleared without the DCs over the record's steps (same exogenous inputs), for
    the consequential emissions (:func:`gridshift.eval.metrics_cascade.no_dc_clearing`)."""

    @property
    def steps(self) -> int:
        return len(self.grid)


def policy_context(env: DCGridVectorEnv) -> PolicyContext:
    sc = env.scenario
    return PolicyContext(layout=env.layout, scenario=sc, n_agents=env.n_agents, action_space=env.adapter.space,
                         step_hours=sc.step_hours, max_deferral_steps=sc.max_deferral_steps(), env=env)


class _Recorder:
    """Per-step rows of the grid table and the per-DC arrays, grown as the episode runs (the
    settlement's length is only known at the horizon)."""

    def __init__(self, n: int):
        self.grid: list[np.ndarray] = []
        self.extra: list[tuple] = []
        self.dc = {k: [] for k in DC_RECORD}
        self.rows = [DC_INDEX[k] for k in DC_RECORD]
        self.release: list[np.ndarray] = []
        self.n = n

    def add(self, info, demand: float, release: np.ndarray | None = None) -> None:
        self.release.append(np.ones((self.n, 3)) if release is None else np.asarray(release, dtype=float))
        self.grid.append(info["grid"].packed[:, 0].copy())
        self.extra.append((demand, info["dc_load_total_mw"][0], info["flex_mw"][0].sum(), info["dr_active"][0],
                           info["emergency_active"][0], info["emergency_issued"][0], info["social_cost_usd"][0]))
        table = info.dc[:, 0, :]
        for k, r in zip(DC_RECORD, self.rows, strict=True):
            self.dc[k].append(table[r].copy())

    def frames(self, horizon: int) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
        T = len(self.grid)
        g = pd.DataFrame(np.array(self.grid).reshape(T, len(GRID_FIELDS)), columns=list(GRID_FIELDS))
        extra = np.array(self.extra, dtype=float).reshape(T, 7)
        g.insert(0, "step", np.arange(T))
        g["demand_mw"] = extra[:, 0]
        g["dc_load_total_mw"] = extra[:, 1]
        g["dc_flex_total_mw"] = extra[:, 2]
        g["dr_active"] = extra[:, 3].astype(bool)
        g["emergency_active"] = extra[:, 4].astype(bool)
        g["emergency_issued"] = extra[:, 5].astype(bool)
        g["social_cost_step_usd"] = extra[:, 6]
        g["settlement"] = np.arange(T) >= horizon
        return g, {**{k: np.array(v) for k, v in self.dc.items()}, "release": np.array(self.release).reshape(T, self.n, 3)}


def run_episode(policy: Policy, scenario: str | Scenario = "default", seed: int = 0, *, settle: bool = True,
                **overrides) -> EpisodeRecord:
    """Run one full episode of ``policy`` and record it: the horizon, then (``settle=True``, the
    default and what every benchmark uses) the settlement phase that serves or drops every job
    still open (:mod:`gridshift.envs.dcgrid.settlement`), so every metric covers the same work."""
    from gridshift.envs.dcgrid import settlement

    t0 = time.perf_counter()
    sc = load_scenario(scenario, **overrides)
    if sc.action_mode != policy.action_mode:
        sc = sc.replace(action_mode=policy.action_mode)
    env = DCGridVectorEnv(sc, num_envs=1, autoreset=False)
    obs, _ = env.reset(seed=seed)
    policy.reset(seed, policy_context(env))
    T, n = sc.horizon_steps, env.n_agents
    rec = _Recorder(n)
    rewards = np.empty((T, n))
    info = None
    st = env.state
    for t in range(T):
        actions = policy.act(obs[0], info)
        demand = st.demand_mw[0, int(st.t[0])]
        act = np.asarray(actions)[None]
        release = env.adapter.to_core(act)[0, :, :3]
        obs, rew, _, _, info = env.step(act)
        rewards[t] = rew[0]
        rec.add(info, demand, release)
    extra = {"backlog_at_horizon_mwh": float(settlement.open_work_mwh(env.params, env.state)[0].sum()),
             "settlement_window_steps": 0, "settlement_overrun_steps": 0}
    if settle:
        window = int(settlement.settlement_window(env.params, env.state)[0])
        k = 0
        for sinfo in env.settle():
            rec.add(sinfo, st.demand_mw[0, int(st.t[0]) - 1])
            k += 1
        extra.update(settlement_window_steps=window, settlement_overrun_steps=max(0, k - window))
    target = settlement.BATTERY_START_SOC * env.params.dcs.battery_mwh
    extra["battery_shortfall_mwh"] = float(np.maximum(target - env.state.soc_mwh[0], 0.0).sum())
    if hasattr(policy, "stats"):
        extra.update(policy.stats())
    g, dcrec = rec.frames(T)
    led = ledger_frame(env.params, env.state, 0)
    no_dc = no_dc_clearing(env.params, env.state, sc.warmup_steps, [len(g)])[0]
    return EpisodeRecord(policy=getattr(policy, "name", type(policy).__name__), scenario=sc, seed=seed, grid=g,
                         dc=dcrec, ledger=led, wall_s=time.perf_counter() - t0, rewards=rewards, extra=extra,
                         no_dc=no_dc)


def episode_metrics(rec: EpisodeRecord) -> dict[str, float]:
    from gridshift.eval.metrics import compute_metrics

    m = compute_metrics(rec.ledger, rec.grid, rec.dc, step_hours=rec.scenario.step_hours,
                        dr_threshold_mw=rec.scenario.dr_reserve_threshold_mw, no_dc=rec.no_dc,
                        voll_usd_per_mwh=rec.scenario.voll_usd_per_mwh)
    m.update({k: float(v) for k, v in rec.extra.items()})
    return m


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
    """Where a run's JSON lives (names sanitised; always inside ``out_dir``)."""
    return run_path(out_dir, scenario_name, policy_spec, seed)


def run_identity(policy_spec: str, scenario: str | Scenario, seed: int, overrides: dict | None = None,
                 policy_kwargs: dict | None = None, policy: Policy | None = None,
                 policy_digest: str | None = None) -> tuple[Scenario, str]:
    """The scenario a run uses (in the policy's action mode) and its cache key. A caller that
    checks many seeds of one policy passes its ``policy_digest`` (:func:`policy_hash`) once."""
    from gridshift.agents.registry import make_policy

    policy = policy if policy is not None else make_policy(policy_spec, **(policy_kwargs or {}))
    sc = load_scenario(scenario, **(overrides or {}))
    if sc.action_mode != policy.action_mode:
        sc = sc.replace(action_mode=policy.action_mode)
    digest = policy_digest if policy_digest is not None else policy_hash(policy_spec, policy)
    key = cache_key(policy_spec, digest, sc.to_dict(), seed, overrides, policy_kwargs)
    return sc, key


def evaluate_run(policy_spec: str, scenario: str, seed: int, out_dir: str | Path | None = None,
                 parquet: bool = False, overrides: dict | None = None, policy_kwargs: dict | None = None) -> dict:
    """Run one (policy, scenario, seed), horizon plus settlement, and write its JSON (and
    optionally the record as Parquet). Parquet files are written first and the JSON last, each
    atomically under a unique temp name, so a JSON on disk always means a complete run."""
    from gridshift.agents.registry import make_policy
    from gridshift.eval.provenance import run_metadata

    policy = make_policy(policy_spec, **(policy_kwargs or {}))
    sc, key = run_identity(policy_spec, scenario, seed, overrides, policy_kwargs, policy)
    rec = run_episode(policy, sc, seed)
    metrics = episode_metrics(rec)
    result = {
        "schema": RUN_SCHEMA,
        "cache_key": key,
        "policy": policy_spec,
        "policy_name": rec.policy,
        "policy_kwargs": policy_kwargs or {},
        "scenario": rec.scenario.name,
        "scenario_config": rec.scenario.to_dict(),
        "overrides": overrides or {},
        "seed": seed,
        "steps": rec.steps,
        "horizon_steps": sc.horizon_steps,
        "wall_s": rec.wall_s,
        "env_steps_per_s": rec.steps / rec.wall_s,
        "metrics": metrics,
        **run_metadata(),
    }
    result = _clean(result)
    if out_dir is not None:
        path = run_file(out_dir, rec.scenario.name, policy_spec, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        if parquet:
            result["parquet"] = _write_parquet(rec, path)
        atomic_write_json(path, result)
        result["path"] = str(path)
    return result


def _write_parquet(rec: EpisodeRecord, path: Path) -> dict[str, int]:
    import io

    try:
        import pyarrow  # noqa: F401
    except ImportError as e:
        raise RuntimeError(f"--parquet needs pyarrow: pip install pyarrow ({e})") from e
    frames = {
        "grid": rec.grid,
        "dc": pd.DataFrame({f"{k}_dc{i}" if v.ndim == 2 else f"{k}_e{c + 1}_dc{i}": (v[:, i] if v.ndim == 2 else v[:, i, c])
                            for k, v in rec.dc.items() for i in range(v.shape[1]) for c in range(1 if v.ndim == 2 else v.shape[2])}),
        "ledger": rec.ledger,
    }
    sizes = {}
    for kind, df in frames.items():
        buf = io.BytesIO()
        df.to_parquet(buf)
        target = path.with_suffix(f".{kind}.parquet")
        atomic_write_bytes(target, buf.getvalue())
        sizes[target.name] = target.stat().st_size
    return sizes


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
    if min(seeds) < 0:
        raise ValueError(f"seeds={text!r} is invalid: allowed seeds >= 0 (evaluation uses 1000-1999)")
    return seeds
