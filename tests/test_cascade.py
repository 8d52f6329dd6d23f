"""The cascade study: paired statistics and predictors by hand, the EM checks that can fail, and
a small end-to-end run whose every figure and table has its open-loop counterfactual."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gridshift.agents.registry import make_policy
from gridshift.envs.dcgrid.scenario import load_scenario
from gridshift.eval.cascade_batch import run_batch
from gridshift.eval.cascade_stats import fmt_ci, paired, significant
from gridshift.eval.cascade_theory import elasticity
from gridshift.eval.metrics import compute_metrics, falsifiability


def _rows(closed, opened):
    seeds = range(len(closed))
    return pd.DataFrame([{"seed": s, "feedback": "closed", "x": c} for s, c in zip(seeds, closed, strict=True)]
                        + [{"seed": s, "feedback": "open", "x": o} for s, o in zip(seeds, opened, strict=True)])


def test_paired_difference_and_feedback_share_by_hand():
    rows = _rows([1.0, 2.0, 3.0, 2.0], [0.0, 1.0, 1.0, 2.0])
    fifo = pd.DataFrame({"seed": range(4), "x": [0.0, 0.0, 0.0, 0.0]})
    s = paired(rows, "x", fifo)
    assert s["closed"] == pytest.approx(2.0) and s["open"] == pytest.approx(1.0)
    # per-seed differences [1, 1, 2, 0] -> mean 1; the whole effect closed - fifo has mean 2 -> share 1/2
    assert s["diff"] == pytest.approx(1.0)
    assert s["share"] == pytest.approx(0.5)
    assert s["diff_lo"] <= 1.0 <= s["diff_hi"] and s["share_lo"] <= 0.5 <= s["share_hi"]
    assert s["n_seeds"] == 4 and s["fifo"] == 0.0
    # identical loops: the difference is exactly 0 with a degenerate CI
    z = paired(_rows([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]), "x")
    assert (z["diff"], z["diff_lo"], z["diff_hi"]) == (0.0, 0.0, 0.0)
    assert not significant(z["diff_lo"], z["diff_hi"]) and significant(0.1, 0.5) and significant(-0.5, -0.1)
    # no effect to share -> NaN, never a division by ~0
    n = paired(rows, "x", pd.DataFrame({"seed": range(4), "x": [1.0, 2.0, 3.0, 2.0]}))
    assert math.isnan(n["share"])
    assert fmt_ci(1.234, 1.0, 1.5) == "1.23 [1.00, 1.50]" and fmt_ci(float("nan"), 0, 1) == "–"


def test_elasticity_ratio_by_hand():
    slopes = np.array([0.001, 0.002, 0.003, 0.004, 0.005])  # $/MWh per MW
    e = elasticity(slopes, 1000.0, 10.0)  # F = 1000 MW over a 10 $/MWh band -> k = 100 MW per $/MWh
    assert e["supply_slope_usd_per_mwh_per_mw"] == pytest.approx(0.003)
    assert e["policy_mw_per_usd"] == pytest.approx(100.0)
    assert e["elasticity_ratio"] == pytest.approx(0.3)  # s k
    assert e["price_jump_usd_per_mwh"] == pytest.approx(3.0)  # s F: the ratio is the jump over the width
    assert e["elasticity_ratio"] == pytest.approx(e["price_jump_usd_per_mwh"] / 10.0)
    assert e["supply_slope_p90"] == pytest.approx(np.percentile(slopes, 90))
    step = elasticity(slopes, 1000.0, 0.0)  # bang-bang: infinite response
    assert step["policy_mw_per_usd"] == math.inf and step["elasticity_ratio"] == math.inf


SMALL = dict(horizon_steps=48, warmup_steps=8, n_datacenters=4)


def _em(policy, guard: bool, seed: int):
    sc = load_scenario("default", **SMALL, sla_guard=guard, action_mode="box")
    rec = run_batch([make_policy(policy)], sc, (seed,))[0]
    return compute_metrics(rec.ledger, rec.grid, rec.dc, step_hours=sc.step_hours,
                           dr_threshold_mw=sc.dr_reserve_threshold_mw, no_dc=rec.no_dc)


@pytest.mark.parametrize("policy", ["fifo", "random"])
def test_fifo_and_random_each_fail_an_em_check(policy):
    for seed in (0, 1):
        fifo = _em("fifo", True, seed)
        checks = falsifiability(_em(policy, True, seed), fifo, _em(policy, False, seed))
        assert set(checks) == {"e2e3_deferred_ge_30pct", "alignment_gain_ge_8pp", "sla_e1e2_le_2pct",
                               "sla_e1e2_le_2pct_guard_off"}
        assert False in checks.values(), (policy, seed, checks)
    # FIFO defers nothing by choice (its jobs wait only for capacity): it fails the volume check that
    # the job mix alone passed before
    m = _em("fifo", True, 0)
    assert m["e2e3_deferred_share"] < 0.30 < m["e2e3_volume_share"]


@pytest.fixture(scope="module")
def small_study(tmp_path_factory):
    from gridshift.eval.cascade import run_cascade

    out = tmp_path_factory.mktemp("cascade")
    res = run_cascade(out, seeds=(1000, 1001), horizon_steps=32, penetrations=(0.12, 0.5), n_dcs=(2, 4),
                      widths=(0.0, 20.0), bands=(0.0, 0.1), cell_n_dcs=4,
                      sweeps=("phase", "emergency", "price_band", "resume_band", "em_checks"), progress=False, log=None)
    return out, res


def test_study_writes_figures_tables_and_report(small_study):
    out, res = small_study
    for name in ("phase_redeferrals.png", "phase_rebound_ratio_vs_fifo.png", "phase_dflex_acf1.png",
                 "emergency_rule.png", "emergency_event.png", "price_band.png", "resume_band.png",
                 "cascade_report.md", "cascade_runs.csv", "cascade_summary.csv", "cascade_prediction.csv",
                 "cascade_elasticity.csv"):
        assert (out / name).exists(), name
    text = (out / "cascade_report.md").read_text()
    assert "## Where the cascade comes from" in text
    for head in ("**Synchronisation.**", "**Feedback.**", "**The operator's rule.**", "**Predictors.**", "**EM checks**"):
        assert head in text, head
    assert "closed − open" in text and "horizon only" in text
    for k, p in res["paths"].items():
        if k != "report":
            assert f"]({p.name})" in text, k  # every figure is in the report


def test_every_cell_has_closed_and_open_runs_on_every_seed(small_study):
    _, res = small_study
    df = res["runs"]
    non_fifo = df[(df.label != "fifo") & (df.sweep != "em_checks")]
    cfg = ["sweep", "label", "penetration", "n_datacenters", "emergency_rule", "width_usd_per_mwh", "resume_band"]
    cfg = [c for c in cfg if c in df]
    keys = non_fifo[cfg].apply(lambda r: "|".join(map(str, r.tolist())), axis=1)
    counts = non_fifo.assign(key=keys).groupby(["key", "feedback"]).seed.nunique()
    assert set(counts.index.get_level_values("feedback")) == {"closed", "open"}
    assert (counts == 2).all() and len(counts) == 2 * keys.nunique()
    # the stress steps come from the exogenous inputs alone: the same for every policy and loop of a seed
    ph = df[df.sweep == "phase"]
    assert ph.groupby(["penetration", "n_datacenters", "seed"]).stress_steps.nunique().max() == 1
    # FIFO is its own reference
    f = df[df.label == "fifo"]
    assert np.allclose(f.rebound_ratio_vs_fifo.dropna(), 1.0) and np.allclose(f.sync_index_vs_fifo.dropna(), 0.0)


def test_summary_reports_closed_open_and_difference(small_study):
    _, res = small_study
    s = res["summary"]
    for c in ("closed", "closed_lo", "closed_hi", "open", "diff", "diff_lo", "diff_hi", "share"):
        assert c in s
    r = s[(s.sweep == "phase") & (s.metric == "redeferrals") & (s.label != "fifo")]
    assert len(r) == 2 * 2 * 4  # penetrations x DC counts x policies
    assert np.allclose(r["diff"], r["closed"] - r["open"])


def test_run_cascade_validates_its_arguments(tmp_path):
    from gridshift.eval.cascade import run_cascade

    with pytest.raises(ValueError, match="sweeps=.*unknown \\['nope'\\]"):
        run_cascade(tmp_path, sweeps=("nope",), progress=False)
    with pytest.raises(ValueError, match="seeds=\\[0\\] is invalid: allowed at least 2 seeds"):
        run_cascade(tmp_path, seeds=(0,), progress=False)
    with pytest.raises(ValueError, match="gas='gas_intent', stagger=None are no longer used"):
        run_cascade(tmp_path, gas="gas_intent", progress=False)
    with pytest.raises(ValueError, match=r"widths=\[-1\.0\] is invalid"):
        run_cascade(tmp_path, widths=(-1.0,), progress=False)
    # a bad scenario value fails first, naming the field, even with a single seed
    from gridshift.envs.grid.types import ParamError

    with pytest.raises(ParamError, match="penetration=9.0 is invalid"):
        run_cascade(tmp_path, penetrations=(9.0,), seeds=(0,), progress=False)
