"""The cascade study (DESIGN §11): where does the deferral-and-resumption cascade come from?

``run_cascade`` (``gridshift cascade``) runs every cell on ``seeds`` (default the ten held-out
seeds 1000-1009) **closed and open loop** (``signal_feedback``: in the open loop the agents see
a shadow grid cleared with the same seed's FIFO DC load, so synchronisation stays and
endogenous feedback goes), with FIFO on the same seeds as the no-deferral reference, and
reports every metric as closed, open and their paired difference with bootstrap CIs
(:mod:`gridshift.eval.cascade_stats`). Cascade metrics are measured on the **horizon only**;
work, cost and emissions accounting on horizon + settlement (:mod:`gridshift.eval.metrics`).
The sweeps isolate one mechanism each:

``phase``
    penetration x number of DCs with **adequacy held fixed** (``fleet_adequacy = "scaled"``),
    heterogeneous DCs (sizes and time zones of the scenario, per-DC GAS thresholds drawn from
    the seed, ``threshold_sd`` = 0.05), for each base rule (literal, intent) alone and with
    staggered resumption (random delay up to 4 steps, 4-step ramp) on the same DCs.
``adequacy``
    the undersized fleet (``fixed``) against the scaled one, for GAS (literal, intent) and the
    price threshold rule.
``emergency``
    the operator's emergency rule, ``fixed`` (old: 4 steps, re-issued) against ``hysteresis``,
    on the undersized fleet where orders happen; with the time series of one event.
``stagger``
    each diversity mechanism (random thresholds, resume delay, ramp) alone and all together,
    on the same base rule (literal vs literal + mechanism; intent vs intent + mechanism).
``price_band``
    the price-responsive family of width ``w`` x penetration, against the elasticity ratio of
    Roozbehani, Dahleh & Mitter (2012) computed per cell (:mod:`gridshift.eval.cascade_theory`).
``resume_band``
    GAS with a resume band ``b`` x penetration, against the predicted signal jump.
``virginia``
    the 10 July 2024 load-loss event (``virginia_2024``): ~60 DCs, ~1,500 MW dropping together
    and returning at once or staggered over an hour.
``em_checks``
    EM's falsifiability checks for FIFO, random and the GAS and price rules, with the SLA guard
    on and off.

Outputs in ``out_dir``: ``cascade_runs.csv`` (one row per run and seed), ``cascade_summary.csv``
(closed / open / difference per cell and metric), ``cascade_prediction.csv``, the figures
(:mod:`gridshift.eval.cascade_plots`) and ``cascade_report.md``
(:mod:`gridshift.eval.cascade_report`), whose closing paragraph is generated from the numbers.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from gridshift.eval.cascade_theory import predicted_signal_jump

__all__ = ["SWEEPS", "predicted_signal_jump", "run_cascade"]

SWEEPS = ("phase", "adequacy", "emergency", "stagger", "price_band", "resume_band", "virginia", "em_checks")
#: Per-DC threshold spread of the heterogeneous DCs (signal units, normal sd).
HETERO_SD = 0.05
#: Staggered resumption of the phase diagram: random delay 0..4 steps, then a 4-step ramp.
STAGGER = {"resume_delay_steps": 4, "ramp_steps": 4}
BASES = ("literal", "intent")
#: Horizon of the Virginia replay (steps): the event at 19 h, 2 h on backup, then 11 h after.
VIRGINIA_HORIZON = 128


def _band(policy: str) -> float:
    """The nominal hysteresis band ``urgent - defer`` that DESIGN §11's predictor once used."""
    from gridshift.agents.registry import make_policy

    pol = make_policy(policy)
    u = getattr(pol, "urgent_threshold", None)
    d = getattr(pol, "defer_threshold", None)
    return float(u - d) if u is not None and d is not None else float("nan")


def _effective_band(policy: str, **kwargs) -> float:
    """The band the rule actually has: ``resume - defer`` (the literal EM rule resumes at
    ``defer_threshold``, so its effective band is 0)."""
    from gridshift.agents.registry import make_policy

    pol = make_policy(policy, **kwargs)
    d = getattr(pol, "defer_threshold", None)
    if d is None:
        return float("nan")
    r = getattr(pol, "resume_threshold", None)
    return float((d if r is None else r) - d)


def _stagger_kwargs(base: str, mechanism: str, window: int = 4) -> dict:
    on = {"none": None, "thresholds": (True, 0, 0), "delay": (False, window, 0), "ramp": (False, 0, 4),
          "all": (True, window, 4)}[mechanism]
    return {"base": base, "random_thresholds": on[0], "resume_delay_steps": on[1], "ramp_steps": on[2]}


