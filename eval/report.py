"""The leaderboard's files: a compact Markdown table a person can read, the full table as CSV
and JSON, a marl-eval-compatible JSON, and plots (the score first).

Files (all written atomically into ``out_dir``):

* ``leaderboard.md``: per scenario, one compact table (policy, score [CI], Δ social cost vs
  FIFO [CI], Δ emissions [CI], work served, SLA violations, rebound ratio, price spikes),
  sorted by score; the overall score across scenarios; how many runs were reused and rerun;
  the oracle's LP bound and solve time; the EM falsifiability checks.
* ``leaderboard.csv`` / ``leaderboard.json``: every column of the aggregate table (and, in the
  JSON, the per-seed scores, the seeds, versions and commit).
* ``marl_eval.json``: ``{env: {task: {algorithm: {"seed_N": {"absolute_metrics": {...}}}}}}``,
  the raw-data layout that InstaDeep's marl-eval tools read.
* ``score.png`` (the score with its CI, bars sorted) and one ``outcome_<metric>.png`` per EM
  outcome, each with units and the scenario and seed count in the title.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from gridshift.eval.protocol import EVAL_SEEDS, MIN_ANCHOR_GAP
from gridshift.eval.runfiles import atomic_write_bytes, atomic_write_json, safe_name

#: Units of the plotted metrics (axis labels).
UNITS = {
    "peak_dc_load_stress_mw": "MW",
    "renewable_alignment": "share of flexible energy",
    "delay_mean_h_flex": "h",
    "carbon_attributional_t": "tCO2",
    "drop_or_late_rate_flex": "share of decided jobs",
    "social_cost_usd": "USD",
}


def _one_line(text) -> str:
    """A name as one line of Markdown (scenario names come from user files)."""
    return " ".join(str(text).split()).replace("`", "'")


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "n/a"
    v = float(v)
    a = abs(v)
    if a >= 1e5:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:,.1f}"
    return f"{v:.3g}"


def _ci(r, col: str) -> str:
    return f"{_fmt(r[col])} [{_fmt(r[f'{col}_ci_lo'])}, {_fmt(r[f'{col}_ci_hi'])}]"


def _score_ci(r) -> str:
    return f"{_fmt(r['score_iqm'])} [{_fmt(r['score_ci_lo'])}, {_fmt(r['score_ci_hi'])}]"


def markdown(table: pd.DataFrame, over: pd.DataFrame, fals: pd.DataFrame, seeds: list[int], counts: dict, meta: dict,
             wall_s: float) -> str:
    held_out = all(s in EVAL_SEEDS for s in seeds)
    span = f"{seeds[0]}-{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) else str(seeds)
    lines = ["# gridshift leaderboard", "",
             f"Seeds {span} ({len(seeds)} " + ("held-out evaluation seeds)" if held_out else
                                               "seeds; **not all held out**: training uses 0-999, evaluation 1000-1999)"),
             "",
             "Every run covers the horizon **plus settlement** (work left queued at the horizon is released FIFO "
             "and paid for), so all policies are compared on the same work. **Score**: social cost per seed, "
             "FIFO = 0 and the replayed perfect-foresight oracle = 100, IQM over seeds with a bootstrap 95 % CI "
             "[in brackets]; it does not move when policies are added. Δ columns are **paired differences to FIFO "
             "on the same seed** (mean [95 % CI]; negative = lower than FIFO). P(>FIFO), P(>best heur.): the "
             "paired probability of improvement on social cost, the share of seeds on which the policy costs less "
             "than the reference on the same seed (rliable's unpaired version is in the CSV).", ""]
    for s, g in table.groupby("scenario", sort=False):
        g = g.sort_values("score_iqm", ascending=False, na_position="last")
        best = g.best_heuristic.dropna().iloc[0] if g.best_heuristic.notna().any() else None
        lines += [f"## Scenario `{_one_line(s)}`", "", f"Best heuristic on this board: `{best}`." if best else "", "",
                  "| policy | score [CI] | Δ social cost $ [CI] | Δ emissions t [CI] | work served MWh | SLA violations "
                  "(E1-E3) | rebound ratio | price spikes | P(>FIFO) | P(>best heur.) |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for _, r in g.iterrows():
            lines.append(f"| `{r['policy']}` | {_score_ci(r)} | {_ci(r, 'd_social_cost_usd')} | {_ci(r, 'd_emissions_t')} | "
                         f"{_fmt(r['work_served_mwh'])} | {_fmt(r['drop_or_late_rate_flex'])} | {_fmt(r['rebound_ratio'])} | "
                         f"{_fmt(r['price_spike_count'])} | {_fmt(r['p_improve_fifo'])} | {_fmt(r['p_improve_best_heuristic'])} |")
        orc = g[g.policy == "oracle"]
        if len(orc):
            o = orc.iloc[0]
            fifo = g[g.policy == "fifo"]
            n_def = int(o["score_seeds_defined"])
            if len(fifo) and (n_def < o["n_seeds"] or not o["d_social_cost_usd"] < 0):
                lines += ["", f"**Warning:** the oracle beat FIFO by at least {MIN_ANCHOR_GAP:.2%} of FIFO's cost on only "
                              f"{n_def} of {int(o['n_seeds'])} seeds; the score is undefined on the others."]
            bound = o.get("oracle_lp_bound_usd")
            bound_txt = (f"its LP bound ${_fmt(bound)} (no policy should go below it); " if bound is not None and np.isfinite(bound)
                         else "no LP bound (the LP has no batteries); ")
            lines += ["", f"Oracle: mean social cost ${_fmt(o['social_cost_usd'])} replayed; {bound_txt}"
                          f"LP solve time {_fmt(o.get('oracle_solve_s'))} s per episode."]
        below = g[g["runs_below_lp_bound"] > 0] if "runs_below_lp_bound" in g else g.iloc[0:0]
        if len(below):
            lines += ["", "**Warning:** runs below the oracle's LP bound of their seed (the bound's assumptions do not "
                          "hold for them): " + ", ".join(f"`{r['policy']}` ({int(r['runs_below_lp_bound'])})"
                                                         for _, r in below.iterrows()) + "."]
        overrun = g[g["settlement_overrun_steps"] > 0] if "settlement_overrun_steps" in g else g.iloc[0:0]
        if len(overrun):
            lines += ["", "**Warning:** settlement ran past its fixed window for " + ", ".join(f"`{p}`" for p in overrun.policy)
                      + " (repeated E3 preemption): their windows are longer than the other policies'."]
        lines.append("")
    if over["scenarios"].max() > 1:
        lines += ["## Across scenarios (stratified bootstrap)", "",
                  "| policy | score IQM [95 % CI] | runs | scenarios with a defined score |", "| --- | --- | --- | --- |"]
        for _, r in over.iterrows():
            lines.append(f"| `{r['policy']}` | {_score_ci(r)} | {int(r['runs'])} | "
                         f"{int(r['scenarios_defined'])} of {int(r['scenarios'])} |")
        if (over["scenarios_defined"] < over["scenarios"]).any():
            lines += ["", "A scenario in which no seed has a defined score makes the cross-scenario score n/a "
                          "(it is not silently left out)."]
        lines.append("")
    lines += ["## Runs", "", f"{counts['reused']} run files reused, {counts['rerun']} rerun (invalid or stale), "
              f"{counts['new']} new; {wall_s:.1f} s.", ""]
    for path, why in counts.get("invalid", {}).items():
        lines.append(f"- rerun `{path}`: {why}")
    lines += ["", "## EM falsifiability checks (share of seeds passing)", "",
              "| scenario | policy | " + " | ".join(c for c in fals.columns[2:]) + " |",
              "| --- | --- | " + " | ".join("---" for _ in fals.columns[2:]) + " |"]
    for _, r in fals.iterrows():
        lines.append(f"| {_one_line(r['scenario'])} | `{r['policy']}` | " + " | ".join(_fmt(r[c]) for c in fals.columns[2:]) + " |")
    lines += ["", f"gridshift {meta['versions'].get('gridshift', '?')}, commit `{meta['git_commit']}`, versions "
                  f"{meta['versions']}. Full table: leaderboard.csv / leaderboard.json."]
    return "\n".join(lines) + "\n"


def marl_eval(per_seed: pd.DataFrame, metrics: tuple[str, ...]) -> dict:
    """marl-eval's raw-data layout: env -> task -> algorithm -> run -> absolute_metrics."""
    out: dict = {"gridshift": {}}
    for (s, p), g in per_seed.groupby(["scenario", "policy"], sort=False):
        algo = out["gridshift"].setdefault(s, {}).setdefault(p, {})
        for _, r in g.iterrows():
            vals = {"score": r["score"], **{m: r[m] for m in metrics if m in r}}
            algo[f"seed_{int(r['seed'])}"] = {"absolute_metrics": {k: [None if not np.isfinite(v) else float(v)]
                                                                   for k, v in vals.items()
                                                                   if isinstance(v, (int, float, np.floating))}}
    return out


