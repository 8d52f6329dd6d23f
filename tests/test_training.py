"""Training entry points (RLlib and stable-baselines3), checkpoint/resume, trained-policy loaders.

Everything runs on a tiny scenario (2 DCs, 16-step episodes) so one update of each algorithm
stays within seconds. The slow test at the bottom trains PPO for real and checks that it learns.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")
pytest.importorskip("ray.rllib")

from gridshift.agents.registry import make_policy  # noqa: E402
from gridshift.agents.trained import RLlibPolicy, SB3Policy  # noqa: E402
from gridshift.eval.runner import run_episode  # noqa: E402
from gridshift.training.rllib_train import RLlibConfig, train_rllib  # noqa: E402
from gridshift.training.sb3_train import SB3Config, train_sb3  # noqa: E402

TINY = {"n_datacenters": 2, "horizon_steps": 16, "warmup_steps": 4}
WEIGHTS = Path(__file__).resolve().parents[1] / "agents" / "weights"
CLI = [sys.executable, "-m", "gridshift.cli"]


@pytest.fixture(scope="module")
def ray_local():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _tb_files(run: Path) -> list[Path]:
    return list((run / "tb").rglob("events.out.tfevents.*"))


# ------------------------------------------------------------------ bad input
def test_unknown_algo_and_sharing_rejected_with_allowed_values():
    with pytest.raises(ValueError, match=r"algo='a2c' is invalid: allowed ppo, dqn"):
        SB3Config(algo="a2c")
    with pytest.raises(ValueError, match=r"sharing='mixed' is invalid: allowed shared, independent"):
        RLlibConfig(sharing="mixed")
    with pytest.raises(ValueError, match=r"algo='sac'"):
        RLlibConfig(algo="sac")
    r = subprocess.run(CLI + ["train", "sb3", "--algo", "a2c"], capture_output=True, text=True)
    assert r.returncode != 0 and "allowed ppo, dqn" in r.stderr


def test_resume_without_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no complete checkpoint"):
        train_sb3(SB3Config(run_dir=str(tmp_path), resume=True, overrides=TINY), progress=False)


def test_resume_refuses_changed_scenario_settings(tmp_path):
    """A resumed run continues the same experiment: settings that define the env or the model are
    compared with the run's config.json and a change is refused, naming it (before Ray starts)."""
    import dataclasses

    for cls, train, extra in ((RLlibConfig, lambda c: train_rllib(c, log=lambda *a: None), {}),
                              (SB3Config, lambda c: train_sb3(c, progress=False), {})):
        run = tmp_path / cls.__name__
        run.mkdir()
        (run / "config.json").write_text(json.dumps(dataclasses.asdict(cls(overrides=TINY, run_dir=str(run), **extra))))
        with pytest.raises(ValueError, match=r"settings differ from the run's \(overrides: run .*n_datacenters.: 2.*"
                                             r"now .*n_datacenters.: 4"):
            train(cls(overrides=TINY | {"n_datacenters": 4}, run_dir=str(run), resume=True))
        with pytest.raises(ValueError, match=r"scenario: run 'default', now 'small'"):
            train(cls(overrides=TINY, scenario="small", run_dir=str(run), resume=True))
        # unchanged settings pass the check (and then find no checkpoint)
        with pytest.raises(FileNotFoundError, match="no complete checkpoint"):
            train(cls(overrides=TINY, run_dir=str(run), resume=True))


# ------------------------------------------------------------------ stable-baselines3
@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_sb3_one_update_then_policy_plays_an_episode(tmp_path, algo):
    run = tmp_path / algo
    cfg = SB3Config(algo=algo, overrides=TINY, num_envs=2, n_steps=16, batch_size=32, stop_timesteps=96,
                    learning_starts=16, checkpoint_every=64, run_dir=str(run), seed=3)
    res = train_sb3(cfg, progress=False)
    assert res["n_updates"] >= 1
    assert res["timesteps"] >= 96
    assert (run / "policy.zip").is_file() and _tb_files(run)
    assert list((run / "checkpoints").glob("ckpt_*_steps.zip"))
    meta = json.loads((run / "policy.json").read_text())
    assert meta["algo"] == algo and meta["signature"]["observation_size"] > 0
    pol = make_policy(f"sb3:{run / 'policy.zip'}")
    assert isinstance(pol, SB3Policy)
    rec = run_episode(pol, "default", seed=11, **TINY)
    assert len(rec.rewards) == TINY["horizon_steps"] and rec.extra["settlement_window_steps"] > 0
    acts = pol.act(np.zeros((5, meta["signature"]["observation_size"]), np.float32), None)
    assert acts.shape == (5,) and acts.dtype == np.int64


