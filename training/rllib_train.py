"""Train PPO or DQN with RLlib (new API stack) on ``datacenter_grid_v0``.

Settings: :class:`~gridshift.training.rllib_config.RLlibConfig` (one docstring per field; the
CLI's ``--hp KEY=VALUE`` and ``--config FILE`` set any of them).

* The env enters RLlib natively by default: :class:`~gridshift.training.rllib_runner.DCGridEnvRunner`
  steps ``num_envs_per_env_runner`` envs in one batched core and samples them with array code
  (``env_impl="native"``); ``env_impl="pettingzoo"`` keeps RLlib's ``ParallelPettingZooEnv`` path.
* ``sharing="shared"``: one RLModule ``shared`` for every agent (parameter sharing);
  ``"independent"``: one RLModule per agent. ``critic="central"``: PPO with a MAPPO-style
  centralised critic (:mod:`gridshift.training.rllib_mappo`).
* DQN uses ``MultiAgentPrioritizedEpisodeReplayBuffer`` (alpha 0.6, beta 0.4): RLlib's default
  buffer fails in multi-agent DQN with "unhashable type: 'slice'".
* **Logs comparable with** ``gridshift train sb3``: every TensorBoard scalar in ``RUN_DIR/tb`` is
  plotted against **agent-steps**; ``rollout/ep_rew_mean`` (SB3's tag) is the **per-agent** mean
  episode return in the **env's reward units** (the scenario's ``reward_scale_usd``, default
  $1,000), i.e. RLlib's team return divided by the agents and by ``reward_multiplier``. With
  ``eval_every``, evaluations on the training-eval seeds go under ``eval/`` and to
  ``RUN_DIR/eval.jsonl`` (:mod:`gridshift.training.evaluation`), as for SB3.
* A checkpoint (``RUN_DIR/checkpoints/iter_XXXXXX``) every ``checkpoint_every`` iterations and
  at the end; ``resume=True`` restores the newest checkpoint and continues with its counters,
  and refuses settings that define the env or the modules (scenario, overrides, algorithm,
  sharing, critic, network sizes, reward multiplier) if they differ from the run's.
* ``ray_address`` connects to an existing cluster (``auto`` or ``host:port``); otherwise a
  local Ray instance is started. Whatever Ray instance (or connection) the run opened is shut down
  when it ends: normally, on an exception, on SIGINT or SIGTERM (exit status 143).
* ``RUN_DIR/policy.json`` names its checkpoint relative to ``RUN_DIR``, so a copied run directory
  loads its own weights. Ray's per-algorithm log folder and torch's cache folder go to
  ``RUN_DIR/.scratch`` (removed when empty), not ``~/ray_results`` or ``$TMPDIR``.

    gridshift train rllib --algo ppo --sharing shared --scenario default --stop-timesteps 200000
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from gridshift.training.common import (
    check_resume_settings,
    contained_scratch,
    env_signature,
    ray_logdir_inside,
    remove_orphan_tmp,
    write_json,
)
from gridshift.training.rllib_config import ENV_NAME, FIXED_ON_RESUME, RLlibConfig, build_config

__all__ = ["ENV_NAME", "RLlibConfig", "build_config", "latest_checkpoint", "train_rllib"]


def latest_checkpoint(run_dir: Path) -> Path | None:
    cks = sorted((run_dir / "checkpoints").glob("iter_*"), key=lambda p: int(re.sub(r"\D", "", p.name) or 0))
    cks = [c for c in cks if (c / "gridshift_state.json").exists()]  # complete checkpoints only
    return cks[-1] if cks else None


def _scalars(result: dict, prefix: str = "") -> dict[str, float]:
    out = {}
    for k, v in result.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_scalars(v, key + "/"))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[key] = float(v)
    return out


class Terminated(SystemExit):
    """Raised in the main thread by the SIGTERM handler of :func:`train_rllib` (exit status 143)."""


@contextmanager
def _stop_on_signals(log):
    """While training: SIGTERM raises :class:`Terminated` and SIGINT ``KeyboardInterrupt`` in the
    main thread, so the ``finally`` of :func:`train_rllib` stops the algorithm and shuts Ray down
    (Ray's own handler in the driver aborts the process instead). A second signal during that
    cleanup is ignored. The previous handlers are put back on the way out. Installed after
    ``ray.init``, which sets handlers of its own."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = []

    def handler(signum, frame):
        name = signal.Signals(signum).name
        if fired:
            log(f"{name} received again: already shutting Ray down")
            return
        fired.append(name)
        log(f"{name} received: stopping the algorithm and shutting Ray down")
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(128 + signum)

    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    for s in previous:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)  # None: a handler set outside Python


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def train_rllib(cfg: RLlibConfig, log=print) -> dict:
    run = Path(cfg.run_dir).resolve()
    run.mkdir(parents=True, exist_ok=True)
    for p in remove_orphan_tmp(run):
        log(f"removed {p} (a temporary file left by an interrupted run)")
    if cfg.resume:  # before Ray starts: fail fast
        check_resume_settings(run, cfg, FIXED_ON_RESUME)
        if latest_checkpoint(run) is None:
            raise FileNotFoundError(f"--resume: no complete checkpoint in {run / 'checkpoints'}")
    with contained_scratch(run) as scratch:  # before ray.init: Ray's processes inherit the environment
        return _train_rllib(cfg, run, scratch, log)


