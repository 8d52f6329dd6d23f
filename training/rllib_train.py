"""Train PPO or DQN with RLlib (new API stack) on ``datacenter_grid_v0``.

The env enters RLlib through RLlib's own PettingZoo wrapper (``ParallelPettingZooEnv``) around
our ``ParallelEnv``: the agents, spaces and truncation semantics are the PettingZoo ones, so
there is nothing of ours to keep in sync with RLlib's ``MultiAgentEnv`` contract.

* ``sharing="shared"``: one RLModule ``shared`` for every agent (parameter sharing);
  ``"independent"``: one RLModule per agent.
* DQN uses ``MultiAgentPrioritizedEpisodeReplayBuffer`` (alpha 0.6, beta 0.4): RLlib's default
  buffer fails in multi-agent DQN with "unhashable type: 'slice'".
* TensorBoard scalars (episode return, losses, throughput) go to ``RUN_DIR/tb``; a checkpoint
  (``RUN_DIR/checkpoints/iter_XXXXXX``) every ``checkpoint_every`` iterations and at the end;
  ``resume=True`` restores the newest checkpoint and continues with its counters.
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
import os
import re
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gridshift.eval.protocol import check_train_seed
from gridshift.training.common import (
    ALGOS,
    SHARING,
    check_choice,
    check_learning_settings,
    contained_scratch,
    env_signature,
    ray_logdir_inside,
    remove_orphan_tmp,
    write_json,
)

ENV_NAME = "gridshift_datacenter_grid_v0"


@dataclass
class RLlibConfig:
    """Configuration of one RLlib run."""

    algo: str = "ppo"
    """``ppo`` or ``dqn``."""
    sharing: str = "shared"
    """``shared`` (one module for all agents) or ``independent`` (one per agent)."""
    scenario: str = "default"
    """Scenario name or TOML path; the action mode is forced to ``discrete``."""
    overrides: dict = field(default_factory=dict)
    """Scenario overrides. Unless given, ``reward_scale_usd`` is 1e5 here, so that rewards are O(1)
    per step (RLlib's PPO does not normalise returns)."""
    stop_timesteps: int = 100_000
    """Env-steps to sample (lifetime), counted by RLlib."""
    stop_iters: int = 0
    """Stop after this many training iterations as well (0 = no limit)."""
    num_env_runners: int = 0
    """Remote env runners (0 = sample in the driver)."""
    num_envs_per_env_runner: int = 1
    """Envs per runner."""
    ray_address: str | None = None
    """``auto``, ``host:port`` of an existing cluster, or None for a local instance."""
    num_cpus: int | None = None
    """CPUs of a local Ray instance (None = ``$GRIDSHIFT_RAY_NUM_CPUS``, else all)."""
    seed: int = 0
    """Seeds RLlib (``debugging(seed=...)``) and the envs."""
    run_dir: str = "runs/rllib"
    """TensorBoard logs, checkpoints, and the final policy."""
    checkpoint_every: int = 5
    """Training iterations between checkpoints."""
    resume: bool = False
    """Continue from the newest checkpoint in ``run_dir``."""
    lr: float = 3e-4
    """Learning rate."""
    gamma: float = 0.97
    """Discount per step."""
    train_batch_size: int = 4000
    """Env-steps per PPO training batch."""
    fcnet_hiddens: tuple[int, ...] = (64, 64)
    """Hidden layers of the module's MLPs."""
    dqn_rollout_fragment_length: int = 32
    """DQN: env-steps sampled per env between gradient updates (RLlib's "auto" is 1, i.e. one
    update per env-step, which the multi-agent prioritized buffer makes very slow)."""
    dqn_learning_starts: int = 1000
    """DQN: env-steps sampled before the first update."""
    dqn_replay_capacity: int = 100_000
    """DQN: replay capacity (agent-steps)."""
    dqn_epsilon_steps: int = 20_000
    """DQN: env-steps over which epsilon decays linearly from 1.0 to 0.05."""

    def __post_init__(self) -> None:
        check_choice("algo", self.algo, ALGOS)
        check_train_seed(self.seed)  # the evaluation seeds (gridshift.eval.protocol) stay held out
        check_choice("sharing", self.sharing, SHARING)
        for k in ("stop_timesteps", "checkpoint_every", "train_batch_size", "dqn_rollout_fragment_length",
                  "dqn_replay_capacity", "dqn_epsilon_steps"):
            if not (isinstance(getattr(self, k), int) and getattr(self, k) >= 1):
                raise ValueError(f"RLlibConfig.{k}={getattr(self, k)!r} is invalid: allowed an integer >= 1")
        if self.num_env_runners < 0:
            raise ValueError(f"RLlibConfig.num_env_runners={self.num_env_runners!r} is invalid: allowed >= 0")
        check_learning_settings("RLlibConfig", self.lr, self.gamma, self.fcnet_hiddens, lr_name="lr",
                                hidden_name="fcnet_hiddens")


def _env_creator(env_config: dict):
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

    from gridshift.envs import datacenter_grid_v0

    cfg = dict(env_config)
    scenario = cfg.pop("scenario", "default")
    cfg.setdefault("infos", "none")  # RLlib never reads them: ~20 us per env-step saved
    return ParallelPettingZooEnv(datacenter_grid_v0.parallel_env(scenario=scenario, **cfg))


def build_config(cfg: RLlibConfig):
    from ray.rllib.algorithms.dqn import DQNConfig
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.tune.registry import register_env

    from gridshift.envs.dcgrid.scenario import load_scenario

    register_env(ENV_NAME, _env_creator)
    overrides = {"reward_scale_usd": 1e5} | dict(cfg.overrides) | {"action_mode": "discrete"}
    n = load_scenario(cfg.scenario, **overrides).n_datacenters
    agents = [f"dc_{i}" for i in range(n)]
    if cfg.sharing == "shared":
        module_ids = ["shared"]

        def mapping(agent_id, *args, **kwargs):
            return "shared"
    else:
        module_ids = agents

        def mapping(agent_id, *args, **kwargs):
            return agent_id

    model = DefaultModelConfig(fcnet_hiddens=list(cfg.fcnet_hiddens), fcnet_activation="tanh")
    base = PPOConfig() if cfg.algo == "ppo" else DQNConfig()
    conf = (
        base.environment(ENV_NAME, env_config={"scenario": cfg.scenario, **overrides})
        .framework("torch")
        .env_runners(num_env_runners=cfg.num_env_runners, num_envs_per_env_runner=cfg.num_envs_per_env_runner)
        .multi_agent(policies=set(module_ids), policy_mapping_fn=mapping)
        .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={m: RLModuleSpec(model_config=model) for m in module_ids}))
        .debugging(seed=cfg.seed)
        .learners(num_learners=0)
    )
    if cfg.algo == "ppo":
        conf = conf.training(lr=cfg.lr, gamma=cfg.gamma, train_batch_size_per_learner=cfg.train_batch_size,
                             minibatch_size=min(512, cfg.train_batch_size), num_epochs=4)
    else:
        conf = conf.training(
            lr=cfg.lr, gamma=cfg.gamma, train_batch_size_per_learner=256, n_step=1,
            num_steps_sampled_before_learning_starts=cfg.dqn_learning_starts,
            replay_buffer_config={"type": "MultiAgentPrioritizedEpisodeReplayBuffer", "capacity": cfg.dqn_replay_capacity,
                                  "alpha": 0.6, "beta": 0.4},
            epsilon=[(0, 1.0), (cfg.dqn_epsilon_steps, 0.05)],
            target_network_update_freq=1000, double_q=True, dueling=True,
        )
        conf = conf.env_runners(rollout_fragment_length=cfg.dqn_rollout_fragment_length)
    return conf, module_ids


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
    with contained_scratch(run) as scratch:  # before ray.init: Ray's processes inherit the environment
        return _train_rllib(cfg, run, scratch, log)


