"""An RLlib env runner that samples ``datacenter_grid_v0`` with array code.

:class:`DCGridEnvRunner` is a :class:`~ray.rllib.env.multi_agent_env_runner.MultiAgentEnvRunner`
(so weights, connector states, checkpoints, metrics and the Algorithm's sampling loop are RLlib's)
that owns one :class:`~gridshift.training.rllib_env.DCGridVectorMultiAgentEnv` of
``num_envs_per_env_runner`` envs, stepped in one kernel call. Its ``_sample`` replaces RLlib's
per-env, per-agent Python loop (``MultiAgentEpisode.add_env_step`` for every env, four metric
calls per agent-step, the env-to-module and module-to-env connector pipelines on lists of dicts:
about 90 % of that loop's time at 8 DCs goes outside the env and torch, per the cProfile split of
``gridshift bench train``) by:

1. one forward pass per RLModule on the ``[B x agents, D]`` observation tensor
   (``forward_exploration``, or ``forward_inference`` when not exploring), actions sampled from
   the module's action distribution exactly as RLlib's ``GetActions`` connector does (log-probs
   and distribution inputs kept as extra model outputs);
2. one :meth:`~gridshift.training.rllib_env.DCGridVectorMultiAgentEnv.step_arrays` call;
3. arrays appended per step; RLlib ``MultiAgentEpisode`` chunks built once per ``sample()`` call
   (and at each episode end) through the episode's public constructor, with the same ids,
   ``env_t_started`` and boundary observations that RLlib's own ``cut()`` gives, so learners
   (PPO's GAE, DQN's episode replay buffer) see what the stock runner would hand them.

Metrics: the step counters the Algorithm reads (env-steps, agent-steps per agent, module-steps),
episode return/length means (in the learner's reward units, as RLlib logs them) and
``gridshift/sampling_s/{env,module,episodes}``: seconds spent in the env, in the forward passes
and action sampling, and in building episodes.

The fast path is used when the runner has only RLlib's default connectors, no callbacks and
stateless modules (what ``gridshift train rllib`` builds); otherwise the stock loop runs on the
vector env's dict API (``sampler="rllib"`` forces it), so adding a connector never silently
bypasses it. Episode callbacks do not run on the fast path.

While sampling, the core's numba kernels use ``num_cpus_per_env_runner`` threads (default 1), the
CPUs Ray reserves for the runner, instead of one per core.
"""

from __future__ import annotations

import time
import uuid

import numpy as np
from ray.rllib.core.columns import Columns
from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner
from ray.rllib.env.multi_agent_episode import MultiAgentEpisode
from ray.rllib.utils.metrics import (
    NUM_AGENT_STEPS_SAMPLED,
    NUM_AGENT_STEPS_SAMPLED_LIFETIME,
    NUM_ENV_STEPS_SAMPLED,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    NUM_EPISODES,
    NUM_EPISODES_LIFETIME,
    NUM_MODULE_STEPS_SAMPLED,
    NUM_MODULE_STEPS_SAMPLED_LIFETIME,
    WEIGHTS_SEQ_NO,
)

from gridshift.training.rllib_env import DCGridVectorMultiAgentEnv

SAMPLERS = ("arrays", "rllib")
TIMER_KEYS = ("env", "module", "episodes")


class _Segment:
    """The steps sampled since the current episodes (one per env) started or were last cut, after
    ``lookback`` steps of the previous chunk (RLlib's ``cut(len_lookback_buffer=...)``)."""

    def __init__(self, obs: list, state: list | None, t0: int, actions=(), rewards=(), extra=()):
        self.obs = list(obs)  # [B, N, D] each; lookback + steps + 1 of them
        self.state = list(state) if state is not None else None  # [B, S] each
        self.actions: list[np.ndarray] = list(actions)  # [B, N]
        self.rewards: list[np.ndarray] = list(rewards)  # [B, N], learner units
        self.extra: list[dict[str, np.ndarray]] = list(extra)  # column -> [B, N, ...]
        self.lookback = len(self.actions)
        self.t0 = t0

    @property
    def steps(self) -> int:
        return len(self.actions) - self.lookback

    def successor(self, lookback: int) -> _Segment:
        """The next chunk of the same episodes, with up to ``lookback`` steps of this one."""
        k = min(lookback, len(self.actions))
        tail = slice(len(self.actions) - k, None)
        return _Segment(self.obs[-k - 1:], self.state[-k - 1:] if self.state is not None else None, self.t0 + self.steps,
                        self.actions[tail], self.rewards[tail], self.extra[tail])


