"""Training settings from the command line and from a file reach the trainer, and bad ones fail
with the field named (``gridshift train ... --hp KEY=VALUE --config FILE``)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("stable_baselines3")

from gridshift.cli import main  # noqa: E402

TINY = ["--set", "n_datacenters=2", "horizon_steps=16", "warmup_steps=4", "--num-envs", "2", "--stop-timesteps", "64"]


def test_hyperparameters_from_hp_and_config_reach_the_model(tmp_path, capsys):
    from stable_baselines3 import PPO

    cfg = tmp_path / "ppo.toml"
    cfg.write_text("learning_rate = 0.001\ngamma = 0.9\nnet_arch = [32, 16]\nn_steps = 16\nbatch_size = 32\n")
    run = tmp_path / "run"
    assert main(["train", "sb3", "--algo", "ppo", *TINY, "--config", str(cfg), "--hp", "gamma=0.95",
                 "--run-dir", str(run)]) == 0
    saved = json.loads((run / "config.json").read_text())
    assert saved["learning_rate"] == 0.001 and saved["gamma"] == 0.95 and saved["net_arch"] == [32, 16]
    model = PPO.load(run / "policy.zip", device="cpu")
    assert model.gamma == 0.95 and model.learning_rate == 0.001
    assert model.policy.mlp_extractor.policy_net[0].out_features == 32
    assert model.policy.mlp_extractor.policy_net[2].out_features == 16


@pytest.mark.parametrize(("extra", "match"), [
    (["--hp", "gamma=1.5"], r"SB3Config.gamma=1.5 is invalid: allowed a number in \(0, 1\]"),
    (["--hp", "learning_rte=0.1"], r"unknown training setting\(s\) \['learning_rte'\] for SB3Config"),
    (["--hp", "net_arch=[0]"], "net_arch=.* is invalid: allowed a non-empty list of layer sizes"),
    (["--config", "/nonexistent.toml"], "file not found"),
])
def test_bad_training_settings_name_the_field(extra, match, tmp_path):
    with pytest.raises(SystemExit, match=match):
        main(["train", "sb3", "--algo", "ppo", *TINY, *extra, "--run-dir", str(tmp_path / "r")])


def test_evaluation_during_training_logs_grid_kpis(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    assert main(["train", "sb3", "--algo", "ppo", *TINY, "--hp", "n_steps=16", "batch_size=32", "eval_every=32",
                 "eval_seeds=[900, 901]", "--run-dir", str(run)]) == 0
    rows = [json.loads(x) for x in (run / "eval.jsonl").read_text().splitlines()]
    assert len(rows) >= 2 and [r["agent_steps"] for r in rows] == sorted(r["agent_steps"] for r in rows)
    for r in rows:
        assert r["seeds"] == [900, 901] and 0.0 <= r["win_rate_vs_fifo"] <= 1.0
        assert r["work_served_mwh"] > 0 and r["d_social_cost_usd"] == r["d_social_cost_usd"]  # finite, not NaN
    tags = set()
    for f in run.joinpath("tb").rglob("events.*"):
        acc = EventAccumulator(str(f))
        acc.Reload()
        tags |= set(acc.Tags()["scalars"])
    assert {"eval/d_social_cost_usd", "eval/win_rate_vs_fifo", "eval/work_served_mwh"} <= tags
    with pytest.raises(SystemExit, match="seeds 1000\\+ are held out"):
        main(["train", "sb3", "--algo", "ppo", *TINY, "--hp", "eval_seeds=[1000]", "--run-dir", str(tmp_path / "x")])