def _train_rllib(cfg: RLlibConfig, run: Path, scratch: Path, log) -> dict:
    import ray

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


def _train_loop(cfg: RLlibConfig, run: Path, algo, module_ids: list[str], log) -> dict:
    from torch.utils.tensorboard import SummaryWriter

    state = {"iteration": 0, "env_steps": 0}
    if cfg.resume:
        ck = latest_checkpoint(run)
        if ck is None:
            raise FileNotFoundError(f"--resume: no complete checkpoint in {run / 'checkpoints'}")
        algo.restore_from_path(ck)
        state = json.loads((ck / "gridshift_state.json").read_text())
        log(f"resumed from {ck} (iteration {state['iteration']}, {state['env_steps']} env-steps)")
    write_json(run / "config.json", dataclasses.asdict(cfg))
    writer = SummaryWriter(str(run / "tb"))
    t0 = time.perf_counter()
    steps0 = state["env_steps"]
    ck = None
    try:
        while state["env_steps"] < cfg.stop_timesteps and not (cfg.stop_iters and state["iteration"] >= cfg.stop_iters):
            result = algo.train()
            state["iteration"] += 1
            er = result.get("env_runners", {})
            state["env_steps"] = int(result.get("num_env_steps_sampled_lifetime", er.get("num_env_steps_sampled_lifetime", 0)))
            ret = er.get("episode_return_mean", float("nan"))
            state["episode_return_mean"] = ret
            for k, v in _scalars({"env_runners": er, "learners": result.get("learners", {})}).items():
                writer.add_scalar(k, v, state["env_steps"])
            writer.add_scalar("gridshift/episode_return_mean", ret, state["env_steps"])
            log(f"iter {state['iteration']:>4}  env-steps {state['env_steps']:>8}  episode return {ret:10.3f}  "
                f"{time.perf_counter() - t0:7.1f}s")
            if state["iteration"] % cfg.checkpoint_every == 0:
                ck = save_checkpoint(algo, run, state)
    finally:
        writer.close()
    if ck is None or json.loads((ck / "gridshift_state.json").read_text())["iteration"] != state["iteration"]:
        ck = save_checkpoint(algo, run, state)
    sig = env_signature(cfg.scenario, **(dict(cfg.overrides) | {"action_mode": "discrete"}))
    # The checkpoint relative to the run directory: a copied or moved run loads its own weights.
    write_json(run / "policy.json", {"algo": cfg.algo, "library": "rllib", "sharing": cfg.sharing, "module_ids": module_ids,
                                     "seed": cfg.seed, "checkpoint": ck.relative_to(run).as_posix(), "signature": sig,
                                     "config": dataclasses.asdict(cfg), **state})
    wall = time.perf_counter() - t0
    return {"checkpoint": ck, "iterations": state["iteration"], "env_steps": state["env_steps"], "wall_s": wall,
            "env_steps_per_s": (state["env_steps"] - steps0) / max(wall, 1e-9)}


def save_checkpoint(algo, run: Path, state: dict) -> Path:
    ck = run / "checkpoints" / f"iter_{state['iteration']:06d}"
    algo.save_to_path(str(ck))
    write_json(ck / "gridshift_state.json", state)  # written last: marks the checkpoint complete
    return ck
