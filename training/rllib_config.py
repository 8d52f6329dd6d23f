"""Settings of an RLlib run (:class:`RLlibConfig`, one docstring per field: the CLI's ``--hp`` and
``--config`` read them) and the RLlib ``AlgorithmConfig`` built from them (:func:`build_config`).

Env paths (``env_impl``):

* ``native`` (default): :class:`~gridshift.training.rllib_runner.DCGridEnvRunner` owns one batched
  core of ``num_envs_per_env_runner`` envs and samples it with array code;
* ``native_rllib_loop``: the same batched env behind RLlib's ``VectorMultiAgentEnv`` API, stepped
  by RLlib's own ``MultiAgentEnvRunner`` loop (kept to measure what the array sampler saves);
* ``pettingzoo``: RLlib's ``ParallelPettingZooEnv`` around the PettingZoo env, one per
  ``num_envs_per_env_runner`` (RLlib's ``SyncVectorMultiAgentEnv``).

Reward units: the env keeps the scenario's ``reward_scale_usd`` (the env's documented default,
$1,000 per reward unit, as in ``gridshift train sb3``); the learner sees rewards times
``reward_multiplier`` (RLlib's PPO does not normalise returns), and every return gridshift logs
is per agent and in the env's units (:mod:`gridshift.training.rllib_train`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from gridshift.eval.protocol import TRAINING_EVAL_SEEDS, check_train_seed
from gridshift.training.common import ALGOS, SHARING, check_choice, check_learning_settings

ENV_NAME = "gridshift_datacenter_grid_v0"
ENV_NATIVE = "gridshift_datacenter_grid_v0_native"
ENV_IMPLS = ("native", "native_rllib_loop", "pettingzoo")
CRITICS = ("independent", "central")


@dataclass
class RLlibConfig:
    """Configuration of one RLlib run."""

    algo: str = "ppo"
    """``ppo`` or ``dqn``."""
    sharing: str = "shared"
    """``shared`` (one module for all agents) or ``independent`` (one per agent)."""
    critic: str = "independent"
    """PPO's value function: ``independent`` (RLlib's default module: the critic reads the agent's
    own observation) or ``central`` (MAPPO-style: the critic reads the global state and the own
    observation, the actor only its own; :mod:`gridshift.training.rllib_mappo`)."""
    env_impl: str = "native"
    """``native`` (batched core, array sampler), ``native_rllib_loop`` (batched core, RLlib's own
    sampling loop) or ``pettingzoo`` (RLlib's ``ParallelPettingZooEnv``): module docstring."""
    scenario: str = "default"
    """Scenario name or TOML path; the action mode is forced to ``discrete``."""
    overrides: dict = field(default_factory=dict)
    """Scenario overrides (``n_datacenters``, ``horizon_steps``, ``reward_scale_usd``, ...)."""
    reward_multiplier: float = 0.01
    """Factor between the env's rewards (the scenario's units) and what the learner sees: at the
    default $1,000 per unit, rewards are O(0.1-1) per step, so PPO's value targets are O(10) and fit
    its ``vf_clip_param``. Logged returns are always in the env's units."""
    stop_timesteps: int = 100_000
    """Env-steps to sample (lifetime), counted by RLlib."""
    stop_iters: int = 0
    """Stop after this many training iterations as well (0 = no limit)."""
    num_env_runners: int = 0
    """Remote env runners (0 = sample in the driver)."""
    num_envs_per_env_runner: int = 16
    """Envs per runner: one batched core of this many envs (``native``), or as many env objects."""
    ray_address: str | None = None
    """``auto``, ``host:port`` of an existing cluster, or None for a local instance."""
    num_cpus: int | None = None
    """CPUs of a local Ray instance (None = ``$GRIDSHIFT_RAY_NUM_CPUS``, else all)."""
    seed: int = 0
    """Seeds RLlib (``debugging(seed=...)``), torch and the envs."""
    run_dir: str = "runs/rllib"
    """TensorBoard logs, checkpoints, and the final policy."""
    checkpoint_every: int = 5
    """Training iterations between checkpoints."""
    resume: bool = False
    """Continue from the newest checkpoint in ``run_dir`` (the scenario settings must not change)."""
    lr: float = 3e-4
    """Learning rate."""
    gamma: float = 0.97
    """Discount per 15-minute step (~8 h horizon)."""
    fcnet_hiddens: tuple[int, ...] = (64, 64)
    """Hidden layers of the module's MLPs (actor and critic, or Q-network)."""
    critic_hiddens: tuple[int, ...] = ()
    """Hidden layers of the centralised critic (empty = ``fcnet_hiddens``)."""
    train_batch_size: int = 4000
    """PPO: env-steps per training batch."""
    minibatch_size: int = 512
    """PPO: minibatch size (agent-steps) of the SGD epochs."""
    num_epochs: int = 4
    """PPO: passes over each training batch."""
    entropy_coeff: float = 0.01
    """PPO: entropy bonus (as ``SB3Config.ent_coef``)."""
    lambda_: float = 0.95
    """PPO: GAE lambda."""
    vf_clip_param: float = 1000.0
    """PPO: clip of the squared value error (learner units). RLlib's default, 10, zeroes the value
    gradient wherever the error exceeds 3.2, and values here start O(10) from zero: so it is large."""
    dqn_rollout_fragment_length: int = 32
    """DQN: env-steps sampled per env between gradient updates (RLlib's "auto" is 1, i.e. one
    update per env-step, which the multi-agent prioritized buffer makes very slow)."""
    dqn_learning_starts: int = 1000
    """DQN: env-steps sampled before the first update."""
    dqn_replay_capacity: int = 2_000_000
    """DQN: replay capacity (agent-steps). RLlib 2.60's ``MultiAgentPrioritizedEpisodeReplayBuffer``
    fails once it has to evict (``IndexError: pop from an empty deque`` in
    ``_get_free_node_per_module_and_assign``), so a DQN run must fit its whole budget
    (``stop_timesteps x`` number of DCs) in the buffer; the config refuses one that does not."""
    dqn_epsilon_steps: int = 20_000
    """DQN: env-steps over which epsilon decays linearly from 1.0 to 0.05."""
    eval_every: int = 0
    """Agent-steps between evaluations during training (0 = none), plus one at the end: paired
    against FIFO on ``eval_seeds``, logged to TensorBoard under ``eval/`` and to
    ``RUN_DIR/eval.jsonl`` with the same tags as ``gridshift train sb3``."""
    eval_seeds: tuple[int, ...] = TRAINING_EVAL_SEEDS
    """Validation seeds for those evaluations: in the training range, never the held-out 1000+."""

    def __post_init__(self) -> None:
        check_choice("algo", self.algo, ALGOS)
        check_train_seed(self.seed)  # the evaluation seeds (gridshift.eval.protocol) stay held out
        check_choice("sharing", self.sharing, SHARING)
        check_choice("critic", self.critic, CRITICS)
        check_choice("env_impl", self.env_impl, ENV_IMPLS)
        if self.critic == "central" and self.algo != "ppo":
            raise ValueError(f"RLlibConfig.critic='central' is invalid with algo={self.algo!r}: allowed only with algo='ppo' "
                             "(DQN has no critic)")
        for k in ("stop_timesteps", "checkpoint_every", "train_batch_size", "minibatch_size", "num_epochs",
                  "num_envs_per_env_runner", "dqn_rollout_fragment_length", "dqn_replay_capacity", "dqn_epsilon_steps"):
            v = getattr(self, k)
            if not (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
                raise ValueError(f"RLlibConfig.{k}={v!r} is invalid: allowed an integer >= 1")
        if self.algo == "dqn":
            from gridshift.envs.dcgrid.scenario import load_scenario

            n = load_scenario(self.scenario, **(self.overrides or {})).n_datacenters
            if self.stop_timesteps * n > self.dqn_replay_capacity:
                raise ValueError(
                    f"RLlibConfig.dqn_replay_capacity={self.dqn_replay_capacity} is invalid for stop_timesteps="
                    f"{self.stop_timesteps} x {n} DCs = {self.stop_timesteps * n} agent-steps: allowed at least the "
                    "run's agent-steps (RLlib 2.60's multi-agent prioritized buffer crashes when it evicts)")
        if not (isinstance(self.num_env_runners, int) and self.num_env_runners >= 0):
            raise ValueError(f"RLlibConfig.num_env_runners={self.num_env_runners!r} is invalid: allowed an integer >= 0")
        check_learning_settings("RLlibConfig", self.lr, self.gamma, self.fcnet_hiddens, lr_name="lr",
                                hidden_name="fcnet_hiddens")
        self.fcnet_hiddens, self.critic_hiddens = tuple(self.fcnet_hiddens), tuple(self.critic_hiddens)
        if self.critic_hiddens:
            check_learning_settings("RLlibConfig", self.lr, self.gamma, self.critic_hiddens, lr_name="lr",
                                    hidden_name="critic_hiddens")
        for k, ok, allowed in (("reward_multiplier", lambda v: 0 < v < math.inf, "a finite number > 0"),
                               ("entropy_coeff", lambda v: 0 <= v < math.inf, "a finite number >= 0"),
                               ("lambda_", lambda v: 0 <= v <= 1, "a number in [0, 1]"),
                               ("vf_clip_param", lambda v: v > 0, "a number > 0 (inf = no clipping)")):
            v = getattr(self, k)
            if not (isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and ok(v)):
                raise ValueError(f"RLlibConfig.{k}={v!r} is invalid: allowed {allowed}")
        if not (isinstance(self.eval_every, int) and not isinstance(self.eval_every, bool) and self.eval_every >= 0):
            raise ValueError(f"RLlibConfig.eval_every={self.eval_every!r} is invalid: allowed an integer >= 0 (0 = off)")
        self.eval_seeds = tuple(self.eval_seeds)
        if not self.eval_seeds:
            raise ValueError("RLlibConfig.eval_seeds=() is invalid: allowed at least one training-range seed")
        for sd in self.eval_seeds:
            check_train_seed(sd)

    @property
    def env_overrides(self) -> dict:
        """The scenario overrides the env is built with (the action mode forced to discrete)."""
        return dict(self.overrides) | {"action_mode": "discrete"}


#: Settings a resumed run may not change: they define the env or the modules' shapes.
FIXED_ON_RESUME = ("algo", "sharing", "critic", "scenario", "overrides", "reward_multiplier", "fcnet_hiddens",
                   "critic_hiddens")


def _pettingzoo_creator(env_config: dict):
    from gridshift.envs import datacenter_grid_v0
    from gridshift.training.rllib_env import PettingZooRLlibEnv, split_env_config

    scenario, overrides, opts = split_env_config(env_config)
    par = datacenter_grid_v0.parallel_env(scenario=scenario, infos="none", **overrides)  # RLlib never reads infos
    return PettingZooRLlibEnv(par, central=bool(opts.get("central")), reward_multiplier=float(opts.get("reward_multiplier", 1.0)))


def _native_creator(env_config: dict):
    from gridshift.training.rllib_env import DCGridMultiAgentEnv

    return DCGridMultiAgentEnv({k: v for k, v in dict(env_config).items() if k != "sampler"})


def module_ids_for(cfg: RLlibConfig) -> tuple[list[str], object]:
    """The RLModule ids and the agent-to-module mapping function."""
    from gridshift.envs.dcgrid.scenario import load_scenario

    n = load_scenario(cfg.scenario, **cfg.env_overrides).n_datacenters
    if cfg.sharing == "shared":
        def mapping(agent_id, *args, **kwargs):
            return "shared"
        return ["shared"], mapping

    def per_agent(agent_id, *args, **kwargs):
        return agent_id
    return [f"dc_{i}" for i in range(n)], per_agent


def build_config(cfg: RLlibConfig):
    """The RLlib ``AlgorithmConfig`` of ``cfg`` and its module ids."""
    from ray.rllib.algorithms.dqn import DQNConfig
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.tune.registry import register_env

    register_env(ENV_NAME, _pettingzoo_creator)
    register_env(ENV_NATIVE, _native_creator)
    module_ids, mapping = module_ids_for(cfg)
    env_config = {"scenario": cfg.scenario, **cfg.env_overrides, "central": cfg.critic == "central",
                  "reward_multiplier": cfg.reward_multiplier}
    if cfg.critic == "central":
        from gridshift.training.rllib_mappo import CentralCriticPPOModule

        model = {"fcnet_hiddens": list(cfg.fcnet_hiddens), "critic_hiddens": list(cfg.critic_hiddens or cfg.fcnet_hiddens),
                 "fcnet_activation": "tanh"}
        spec = {m: RLModuleSpec(module_class=CentralCriticPPOModule, model_config=model) for m in module_ids}
    else:
        model = DefaultModelConfig(fcnet_hiddens=list(cfg.fcnet_hiddens), fcnet_activation="tanh")
        spec = {m: RLModuleSpec(model_config=model) for m in module_ids}
    base = PPOConfig() if cfg.algo == "ppo" else DQNConfig()
    if cfg.env_impl == "pettingzoo":
        conf = base.environment(ENV_NAME, env_config=env_config)
    else:
        from gridshift.training.rllib_runner import DCGridEnvRunner

        env_config["sampler"] = "arrays" if cfg.env_impl == "native" else "rllib"
        conf = base.environment(ENV_NATIVE, env_config=env_config).env_runners(env_runner_cls=DCGridEnvRunner)
    conf = (
        conf.framework("torch")
        .env_runners(num_env_runners=cfg.num_env_runners, num_envs_per_env_runner=cfg.num_envs_per_env_runner)
        .multi_agent(policies=set(module_ids), policy_mapping_fn=mapping)
        .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs=spec))
        .debugging(seed=cfg.seed)
        .learners(num_learners=0)
    )
    if cfg.algo == "ppo":
        conf = conf.training(lr=cfg.lr, gamma=cfg.gamma, train_batch_size_per_learner=cfg.train_batch_size,
                             minibatch_size=min(cfg.minibatch_size, cfg.train_batch_size), num_epochs=cfg.num_epochs,
                             entropy_coeff=cfg.entropy_coeff, lambda_=cfg.lambda_, vf_clip_param=cfg.vf_clip_param)
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
