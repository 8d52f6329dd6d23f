"""The leaderboard: policies x scenarios x fixed seeds, aggregated only from run files (DESIGN §9, §12).

``build_leaderboard`` makes sure a valid, current run file exists for every (policy, scenario,
seed), rerunning only what is missing, invalid or stale (each reported by name and counted,
never averaged; :mod:`gridshift.eval.runfiles`), locally or on Ray. Every run covers the
horizon plus the settlement phase, so all policies are compared on the same work. It then
reports, per scenario and policy (:mod:`gridshift.eval.report` writes the files):

* the **score**, anchored per seed: FIFO = 0, the replayed perfect-foresight ``oracle`` = 100
  (:mod:`gridshift.eval.protocol`), so it never moves when policies are added or removed; its
  IQM over seeds with a bootstrap 95 % CI, and across scenarios a stratified bootstrap;
* every metric's mean, and its **paired difference to FIFO on the same seed** (mean with a
  bootstrap 95 % CI, and IQM);
* the **probability of improvement** on the scored cost (``SCORE_METRIC``) over FIFO and over the best heuristic on
  the board: ``p_improve_*`` is paired (the share of seeds on which the policy's cost is lower
  than the reference's on the same seed, ties one half), because the seed-to-seed spread of
  social cost is far larger than the differences between policies; ``p_improve_*_unpaired`` is
  rliable's Mann-Whitney definition over the two sets of runs;
* the EM falsifiability table: the share of seeds on which each check passes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gridshift.eval.protocol import ANCHOR_HUNDRED, ANCHOR_ZERO, ANCHORS, SCORE_METRIC, score
from gridshift.eval.runfiles import atomic_write_json, load_run, policy_hash, quarantine
from gridshift.eval.runner import evaluate_run, run_file, run_identity
from gridshift.eval.stats import iqm, paired_win_rate, probability_of_improvement, stratified_ci


class Progress:
    """A progress bar on stderr (tqdm): done/total, elapsed, rate and ETA, and the last item.
    On a terminal it redraws in place; in a log it writes a line every few seconds."""

    def __init__(self, total: int, label: str = "runs", stream=None):
        from tqdm import tqdm

        stream = stream or sys.stderr
        tty = bool(getattr(stream, "isatty", lambda: False)())
        self.total, self.label, self.done = total, label, 0
        self._bar = tqdm(total=total, desc=label, unit=label.rstrip("s") or "it", file=stream, dynamic_ncols=tty,
                         ncols=None if tty else 110, mininterval=0.2 if tty else 5.0, smoothing=0.1)

    def update(self, n: int = 1, note: str = "") -> None:
        self.done += n
        if note:
            self._bar.set_postfix_str(note[:40], refresh=False)
        self._bar.update(n)
        if self.done >= self.total:
            self._bar.close()


def _ray_runner(ray_address: str, num_cpus: int | None):
    try:
        import ray
    except ImportError as e:
        raise RuntimeError("--ray-address needs Ray: pip install 'gridshift[train]'") from e
    if not ray.is_initialized():
        if ray_address == "local":
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=ray_address, log_to_driver=False)

    @ray.remote(num_cpus=1)
    def remote_run(policy, scenario, seed, overrides):
        from gridshift.eval.runner import evaluate_run as _run

        return _run(policy, scenario, seed, out_dir=None, overrides=overrides)

    return ray, remote_run


def ensure_runs(policies, scenarios, seeds, runs_dir, *, overrides=None, ray_address=None, ray_num_cpus=None,
                progress=True, log=print) -> tuple[list[dict], dict]:
    """Every (policy, scenario, seed) run, read from ``runs_dir`` when its file is valid and its
    cache key current, else (re)run and written there. Returns the runs and the counts
    ``{"reused": k, "rerun": k, "new": k, "invalid": {path: reason}}``."""
    from gridshift.agents.registry import make_policy

    runs_dir = Path(runs_dir)
    configs = _load_scenarios(scenarios, overrides)  # each file read once; name clashes refused here
    made = {p: make_policy(p) for p in policies}  # fail fast on an unknown policy
    digests = {p: policy_hash(p, made[p]) for p in policies}  # code and weights hashed once per policy
    todo, have = [], []
    counts = {"reused": 0, "rerun": 0, "new": 0, "invalid": {}}
    for s in scenarios:
        for p in policies:
            for seed in seeds:
                sc, key = run_identity(p, configs[s], seed, overrides, policy=made[p], policy_digest=digests[p])
                path = run_file(runs_dir, sc.name, p, seed)
                data, why = load_run(path, key, expect={"policy": p, "scenario": sc.name, "seed": int(seed)})
                if data is None:
                    if why != "missing":
                        log(f"run file {path}: {why}: not used, rerun")
                        counts["invalid"][str(path)] = why
                        moved = quarantine(path)
                        if moved is not None:
                            log(f"  moved the directory aside to {moved}")
                        counts["rerun"] += 1
                    else:
                        counts["new"] += 1
                    todo.append((p, s, seed, path))
                else:
                    counts["reused"] += 1
                    have.append(data)
    bar = Progress(len(todo), "runs") if progress and todo else None
    if todo and ray_address:
        ray, remote_run = _ray_runner(ray_address, ray_num_cpus)
        futures = {remote_run.remote(p, s, seed, overrides or {}): path for p, s, seed, path in todo}
        pending = list(futures)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            res = ray.get(ready[0])
            atomic_write_json(futures[ready[0]], res)
            have.append(res)
            if bar:
                bar.update(1, f"{res['policy']} {res['scenario']} seed {res['seed']}")
    else:
        for p, s, seed, _ in todo:
            res = evaluate_run(p, s, seed, out_dir=runs_dir, overrides=overrides)
            have.append(res)
            if bar:
                bar.update(1, f"{p} {s} seed {seed}")
    order = ((configs[s].name, p, seed) for s in scenarios for p in policies for seed in seeds)
    rank = {ident: k for k, ident in enumerate(order)}
    have.sort(key=lambda r: rank.get((r["scenario"], r["policy"], r["seed"]), len(rank)))  # stable, whatever was reused
    return have, counts


def _frame(runs: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{"scenario": r["scenario"], "policy": r["policy"], "seed": r["seed"],
                          **{k: (np.nan if v is None else v) for k, v in r["metrics"].items()}} for r in runs])


def per_seed_scores(runs: list[dict]) -> pd.DataFrame:
    """One row per run with its anchored ``score`` (FIFO = 0, oracle = 100, same scenario and
    seed; NaN where an anchor is missing or the oracle does not beat FIFO on that seed) and
    every metric's paired difference to FIFO on the same seed (``d_<metric>``)."""
    df = _frame(runs)
    key = ["scenario", "seed"]
    fifo = df[df.policy == ANCHOR_ZERO].set_index(key)
    orc = df[df.policy == ANCHOR_HUNDRED].set_index(key)
    idx = pd.MultiIndex.from_frame(df[key])
    f_cost = fifo[SCORE_METRIC].reindex(idx).to_numpy(float)
    o_cost = orc[SCORE_METRIC].reindex(idx).to_numpy(float) if len(orc) else np.full(len(df), np.nan)
    df["score"] = [score(c, f, o) for c, f, o in zip(df[SCORE_METRIC].to_numpy(float), f_cost, o_cost, strict=True)]
    num = [c for c in df.columns if c not in ("scenario", "policy", "seed", "score") and pd.api.types.is_numeric_dtype(df[c])]
    base = fifo[num].reindex(idx).to_numpy(float) if len(fifo) else np.full((len(df), len(num)), np.nan)
    d = pd.DataFrame(df[num].to_numpy(float) - base, columns=[f"d_{c}" for c in num], index=df.index)
    out = pd.concat([df, d], axis=1)
    # A run below the oracle's LP bound of its seed means the bound's assumptions broke: flag it.
    bound = (pd.to_numeric(orc["oracle_lp_bound_usd"], errors="coerce").reindex(idx).to_numpy(float)
             if len(orc) and "oracle_lp_bound_usd" in orc else np.full(len(df), np.nan))
    out["below_lp_bound"] = out[SCORE_METRIC].to_numpy(float) < bound - 1e-9 * np.abs(bound)
    return out


