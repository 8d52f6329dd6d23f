"""Files a training run writes, and where (hardening): run-relative RLlib checkpoints, SB3 resume
(rollout-aligned checkpoints, env random state, orphan temporary files, damaged checkpoints), Ray
shut down on SIGTERM, and nothing left outside the run directory (numba's cache, Ray's and SB3's
scratch folders).

Same tiny scenario as ``test_training.py`` (2 DCs, 16-step episodes).
"""

from __future__ import annotations

import json
import os
import shutil
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
from gridshift.agents.trained import RLlibPolicy  # noqa: E402
from gridshift.eval.runner import run_episode  # noqa: E402
from gridshift.training.rllib_train import RLlibConfig, train_rllib  # noqa: E402
from gridshift.training.sb3_train import SB3Config, train_sb3  # noqa: E402
from gridshift.training.sb3_vec import DCGridSB3VecEnv  # noqa: E402

TINY = {"n_datacenters": 2, "horizon_steps": 16, "warmup_steps": 4}
CLI = [sys.executable, "-m", "gridshift.cli"]
TINY_SET = ["--set", "n_datacenters=2", "horizon_steps=16", "warmup_steps=4"]


# ------------------------------------------------------------------ RLlib: Ray shut down on errors
def test_rllib_exception_shuts_down_the_ray_instance_it_started(tmp_path, monkeypatch):
    """Kept first in this module: the ``ray_local`` fixture below keeps a Ray instance up."""
    import ray

    from gridshift.training import rllib_train

    if ray.is_initialized():
        pytest.skip("a Ray instance is already up in this process")

    def broken(cfg):
        raise RuntimeError("boom while building the algorithm")

    monkeypatch.setattr(rllib_train, "build_config", broken)
    with pytest.raises(RuntimeError, match="boom"):
        train_rllib(RLlibConfig(overrides=TINY, run_dir=str(tmp_path / "r"), num_cpus=1), log=lambda *a: None)
    assert not ray.is_initialized()


# ------------------------------------------------------------------ RLlib: run-relative checkpoint
@pytest.fixture(scope="module")
def ray_local():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _weights(pol: RLlibPolicy) -> dict:
    return {k: v.detach().clone() for k, v in pol.modules["shared"].state_dict().items()}


def test_rllib_copied_run_loads_its_own_checkpoint(tmp_path, ray_local):
    import torch

    orig = tmp_path / "orig"
    train_rllib(RLlibConfig(overrides=TINY, stop_iters=1, train_batch_size=64, run_dir=str(orig)), log=lambda *a: None)
    meta = json.loads((orig / "policy.json").read_text())
    assert not Path(meta["checkpoint"]).is_absolute() and (orig / meta["checkpoint"]).is_dir()
    copy = tmp_path / "copy"
    shutil.copytree(orig, copy)
    ref = _weights(RLlibPolicy.from_checkpoint(orig))

    # Alter the original's weights: the copy must still load its own, unchanged ones.
    mod = orig / meta["checkpoint"] / "learner_group" / "learner" / "rl_module" / "shared" / "module_state.pkl"
    mod.write_bytes(b"not a pickle")
    pol = make_policy(f"rllib:{copy}")
    assert all(torch.equal(ref[k], v) for k, v in _weights(pol).items())

    # A policy.json of an older version (absolute path into the original run): the run-relative
    # checkpoint of the copy is preferred, even once the original is gone.
    old = dict(meta, checkpoint=str(orig / meta["checkpoint"]))
    (copy / "policy.json").write_text(json.dumps(old))
    shutil.rmtree(orig)
    pol = RLlibPolicy.from_checkpoint(copy)
    assert all(torch.equal(ref[k], v) for k, v in _weights(pol).items())
    assert len(run_episode(pol, "default", seed=2, **TINY).rewards) == TINY["horizon_steps"]

    # An absolute path with no run-relative counterpart is still followed.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "policy.json").write_text(json.dumps(dict(meta, checkpoint=str(copy / meta["checkpoint"]))))
    assert sorted(RLlibPolicy.from_checkpoint(elsewhere).modules) == ["shared"]


# ------------------------------------------------------------------ SB3 resume
def _sb3_kw(algo: str, **kw) -> dict:
    # 2 envs x 2 DCs = 4 slots; PPO rollouts of 16 x 4 = 64 agent-steps. Checkpoints every 96
    # agent-steps fall in the middle of a PPO rollout.
    return dict(algo=algo, overrides=TINY, num_envs=2, n_steps=16, batch_size=32, n_epochs=4, learning_starts=16,
                stop_timesteps=256, checkpoint_every=96, seed=4) | kw


def _ckpt_steps(run: Path) -> list[int]:
    return sorted(int(p.stem.split("_")[1]) for p in (run / "checkpoints").glob("ckpt_*_steps.zip"))