def write_outputs(table, over, per_seed, fals, runs, out_dir, metrics, seeds, counts, wall_s) -> dict[str, Path]:
    from gridshift.eval.provenance import run_metadata

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / n for k, n in (("csv", "leaderboard.csv"), ("json", "leaderboard.json"), ("md", "leaderboard.md"),
                                     ("marl_eval", "marl_eval.json"))}
    meta = run_metadata()
    atomic_write_bytes(paths["csv"], table.to_csv(index=False).encode())
    payload = {"seeds": seeds, "metrics": list(metrics), "scenarios": sorted(table.scenario.unique().tolist()),
               "rows": json.loads(table.to_json(orient="records")), "overall": json.loads(over.to_json(orient="records")),
               "per_seed": json.loads(per_seed[["scenario", "policy", "seed", "score", *[m for m in metrics if m in per_seed]]]
                                      .to_json(orient="records")),
               "falsifiability": json.loads(fals.to_json(orient="records")),
               "runs": [{k: r.get(k) for k in ("policy", "scenario", "seed", "git_commit", "cache_key")} for r in runs],
               "run_counts": {k: v for k, v in counts.items() if k != "invalid"}, "invalid_runs": counts.get("invalid", {}),
               **meta}
    atomic_write_bytes(paths["json"], (json.dumps(payload, indent=1) + "\n").encode())
    atomic_write_json(paths["marl_eval"], marl_eval(per_seed, ("social_cost_usd", "emissions_t", "work_served_mwh")))
    atomic_write_bytes(paths["md"], markdown(table, over, fals, seeds, counts, meta, wall_s).encode())
    paths.update(plots(table, out, len(seeds)))
    return paths