def best_heuristic(table: pd.DataFrame, scenario: str) -> str | None:
    """The heuristic with the highest IQM score on ``scenario`` (FIFO and the oracle excluded)."""
    g = table[(table.scenario == scenario) & table.policy.isin(heuristic_names()) & (table.policy != ANCHOR_ZERO)]
    g = g[np.isfinite(g.score_iqm)]
    return None if g.empty else str(g.sort_values("score_iqm", ascending=False).policy.iloc[0])


def heuristic_names() -> set[str]:
    from gridshift.agents.constant import CONSTANT_POLICIES
    from gridshift.agents.heuristics import HEURISTICS

    return set(HEURISTICS) | set(CONSTANT_POLICIES)


def aggregate(runs: list[dict], metrics: tuple[str, ...]) -> pd.DataFrame:
    """Per scenario and policy: the anchored score (IQM, mean, stratified-bootstrap 95 % CI of
    the IQM), each metric's mean and its paired difference to FIFO (mean with a bootstrap CI,
    IQM), and the probability of improvement over FIFO and over the best heuristic."""
    ps = per_seed_scores(runs)
    rows = []
    for (s, p), g in ps.groupby(["scenario", "policy"], sort=False):
        row = {"scenario": s, "policy": p, "n_seeds": len(g), "seeds": sorted(int(x) for x in g.seed)}
        sc = g.score.to_numpy(float)
        row["score_iqm"], row["score_ci_lo"], row["score_ci_hi"] = stratified_ci([sc], "iqm")
        row["score_mean"] = float(np.nanmean(sc)) if np.isfinite(sc).any() else np.nan
        row["score_seeds_defined"] = int(np.isfinite(sc).sum())
        row["runs_below_lp_bound"] = int(g["below_lp_bound"].sum()) if "below_lp_bound" in g else 0
        for m in metrics:
            x = pd.to_numeric(g.get(m), errors="coerce").to_numpy(float) if m in g else np.full(len(g), np.nan)
            row[m] = float(np.nanmean(x)) if np.isfinite(x).any() else np.nan
            row[f"{m}_n"] = int(np.isfinite(x).sum())
            d = g[f"d_{m}"].to_numpy(float) if f"d_{m}" in g else np.full(len(g), np.nan)
            row[f"d_{m}"], row[f"d_{m}_ci_lo"], row[f"d_{m}_ci_hi"] = stratified_ci([d], "mean")
            row[f"d_{m}_iqm"] = iqm(d)
        rows.append(row)
    out = pd.DataFrame(rows)
    for col in ("best_heuristic", "p_improve_fifo", "p_improve_fifo_unpaired", "p_improve_best_heuristic",
                "p_improve_best_heuristic_unpaired"):
        out[col] = None if col == "best_heuristic" else np.nan
    for s in out.scenario.unique():
        sel = out.scenario == s
        costs = {p: g.set_index("seed")[SCORE_METRIC] for p, g in ps[ps.scenario == s].groupby("policy")}
        best = best_heuristic(out, s)
        out.loc[sel, "best_heuristic"] = best
        for i in out.index[sel]:
            c = costs[out.at[i, "policy"]]
            for ref, col in ((ANCHOR_ZERO, "p_improve_fifo"), (best, "p_improve_best_heuristic")):
                if ref is None or ref not in costs:
                    out.at[i, col] = out.at[i, f"{col}_unpaired"] = np.nan
                    continue
                r = costs[ref].reindex(c.index)
                out.at[i, col] = paired_win_rate(c.to_numpy(float), r.to_numpy(float))
                out.at[i, f"{col}_unpaired"] = probability_of_improvement(c.to_numpy(float), costs[ref].to_numpy(float))
    return out