def _train_rllib(cfg: RLlibConfig, run: Path, scratch: Path, log) -> dict:
    import ray
    import torch

    torch.set_num_threads(1)  # as gridshift train sb3: small MLPs, and remote runners get 1 thread from Ray anyway
    own_ray = not ray.is_initialized()
    algo = None
    try:
        if own_ray:
            if cfg.ray_address:
                ray.init(address=cfg.ray_address, log_to_driver=False)
            else:
                n = cfg.num_cpus or (int(os.environ["GRIDSHIFT_RAY_NUM_CPUS"]) if os.environ.get("GRIDSHIFT_RAY_NUM_CPUS") else None)
                ray.init(num_cpus=n, include_dashboard=False, log_to_driver=False)
        with _stop_on_signals(_stderr):
            try:
                with ray_logdir_inside(scratch):
                    conf, module_ids = build_config(cfg)
                    algo = conf.build_algo()
                return _train_loop(cfg, run, algo, module_ids, log)
            finally:
                if algo is not None:
                    try:
                        algo.stop()
                    except Exception as e:  # noqa: BLE001 - shutting Ray down matters more
                        _stderr(f"stopping the RLlib algorithm failed ({type(e).__name__}: {e}); shutting Ray down anyway")
                if own_ray and ray.is_initialized():
                    ray.shutdown()  # leave no Ray instance (or cluster connection) behind that we opened
    finally:
        if own_ray and ray.is_initialized():  # ray.init itself, or installing the handlers, failed
            ray.shutdown()


def per_agent_return(team_return: float, n_agents: int, reward_multiplier: float) -> float:
    """RLlib's episode return (summed over agents, in learner units) as gridshift logs it: the
    mean per agent, in the env's reward units."""
    return team_return / (n_agents * reward_multiplier)


