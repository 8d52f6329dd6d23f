"""The cascade study's cell runner: one policy on one scenario configuration, every seed in one
batch (:mod:`gridshift.eval.cascade_batch`), closed and open loop, metrics per seed.

A **configuration** is a dict of scenario overrides (``penetration``, ``n_datacenters``,
``fleet_adequacy``, ...; the key ``scenario`` picks another base scenario). For each
configuration the runner builds, once and cached:

* the start states of the seeds for each ``signal_feedback`` (the open loop's reset also
  clears the FIFO shadow grid);
* the **stress threshold** of the scenario (:func:`gridshift.eval.metrics_cascade.stress_threshold_mw`,
  the 0.9 quantile of the no-DC net demand over the seeds' horizons: the exogenous inputs do
  not depend on the DCs, so every configuration of one base scenario gets the same number);
* the **FIFO** runs of the seeds (closed loop; with FIFO the open loop is the same trajectory,
  which ``tests/test_cascade_batch.py`` checks), probed for the supply-curve slope
  (:func:`gridshift.eval.cascade_theory.elasticity`), against which every other policy's
  ``*_vs_fifo`` metrics are computed on the same seed.

Each run adds one row per seed to :attr:`CascadeRunner.rows`: the sweep, a label, the policy,
``feedback`` (``closed`` / ``open``), the configuration and tags, the seed, and every metric of
:func:`gridshift.eval.metrics.compute_metrics` plus :func:`gridshift.eval.metrics_cascade.versus_fifo`.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from gridshift.envs.dcgrid import core
from gridshift.envs.dcgrid.scenario import Scenario, load_scenario
from gridshift.eval.cascade_batch import reset_states, run_batch
from gridshift.eval.metrics import compute_metrics
from gridshift.eval.metrics_cascade import (
    horizon_rows,
    load_loss_metrics,
    stress_threshold_mw,
    versus_fifo,
)


def _key(cfg: dict) -> tuple:
    return tuple(sorted(cfg.items()))


class CascadeRunner:
    """Runs cells and keeps their per-seed metric rows (module docstring)."""

    def __init__(self, scenario: str = "default", seeds=tuple(range(1000, 1010)), horizon_steps: int = 192,
                 overrides: dict | None = None, progress=None):
        self.scenario = scenario
        self.seeds = [int(s) for s in seeds]
        self.horizon_steps = int(horizon_steps)
        self.overrides = dict(overrides or {})
        self.progress = progress
        self.rows: list[dict] = []
        self.records: dict[tuple, list] = {}
        self._setup: dict[tuple, tuple] = {}
        self._fifo: dict[tuple, dict] = {}
        self.episodes = 0
        self.wall_s = 0.0

    # ------------------------------------------------------------------ set-up, cached
    def scenario_for(self, cfg: dict, feedback: str = "closed") -> Scenario:
        cfg = dict(cfg)
        base = cfg.pop("scenario", self.scenario)
        kw = {**self.overrides, "horizon_steps": self.horizon_steps, **cfg, "signal_feedback": feedback,
              "action_mode": "box"}
        return load_scenario(base, **kw)

    def setup(self, cfg: dict, feedback: str):
        k = (_key(cfg), feedback)
        if k not in self._setup:
            sc = self.scenario_for(cfg, feedback)
            params = core.make_params(sc)
            start = reset_states(params, self.seeds)
            thr = stress_threshold_mw(params, start, sc.horizon_steps)
            self._setup[k] = (sc, params, start, thr)
        return self._setup[k]

    def fifo(self, cfg: dict) -> dict:
        """FIFO on ``cfg`` (closed loop), run once: per-seed metrics, horizon grids, probes."""
        k = _key(cfg)
        if k not in self._fifo:
            from gridshift.agents.registry import make_policy
            from gridshift.eval.cascade_theory import flexible_facility_mw, supply_slopes

            sc, params, start, thr = self.setup(cfg, "closed")
            dcs = params.dcs
            f_exp = float((dcs.pue * sc.target_utilization * (1 - sc.job_mix[0]) * dcs.dynamic_mw).sum())
            t0 = time.perf_counter()
            recs = run_batch([make_policy("fifo") for _ in self.seeds], sc, self.seeds, params=params, start=start,
                             probe_mw=max(f_exp / 2, 1.0))
            self.wall_s += time.perf_counter() - t0
            self.episodes += len(recs)
            ms, grids = {}, {}
            for r in recs:
                m = self._metrics(r, sc, thr)
                grids[r.seed] = r.grid[horizon_rows(r.grid)]
                m.update(versus_fifo(grids[r.seed], grids[r.seed], m, m, step_hours=sc.step_hours,
                                     stress_net_demand_mw=thr))
                m.update(load_loss_metrics(grids[r.seed], sc, grids[r.seed]))
                ms[r.seed] = m
            self._fifo[k] = {"metrics": ms, "grids": grids, "slopes": supply_slopes(recs),
                             "flexible_mw": flexible_facility_mw(recs, dcs.pue), "records": recs[:1],
                             "scenario": sc, "stress_threshold_mw": thr}
        return self._fifo[k]

    @staticmethod
    def _metrics(rec, sc: Scenario, thr: float) -> dict:
        m = compute_metrics(rec.ledger, rec.grid, rec.dc, step_hours=sc.step_hours,
                            dr_threshold_mw=sc.dr_reserve_threshold_mw, stress_net_demand_mw=thr, no_dc=rec.no_dc,
                            voll_usd_per_mwh=sc.voll_usd_per_mwh)
        m.update({k: float(v) for k, v in rec.extra.items() if isinstance(v, (int, float, np.floating, np.integer))})
        return m

    # ------------------------------------------------------------------ cells
    def add_fifo_rows(self, sweep: str, cfg: dict, tags: dict | None = None) -> None:
        """FIFO's per-seed rows for ``sweep`` (feedback ``closed``; open loop is identical)."""
        f = self.fifo(cfg)
        for s in self.seeds:
            self.rows.append({"sweep": sweep, "label": "fifo", "policy": "fifo", "feedback": "closed", **cfg,
                              **(tags or {}), "seed": s, **f["metrics"][s]})

    def run(self, sweep: str, label: str, policy: str, cfg: dict, *, kwargs: dict | None = None,
            tags: dict | None = None, feedbacks=("closed", "open"), keep: bool = False) -> dict[str, list]:
        """Run ``policy(**kwargs)`` on ``cfg`` for every seed, each feedback; add the rows. With
        ``keep`` the records of the first seed are returned (for time-series figures)."""
        from gridshift.agents.registry import make_policy

        fifo = self.fifo(cfg)
        kept = {}
        for fb in feedbacks:
            sc, params, start, thr = self.setup(cfg, fb)
            t0 = time.perf_counter()
            recs = run_batch([make_policy(policy, **(kwargs or {})) for _ in self.seeds], sc, self.seeds,
                             params=params, start=start)
            self.wall_s += time.perf_counter() - t0
            self.episodes += len(recs)
            for r in recs:
                m = self._metrics(r, sc, thr)
                g = r.grid[horizon_rows(r.grid)]
                m.update(versus_fifo(g, fifo["grids"][r.seed], m, fifo["metrics"][r.seed], step_hours=sc.step_hours,
                                     stress_net_demand_mw=thr))
                m.update(load_loss_metrics(g, sc, fifo["grids"][r.seed]))
                self.rows.append({"sweep": sweep, "label": label, "policy": policy, "feedback": fb, **cfg,
                                  **(tags or {}), "seed": r.seed, **m})
            if keep:
                kept[fb] = recs[:1]
            if self.progress:
                self.progress.update(1, f"{sweep} {label} {fb} {cfg}")
        return kept

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)