def test_sb3_same_seed_same_weights(tmp_path):
    import torch

    def weights(d, seed=5):
        train_sb3(SB3Config(overrides=TINY, num_envs=2, n_steps=16, batch_size=32, stop_timesteps=64, run_dir=str(d), seed=seed),
                  progress=False)
        return SB3Policy.from_zip(d / "policy.zip").model.policy.state_dict()

    a, b = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = weights(tmp_path / "c", seed=6)  # and another seed trains other weights
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_sb3_policy_rejects_incompatible_env(tmp_path):
    run = tmp_path / "r"
    train_sb3(SB3Config(overrides=TINY, num_envs=1, n_steps=16, batch_size=16, stop_timesteps=32, run_dir=str(run)), progress=False)
    pol = make_policy(f"sb3:{run / 'policy.zip'}")
    # Fewer forecast horizons: a smaller observation with different field names.
    with pytest.raises(ValueError, match=r"incompatible.*observation_size"):
        run_episode(pol, "default", seed=0, forecast_horizons_h=[4.0], **TINY)
    # A battery adds an action dimension: a different action space.
    with pytest.raises(ValueError, match=r"incompatible.*action_space"):
        run_episode(pol, "default", seed=0, battery_hours=2.0, **TINY)


def _wait_for(pred, timeout, proc):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.2)
    return False