def _train_loop(cfg: RLlibConfig, run: Path, algo, module_ids: list[str], log) -> dict:
    from torch.utils.tensorboard import SummaryWriter

    from gridshift.envs.dcgrid.scenario import load_scenario

    n_agents = load_scenario(cfg.scenario, **cfg.env_overrides).n_datacenters
    state = {"iteration": 0, "env_steps": 0, "agent_steps": 0}
    if cfg.resume:
        ck = latest_checkpoint(run)
        if ck is None:
            raise FileNotFoundError(f"--resume: no complete checkpoint in {run / 'checkpoints'}")
        algo.restore_from_path(ck)
        state = {"agent_steps": 0} | json.loads((ck / "gridshift_state.json").read_text())
        log(f"resumed from {ck} (iteration {state['iteration']}, {state['env_steps']} env-steps)")
    write_json(run / "config.json", dataclasses.asdict(cfg))
    writer = SummaryWriter(str(run / "tb"))
    evaluator = _Evaluator(cfg, run, algo, module_ids, writer) if cfg.eval_every else None
    t0 = time.perf_counter()
    steps0 = state["env_steps"]
    ck = None
    try:
        while state["env_steps"] < cfg.stop_timesteps and not (cfg.stop_iters and state["iteration"] >= cfg.stop_iters):
            result = algo.train()
            state["iteration"] += 1
            er = result.get("env_runners", {})
            state["env_steps"] = int(result.get("num_env_steps_sampled_lifetime", er.get("num_env_steps_sampled_lifetime", 0)))
            state["agent_steps"] = state["env_steps"] * n_agents  # every agent acts on every step
            ret = er.get("episode_return_mean", float("nan"))
            state["episode_return_mean"] = per_agent_return(ret, n_agents, cfg.reward_multiplier)
            x = state["agent_steps"]
            for k, v in _scalars({"env_runners": er, "learners": result.get("learners", {})}).items():
                writer.add_scalar(k, v, x)
            if math.isfinite(state["episode_return_mean"]):  # no episode has finished yet: nothing to plot
                writer.add_scalar("rollout/ep_rew_mean", state["episode_return_mean"], x)
            writer.add_scalar("time/env_steps", state["env_steps"], x)
            log(f"iter {state['iteration']:>4}  agent-steps {x:>9}  return per agent {state['episode_return_mean']:10.3f}  "
                f"{time.perf_counter() - t0:7.1f}s")
            if evaluator is not None:
                evaluator.maybe(x)
            if state["iteration"] % cfg.checkpoint_every == 0:
                ck = save_checkpoint(algo, run, state)
        if evaluator is not None:
            evaluator.run(state["agent_steps"])  # and one at the end, as for SB3
    finally:
        writer.close()
    if ck is None or json.loads((ck / "gridshift_state.json").read_text())["iteration"] != state["iteration"]:
        ck = save_checkpoint(algo, run, state)
    sig = env_signature(cfg.scenario, **cfg.env_overrides)
    # The checkpoint relative to the run directory: a copied or moved run loads its own weights.
    write_json(run / "policy.json", {"algo": cfg.algo, "library": "rllib", "sharing": cfg.sharing, "critic": cfg.critic,
                                     "module_ids": module_ids, "seed": cfg.seed, "checkpoint": ck.relative_to(run).as_posix(),
                                     "signature": sig, "config": dataclasses.asdict(cfg), **state})
    wall = time.perf_counter() - t0
    return {"checkpoint": ck, "iterations": state["iteration"], "env_steps": state["env_steps"],
            "agent_steps": state["agent_steps"], "wall_s": wall,
            "env_steps_per_s": (state["env_steps"] - steps0) / max(wall, 1e-9)}


class _Evaluator:
    """Evaluation during training every ``cfg.eval_every`` agent-steps (and at the end), with the
    policy's current modules, through :mod:`gridshift.training.evaluation`."""

    def __init__(self, cfg: RLlibConfig, run: Path, algo, module_ids: list[str], writer):
        self.cfg, self.run_dir, self.algo, self.module_ids, self.writer = cfg, run, algo, module_ids, writer
        self.fifo: dict = {}
        self.next_at = cfg.eval_every
        self.last = None

    def maybe(self, agent_steps: int) -> None:
        if agent_steps >= self.next_at:
            self.next_at = (agent_steps // self.cfg.eval_every + 1) * self.cfg.eval_every
            self.run(agent_steps)

    def run(self, agent_steps: int) -> None:
        from gridshift.agents.trained import RLlibPolicy
        from gridshift.training.evaluation import evaluate_against_fifo, record_eval_row

        if self.last == agent_steps:
            return
        self.last = agent_steps
        modules = {m: self.algo.get_module(m) for m in self.module_ids}
        pol = RLlibPolicy(modules, lambda i: "shared" if "shared" in modules else f"dc_{i}", "training", None)
        row = evaluate_against_fifo(pol, self.cfg.scenario, self.cfg.env_overrides, self.cfg.eval_seeds, self.fifo)
        record_eval_row(self.run_dir, agent_steps, self.cfg.eval_seeds, row,
                        lambda k, v: self.writer.add_scalar(k, v, agent_steps))


def save_checkpoint(algo, run: Path, state: dict) -> Path:
    ck = run / "checkpoints" / f"iter_{state['iteration']:06d}"
    algo.save_to_path(str(ck))
    write_json(ck / "gridshift_state.json", state)  # written last: marks the checkpoint complete
    return ck