def overall(runs: list[dict]) -> pd.DataFrame:
    """Across scenarios: the IQM score per policy with a stratified bootstrap (seeds resampled
    within each scenario)."""
    ps = per_seed_scores(runs)
    rows = []
    for p, g in ps.groupby("policy", sort=False):
        strata = [gg.score.to_numpy(float) for _, gg in g.groupby("scenario")]
        defined = sum(bool(np.isfinite(x).any()) for x in strata)
        if defined < len(strata):  # a scenario without any defined score: no honest aggregate
            point = lo = hi = float("nan")
        else:
            point, lo, hi = stratified_ci(strata, "iqm")
        rows.append({"policy": p, "scenarios": g.scenario.nunique(), "scenarios_defined": defined, "runs": len(g),
                     "score_iqm": point, "score_ci_lo": lo, "score_ci_hi": hi})
    return pd.DataFrame(rows).sort_values("score_iqm", ascending=False, na_position="last")


def falsifiability_table(runs: list[dict]) -> pd.DataFrame:
    from gridshift.eval.metrics import falsifiability

    fifo = {(r["scenario"], r["seed"]): r["metrics"] for r in runs if r["policy"] == "fifo"}
    rows = []
    for r in runs:
        chk = falsifiability(r["metrics"], fifo.get((r["scenario"], r["seed"])))
        rows.append({"scenario": r["scenario"], "policy": r["policy"], "seed": r["seed"], **chk})
    df = pd.DataFrame(rows)
    checks = [c for c in df.columns if c not in ("scenario", "policy", "seed")]
    agg = df.groupby(["scenario", "policy"], sort=False)[checks].agg(
        lambda v: float(np.mean([bool(x) for x in v if x is not None])) if any(x is not None for x in v) else float("nan"))
    return agg.reset_index()