class DCGridEnvRunner(MultiAgentEnvRunner):
    """A ``MultiAgentEnvRunner`` over the batched core (module docstring)."""

    def make_env(self):
        if self.env is not None:
            self.env.close()
        cfg = dict(self.config.env_config)
        self.sampler = cfg.pop("sampler", "arrays")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"env_config sampler={self.sampler!r} is invalid: allowed {', '.join(SAMPLERS)}")
        self.env = DCGridVectorMultiAgentEnv(cfg, num_envs=self.config.num_envs_per_env_runner,
                                             worker_index=self.worker_index or 0)
        self.num_envs = self.env.num_envs
        self._needs_initial_reset = True
        self._fast = None  # decided once the module and connectors exist (first sample)

    # ------------------------------------------------------------------ which loop
    def _fast_path_ok(self) -> bool:
        c = self.config
        defaults = (c._env_to_module_connector is None and c._module_to_env_connector is None
                    and c.add_default_connectors_to_env_to_module_pipeline
                    and c.add_default_connectors_to_module_to_env_pipeline)
        no_callbacks = not any(getattr(c, a) for a in dir(c) if a.startswith("callbacks_on_")) and \
            all(type(cb).__name__ == "RLlibCallback" for cb in self._callbacks)
        stateless = self.module is not None and not any(m.is_stateful() for m in self.module.values())
        return self.sampler == "arrays" and defaults and no_callbacks and stateless

    def _sample(self, *, num_timesteps=None, num_episodes=None, explore, random_actions=False, force_reset=False):
        import numba

        # The batched core's numba kernels run one thread per core from 16 envs on; an env runner
        # holds num_cpus_per_env_runner CPUs (default 1), and more threads than that only contend
        # with the other runners and the learner (6x slower per step on a busy 2-core machine).
        before = numba.get_num_threads()
        numba.set_num_threads(max(1, min(int(self.config.num_cpus_per_env_runner or 1), numba.config.NUMBA_NUM_THREADS)))
        try:
            return self._sample_with(num_timesteps=num_timesteps, num_episodes=num_episodes, explore=explore,
                                     random_actions=random_actions, force_reset=force_reset)
        finally:
            numba.set_num_threads(before)

    def _sample_with(self, *, num_timesteps, num_episodes, explore, random_actions, force_reset):
        if self._fast is None:
            self._fast = self._fast_path_ok()
            if self._fast:
                self._setup_fast()
        if not self._fast:
            return super()._sample(num_timesteps=num_timesteps, num_episodes=num_episodes, explore=explore,
                                   random_actions=random_actions, force_reset=force_reset)
        return self._sample_arrays(num_timesteps=num_timesteps, num_episodes=num_episodes, explore=explore,
                                   random_actions=random_actions, force_reset=force_reset)

    # ------------------------------------------------------------------ array sampler
    def _setup_fast(self) -> None:
        env = self.env
        self._agents = env.possible_agents
        probe = MultiAgentEpisode(agent_to_module_mapping_fn=self.config.policy_mapping_fn)
        self._agent_module = {a: probe.module_for(a) for a in self._agents}
        groups: dict[str, list[int]] = {}
        for i, a in enumerate(self._agents):
            groups.setdefault(self._agent_module[a], []).append(i)
        self._groups = {m: np.asarray(ix) for m, ix in groups.items()}
        self._n_actions = env.single_action_spaces[self._agents[0]].n
        self._rng = np.random.default_rng(self._seed)
        self._seg: _Segment | None = None

    def _reset_all(self) -> None:
        env = self.env
        obs = env.reset_arrays(seed=self._seed if self._needs_initial_reset else None)
        self._needs_initial_reset = False
        self._seg = _Segment([obs], [env.global_state()] if env.central else None, 0)
        self._ep_ids = [uuid.uuid4().hex for _ in range(env.num_envs)]
        # Chunks of one episode share its ids (RLlib's replay buffers concatenate them by id).
        self._agent_ep_ids = [{a: uuid.uuid4().hex for a in self._agents} for _ in range(env.num_envs)]
        self._ep_return = np.zeros((env.num_envs, env.n_agents))
        self._ep_start = time.perf_counter()

    def _module_input(self, obs: np.ndarray, state: np.ndarray | None, idx: np.ndarray):
        import torch

        o = torch.from_numpy(np.ascontiguousarray(obs[:, idx].reshape(-1, obs.shape[-1])))
        if state is None:
            return {Columns.OBS: o.to(self._device)}
        s = torch.from_numpy(np.repeat(state, len(idx), axis=0))  # row b * len(idx) + k reads env b's state
        return {Columns.OBS: {"obs": o.to(self._device), "state": s.to(self._device)}}

    def _act(self, obs, state, explore: bool, random_actions: bool, t: int):
        """Actions ``[B, N]`` and extra model outputs (column -> ``[B, N, ...]``)."""
        import torch

        nb, n = obs.shape[:2]
        if random_actions:
            return self._rng.integers(0, self._n_actions, (nb, n)), {}
        batch = {m: self._module_input(obs, state, ix) for m, ix in self._groups.items()}
        with torch.no_grad():
            out = (self.module.forward_exploration(batch, t=t) if explore else self.module.forward_inference(batch))
            actions = np.empty((nb, n), np.int64)
            extra: dict[str, np.ndarray] = {}
            for m, ix in self._groups.items():
                o = dict(out[m])
                if Columns.ACTIONS not in o:  # as RLlib's GetActions connector
                    mod = self.module[m]
                    cls = mod.get_exploration_action_dist_cls() if explore else mod.get_inference_action_dist_cls()
                    dist = cls.from_logits(o[Columns.ACTION_DIST_INPUTS])
                    if not explore:
                        dist = dist.to_deterministic()
                    o[Columns.ACTIONS] = dist.sample()
                    if Columns.ACTION_LOGP not in o:
                        o[Columns.ACTION_LOGP] = dist.logp(o[Columns.ACTIONS])
                for k, v in o.items():
                    v = v.detach().cpu().numpy().reshape((nb, len(ix)) + tuple(v.shape[1:]))
                    if k == Columns.ACTIONS:
                        actions[:, ix] = v
                    else:
                        if k not in extra:
                            extra[k] = np.empty((nb, n) + v.shape[2:], v.dtype)
                        extra[k][:, ix] = v
        return actions, extra

    def _episodes(self, seg: _Segment, done: bool) -> list[MultiAgentEpisode]:
        """One ``MultiAgentEpisode`` chunk per env from ``seg`` (RLlib's public constructor)."""
        env, ag = self.env, self._agents
        T = len(seg.actions)  # lookback included
        obs = np.stack(seg.obs, axis=1)  # [B, T + 1, N, D]
        act = np.stack(seg.actions, axis=1)  # [B, T, N]
        rew = np.stack(seg.rewards, axis=1).tolist()
        extra = {k: np.stack([e[k] for e in seg.extra], axis=1) for k in (seg.extra[0] if seg.extra else {})}
        if extra:  # as RLlib's loop: the weights' version travels with the model outputs, if any
            extra[WEIGHTS_SEQ_NO] = np.full(act.shape, self._weights_seq_no)
        state = np.stack(seg.state, axis=1) if seg.state is not None else None  # [B, T + 1, S]
        out = []
        for b in range(env.num_envs):
            if state is None:
                o = [dict(zip(ag, obs[b, t], strict=True)) for t in range(T + 1)]
            else:
                o = [{a: {"obs": x, "state": state[b, t]} for a, x in zip(ag, obs[b, t], strict=True)} for t in range(T + 1)]
            a = [dict(zip(ag, act[b, t], strict=True)) for t in range(T)]
            r = [dict(zip(ag, rew[b][t], strict=True)) for t in range(T)]
            cols = [(k, v[b]) for k, v in extra.items()]
            x = [{a_: {k: v[t, i] for k, v in cols} for i, a_ in enumerate(ag)} for t in range(T)]
            ep = MultiAgentEpisode(
                id_=self._ep_ids[b], agent_episode_ids=self._agent_ep_ids[b], observations=o, actions=a, rewards=r, extra_model_outputs=x,
                observation_space=env.single_observation_space, action_space=env.single_action_space,
                terminateds=dict.fromkeys(ag, False) | {"__all__": False},
                truncateds=dict.fromkeys(ag, done) | {"__all__": done},
                env_t_started=seg.t0, agent_t_started=dict.fromkeys(ag, seg.t0), len_lookback_buffer=seg.lookback,
                agent_module_ids=self._agent_module, agent_to_module_mapping_fn=self.config.policy_mapping_fn,
            )
            out.append(ep.to_numpy() if self.episodes_to_numpy else ep)
        return out

    def _sample_arrays(self, *, num_timesteps, num_episodes, explore, random_actions, force_reset):
        env = self.env
        nb, n = env.num_envs, env.n_agents
        if force_reset or num_episodes is not None or self._needs_initial_reset or self._seg is None:
            self._reset_all()
        if num_episodes is not None:
            self._needs_initial_reset = True
        by_agents = self.config.count_steps_by == "agent_steps"
        mult = env.reward_multiplier
        timers = dict.fromkeys(TIMER_KEYS, 0.0)
        done_eps: list[MultiAgentEpisode] = []
        env_ts = eps = 0
        seg = self._seg
        lifetime0 = self.num_env_steps_sampled_lifetime // (self.config.num_env_runners or 1)

        def more() -> bool:
            if num_timesteps is None:
                return eps < num_episodes
            return (env_ts * n if by_agents else env_ts) < num_timesteps

        while more():
            t0 = time.perf_counter()
            t_global = (lifetime0 + env_ts) * (self.config.num_env_runners or 1)
            actions, extra = self._act(seg.obs[-1], seg.state[-1] if seg.state else None, explore, random_actions, t_global)
            t1 = time.perf_counter()
            obs, rew, done = env.step_arrays(actions)
            st = env.global_state() if env.central else None
            t2 = time.perf_counter()
            rew = rew * mult
            seg.actions.append(actions)
            seg.rewards.append(rew)
            seg.extra.append(extra)
            seg.obs.append(obs)
            if st is not None:
                seg.state.append(st)
            self._ep_return += rew
            env_ts += nb
            timers["module"] += t1 - t0
            timers["env"] += t2 - t1
            if done:
                t3 = time.perf_counter()
                done_eps.extend(self._episodes(seg, done=True))
                self._log_done_episodes(seg.t0 + seg.steps)
                eps += nb
                self._reset_all()
                seg = self._seg
                timers["episodes"] += time.perf_counter() - t3
        chunks = []
        if num_timesteps is not None and seg.steps:
            t3 = time.perf_counter()
            chunks = self._episodes(seg, done=False)
            self._seg = seg.successor(self.config.episode_lookback_horizon)
            timers["episodes"] += time.perf_counter() - t3
        self._log_counts(env_ts, n)
        for k, v in timers.items():
            self.metrics.log_value(("gridshift", "sampling_s", k), v, reduce="sum")
        return done_eps + chunks

    def _log_counts(self, env_ts: int, n: int) -> None:
        m = self.metrics
        m.log_value(NUM_ENV_STEPS_SAMPLED, env_ts, reduce="sum")
        m.log_value(NUM_ENV_STEPS_SAMPLED_LIFETIME, env_ts, reduce="lifetime_sum", with_throughput=True)
        per_module: dict[str, int] = {}
        for a in self._agents:
            m.log_value((NUM_AGENT_STEPS_SAMPLED, a), env_ts, reduce="sum")
            m.log_value((NUM_AGENT_STEPS_SAMPLED_LIFETIME, a), env_ts, reduce="lifetime_sum")
            mid = self._agent_module[a]
            per_module[mid] = per_module.get(mid, 0) + env_ts
        for mid, k in per_module.items():
            m.log_value((NUM_MODULE_STEPS_SAMPLED, mid), k, reduce="sum")
            m.log_value((NUM_MODULE_STEPS_SAMPLED_LIFETIME, mid), k, reduce="lifetime_sum")

    def _log_done_episodes(self, length: int) -> None:
        sec = time.perf_counter() - self._ep_start
        for b in range(self.env.num_envs):
            r = self._ep_return[b]
            agents = {a: float(x) for a, x in zip(self._agents, r, strict=True)}
            modules: dict[str, float] = {}
            for a, x in agents.items():
                modules[self._agent_module[a]] = modules.get(self._agent_module[a], 0.0) + x
            self._log_episode_metrics(length, float(r.sum()), sec, agents, modules, dict.fromkeys(self._agents, length))
        self.metrics.log_value(NUM_EPISODES, self.env.num_envs, reduce="sum")
        self.metrics.log_value(NUM_EPISODES_LIFETIME, self.env.num_envs, reduce="lifetime_sum")


__all__ = ["DCGridEnvRunner", "SAMPLERS", "TIMER_KEYS"]
