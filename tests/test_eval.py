"""Runner, run files, leaderboard aggregation and outputs, CLI evaluate/leaderboard, Ray path."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gridshift.agents.registry import available_policies, make_policy
from gridshift.cli import main
from gridshift.eval.leaderboard import build_leaderboard
from gridshift.eval.runfiles import load_run
from gridshift.eval.runner import evaluate_run, parse_seeds, run_episode, run_file

FAST = {"horizon_steps": 24, "warmup_steps": 8}


def test_parse_seeds():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("1,5,9") == [1, 5, 9]
    assert parse_seeds("0-2,7") == [0, 1, 2, 7]
    for bad in ("a-b", "5-1", ""):
        with pytest.raises(ValueError, match="seeds="):
            parse_seeds(bad)


def test_unknown_policy_lists_available():
    with pytest.raises(ValueError, match="available policies:.*gas_literal"):
        make_policy("gas_literall")
    with pytest.raises(ValueError, match="cannot import policy 'nosuch.module:Thing'"):
        make_policy("nosuch.module:Thing")
    assert "fifo" in available_policies() and "rllib:PATH" in available_policies()


def test_import_path_policy():
    pol = make_policy("gridshift.agents.heuristics:FIFOPolicy")
    assert pol.action_mode == "box"


def test_run_episode_record_is_consistent():
    rec = run_episode(make_policy("gas_intent"), "default", seed=3, **FAST)
    g = rec.grid
    T = FAST["horizon_steps"]
    S = rec.extra["settlement_window_steps"]
    assert S > 0 and len(g) == T + S + rec.extra["settlement_overrun_steps"]
    assert rec.dc["load_mw"].shape == (len(g), 8) and rec.rewards.shape == (T, 8)
    assert (~g.settlement[:T]).all() and g.settlement[T:].all()
    np.testing.assert_allclose(rec.dc["load_mw"].sum(axis=1), g.dc_load_total_mw, rtol=1e-9)
    np.testing.assert_allclose(g.total_demand_mw, g.demand_mw + g.dc_load_total_mw, rtol=1e-9)
    np.testing.assert_allclose(rec.dc["flex_mw"].sum(axis=1), g.dc_flex_total_mw, rtol=1e-9)
    assert (rec.ledger.arrival_step < T).all()


def test_evaluate_run_writes_reproducible_json(tmp_path):
    a = evaluate_run("gas_stagger", "default", 5, out_dir=tmp_path / "a", overrides=FAST)
    b = evaluate_run("gas_stagger", "default", 5, out_dir=tmp_path / "b", overrides=FAST)
    c = evaluate_run("gas_stagger", "default", 6, out_dir=tmp_path / "c", overrides=FAST)
    assert a["metrics"] == b["metrics"] and a["metrics"] != c["metrics"]
    data = json.loads(open(a["path"]).read())
    for key in ("scenario", "scenario_config", "seed", "versions", "git_commit", "metrics", "policy"):
        assert key in data
    assert data["scenario_config"]["horizon_steps"] == 24 and data["seed"] == 5
    assert data["versions"]["numpy"] == np.__version__


def test_evaluate_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    res = evaluate_run("fifo", "default", 0, out_dir=tmp_path, parquet=True, overrides=FAST)
    import pandas as pd

    g = pd.read_parquet(res["path"].replace(".json", ".grid.parquet"))
    assert len(g) == res["steps"] > 24 and "price_usd_per_mwh" in g and g.settlement.sum() == res["steps"] - 24


def test_leaderboard_reuses_reruns_and_reports_bad_files(tmp_path):
    logs = []
    kw = dict(out_dir=tmp_path / "lb", overrides=FAST, progress=False, log=logs.append)
    res = build_leaderboard(["fifo", "gas_literal"], ["default"], [0, 1], **kw)
    for name in ("leaderboard.md", "leaderboard.csv", "leaderboard.json", "marl_eval.json", "score.png",
                 "outcome_renewable_alignment.png"):
        assert (tmp_path / "lb" / name).exists(), name
    md = (tmp_path / "lb" / "leaderboard.md").read_text()
    assert "gas_literal" in md and "falsifiability" in md and "`oracle`" in md
    assert res["counts"] == {"reused": 0, "rerun": 0, "new": 6, "invalid": {}}
    runs_dir = tmp_path / "lb" / "runs"
    good = run_file(runs_dir, "default", "fifo", 0)
    corrupt = run_file(runs_dir, "default", "fifo", 1)
    partial = run_file(runs_dir, "default", "gas_literal", 0)
    mtime = good.stat().st_mtime_ns
    corrupt.write_text('{"schema": 2, "metrics": {"social_')
    d = json.loads(partial.read_text())
    del d["metrics"]["social_cost_usd"]
    partial.write_text(json.dumps(d))
    res2 = build_leaderboard(["fifo", "gas_literal"], ["default"], [0, 1], **kw)
    assert good.stat().st_mtime_ns == mtime  # valid files are reused, not rerun
    assert any("corrupt" in m and str(corrupt) in m for m in logs)
    assert any("social_cost_usd" in m and str(partial) in m for m in logs)
    assert res2["counts"]["reused"] == 4 and res2["counts"]["rerun"] == 2
    assert load_run(corrupt)[0] is not None  # rerun and rewritten
    np.testing.assert_allclose(res2["table"]["social_cost_usd"], res["table"]["social_cost_usd"])
    # A changed scenario makes the files stale: rerun, not averaged with the old ones.
    logs.clear()
    build_leaderboard(["fifo"], ["default"], [0], **(kw | {"overrides": FAST | {"penetration": 0.2}}))
    assert any("stale" in m for m in logs)


def test_cli_evaluate_and_leaderboard(tmp_path, capsys):
    assert main(["evaluate", "--policy", "fifo", "--scenario", "default", "--seeds", "0-1", "--out", str(tmp_path / "runs"),
                 "--set", "horizon_steps=16", "warmup_steps=4"]) == 0
    assert len(list((tmp_path / "runs").rglob("*.json"))) == 2
    assert main(["leaderboard", "--policies", "fifo", "random", "--seeds", "0-1", "--out", str(tmp_path / "lb"),
                 "--set", "horizon_steps=16", "warmup_steps=4"]) == 0
    out = capsys.readouterr().out
    assert "# gridshift leaderboard" in out and "`random`" in out
    with pytest.raises(SystemExit, match="available policies"):
        main(["evaluate", "--policy", "nope", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="unknown scenario 'nope'"):
        main(["evaluate", "--policy", "fifo", "--scenario", "nope", "--out", str(tmp_path)])


def test_leaderboard_on_local_ray(tmp_path):
    ray = pytest.importorskip("ray")
    try:
        res = build_leaderboard(["fifo", "gas_intent"], ["default"], [0, 1], out_dir=tmp_path, overrides=FAST,
                                ray_address="local", ray_num_cpus=2, progress=False)
    finally:
        ray.shutdown()
    assert len(res["runs"]) == 6  # the anchors fifo and oracle are always run
    local = build_leaderboard(["fifo", "gas_intent"], ["default"], [0, 1], out_dir=tmp_path / "local",
                              overrides=FAST, progress=False)
    np.testing.assert_allclose(res["table"]["social_cost_usd"], local["table"]["social_cost_usd"])


def test_cascade_outputs_and_prediction(tmp_path):
    from gridshift.eval.cascade import predicted_signal_jump, run_cascade

    lo, hi = predicted_signal_jump(0.05), predicted_signal_jump(0.3)
    # More flexible load switching together moves every GAS term the same way, and more so.
    assert 0 < lo["gas_jump"] < hi["gas_jump"]
    assert hi["flex_mw"] == pytest.approx(6 * lo["flex_mw"])
    assert hi["d_peak_demand_penalty"] == pytest.approx(hi["flex_mw"] / 60000.0)
    assert hi["price_jump_usd_per_mwh"] >= lo["price_jump_usd_per_mwh"] >= 0
    res = run_cascade(tmp_path, penetrations=(0.05, 0.3), n_dcs=(2, 4), seeds=(0, 1), horizon_steps=32,
                      sweeps=("phase",), progress=False, log=None)
    for name in ("phase_redeferrals.png", "phase_rebound_ratio_vs_fifo.png", "phase_dflex_acf1.png",
                 "cascade_report.md", "cascade_runs.csv", "cascade_summary.csv"):
        assert (tmp_path / name).exists(), name
    assert len(res["runs"]) == 2 * 2 * (4 * 2 + 1) * 2
    assert "## Where the cascade comes from" in (tmp_path / "cascade_report.md").read_text()


def test_cli_names_every_cascade_sweep():
    from gridshift.cli import CASCADE_SWEEPS
    from gridshift.eval.cascade import SWEEPS

    assert CASCADE_SWEEPS == SWEEPS


def test_cascade_bands_nominal_and_effective():
    from gridshift.eval.cascade import _band, _effective_band

    # EM's literal rule: nominal band urgent - defer = 0.5 - 0.25, but it resumes at the defer
    # threshold itself, so the band it actually has is zero.
    assert _band("gas_literal") == pytest.approx(0.25)
    assert _effective_band("gas_literal") == 0.0
    assert _effective_band("fifo") != _effective_band("fifo")  # NaN: no thresholds