def plots(table: pd.DataFrame, out: Path, n_seeds: int) -> dict[str, Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    from gridshift.eval.metrics import EM_OUTCOMES

    paths = {}
    for s, g in table.groupby("scenario", sort=False):
        specs = [("score", "score_iqm", "score (FIFO = 0, oracle = 100)", "IQM, bootstrap 95 % CI")]
        specs += [(m, m, f"{m} ({UNITS.get(m, '')})", "mean, paired Δ CI vs FIFO") for m in EM_OUTCOMES]
        for key, col, ylabel, what in specs:
            gg = g.sort_values(col, ascending=(key != "score"), na_position="last")
            mean = gg[col].to_numpy(float)
            if key == "score":
                lo, hi = gg.score_ci_lo.to_numpy(float), gg.score_ci_hi.to_numpy(float)
            else:  # the CI of the paired difference, placed on the mean
                lo = mean + gg[f"d_{col}_ci_lo"].to_numpy(float) - gg[f"d_{col}"].to_numpy(float)
                hi = mean + gg[f"d_{col}_ci_hi"].to_numpy(float) - gg[f"d_{col}"].to_numpy(float)
            err = np.nan_to_num(np.abs(np.vstack([mean - lo, hi - mean])))
            fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(gg)), 3.8), dpi=100)
            x = np.arange(len(gg))
            ax.bar(x, np.nan_to_num(mean), yerr=err, capsize=3, color="#4477aa")
            ax.set_xticks(x, gg.policy, rotation=30, ha="right")
            ax.set_ylabel(ylabel)
            ax.set_title(f"{key}: scenario '{_one_line(s)}', {n_seeds} seeds ({what})", fontsize=9)
            if key == "score":
                ax.axhline(0, color="k", lw=0.8)
                ax.axhline(100, color="k", lw=0.8, ls="--")
            fig.tight_layout()
            name = "score.png" if key == "score" else f"outcome_{key}.png"
            if table.scenario.nunique() > 1:
                name = name.replace(".png", f"_{safe_name(s)}.png")  # scenario names come from user files
            p = out / name
            fig.savefig(p)
            plt.close(fig)
            paths[f"plot_{key}_{s}"] = p
    return paths