def _as_if_killed_after(run: Path, steps: int) -> None:
    """Make ``run`` look like a run killed right after its checkpoint at ``steps``."""
    for p in (run / "checkpoints").iterdir():
        nums = [int(x) for x in p.name.split(".")[0].split("_") if x.isdigit()]
        if nums and nums[0] > steps:
            p.unlink()
    (run / "policy.zip").unlink()
    (run / "policy.json").unlink()


@pytest.fixture
def sb3_pair(tmp_path):
    """An uninterrupted PPO run and a copy of it cut back to its last checkpoint before the end."""
    def make(algo: str):
        full = tmp_path / f"{algo}_full"
        res = train_sb3(SB3Config(run_dir=str(full), **_sb3_kw(algo)), progress=False)
        mid = [s for s in _ckpt_steps(full) if s < res["timesteps"]][-1]
        cut = tmp_path / f"{algo}_cut"
        shutil.copytree(full, cut)
        _as_if_killed_after(cut, mid)
        return full, res, cut, mid

    return make


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_sb3_killed_and_resumed_run_does_as_many_updates(sb3_pair, algo):
    full, res, cut, mid = sb3_pair(algo)
    resumed = train_sb3(SB3Config(run_dir=str(cut), resume=True, **_sb3_kw(algo)), progress=False)
    assert json.loads((cut / "policy.json").read_text())["resumed_from_steps"] == mid
    assert (resumed["timesteps"], resumed["n_updates"]) == (res["timesteps"], res["n_updates"])
    if algo == "ppo":  # checkpoints land on rollout boundaries (multiples of 64), not mid-rollout
        assert all(s % 64 == 0 for s in _ckpt_steps(full)), _ckpt_steps(full)


def test_sb3_resume_continues_the_env_random_stream(sb3_pair, monkeypatch):
    full, res, cut, mid = sb3_pair("ppo")
    state_file = cut / "checkpoints" / f"envstate_{mid}_steps.json"
    saved = json.loads(state_file.read_text())["rng"]

    # The adapter's state round-trips: a fresh adapter given it resets exactly like the original.
    a = DCGridSB3VecEnv("default", num_envs=2, seed=7, **TINY, action_mode="discrete")
    a.reset()
    b = DCGridSB3VecEnv("default", num_envs=2, seed=0, **TINY, action_mode="discrete")
    b.set_rng_state(a.get_rng_state())
    assert np.array_equal(a.reset(), b.reset())

    def fresh(state=None):
        env = DCGridSB3VecEnv("default", num_envs=2, seed=4, **TINY, action_mode="discrete")
        if state is not None:
            env.set_rng_state(state)
        return env.reset()

    first_resets = []
    real_reset = DCGridSB3VecEnv.reset

    def recording_reset(self):
        obs = real_reset(self)
        first_resets.append(obs.copy())
        return obs

    monkeypatch.setattr(DCGridSB3VecEnv, "reset", recording_reset)
    train_sb3(SB3Config(run_dir=str(cut), resume=True, **_sb3_kw("ppo")), progress=False)
    monkeypatch.undo()
    assert np.array_equal(first_resets[0], fresh(saved))  # continued from the saved state ...
    assert not np.array_equal(first_resets[0], fresh())  # ... not restarted from the config seed


def test_sb3_orphan_tmp_files_removed_on_start_and_resume(tmp_path, capsys):
    run = tmp_path / "r"
    orphans = ["policy.zip.tmp", "policy.json.tmp", "checkpoints/ckpt_32_steps.zip.tmp.zip",
               "checkpoints/vecnormalize_32_steps.pkl.tmp", "checkpoints/envstate_32_steps.json.tmp"]

    def plant():
        for o in orphans:
            (run / o).parent.mkdir(parents=True, exist_ok=True)
            (run / o).write_bytes(b"half-written")

    plant()
    kw = _sb3_kw("ppo", stop_timesteps=64, checkpoint_every=64)
    train_sb3(SB3Config(run_dir=str(run), **kw), progress=False)
    assert not [o for o in orphans if (run / o).exists()]
    assert capsys.readouterr().err.count("removed ") == len(orphans)
    plant()
    train_sb3(SB3Config(run_dir=str(run), resume=True, **(kw | {"stop_timesteps": 128})), progress=False)
    assert not [o for o in orphans if (run / o).exists()]
    assert not list(run.rglob("*.tmp")) and (run / "policy.zip").is_file()


