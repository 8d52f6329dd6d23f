"""Train PPO or DQN with stable-baselines3 on ``datacenter_grid_v0`` (parameter sharing).

One policy acts for every agent through :class:`~gridshift.training.sb3_vec.DCGridSB3VecEnv`
(one ``VecEnv`` slot per env x agent). TensorBoard logs go to ``RUN_DIR/tb``; checkpoints
(``RUN_DIR/checkpoints/ckpt_<steps>_steps.zip``, plus the reward-normalisation statistics, the
env batch's random state and the DQN replay buffer) every ``checkpoint_every`` env-steps, taken
between rollouts so that none is lost; ``resume=True`` continues from the newest loadable
checkpoint with the timestep counter, update counter and env random stream intact (a damaged
newest checkpoint is reported and the previous one used). The final policy is
``RUN_DIR/policy.zip`` with ``RUN_DIR/policy.json`` (the env signature it needs, the config and
the seed). Temporary files a killed run left are deleted on start; the libraries' own scratch
folders go to ``RUN_DIR/.scratch`` (see :func:`gridshift.training.common.contained_scratch`).

    gridshift train sb3 --algo ppo --scenario default --stop-timesteps 200000 --run-dir runs/sb3_ppo
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from gridshift.eval.protocol import TRAINING_EVAL_SEEDS, check_train_seed
from gridshift.training.common import (
    ALGOS,
    check_choice,
    check_learning_settings,
    check_resume_settings,
    contained_scratch,
    env_signature,
    remove_orphan_tmp,
    write_json,
)


@dataclass
class SB3Config:
    """Configuration of one stable-baselines3 run."""

    algo: str = "ppo"
    """``ppo`` or ``dqn``."""
    scenario: str = "default"
    """Scenario name or TOML path; the action mode is forced to ``discrete``."""
    overrides: dict = field(default_factory=dict)
    """Scenario overrides (``n_datacenters``, ``horizon_steps``, ...)."""
    num_envs: int = 8
    """Envs in the batch; SB3 sees ``num_envs x n_datacenters`` slots."""
    stop_timesteps: int = 200_000
    """Agent-steps to train for (SB3 counts one step per slot)."""
    seed: int = 0
    """Seeds the env batch and the learner (torch, numpy)."""
    run_dir: str = "runs/sb3"
    """Where TensorBoard logs, checkpoints and the final policy go."""
    checkpoint_every: int = 50_000
    """Agent-steps between checkpoints."""
    resume: bool = False
    """Continue from the newest checkpoint in ``run_dir`` (the scenario settings must not change)."""
    learning_rate: float = 3e-4
    """Adam learning rate."""
    gamma: float = 0.97
    """Discount per 15-minute step (~8 h horizon)."""
    net_arch: tuple[int, ...] = (64, 64)
    """Hidden layers of the policy (and value) network: small, so the shipped file stays small."""
    n_steps: int = 64
    """PPO rollout length per slot (batch = n_steps x slots)."""
    batch_size: int = 1024
    """Minibatch size."""
    n_epochs: int = 4
    """PPO epochs per rollout."""
    ent_coef: float = 0.01
    """PPO entropy bonus."""
    buffer_size: int = 200_000
    """DQN replay buffer size."""
    learning_starts: int = 5_000
    """DQN steps before learning starts."""
    exploration_fraction: float = 0.3
    """DQN share of training over which epsilon decays."""
    target_update_interval: int = 2_000
    """DQN target-network update period (steps)."""
    verbose: int = 0
    """SB3 verbosity."""
    eval_every: int = 0
    """Agent-steps between evaluations during training (0 = none), plus one at the end: paired
    against FIFO on ``eval_seeds``, logged to TensorBoard under ``eval/`` and to
    ``RUN_DIR/eval.jsonl`` (:mod:`gridshift.training.evaluation`)."""
    eval_seeds: tuple[int, ...] = TRAINING_EVAL_SEEDS
    """Validation seeds for those evaluations: in the training range, never the held-out 1000+."""

    def __post_init__(self) -> None:
        check_choice("algo", self.algo, ALGOS)
        check_train_seed(self.seed)  # the evaluation seeds (gridshift.eval.protocol) stay held out
        for k in ("num_envs", "stop_timesteps", "checkpoint_every", "n_steps", "batch_size", "n_epochs", "buffer_size"):
            if not (isinstance(getattr(self, k), int) and getattr(self, k) >= 1):
                raise ValueError(f"SB3Config.{k}={getattr(self, k)!r} is invalid: allowed an integer >= 1")
        check_learning_settings("SB3Config", self.learning_rate, self.gamma, self.net_arch)
        if not (isinstance(self.eval_every, int) and not isinstance(self.eval_every, bool) and self.eval_every >= 0):
            raise ValueError(f"SB3Config.eval_every={self.eval_every!r} is invalid: allowed an integer >= 0 (0 = off)")
        self.eval_seeds = tuple(self.eval_seeds)
        if not self.eval_seeds:
            raise ValueError("SB3Config.eval_seeds=() is invalid: allowed at least one training-range seed")
        for sd in self.eval_seeds:
            check_train_seed(sd)


#: Settings a resumed run may not change: they define the env or the network's shape.
FIXED_ON_RESUME = ("algo", "scenario", "overrides", "net_arch")


def _atomic(path: Path, save) -> None:
    """Write through a temporary name and rename, so a kill never leaves a half-written file."""
    tmp = path.with_name(path.name + ".tmp")
    save(tmp)
    written = tmp if tmp.exists() else tmp.with_name(tmp.name + ".zip")  # SB3 appends .zip
    written.replace(path)


def make_checkpoint_callback(run_dir: Path, every: int, env=None):
    """Checkpoint every ``every`` env-steps, at the first rollout boundary past each multiple:
    there the previous rollout has been trained on and the next one not yet started, so a resumed
    run repeats no sample and loses none (a checkpoint taken mid-rollout would drop the partial
    rollout, i.e. one update). VecNormalize stats, the env random state and (DQN) the replay buffer
    are written first, the model zip last, each atomically; a checkpoint counts only once its zip
    exists. ``env`` is the :class:`~gridshift.training.sb3_vec.DCGridSB3VecEnv` whose random state
    is saved."""
    from stable_baselines3.common.callbacks import BaseCallback

    class AtomicCheckpoint(BaseCallback):
        def __init__(self):
            super().__init__()
            self.next_at = None

        def _on_rollout_start(self) -> None:
            steps = self.model.num_timesteps
            if self.next_at is None:
                self.next_at = (steps // every + 1) * every
            elif steps >= self.next_at:
                save_checkpoint(self.model, run_dir, steps, env=env)
                self.next_at = (steps // every + 1) * every

        def _on_step(self) -> bool:
            return True

    return AtomicCheckpoint()


def make_progress_callback(total: int, every_s: float = 10.0):
    """Print ``steps/total, agent-steps/s, mean episode reward`` to stderr every ``every_s``."""
    import sys

    import numpy as np
    from stable_baselines3.common.callbacks import BaseCallback

    class Progress(BaseCallback):
        def _on_training_start(self) -> None:
            self.t0 = self.t_last = time.perf_counter()
            self.s0 = self.num_timesteps

        def _on_step(self) -> bool:
            now = time.perf_counter()
            if now - self.t_last >= every_s:
                self.t_last = now
                eps = [e["r"] for e in self.model.ep_info_buffer]
                rew = f"{np.mean(eps):.2f}" if eps else "n/a"
                rate = (self.num_timesteps - self.s0) / (now - self.t0)
                print(f"[sb3 {self.model.__class__.__name__}] {self.num_timesteps:,}/{total:,} agent-steps  "
                      f"{rate:,.0f}/s  ep_rew_mean={rew}", file=sys.stderr, flush=True)
            return True

    return Progress()


def save_checkpoint(model, run_dir: Path, steps: int, env=None) -> Path:
    d = run_dir / "checkpoints"
    d.mkdir(parents=True, exist_ok=True)
    vn = model.get_vec_normalize_env()
    if vn is not None:
        _atomic(d / f"vecnormalize_{steps}_steps.pkl", vn.save)
    if env is not None:
        write_json(d / f"envstate_{steps}_steps.json", {"rng": env.get_rng_state()})
    if getattr(model, "replay_buffer", None) is not None:
        _atomic(d / f"replay_buffer_{steps}_steps.pkl", model.save_replay_buffer)
    path = d / f"ckpt_{steps}_steps.zip"
    _atomic(path, model.save)
    # Replay buffers are large (tens of MB): keep them for the two newest checkpoints only.
    for old in sorted(d.glob("replay_buffer_*_steps.pkl"), key=lambda p: int(p.stem.split("_")[2]))[:-2]:
        old.unlink(missing_ok=True)
    return path


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """The complete checkpoints of a run (those whose model zip exists), newest first."""
    found = []
    for p in (run_dir / "checkpoints").glob("ckpt_*_steps.zip"):
        m = re.fullmatch(r"ckpt_(\d+)_steps", p.stem)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found, reverse=True)


def latest_checkpoint(run_dir: Path) -> tuple[Path | None, int]:
    cks = list_checkpoints(run_dir)
    return (cks[0][1], cks[0][0]) if cks else (None, 0)


def _load_checkpoint(cfg: SB3Config, cls, ckpt: Path, steps: int, inner, on_file):
    """Load one checkpoint (statistics, model, replay buffer, env random state) onto ``inner``;
    ``on_file(path)`` is told which file is being read, so a failure can name it."""
    from stable_baselines3.common.vec_env import VecNormalize

    inner.seed(cfg.seed)  # undo what a failed attempt may have restored
    stats = ckpt.with_name(f"vecnormalize_{steps}_steps.pkl")
    if stats.exists():
        on_file(stats)
        venv = VecNormalize.load(str(stats), inner)
    else:
        venv = VecNormalize(inner, norm_obs=False, norm_reward=True, gamma=cfg.gamma)
    on_file(ckpt)
    model = cls.load(ckpt, env=venv, device="cpu")
    buf = ckpt.with_name(f"replay_buffer_{steps}_steps.pkl")
    if cfg.algo == "dqn" and buf.exists():
        on_file(buf)
        model.load_replay_buffer(buf)
    envstate = ckpt.with_name(f"envstate_{steps}_steps.json")
    if envstate.exists():  # after cls.load, which re-seeds the env with the config seed
        on_file(envstate)
        inner.set_rng_state(json.loads(envstate.read_text())["rng"])
    return model, venv


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def train_sb3(cfg: SB3Config, progress: bool = True, log=_stderr) -> dict:
    run = Path(cfg.run_dir).resolve()
    run.mkdir(parents=True, exist_ok=True)
    if cfg.resume:
        check_resume_settings(run, cfg, FIXED_ON_RESUME)
    for p in remove_orphan_tmp(run):
        log(f"removed {p} (a temporary file left by an interrupted run)")
    with contained_scratch(run):
        return _train_sb3(cfg, run, progress, log)


def _train_sb3(cfg: SB3Config, run: Path, progress: bool, log) -> dict:
    import torch
    from stable_baselines3 import DQN, PPO
    from stable_baselines3.common.vec_env import VecNormalize

    from gridshift.training.sb3_vec import DCGridSB3VecEnv

    torch.set_num_threads(1)
    overrides = dict(cfg.overrides) | {"action_mode": "discrete"}
    # Rewards are dollars / reward_scale_usd, of order 10-100 per step in mixed mode; SB3's running
    # reward normalisation keeps the value targets O(1). Observations are already normalised by
    # the env, so inference needs no statistics from training.
    inner = DCGridSB3VecEnv(cfg.scenario, num_envs=cfg.num_envs, seed=cfg.seed, **overrides)
    cls = PPO if cfg.algo == "ppo" else DQN
    policy_kwargs = {"net_arch": list(cfg.net_arch)}
    ckpt, done_steps, model = None, 0, None
    if cfg.resume:
        cks = list_checkpoints(run)
        if not cks:
            raise FileNotFoundError(f"--resume: no complete checkpoint in {run / 'checkpoints'}")
        damaged, reading = [], [None]  # reading[0]: the file being read, named if it fails
        for steps, cand in cks:
            reading[0] = cand
            try:
                model, venv = _load_checkpoint(cfg, cls, cand, steps, inner, on_file=lambda p: reading.__setitem__(0, p))
            except Exception as e:  # noqa: BLE001 - a truncated zip or pickle raises all sorts of errors
                damaged.append(reading[0])
                log(f"checkpoint file {reading[0]} is damaged ({type(e).__name__}: {e}); trying the previous checkpoint")
                continue
            ckpt, done_steps = cand, steps
            break
        if model is None:
            raise FileNotFoundError(f"--resume: no complete checkpoint in {run / 'checkpoints'} could be loaded "
                                    f"(damaged: {', '.join(map(str, damaged))})")
        model.tensorboard_log = str(run / "tb")  # this run's folder, also when the run directory was copied
        log(f"resumed from {ckpt} ({done_steps} agent-steps, {model._n_updates} updates)")
    else:
        venv = VecNormalize(inner, norm_obs=False, norm_reward=True, gamma=cfg.gamma)
        if cfg.algo == "ppo":
            model = PPO("MlpPolicy", venv, learning_rate=cfg.learning_rate, gamma=cfg.gamma, n_steps=cfg.n_steps,
                        batch_size=cfg.batch_size, n_epochs=cfg.n_epochs, ent_coef=cfg.ent_coef, seed=cfg.seed,
                        policy_kwargs=policy_kwargs, tensorboard_log=str(run / "tb"), device="cpu", verbose=cfg.verbose)
        else:
            model = DQN("MlpPolicy", venv, learning_rate=cfg.learning_rate, gamma=cfg.gamma, buffer_size=cfg.buffer_size,
                        learning_starts=cfg.learning_starts, batch_size=min(cfg.batch_size, 256),
                        exploration_fraction=cfg.exploration_fraction, target_update_interval=cfg.target_update_interval,
                        train_freq=1, gradient_steps=max(1, venv.num_envs // 16), seed=cfg.seed,
                        policy_kwargs=policy_kwargs, tensorboard_log=str(run / "tb"), device="cpu", verbose=cfg.verbose)
    cb = [make_checkpoint_callback(run, cfg.checkpoint_every, env=inner)]
    if cfg.eval_every:
        from gridshift.training.evaluation import make_eval_callback

        cb.append(make_eval_callback(run, cfg.eval_every, cfg.scenario, {**overrides, "action_mode": "discrete"},
                                     cfg.eval_seeds))
    if progress:
        cb.append(make_progress_callback(cfg.stop_timesteps))
    write_json(run / "config.json", dataclasses.asdict(cfg))
    t0 = time.perf_counter()
    remaining = max(0, cfg.stop_timesteps - model.num_timesteps)
    if remaining:
        model.learn(total_timesteps=remaining, callback=cb, reset_num_timesteps=ckpt is None, tb_log_name=cfg.algo,
                    progress_bar=False, log_interval=1)
    wall = time.perf_counter() - t0
    if latest_checkpoint(run)[1] != model.num_timesteps:
        save_checkpoint(model, run, model.num_timesteps, env=inner)  # a finished run can be extended with --resume
    _atomic(run / "policy.zip", model.save)
    meta = {"algo": cfg.algo, "library": "sb3", "seed": cfg.seed, "config": dataclasses.asdict(cfg),
            "timesteps": int(model.num_timesteps), "resumed_from_steps": done_steps,
            "signature": env_signature(cfg.scenario, **overrides)}
    write_json(run / "policy.json", meta)
    return {"policy": run / "policy.zip", "timesteps": int(model.num_timesteps), "n_updates": int(model._n_updates), "wall_s": wall,
            "agent_steps_per_s": (model.num_timesteps - done_steps) / max(wall, 1e-9)}