def _kill(proc):
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_sb3_killed_run_resumes_from_last_checkpoint(tmp_path):
    run = tmp_path / "run"
    cmd = CLI + ["train", "sb3", "--algo", "dqn", "--set", "n_datacenters=2", "horizon_steps=16", "warmup_steps=4",
                 "--num-envs", "2", "--stop-timesteps", "10000000", "--checkpoint-every", "200", "--seed", "1", "--run-dir", str(run)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        ok = _wait_for(lambda: len(list((run / "checkpoints").glob("ckpt_*_steps.zip"))) >= 2, 120, proc)
        assert ok, proc.stderr.read().decode() if proc.poll() is not None else "no checkpoint within 120 s"
    finally:
        _kill(proc)
    assert not (run / "policy.zip").exists()  # really killed mid-run
    done = max(int(p.stem.split("_")[1]) for p in (run / "checkpoints").glob("ckpt_*_steps.zip"))
    target = done + 400
    r = subprocess.run(CLI + ["train", "sb3", "--resume", str(run), "--stop-timesteps", str(target)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    meta = json.loads((run / "policy.json").read_text())
    assert meta["resumed_from_steps"] == done
    assert meta["timesteps"] >= target
    assert meta["config"]["algo"] == "dqn" and meta["config"]["seed"] == 1  # settings came from the run's config.json


# ------------------------------------------------------------------ RLlib
@pytest.mark.parametrize(("algo", "env_impl"), [("ppo", "native"), ("dqn", "native"), ("ppo", "pettingzoo"),
                                               ("dqn", "pettingzoo")])
def test_rllib_one_iteration_then_policy_plays_an_episode(tmp_path, ray_local, algo, env_impl):
    run = tmp_path / algo
    cfg = RLlibConfig(algo=algo, env_impl=env_impl, overrides=TINY, stop_iters=1, stop_timesteps=10_000, train_batch_size=64,
                      run_dir=str(run), dqn_learning_starts=32, dqn_rollout_fragment_length=16, num_envs_per_env_runner=2)
    res = train_rllib(cfg, log=lambda *a: None)
    assert res["iterations"] == 1 and res["env_steps"] > 0
    assert _tb_files(run)
    meta = json.loads((run / "policy.json").read_text())
    assert (run / meta["checkpoint"]).is_dir() and meta["module_ids"] == ["shared"]
    pol = make_policy(f"rllib:{run}")
    assert isinstance(pol, RLlibPolicy)
    rec = run_episode(pol, "default", seed=2, **TINY)
    assert len(rec.rewards) == TINY["horizon_steps"] and rec.extra["settlement_window_steps"] > 0


def test_rllib_independent_modules_and_mismatch(tmp_path, ray_local):
    run = tmp_path / "ind"
    train_rllib(RLlibConfig(sharing="independent", overrides=TINY, stop_iters=1, train_batch_size=64, run_dir=str(run)),
                log=lambda *a: None)
    pol = RLlibPolicy.from_checkpoint(run)
    assert sorted(pol.modules) == ["dc_0", "dc_1"]
    assert len(run_episode(pol, "default", seed=0, **TINY).rewards) == TINY["horizon_steps"]
    with pytest.raises(ValueError, match=r"incompatible.*observation_size"):
        run_episode(pol, "default", seed=0, forecast_horizons_h=[4.0], **TINY)


def test_rllib_killed_run_resumes_from_last_checkpoint(tmp_path):
    run = tmp_path / "run"
    cmd = CLI + ["train", "rllib", "--algo", "ppo", "--set", "n_datacenters=2", "horizon_steps=16", "warmup_steps=4",
                 "--stop-timesteps", "100000000", "--checkpoint-every", "1", "--run-dir", str(run)]
    env = os.environ | {"GRIDSHIFT_RAY_NUM_CPUS": "2"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, env=env)
    try:
        ok = _wait_for(lambda: len(list((run / "checkpoints").glob("iter_*/gridshift_state.json"))) >= 1, 240, proc)
        assert ok, proc.stderr.read().decode()[-3000:] if proc.poll() is not None else "no checkpoint within 240 s"
    finally:
        _kill(proc)
    assert not (run / "policy.json").exists()
    states = [json.loads(p.read_text()) for p in (run / "checkpoints").glob("iter_*/gridshift_state.json")]
    last = max(s["iteration"] for s in states)
    r = subprocess.run(CLI + ["train", "rllib", "--resume", str(run), "--stop-iters", str(last + 1)],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"resumed from {run / 'checkpoints'}" in r.stdout + r.stderr
    meta = json.loads((run / "policy.json").read_text())
    assert meta["iteration"] == last + 1
    assert meta["env_steps"] > max(s["env_steps"] for s in states)


# ------------------------------------------------------------------ shipped weights
SHIPPED = sorted(WEIGHTS.glob("*.zip"))


def test_shipped_weights_exist_and_are_small():
    assert {p.stem for p in SHIPPED} >= {"sb3_ppo_default", "sb3_dqn_default"}
    for p in SHIPPED:
        assert p.stat().st_size <= 2 * 1024 * 1024, p
        meta = json.loads(p.with_suffix(".json").read_text())
        assert meta["rebuild_command"].startswith("gridshift train sb3")


@pytest.mark.parametrize("name", ["sb3_ppo", "sb3_dqn"])
def test_shipped_policy_plays_a_default_episode(name):
    pol = make_policy(name)
    rec = run_episode(pol, "default", seed=123)
    assert len(rec.rewards) == 288
    assert np.isfinite(rec.rewards).all()


# ------------------------------------------------------------------ learning (slow)
@pytest.mark.slow
def test_ppo_beats_random_on_held_out_seeds(tmp_path):
    """PPO trained for ~1.5M agent-steps gets a higher mean episode reward than the random policy
    on seeds it never trained on."""
    run = tmp_path / "ppo"
    train_sb3(SB3Config(algo="ppo", num_envs=16, stop_timesteps=1_500_000, seed=0, run_dir=str(run)), progress=False)
    ppo = make_policy(f"sb3:{run / 'policy.zip'}")
    rnd = make_policy("random")
    seeds = range(5000, 5006)
    r_ppo = np.mean([run_episode(ppo, "default", seed=s).rewards.sum(axis=0).mean() for s in seeds])
    r_rnd = np.mean([run_episode(rnd, "default", seed=s).rewards.sum(axis=0).mean() for s in seeds])
    assert r_ppo > r_rnd


def test_rllib_dqn_refuses_a_budget_its_replay_buffer_would_evict():
    """RLlib 2.60's multi-agent prioritized replay buffer crashes when it evicts; the config says
    so before any sampling, naming the field and what would fit."""
    from gridshift.training.rllib_config import RLlibConfig

    with pytest.raises(ValueError, match=r"dqn_replay_capacity=1000 is invalid for stop_timesteps=500 x 8 DCs"):
        RLlibConfig(algo="dqn", stop_timesteps=500, dqn_replay_capacity=1000)
    RLlibConfig(algo="dqn", stop_timesteps=500, dqn_replay_capacity=1000, overrides={"n_datacenters": 2})
    RLlibConfig(algo="ppo", stop_timesteps=500, dqn_replay_capacity=1000)  # PPO has no replay buffer