def test_sb3_damaged_newest_checkpoint_falls_back_to_previous(sb3_pair, capsys):
    full, res, cut, mid = sb3_pair("ppo")
    newest = cut / "checkpoints" / f"ckpt_{mid}_steps.zip"
    data = newest.read_bytes()
    newest.write_bytes(data[: len(data) // 2])  # as if the disk filled up mid-write
    previous = [s for s in _ckpt_steps(cut) if s < mid][-1]
    resumed = train_sb3(SB3Config(run_dir=str(cut), resume=True, **_sb3_kw("ppo")), progress=False)
    err = capsys.readouterr().err
    assert f"checkpoint file {newest} is damaged" in err, err
    assert json.loads((cut / "policy.json").read_text())["resumed_from_steps"] == previous
    assert resumed["timesteps"] == res["timesteps"]

    # Every checkpoint damaged: a clear error naming them, not a raw AssertionError.
    for p in (cut / "checkpoints").glob("ckpt_*_steps.zip"):
        p.write_bytes(b"garbage")
    with pytest.raises(FileNotFoundError, match=r"could be loaded \(damaged: .*ckpt_"):
        train_sb3(SB3Config(run_dir=str(cut), resume=True, **_sb3_kw("ppo")), progress=False)


# ------------------------------------------------------------------ nothing outside the run directory
def _isolated_env(tmp_path: Path) -> dict:
    """HOME and TMPDIR in tmp_path. Ray's session folder stays in /tmp (RAY_TMPDIR): its socket
    paths must stay short. NUMBA_CACHE_DIR is inherited (set by ``import gridshift``), so the
    kernels compiled by earlier runs are reused."""
    home, tmp = tmp_path / "home", tmp_path / "tmpdir"
    home.mkdir()
    tmp.mkdir()
    env = os.environ | {"HOME": str(home), "TMPDIR": str(tmp), "RAY_TMPDIR": "/tmp", "GRIDSHIFT_RAY_NUM_CPUS": "2"}
    env.pop("XDG_CACHE_HOME", None)
    env.pop("TORCHINDUCTOR_CACHE_DIR", None)
    env.pop("SB3_LOGDIR", None)
    return env


def test_sb3_cli_leaves_nothing_in_tmpdir_or_home(tmp_path):
    env = _isolated_env(tmp_path)
    run = tmp_path / "run"
    r = subprocess.run(CLI + ["train", "sb3", *TINY_SET, "--num-envs", "1", "--stop-timesteps", "128", "--run-dir", str(run)],
                       capture_output=True, text=True, timeout=240, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (run / "policy.zip").is_file()
    assert not list((tmp_path / "tmpdir").iterdir())
    assert not list((tmp_path / "home").iterdir())
    assert not (run / ".scratch").exists()  # scratch folders, empty, removed at the end


def _session_procs(sid: int) -> dict[int, str]:
    """Live (non-zombie) processes of session ``sid``, from /proc."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[3]) == sid and fields[0] != "Z":
                out[int(d)] = Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:120]
        except (OSError, ValueError):
            pass
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_rllib_cli_sigterm_shuts_ray_down_and_leaves_nothing_outside_run_dir(tmp_path):
    env = _isolated_env(tmp_path)
    run = tmp_path / "run"
    cmd = CLI + ["train", "rllib", *TINY_SET, "--stop-timesteps", "100000000", "--run-dir", str(run)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, env=env)
    try:
        t0 = time.monotonic()
        while not (run / "config.json").exists():  # written once the algorithm is built: training has begun
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            assert time.monotonic() - t0 < 180, "training did not start within 180 s"
            time.sleep(0.2)
        time.sleep(1.0)
        ray_procs = _session_procs(proc.pid)
        assert any("raylet" in c for c in ray_procs.values()), ray_procs  # Ray runs in this session
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
        err = proc.stderr.read().decode()
        t1 = time.monotonic()
        while _session_procs(proc.pid) and time.monotonic() - t1 < 30:
            time.sleep(0.2)
        left = _session_procs(proc.pid)
    finally:
        for pid in _session_procs(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if proc.poll() is None:
            proc.kill()
    assert rc == 128 + signal.SIGTERM, (rc, err[-3000:])  # a clean exit, not Ray's abort (SIGABRT)
    assert "SIGTERM received: stopping the algorithm and shutting Ray down" in err
    assert not left, f"Ray processes left 30 s after exit: {left}"
    assert not (tmp_path / "home" / "ray_results").exists()
    assert not list((tmp_path / "tmpdir").iterdir())
    assert not (run / ".scratch").exists()


def test_numba_cache_goes_to_user_cache_folder(tmp_path):
    code = ("import numba, gridshift.envs.dcgrid.kernels as k; "  # numba first: gridshift must still redirect it
            "print(k.dc_power._cache._cache_path)")  # where the compiled kernel is (or would be) stored
    env = os.environ | {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    env.pop("NUMBA_CACHE_DIR", None)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    path = Path(r.stdout.strip().splitlines()[-1])
    assert path.is_relative_to(tmp_path / "xdg" / "gridshift" / "numba") and path.is_dir()
    # An explicit NUMBA_CACHE_DIR wins.
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "mine")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip().splitlines()[-1]).is_relative_to(tmp_path / "mine")
