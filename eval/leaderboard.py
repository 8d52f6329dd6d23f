"""The leaderboard: policies x scenarios x fixed seeds, aggregated only from run files (DESIGN §9).

``build_leaderboard`` makes sure a valid run file exists for every (policy, scenario, seed),
rerunning only what is missing, corrupt, partial or stale (each reported, never silently
averaged), locally or on Ray. It then aggregates the files into

* ``leaderboard.md``, ``.csv`` and ``.json``: per scenario and policy, the mean and the
  interquartile mean (IQM) of each headline metric over seeds, with a percentile-bootstrap 95 %
  confidence interval of the mean (2,000 resamples, seeded);
* a normalised score of social cost per scenario: FIFO = 0, the best policy on the board = 100
  (the oracle bound will replace "best on the board" when it exists);
* the EM falsifiability table: the share of seeds on which each check passes (the
  alignment check compares with FIFO on the same scenario and seed);
* one PNG per EM outcome metric, policies side by side with their CIs.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gridshift.eval.runner import RUN_SCHEMA, evaluate_run, run_file

N_BOOT = 2000


class Progress:
    """A dependency-free progress line on stderr: done/total, elapsed, ETA."""

    def __init__(self, total: int, label: str = "runs", stream=None):
        self.total, self.label, self.done = total, label, 0
        self.stream = stream or sys.stderr
        # On a terminal the line redraws in place; in a log, one line per 10 % keeps it short.
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_decile = -1
        self.t0 = time.perf_counter()
        self._draw()

    def update(self, n: int = 1, note: str = "") -> None:
        self.done += n
        self._draw(note)

    def _draw(self, note: str = "") -> None:
        el = time.perf_counter() - self.t0
        eta = el / self.done * (self.total - self.done) if self.done else float("nan")
        width = 24
        fill = int(width * self.done / max(self.total, 1))
        line = (f"[{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} {self.label}  "
                f"{el:6.1f}s elapsed  ETA {eta:6.1f}s  {note[:40]}")
        if self.tty:
            self.stream.write("\r" + line.ljust(110) + ("\n" if self.done >= self.total else ""))
        else:
            decile = 10 * self.done // max(self.total, 1)
            if decile == self._last_decile:
                return
            self._last_decile = decile
            self.stream.write(line + "\n")
        self.stream.flush()


def load_run(path: Path, policy: str, scenario_name: str, seed: int, scenario_config: dict | None = None) -> tuple[dict | None, str]:
    """A run file if it is complete and current, else ``(None, reason)``."""
    if not path.exists():
        return None, "missing"
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        return None, f"corrupt ({e.__class__.__name__}: {e})"
    from gridshift.eval.metrics import HEADLINE

    if not isinstance(data, dict) or data.get("schema") != RUN_SCHEMA:
        return None, f"partial or old schema (schema={data.get('schema') if isinstance(data, dict) else None})"
    m = data.get("metrics")
    if not isinstance(m, dict) or any(k not in m for k in HEADLINE):
        missing = [k for k in HEADLINE if not isinstance(m, dict) or k not in m]
        return None, f"partial (metrics missing {missing[:3]}...)"
    if data.get("policy") != policy or data.get("scenario") != scenario_name or data.get("seed") != seed:
        return None, "mismatched policy/scenario/seed"
    if scenario_config is not None and data.get("scenario_config") != json.loads(json.dumps(scenario_config)):
        return None, "stale (scenario changed since the run)"
    return data, "ok"


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
                progress=True, log=print) -> list[dict]:
    """Every (policy, scenario, seed) run, read from ``runs_dir`` or (re)run and written there."""
    from gridshift.agents.registry import make_policy
    from gridshift.envs.dcgrid.scenario import load_scenario

    runs_dir = Path(runs_dir)
    configs = {s: load_scenario(s, **(overrides or {})) for s in scenarios}
    modes = {p: make_policy(p).action_mode for p in policies}
    todo, have = [], []
    for s in scenarios:
        for p in policies:
            for seed in seeds:
                path = run_file(runs_dir, configs[s].name, p, seed)
                cfg = configs[s].replace(action_mode=modes[p]).to_dict()
                data, why = load_run(path, p, configs[s].name, seed, cfg)
                if data is None:
                    if why != "missing":
                        log(f"run file {path}: {why}: skipped and rerun")
                    todo.append((p, s, seed))
                else:
                    have.append(data)
    bar = Progress(len(todo), "runs") if progress and todo else None
    if todo and ray_address:
        ray, remote_run = _ray_runner(ray_address, ray_num_cpus)
        futures = {remote_run.remote(p, s, seed, overrides or {}): (p, s, seed) for p, s, seed in todo}
        pending = list(futures)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            res = ray.get(ready[0])
            path = run_file(runs_dir, res["scenario"], res["policy"], res["seed"])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(res, indent=1) + "\n")
            have.append(res)
            if bar:
                bar.update(1, f"{res['policy']} {res['scenario']} seed {res['seed']}")
    else:
        for p, s, seed in todo:
            res = evaluate_run(p, s, seed, out_dir=runs_dir, overrides=overrides)
            have.append(res)
            if bar:
                bar.update(1, f"{p} {s} seed {seed}")
    return have


def bootstrap_ci(x: np.ndarray, rng: np.random.Generator, n_boot: int = N_BOOT) -> tuple[float, float]:
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan"), float("nan")
    if x.size == 1:
        return float(x[0]), float(x[0])
    means = x[rng.integers(0, x.size, (n_boot, x.size))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def iqm(x: np.ndarray) -> float:
    """Interquartile mean: the mean of the middle 50 % (Agarwal et al. 2021); the mean for n < 4."""
    x = np.sort(np.asarray(x, float)[np.isfinite(x)])
    if x.size == 0:
        return float("nan")
    if x.size < 4:
        return float(x.mean())
    k = x.size // 4
    return float(x[k: x.size - k].mean())


def aggregate(runs: list[dict], metrics: tuple[str, ...]) -> pd.DataFrame:
    rows = []
    rng = np.random.default_rng(0)
    df = pd.DataFrame([{"scenario": r["scenario"], "policy": r["policy"], "seed": r["seed"], **r["metrics"]} for r in runs])
    for (s, p), g in df.groupby(["scenario", "policy"], sort=False):
        row = {"scenario": s, "policy": p, "n_seeds": len(g)}
        for m in metrics:
            x = pd.to_numeric(g[m], errors="coerce").to_numpy(float)
            lo, hi = bootstrap_ci(x, rng)
            row[m] = float(np.nanmean(x)) if np.isfinite(x).any() else float("nan")
            row[f"{m}_iqm"] = iqm(x)
            row[f"{m}_ci_lo"] = lo
            row[f"{m}_ci_hi"] = hi
        rows.append(row)
    out = pd.DataFrame(rows)
    # Normalised score of social cost per scenario: FIFO = 0, best on the board = 100.
    out["score"] = np.nan
    for _, g in out.groupby("scenario"):
        fifo = g.loc[g.policy == "fifo", "social_cost_usd"]
        best = g["social_cost_usd"].min()
        if len(fifo) and np.isfinite(fifo.iloc[0]) and fifo.iloc[0] - best > 0:
            out.loc[g.index, "score"] = 100.0 * (fifo.iloc[0] - g["social_cost_usd"]) / (fifo.iloc[0] - best)
        elif len(fifo):
            out.loc[g.index, "score"] = 0.0
    return out


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


def _fmt(v: float) -> str:
    if v is None or not np.isfinite(v):
        return "n/a"
    a = abs(v)
    if a >= 1e5:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:,.1f}"
    return f"{v:.3g}"


def write_outputs(table: pd.DataFrame, fals: pd.DataFrame, runs: list[dict], out_dir: str | Path, metrics: tuple[str, ...],
                  plot_metrics: tuple[str, ...], seeds: list[int]) -> dict[str, Path]:
    from gridshift.eval.provenance import run_metadata

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "leaderboard.csv", "json": out / "leaderboard.json", "md": out / "leaderboard.md"}
    table.to_csv(paths["csv"], index=False)
    meta = run_metadata()
    payload = {"seeds": seeds, "metrics": list(metrics), "rows": json.loads(table.to_json(orient="records")),
               "falsifiability": json.loads(fals.to_json(orient="records")),
               "runs": [{k: r[k] for k in ("policy", "scenario", "seed", "git_commit")} for r in runs], **meta}
    paths["json"].write_text(json.dumps(payload, indent=1) + "\n")
    lines = ["# gridshift leaderboard", "",
             f"Seeds {seeds}; mean over seeds with a bootstrap 95 % CI of the mean in brackets; IQM in the CSV/JSON.",
             "Score: social cost normalised per scenario, FIFO = 0, best policy on the board = 100.",
             f"gridshift commit `{meta['git_commit']}`, versions {meta['versions']}.", ""]
    for s, g in table.groupby("scenario", sort=False):
        g = g.sort_values("score", ascending=False)
        lines += [f"## Scenario `{s}`", "", "| policy | score | " + " | ".join(metrics) + " |",
                  "| --- | --- | " + " | ".join("---" for _ in metrics) + " |"]
        for _, r in g.iterrows():
            cells = [f"{_fmt(r[m])} [{_fmt(r[f'{m}_ci_lo'])}, {_fmt(r[f'{m}_ci_hi'])}]" for m in metrics]
            lines.append(f"| `{r['policy']}` | {_fmt(r['score'])} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## EM falsifiability checks (share of seeds passing)", "",
              "| scenario | policy | " + " | ".join(c for c in fals.columns[2:]) + " |",
              "| --- | --- | " + " | ".join("---" for _ in fals.columns[2:]) + " |"]
    for _, r in fals.iterrows():
        lines.append(f"| {r['scenario']} | `{r['policy']}` | " + " | ".join(_fmt(r[c]) for c in fals.columns[2:]) + " |")
    paths["md"].write_text("\n".join(lines) + "\n")
    paths.update(plot_outcomes(table, plot_metrics, out))
    return paths


def plot_outcomes(table: pd.DataFrame, metrics: tuple[str, ...], out: Path) -> dict[str, Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    paths = {}
    scenarios = list(dict.fromkeys(table.scenario))
    for m in metrics:
        fig, ax = plt.subplots(figsize=(max(6, 1.1 * table.policy.nunique() * len(scenarios)), 3.6), dpi=100)
        policies = list(dict.fromkeys(table.policy))
        w = 0.8 / max(len(scenarios), 1)
        x = np.arange(len(policies))
        for k, s in enumerate(scenarios):
            g = table[table.scenario == s].set_index("policy").reindex(policies)
            mean = g[m].to_numpy(float)
            err = np.vstack([mean - g[f"{m}_ci_lo"].to_numpy(float), g[f"{m}_ci_hi"].to_numpy(float) - mean])
            ax.bar(x + k * w, mean, w, yerr=np.nan_to_num(np.abs(err)), capsize=3, label=s)
        ax.set_xticks(x + w * (len(scenarios) - 1) / 2, policies, rotation=30, ha="right")
        ax.set_ylabel(m)
        ax.set_title(f"{m} (mean, bootstrap 95 % CI)")
        if len(scenarios) > 1:
            ax.legend(fontsize=8)
        fig.tight_layout()
        p = out / f"outcome_{m}.png"
        fig.savefig(p)
        plt.close(fig)
        paths[f"plot_{m}"] = p
    return paths


def build_leaderboard(policies, scenarios, seeds, *, out_dir="leaderboard", runs_dir=None, overrides=None,
                      ray_address=None, ray_num_cpus=None, progress=True, log=print) -> dict:
    from gridshift.eval.metrics import EM_OUTCOMES, HEADLINE

    runs_dir = runs_dir or Path(out_dir) / "runs"
    t0 = time.perf_counter()
    runs = ensure_runs(policies, scenarios, seeds, runs_dir, overrides=overrides, ray_address=ray_address,
                       ray_num_cpus=ray_num_cpus, progress=progress, log=log)
    metrics = tuple(dict.fromkeys(("social_cost_usd",) + tuple(HEADLINE) + tuple(EM_OUTCOMES)))
    table = aggregate(runs, metrics)
    fals = falsifiability_table(runs)
    paths = write_outputs(table, fals, runs, out_dir, metrics, tuple(EM_OUTCOMES), list(seeds))
    return {"table": table, "falsifiability": fals, "paths": paths, "runs": runs, "wall_s": time.perf_counter() - t0}