def run_cascade(out_dir="cascade", *, scenario: str = "default", seeds=tuple(range(1000, 1010)),
                horizon_steps: int = 192, penetrations=(0.044, 0.12, 0.3, 0.5), n_dcs=(4, 16, 64),
                widths=(0.0, 2.0, 5.0, 10.0, 20.0, 50.0), bands=(0.0, 0.02, 0.05, 0.1), windows=(4,),
                cell_n_dcs: int = 16, sweeps=SWEEPS, overrides=None, progress: bool = True, log=print,
                gas: str | None = None, stagger: str | None = None) -> dict:
    """Run the sweeps (module docstring) and write the runs, summary, figures and report.

    ``n_dcs`` is the phase diagram's axis; every other sweep uses ``cell_n_dcs`` DCs.
    ``windows`` are the resume-delay windows (steps) of the ``delay`` mechanism. ``gas`` and
    ``stagger`` are the first round's arguments: the study now runs both base rules, alone and
    staggered on the same base, so only their old defaults (or None) are accepted."""
    from gridshift.eval.cascade_cells import CascadeRunner
    from gridshift.eval.cascade_plots import write_figures
    from gridshift.eval.cascade_report import write_report
    from gridshift.eval.leaderboard import Progress

    if gas not in (None, "gas_literal") or stagger not in (None, "gas_stagger"):
        raise ValueError(f"gas={gas!r}, stagger={stagger!r} are no longer used: the study runs both GAS base rules "
                         "(literal, intent), alone and staggered on the same base; pass sweeps=... to choose sweeps")
    from gridshift.envs.dcgrid.scenario import load_scenario

    # Bad scenario values fail first, naming the field (before any run).
    for p in penetrations:
        for n in (*n_dcs, cell_n_dcs):
            load_scenario(scenario, **{**(overrides or {}), "penetration": p, "n_datacenters": n,
                                       "horizon_steps": horizon_steps})
    for name, vals in (("widths", widths), ("bands", bands), ("windows", windows)):
        bad = [v for v in vals if not (np.isfinite(v) and v >= 0)]
        if bad:
            raise ValueError(f"{name}={list(vals)!r} is invalid: allowed finite numbers >= 0 (got {bad})")
    unknown = sorted(set(sweeps) - set(SWEEPS))
    if unknown:
        raise ValueError(f"sweeps={list(sweeps)!r} is invalid: unknown {unknown}; allowed any of {list(SWEEPS)}")
    if len(seeds) < 2:
        raise ValueError(f"seeds={list(seeds)!r} is invalid: allowed at least 2 seeds (the study reports bootstrap "
                         "CIs over seeds; use 10 or more)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    n_cells = _count_cells(sweeps, penetrations, n_dcs, widths, bands, windows)
    bar = Progress(n_cells, "cell runs") if progress else None
    run = CascadeRunner(scenario, seeds, horizon_steps, overrides, progress=bar)
    extras: dict = {"seeds": list(seeds), "scenario": scenario, "horizon_steps": horizon_steps}
    nd = int(cell_n_dcs)
    pens = tuple(float(p) for p in penetrations)

    if "phase" in sweeps:
        for p in pens:
            for n in n_dcs:
                cfg = {"penetration": p, "n_datacenters": int(n), "fleet_adequacy": "scaled"}
                run.add_fifo_rows("phase", cfg)
                for base in BASES:
                    run.run("phase", f"{base} hetero", f"gas_{base}_hetero", cfg, kwargs={"threshold_sd": HETERO_SD},
                            tags={"base": base, "staggered": False})
                    run.run("phase", f"{base} hetero + stagger", "gas_stagger", cfg,
                            kwargs={"base": base, "random_thresholds": False, "threshold_sd": HETERO_SD, **STAGGER},
                            tags={"base": base, "staggered": True})
    if "adequacy" in sweeps:
        for a in ("fixed", "scaled"):
            for p in pens:
                cfg = {"penetration": p, "n_datacenters": nd, "fleet_adequacy": a}
                run.add_fifo_rows("adequacy", cfg)
                for pol in ("gas_literal", "gas_intent", "price_threshold"):
                    run.run("adequacy", pol, pol, cfg)
    if "emergency" in sweeps:
        keep = {}
        hi = [p for p in pens if p >= 0.3] or [max(pens)]
        for rule in ("fixed", "hysteresis"):
            for p in hi:
                cfg = {"penetration": p, "n_datacenters": nd, "fleet_adequacy": "fixed", "emergency_rule": rule}
                run.add_fifo_rows("emergency", cfg)
                for pol in ("gas_literal", "gas_intent"):
                    k = run.run("emergency", pol, pol, cfg, keep=(p == max(hi)))
                    if k:
                        keep[(rule, pol)] = k["closed"][0]
                if p == max(hi):
                    keep[(rule, "fifo")] = run.fifo(cfg)["records"][0]
        extras["emergency_records"] = keep
    if "stagger" in sweeps:
        for p in [q for q in pens if 0.1 <= q <= 0.35] or pens[:1]:
            cfg = {"penetration": p, "n_datacenters": nd, "fleet_adequacy": "scaled"}
            run.add_fifo_rows("stagger", cfg)
            for base in BASES:
                run.run("stagger", f"gas_{base}", f"gas_{base}", cfg, tags={"base": base, "mechanism": "none"})
                for mech in ("thresholds", "ramp", "all"):
                    run.run("stagger", f"{base} + {mech}", "gas_stagger", cfg, kwargs=_stagger_kwargs(base, mech),
                            tags={"base": base, "mechanism": mech})
                for wdw in windows:
                    run.run("stagger", f"{base} + delay {wdw}", "gas_stagger", cfg,
                            kwargs=_stagger_kwargs(base, "delay", int(wdw)),
                            tags={"base": base, "mechanism": f"delay {wdw}"})
    if "price_band" in sweeps:
        elast = []
        for p in pens:
            cfg = {"penetration": p, "n_datacenters": nd, "fleet_adequacy": "scaled"}
            f = run.fifo(cfg)
            run.add_fifo_rows("price_band", cfg)
            ref = float(np.median(np.concatenate([g["price_usd_per_mwh"].to_numpy(float) for g in f["grids"].values()])))
            for w in widths:
                run.run("price_band", f"w={w:g}", "price_band", cfg,
                        kwargs={"width_usd_per_mwh": float(w), "reference_usd_per_mwh": ref},
                        tags={"width_usd_per_mwh": float(w), "reference_usd_per_mwh": ref})
                from gridshift.eval.cascade_theory import elasticity

                elast.append({"penetration": p, "width_usd_per_mwh": float(w), "reference_usd_per_mwh": ref,
                              **elasticity(f["slopes"], f["flexible_mw"], float(w))})
        extras["elasticity"] = pd.DataFrame(elast)
    if "resume_band" in sweeps:
        pred = []
        for p in [q for q in pens if q <= 0.35] or pens[:1]:
            cfg = {"penetration": p, "n_datacenters": nd, "fleet_adequacy": "scaled"}
            run.add_fifo_rows("resume_band", cfg)
            for base in BASES:
                for b in bands:
                    run.run("resume_band", f"{base} b={b:g}", f"gas_{base}_band", cfg,
                            kwargs={"resume_band": float(b)},
                            tags={"base": base, "resume_band": float(b)})
            pj = predicted_signal_jump(p, scenario, **{**(overrides or {}), "fleet_adequacy": "scaled",
                                                       "n_datacenters": nd})
            pred.append(pj)
        extras["prediction"] = pd.DataFrame(pred)
    if "virginia" in sweeps:
        keep = {}
        for wdw in (0.0, 1.0):
            # the event starts 19 h into the horizon: 32 h of horizon cover it and its aftermath
            cfg = {"scenario": "virginia_2024", "load_loss_return_window_h": wdw, "horizon_steps": VIRGINIA_HORIZON}
            run.add_fifo_rows("virginia", cfg, tags={"return_window_h": wdw})
            keep[(wdw, "fifo")] = run.fifo(cfg)["records"][0]
            for pol in ("gas_literal", "gas_intent"):
                k = run.run("virginia", pol, pol, cfg, tags={"return_window_h": wdw}, keep=True)
                keep[(wdw, pol)] = k["closed"][0]
                keep[(wdw, pol, "open")] = k["open"][0]
        extras["virginia_records"] = keep
    if "em_checks" in sweeps:
        for guard in (True, False):
            cfg = {"n_datacenters": nd, "sla_guard": guard}
            run.add_fifo_rows("em_checks", cfg)
            for pol in ("random", "gas_literal", "gas_intent", "price_threshold"):
                run.run("em_checks", pol, pol, cfg, feedbacks=("closed",))

    df = run.frame()
    df.to_csv(out / "cascade_runs.csv", index=False)
    if "prediction" in extras:
        extras["prediction"].to_csv(out / "cascade_prediction.csv", index=False)
    if "elasticity" in extras:
        extras["elasticity"].to_csv(out / "cascade_elasticity.csv", index=False)
    extras["wall_s"] = time.perf_counter() - t0
    extras["sim_wall_s"] = run.wall_s
    extras["episodes"] = run.episodes
    paths = write_figures(df, extras, out)
    summary, report = write_report(df, extras, out, paths)
    paths["report"] = report
    wall = time.perf_counter() - t0
    if log:
        log(f"cascade study: {run.episodes} episodes in {wall:.0f} s ({run.wall_s:.0f} s simulating)")
    return {"runs": df, "summary": summary, "prediction": extras.get("prediction"), "paths": paths, "wall_s": wall,
            "episodes": run.episodes}


def _count_cells(sweeps, pens, n_dcs, widths, bands, windows) -> int:
    pens = list(pens)
    c = 0
    if "phase" in sweeps:
        c += len(pens) * len(n_dcs) * 4 * 2
    if "adequacy" in sweeps:
        c += 2 * len(pens) * 3 * 2
    if "emergency" in sweeps:
        c += 2 * max(1, len([p for p in pens if p >= 0.3])) * 2 * 2
    if "stagger" in sweeps:
        c += max(1, len([p for p in pens if 0.1 <= p <= 0.35])) * 2 * (4 + len(windows)) * 2
    if "price_band" in sweeps:
        c += len(pens) * len(widths) * 2
    if "resume_band" in sweeps:
        c += max(1, len([p for p in pens if p <= 0.35])) * 2 * len(bands) * 2
    if "virginia" in sweeps:
        c += 2 * 2 * 2
    if "em_checks" in sweeps:
        c += 2 * 4
    return c
