"""Run files that can be trusted, the anchored score, and the statistics (DESIGN §12)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gridshift.eval.leaderboard import aggregate, build_leaderboard, per_seed_scores
from gridshift.eval.protocol import EVAL_SEEDS, TRAIN_SEEDS, check_train_seed, score
from gridshift.eval.runfiles import load_run, policy_hash, run_path, safe_name
from gridshift.eval.runner import evaluate_run, run_file
from gridshift.eval.stats import iqm, paired_win_rate, probability_of_improvement, stratified_ci

FAST = {"horizon_steps": 16, "warmup_steps": 4}


def _runs(costs: dict[str, list[float]], dropped_value: dict[str, float] | None = None) -> list[dict]:
    dv = dropped_value or {}
    return [{"policy": p, "scenario": "s", "seed": i,
             "metrics": {"social_cost_usd": c, "scored_cost_usd": c + dv.get(p, 0.0), "emissions_t": c / 10}}
            for p, cs in costs.items() for i, c in enumerate(cs)]


def test_score_is_anchored_per_seed_by_hand():
    assert score(90.0, 100.0, 80.0) == pytest.approx(50.0)
    assert score(100.0, 100.0, 80.0) == 0.0 and score(80.0, 100.0, 80.0) == 100.0
    assert score(70.0, 100.0, 80.0) == pytest.approx(150.0)  # a policy may beat the replayed oracle
    assert np.isnan(score(90.0, 100.0, 100.0))  # oracle no better than FIFO: undefined, not 0 or inf
    ps = per_seed_scores(_runs({"fifo": [100, 200], "oracle": [80, 150], "a": [90, 200]})).set_index(["policy", "seed"])
    assert ps.loc[("a", 0), "score"] == pytest.approx(50.0) and ps.loc[("a", 1), "score"] == pytest.approx(0.0)
    assert ps.loc[("a", 1), "d_social_cost_usd"] == 0.0 and ps.loc[("oracle", 1), "d_social_cost_usd"] == -50.0
    # the score compares the scored cost: work "a" dropped (valued at 15) costs it 75 points
    ps = per_seed_scores(_runs({"fifo": [100, 200], "oracle": [80, 150], "a": [90, 200]}, {"a": 15.0}))
    assert ps.set_index(["policy", "seed"]).loc[("a", 0), "score"] == pytest.approx(-25.0)


def test_score_does_not_move_when_policies_are_added_or_removed():
    base = {"fifo": [100, 200, 150, 120], "oracle": [80, 150, 140, 100], "a": [90, 190, 141, 110]}
    t1 = aggregate(_runs(base), ("social_cost_usd",)).set_index("policy")
    t2 = aggregate(_runs(base | {"b": [70, 100, 100, 90], "c": [300, 300, 300, 300]}), ("social_cost_usd",)).set_index("policy")
    for col in ("score_iqm", "score_ci_lo", "score_ci_hi", "d_social_cost_usd"):
        assert t1.loc["a", col] == t2.loc["a", col]
    assert t2.loc["fifo", "score_iqm"] == 0.0 and t2.loc["oracle", "score_iqm"] == 100.0
    assert t2.loc["b", "score_iqm"] > 100.0


def test_statistics_by_hand():
    assert iqm([0.0, 1.0, 2.0, 3.0, 100.0, -100.0, 2.0, 1.0]) == pytest.approx(np.mean([1, 1, 2, 2]))
    assert iqm([1.0, np.nan, 3.0]) == 2.0
    assert probability_of_improvement([1.0, 2.0], [2.0, 3.0]) == pytest.approx(0.875)  # 3 wins, 1 tie of 4
    assert paired_win_rate([1.0, 5.0, 2.0], [2.0, 4.0, 2.0]) == pytest.approx(0.5)
    point, lo, hi = stratified_ci([np.arange(10.0)], "mean")
    assert point == 4.5 and 2.0 < lo < 4.5 < hi < 7.0
    assert stratified_ci([np.arange(10.0)], "mean") == (point, lo, hi)  # seeded
    assert np.isnan(stratified_ci([[1.0]], "mean")[1])  # one value: no interval
    # stratified: resampling within strata keeps each stratum's size, so a constant offset
    # between two strata never leaks into the spread of the mean of two constant strata
    assert stratified_ci([np.zeros(5), np.ones(5)], "mean") == (0.5, 0.5, 0.5)


def test_seed_ranges_are_disjoint_and_enforced():
    assert set(TRAIN_SEEDS).isdisjoint(EVAL_SEEDS)
    assert check_train_seed(0) == 0
    with pytest.raises(ValueError, match="seeds 1000\\+ are held out"):
        check_train_seed(1000)


def test_names_never_escape_the_run_directory(tmp_path):
    for scen, pol in (("../../x", "fifo"), ("/abs", "sb3:/abs/model.zip"), ("..", "a/../../b"), ("default", ".hidden")):
        p = run_path(tmp_path, scen, pol, 0)
        assert tmp_path.resolve() in p.parents, p
    assert safe_name("fifo") == "fifo"
    assert safe_name("a/b") != safe_name("a_b")  # sanitised names keep a hash, so they never collide


def test_policy_hash_follows_code_and_weights(tmp_path):
    w = tmp_path / "m.zip"
    w.write_bytes(b"one")
    h1 = policy_hash(f"sb3:{w}")
    w.write_bytes(b"two")
    assert policy_hash(f"sb3:{w}") != h1
    mod = tmp_path / "mypol.py"
    mod.write_text("from gridshift.agents.heuristics import FIFOPolicy as P\nclass Q(P):\n    name = 'q'\n")
    sys.path.insert(0, str(tmp_path))
    try:
        from gridshift.agents.registry import make_policy

        h2 = policy_hash("mypol:Q", make_policy("mypol:Q"))
        mod.write_text(mod.read_text() + "# changed\n")
        assert policy_hash("mypol:Q", make_policy("mypol:Q")) != h2
    finally:
        sys.path.remove(str(tmp_path))


def test_invalid_run_files_are_named_rerun_and_never_averaged(tmp_path):
    logs = []
    kw = dict(out_dir=tmp_path / "lb", overrides=FAST, progress=False, log=logs.append)
    first = build_leaderboard(["fifo"], ["default"], [0, 1, 2, 3, 4, 5], **kw)
    runs = tmp_path / "lb" / "runs"
    f = {i: run_file(runs, "default", "fifo", i) for i in range(6)}
    d = json.loads(f[0].read_text())
    d["metrics"]["social_cost_usd"] = None
    f[0].write_text(json.dumps(d))
    f[1].write_text(f[1].read_text().replace('"emissions_t": ', '"emissions_t": NaN, "x": '))
    d = json.loads(f[2].read_text())
    d["metrics"]["work_served_mwh"] = "lots"
    f[2].write_text(json.dumps(d))
    f[3].write_bytes(b"\x00\xff\xfe binary")
    f[4].unlink()
    f[4].mkdir()
    d = json.loads(f[5].read_text())
    d["cache_key"] = "0" * 24
    f[5].write_text(json.dumps(d))
    res = build_leaderboard(["fifo"], ["default"], [0, 1, 2, 3, 4, 5], **kw)
    text = "\n".join(logs)
    for i, why in ((0, "social_cost_usd"), (1, "emissions_t"), (2, "work_served_mwh"), (3, "binary"),
                   (4, "directory"), (5, "stale")):
        assert str(f[i]) in text and why in text, (i, why)
    assert res["counts"]["rerun"] == 6 and res["counts"]["reused"] == 6  # the oracle's six are still valid
    md = (tmp_path / "lb" / "leaderboard.md").read_text()
    assert "6 rerun" in md and str(f[3]) in md
    for i in range(6):
        assert load_run(f[i])[0] is not None
    np.testing.assert_allclose(res["table"]["social_cost_usd"], first["table"]["social_cost_usd"])
    assert (f[4].parent / "seed4.json").is_file() and list(f[4].parent.glob("seed4.json.invalid-*"))


def test_parquet_is_written_before_the_json_and_checked(tmp_path):
    pytest.importorskip("pyarrow")
    res = evaluate_run("fifo", "default", 0, out_dir=tmp_path, parquet=True, overrides=FAST)
    path = Path(res["path"])
    assert set(res["parquet"]) == {"seed0.grid.parquet", "seed0.dc.parquet", "seed0.ledger.parquet"}
    assert load_run(path)[0] is not None
    grid = path.with_suffix(".grid.parquet")
    grid.write_bytes(grid.read_bytes()[:100])  # truncated, as by a crash while copying
    data, why = load_run(path)
    assert data is None and "seed0.grid.parquet" in why
    grid.write_bytes(b"")
    assert "empty" in load_run(path)[1]
    # a killed run leaves Parquet files but no JSON: the run is missing, not complete
    path.unlink()
    assert load_run(path) == (None, "missing")


def test_two_evaluate_processes_on_one_out_dir(tmp_path):
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    cmd = [sys.executable, "-m", "gridshift.cli", "evaluate", "--policy", "fifo", "--seeds", "0-5", "--out", str(tmp_path),
           "--set", "horizon_steps=16", "warmup_steps=4"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    files = sorted(tmp_path.rglob("seed*.json"))
    assert len(files) == 6 and all(load_run(f)[0] is not None for f in files)
    assert not list(tmp_path.rglob("*.tmp"))


def test_report_warns_when_the_oracle_does_not_beat_fifo():
    from gridshift.eval.leaderboard import falsifiability_table, overall
    from gridshift.eval.report import markdown

    runs = _runs({"fifo": [100, 200, 150], "oracle": [80, 210, 140], "a": [90, 190, 141]})
    for r in runs:
        r["metrics"].update(work_served_mwh=1.0, drop_or_late_rate_flex=0.0, rebound_ratio=1.0, price_spike_count=0.0)
    metrics = ("social_cost_usd", "emissions_t", "work_served_mwh", "drop_or_late_rate_flex", "rebound_ratio",
               "price_spike_count")
    table = aggregate(runs, metrics)
    assert table.set_index("policy").loc["oracle", "score_seeds_defined"] == 2
    md = markdown(table, overall(runs), falsifiability_table(runs), [0, 1, 2], {"reused": 0, "rerun": 0, "new": 9},
                  {"versions": {}, "git_commit": "x"}, 1.0)
    assert "oracle beat FIFO by at least 0.01% of FIFO's cost on only 2 of 3 seeds" in md
    ok = _runs({"fifo": [100, 200, 150], "oracle": [80, 150, 140]})
    for r in ok:
        r["metrics"].update(work_served_mwh=1.0, drop_or_late_rate_flex=0.0, rebound_ratio=1.0, price_spike_count=0.0)
    md = markdown(aggregate(ok, metrics), overall(ok), falsifiability_table(ok), [0, 1, 2], {"reused": 0, "rerun": 0, "new": 6},
                  {"versions": {}, "git_commit": "x"}, 1.0)
    assert "Warning" not in md


def test_score_needs_a_real_gap_between_the_anchors():
    # FIFO $100M, oracle $5k cheaper (0.005 %): the score would be +-hundreds on noise
    assert np.isnan(score(99_999_000.0, 100_000_000.0, 99_995_000.0))
    assert score(99_990_000.0, 100_000_000.0, 99_980_000.0) == pytest.approx(50.0)  # 0.02 % gap: defined


def test_across_scenarios_is_na_when_a_scenario_has_no_defined_score():
    from gridshift.eval.leaderboard import overall

    runs = _runs({"fifo": [100, 200], "oracle": [80, 150], "a": [90, 190]})
    other = [dict(r, scenario="t") for r in _runs({"fifo": [100, 200], "oracle": [120, 210], "a": [90, 190]})]
    over = overall(runs + other).set_index("policy")
    assert over.loc["a", "scenarios"] == 2 and over.loc["a", "scenarios_defined"] == 1
    assert np.isnan(over.loc["a", "score_iqm"])


def test_malformed_files_that_match_the_key_are_rerun_not_trusted(tmp_path):
    import os

    logs = []
    kw = dict(out_dir=tmp_path / "lb", overrides=FAST, progress=False, log=logs.append)
    build_leaderboard(["fifo"], ["default"], [1000, 1001, 1002, 1003, 1004], **kw)
    f = {i: run_file(tmp_path / "lb" / "runs", "default", "fifo", i) for i in range(1000, 1005)}
    for i, edit in ((1000, {"seed": "1000"}), (1001, {"policy": None}), (1002, {"parquet": [1, 2]})):
        d = json.loads(f[i].read_text())  # the slot's own file, so its cache key still matches
        d.update(edit)
        f[i].write_text(json.dumps(d))
    d = json.loads(f[1003].read_text())
    d["metrics"]["rebound_ratio"] = "abc"
    f[1003].write_text(json.dumps(d))
    f[1004].unlink()
    os.symlink(f[1003], f[1004])  # a link to another seed's file: never followed, never written through
    res = build_leaderboard(["fifo"], ["default"], [1000, 1001, 1002, 1003, 1004], **kw)
    text = "\n".join(logs)
    for i, why in ((1000, "identity field seed"), (1001, "identity field policy"), (1002, "parquet"),
                   (1003, "not numbers"), (1004, "symbolic link")):
        assert str(f[i]) in text and why in text, (i, why)
    assert res["counts"]["rerun"] == 5
    assert not f[1004].is_symlink() and json.loads(f[1004].read_text())["seed"] == 1004
    assert json.loads(f[1003].read_text())["seed"] == 1003


def test_a_pipe_in_place_of_a_run_file_is_not_read(tmp_path):
    import os

    p = tmp_path / "seed1.json"
    os.mkfifo(p)
    data, why = load_run(p)
    assert data is None and "not a regular file" in why


def test_duplicate_seeds_and_scenarios(tmp_path):
    res = build_leaderboard(["fifo"], ["default"], [1000, 1000, 1001], out_dir=tmp_path / "a", overrides=FAST,
                            progress=False, log=lambda m: None)
    assert len(res["runs"]) == 4  # fifo and oracle on 2 distinct seeds
    from gridshift.envs.dcgrid.scenario import scenario_dir

    with pytest.raises(ValueError, match="same scenario 'default': list it once"):
        build_leaderboard(["fifo"], ["default", str(scenario_dir() / "default.toml")], [1000], out_dir=tmp_path / "b",
                          overrides=FAST, progress=False)
    (tmp_path / "x.toml").write_text('name = "default"\nn_datacenters = 2\n')
    with pytest.raises(ValueError, match="both named 'default' but differ"):
        build_leaderboard(["fifo"], ["default", str(tmp_path / "x.toml")], [1000], out_dir=tmp_path / "c", overrides=FAST,
                          progress=False)


def test_scenario_names_from_files_never_become_paths(tmp_path):
    (tmp_path / "odd.toml").write_text('name = "x/../../ESCAPED\\nhead"\nn_datacenters = 2\n')
    out = tmp_path / "deep" / "lb"
    build_leaderboard(["fifo"], ["default", str(tmp_path / "odd.toml")], [1000], out_dir=out, overrides=FAST,
                      progress=False, log=lambda m: None)
    assert not list(tmp_path.glob("ESCAPED*")) and not list((tmp_path / "deep").glob("ESCAPED*"))
    pngs = [p for p in tmp_path.rglob("*.png")]
    assert pngs and all(out in p.parents for p in pngs)
    md = (out / "leaderboard.md").read_text()
    assert "\nhead" not in md.replace("\n## ", "")  # the name stays on its heading line


def test_seed_labels_and_negative_seeds():
    from gridshift.eval.runner import parse_seeds

    with pytest.raises(ValueError, match="allowed seeds >= 0"):
        parse_seeds("-5")
    from gridshift.eval.leaderboard import falsifiability_table, overall
    from gridshift.eval.report import markdown

    runs = _runs({"fifo": [100, 200], "oracle": [80, 150]})
    for r in runs:
        r["metrics"].update(work_served_mwh=1.0, drop_or_late_rate_flex=0.0, rebound_ratio=1.0, price_spike_count=0.0)
    metrics = ("social_cost_usd", "emissions_t", "work_served_mwh", "drop_or_late_rate_flex", "rebound_ratio",
               "price_spike_count")
    md = markdown(aggregate(runs, metrics), overall(runs), falsifiability_table(runs), [0, 1],
                  {"reused": 0, "rerun": 0, "new": 4}, {"versions": {}, "git_commit": "x"}, 1.0)
    assert "not all held out" in md


def test_cache_key_follows_external_data_and_helper_modules(tmp_path, monkeypatch):
    from gridshift.envs.dcgrid.scenario import load_scenario
    from gridshift.eval.runfiles import data_hash

    d = tmp_path / "data"
    (d / "grid").mkdir(parents=True)
    (d / "grid" / "x.csv").write_text("a\n1\n")
    monkeypatch.setenv("GRIDSHIFT_DATA", str(d))
    cfg = load_scenario("default").to_dict() | {"grid_data": "ERCO:2022", "fleet": "powersimdata"}
    h1 = data_hash(cfg)
    (d / "grid" / "x.csv").write_text("a\n12\n")  # the data changed: runs on it are stale
    assert data_hash(cfg) != h1 and data_hash(load_scenario("default").to_dict()) == ""
    pk = tmp_path / "pk"
    pk.mkdir()
    (pk / "knobs.py").write_text("FRAC = 1.0\n")
    (pk / "mypol2.py").write_text("import knobs\nfrom gridshift.agents.heuristics import FIFOPolicy\n"
                                  "class P(FIFOPolicy):\n    name = 'p'\n")
    monkeypatch.syspath_prepend(str(pk))
    from gridshift.agents.registry import make_policy

    a = policy_hash("mypol2:P", make_policy("mypol2:P"))
    (pk / "knobs.py").write_text("FRAC = 0.0\n")
    assert policy_hash("mypol2:P", make_policy("mypol2:P")) != a