def build_leaderboard(policies, scenarios, seeds, *, out_dir="leaderboard", runs_dir=None, overrides=None,
                      ray_address=None, ray_num_cpus=None, progress=True, log=print) -> dict:
    """Rank ``policies`` (the anchors FIFO and oracle are always added) on ``scenarios`` x
    ``seeds`` from run files, and write the reports (:mod:`gridshift.eval.report`)."""
    from gridshift.eval.metrics import EM_OUTCOMES, HEADLINE
    from gridshift.eval.report import write_outputs

    policies = list(dict.fromkeys([*ANCHORS, *policies]))
    seeds = list(dict.fromkeys(int(x) for x in seeds))  # a repeated seed would be counted twice
    scenarios = list(dict.fromkeys(scenarios))
    runs_dir = runs_dir or Path(out_dir) / "runs"
    t0 = time.perf_counter()
    runs, counts = ensure_runs(policies, scenarios, seeds, runs_dir, overrides=overrides, ray_address=ray_address,
                               ray_num_cpus=ray_num_cpus, progress=progress, log=log)
    metrics = tuple(dict.fromkeys((SCORE_METRIC,) + tuple(HEADLINE) + tuple(EM_OUTCOMES) + REPORT_METRICS))
    table = aggregate(runs, metrics)
    fals = falsifiability_table(runs)
    wall = time.perf_counter() - t0
    paths = write_outputs(table, overall(runs), per_seed_scores(runs), fals, runs, out_dir, metrics, list(seeds), counts, wall)
    log(f"runs: {counts['reused']} reused, {counts['rerun']} rerun (invalid or stale), {counts['new']} new")
    return {"table": table, "falsifiability": fals, "paths": paths, "runs": runs, "counts": counts,
            "wall_s": time.perf_counter() - t0}


def _load_scenarios(scenarios, overrides) -> dict:
    """Each scenario spec loaded once. Two scenarios under one name would share (and overwrite)
    each other's run files, so that is refused before anything runs."""
    from gridshift.envs.dcgrid.scenario import load_scenario

    configs, seen = {}, {}
    for s in scenarios:
        sc = configs[s] = load_scenario(s, **(overrides or {}))
        if sc.name in seen and seen[sc.name][1] != sc.to_dict():
            raise ValueError(f"scenarios {seen[sc.name][0]!r} and {s!r} are both named {sc.name!r} but differ: "
                             "allowed distinct names (set `name` in the TOML file)")
        if sc.name in seen:
            raise ValueError(f"scenarios {seen[sc.name][0]!r} and {s!r} are the same scenario {sc.name!r}: list it once")
        seen[sc.name] = (s, sc.to_dict())
    return configs


#: Metrics reported beside the headline ones (work accounting, settlement, the oracle's LP).
REPORT_METRICS = ("work_arrived_mwh", "work_served_mwh", "work_dropped_mwh", "cost_per_mwh_served_usd",
                  "backlog_at_horizon_mwh", "settlement_window_steps", "drop_or_late_rate_flex", "carbon_consequential_t",
                  "sla_penalty_usd", "oracle_lp_bound_usd", "oracle_solve_s", "settlement_overrun_steps",
                  "battery_shortfall_mwh")
