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
