"""Evaluation during training: the benchmark's own measure, on validation seeds, in TensorBoard.

Every ``eval_every`` agent-steps the policy being trained plays full episodes (horizon plus
settlement, through the same runner as the leaderboard) on ``eval_seeds``, which lie in the
training range (never the held-out evaluation seeds 1000+), greedily. Each episode is paired
with FIFO on the same seed (FIFO's runs are computed once). Logged under ``eval/``:

* ``d_social_cost_usd``, ``d_emissions_t``: mean paired difference to FIFO (negative is better);
* ``win_rate_vs_fifo``: the share of seeds with a lower social cost than FIFO;
* ``work_served_mwh``, ``backlog_at_horizon_mwh``, ``rebound_ratio``, ``price_spike_count``:
  the policy's own means (grid KPIs, not rewards);
* ``episode_return``: the mean return per agent in reward units.

The same rows go to ``RUN_DIR/eval.jsonl`` (one line per evaluation, with the agent-steps), so
runs of any library can be overlaid on agent-steps: ``gridshift train sb3`` through
:func:`make_eval_callback`, ``gridshift train rllib`` through the same :func:`evaluate_against_fifo`
and :func:`record_eval_row` (under the same tags). The seeds default to
:data:`gridshift.eval.protocol.TRAINING_EVAL_SEEDS`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gridshift.eval.protocol import TRAINING_EVAL_SEEDS

#: Validation seeds: in the training range, disjoint from the held-out evaluation seeds.
DEFAULT_EVAL_SEEDS = TRAINING_EVAL_SEEDS

KPIS = ("work_served_mwh", "backlog_at_horizon_mwh", "rebound_ratio", "price_spike_count")


def evaluate_against_fifo(policy, scenario, overrides: dict, seeds, fifo_cache: dict) -> dict:
    """One evaluation: paired differences to FIFO and the policy's KPIs (module docstring).
    ``policy``: a :class:`~gridshift.agents.base.Policy` or an SB3 model (wrapped, greedy)."""
    from gridshift.agents.registry import make_policy
    from gridshift.eval.runner import episode_metrics, run_episode

    if not hasattr(policy, "act"):
        from gridshift.agents.trained import SB3Policy

        policy = SB3Policy(policy, "training", None)

    d_cost, d_em, wins, kpis, ret = [], [], [], {k: [] for k in KPIS}, []
    for s in seeds:
        if s not in fifo_cache:
            fifo_cache[s] = episode_metrics(run_episode(make_policy("fifo"), scenario, s, **overrides))
        f = fifo_cache[s]
        rec = run_episode(policy, scenario, s, **overrides)
        m = episode_metrics(rec)
        d_cost.append(m["social_cost_usd"] - f["social_cost_usd"])
        d_em.append(m["emissions_t"] - f["emissions_t"])
        wins.append(float(m["social_cost_usd"] < f["social_cost_usd"]))
        for k in KPIS:
            kpis[k].append(m.get(k, np.nan))
        ret.append(float(rec.rewards.sum(axis=0).mean()))
    row = {"d_social_cost_usd": float(np.mean(d_cost)), "d_emissions_t": float(np.mean(d_em)),
           "win_rate_vs_fifo": float(np.mean(wins)), "episode_return": float(np.mean(ret))}
    row.update({k: float(np.nanmean(v)) if np.isfinite(v).any() else float("nan") for k, v in kpis.items()})
    return row


def record_eval_row(run_dir: Path, agent_steps: int, seeds, row: dict, add_scalar) -> None:
    """Log one evaluation: ``add_scalar(tag, value)`` for each ``eval/`` tag, and a line of
    ``RUN_DIR/eval.jsonl``."""
    for k, v in row.items():
        add_scalar(f"eval/{k}", v)
    with (Path(run_dir) / "eval.jsonl").open("a") as f:
        f.write(json.dumps({"agent_steps": int(agent_steps), "seeds": list(seeds), **row}) + "\n")


def make_eval_callback(run_dir: Path, every: int, scenario, overrides: dict, seeds=DEFAULT_EVAL_SEEDS):
    """An SB3 callback that evaluates every ``every`` agent-steps (and at the end)."""
    from stable_baselines3.common.callbacks import BaseCallback

    out = Path(run_dir) / "eval.jsonl"

    class EvalCallback(BaseCallback):
        def __init__(self):
            super().__init__()
            self.fifo: dict = {}
            self.next_at = every

        def _evaluate(self) -> None:
            row = evaluate_against_fifo(self.model, scenario, overrides, seeds, self.fifo)
            record_eval_row(out.parent, self.num_timesteps, seeds, row, self.logger.record)
            self.logger.dump(self.num_timesteps)

        def _on_step(self) -> bool:
            if self.num_timesteps >= self.next_at:
                self.next_at = (self.num_timesteps // every + 1) * every
                self._evaluate()
            return True

        def _on_training_end(self) -> None:
            self._evaluate()

    return EvalCallback()
