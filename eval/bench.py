"""Benchmarks. Each prints its figures and returns a JSON-ready dict (`gridshift bench`).

Speed targets are checked here, never in timed unit tests: the CI machines are noisy.
"""

from __future__ import annotations

import time

import numpy as np

from gridshift.data.synthetic import default_grid_params
from gridshift.envs.grid import Exogenous, GridState, clear, initial_state


def _timeit(fn, min_seconds: float) -> tuple[int, float]:
    fn()  # warm-up (and JIT compilation)
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_seconds:
            return n, dt


def bench_grid(batch_sizes=(1, 256, 4096), min_seconds: float = 2.0, seed: int = 0) -> dict:
    """Copper-plate clearings per second on the default fleet, with ramp limits active.

    Each row clears a different operating point (demand 30-62 GW, renewables 0-28 GW) and
    carries its dispatch from the previous call, as inside an environment step.
    """
    params = default_grid_params()
    rows = []
    for nb in batch_sizes:
        rng = np.random.default_rng(seed)
        exs = [
            Exogenous(rng.uniform(30e3, 62e3, nb), rng.uniform(0, 8e3, nb), rng.uniform(0, 20e3, nb))
            for _ in range(8)
        ]
        dc = rng.uniform(0, 6e3, nb)
        state = [initial_state(params, exs[0], dc)]
        i = [0]

        def step(exs=exs, dc=dc, state=state, i=i):
            i[0] = (i[0] + 1) % len(exs)
            state[0], _ = clear(params, state[0], exs[i[0]], dc)

        n, dt = _timeit(step, min_seconds)
        row = {"batch": nb, "calls": n, "seconds": dt, "clearings_per_s": n * nb / dt, "us_per_call": 1e6 * dt / n}
        rows.append(row)
        print(f"grid clear  batch={nb:>5}  {row['clearings_per_s']:>12,.0f} clearings/s  ({row['us_per_call']:,.1f} us/call)")
    return {"benchmark": "grid", "fleet_units": params.fleet.n_units, "target_clearings_per_s_at_4096": 200_000, "results": rows}


# Training throughput lives in its own module (moved there whole); re-exported for `gridshift bench`.
from gridshift.eval.bench_train import bench_train, run_stage  # noqa: E402

__all__ = ["bench_grid", "bench_env", "bench_eval", "bench_train", "run_stage", "GridState"]


class NullParallelEnv:
    """A ``ParallelEnv`` with the same agents and spaces and no dynamics: the adapter floor."""

    metadata = {"name": "null_v0"}

    def __init__(self, template, info_keys: tuple[str, ...] = ()):
        self.info_keys = tuple(info_keys)
        self.possible_agents = list(template.possible_agents)
        self._obs_space = template.observation_space(self.possible_agents[0])
        self._act_space = template.action_space(self.possible_agents[0])
        self._obs = np.zeros(self._obs_space.shape, np.float32)
        self.horizon = template.scenario.horizon_steps

    def observation_space(self, agent):
        return self._obs_space

    def action_space(self, agent):
        return self._act_space

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self._t = 0
        return {a: self._obs for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions):
        self._t += 1
        done = self._t >= self.horizon
        obs = {a: self._obs for a in self.agents}
        rew = {a: 0.0 for a in self.agents}
        term = {a: False for a in self.agents}
        trunc = {a: done for a in self.agents}
        info = {a: dict.fromkeys(self.info_keys, 0.0) for a in self.agents}
        if done:
            self.agents = []
        return obs, rew, term, trunc, info


def _pz_steps_per_s(env, min_seconds):
    """Env-steps/s of full episodes through ``step`` (resets excluded from the timing)."""
    steps, busy = 0, 0.0
    env.reset(seed=0)
    acts = None
    while busy < min_seconds:
        if not env.agents:
            env.reset(seed=steps)
        if acts is None or len(acts) != len(env.agents):
            acts = {a: 0 for a in env.agents}
        t0 = time.perf_counter()
        env.step(acts)
        busy += time.perf_counter() - t0
        steps += 1
    return steps / busy


def _adapter_us_direct(env, min_seconds):
    """Microseconds per ``env.step`` spent outside ``core.step`` and ``core.observe``: the
    adapter's own cost, timed inside the same calls (the two wrappers' cost is included)."""
    from gridshift.envs.dcgrid import core

    inner = [0.0]
    orig_step, orig_observe = core.step, core.observe

    def timed(fn):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            out = fn(*args, **kwargs)
            inner[0] += time.perf_counter() - t0
            return out
        return wrapper

    core.step, core.observe = timed(orig_step), timed(orig_observe)
    try:
        env.reset(seed=0)
        inner[0] = 0.0
        acts = {a: 0 for a in env.agents}
        steps, busy = 0, 0.0
        while busy < min_seconds:
            if not env.agents:
                t_inner = inner[0]
                env.reset(seed=steps)
                inner[0] = t_inner  # resets (warm-up) are not timed
            t0 = time.perf_counter()
            env.step(acts)
            busy += time.perf_counter() - t0
            steps += 1
    finally:
        core.step, core.observe = orig_step, orig_observe
    return 1e6 * (busy - inner[0]) / steps


def _core_steps_per_s(scenario_kw, num_envs, min_seconds):
    from gridshift.envs.dcgrid import core
    from gridshift.envs.dcgrid.vector import DCGridVectorEnv

    v = DCGridVectorEnv(num_envs=num_envs, autoreset=False, **scenario_kw)
    rng = np.random.default_rng(0)
    act = np.ones((num_envs, v.n_agents, 4))
    act[..., 3] = 0.0
    steps, busy = 0, 0.0
    v.reset(seed=0)
    nbytes = sum(x.nbytes for x in vars(v.state).values() if isinstance(x, np.ndarray))
    nbytes += sum(x.nbytes for x in vars(v.state.jobs).values() if isinstance(x, np.ndarray))
    while busy < min_seconds:
        if v._steps >= v.scenario.horizon_steps:
            v.reset()
        t0 = time.perf_counter()
        core.step(v.params, v.state, act, rng)
        core.observe(v.params, v.state, rng)
        busy += time.perf_counter() - t0
        v._steps += 1
        steps += 1
    return steps / busy, nbytes


def bench_env(min_seconds: float = 2.0, quick: bool = False) -> dict:
    """Throughput of ``datacenter_grid_v0``: PettingZoo API, batched core, null env, scaling."""
    import resource

    from gridshift.envs import datacenter_grid_v0

    res: dict = {"benchmark": "env", "targets": {
        "pz_env_steps_per_s_at_8_dcs": 5000, "core_agent_steps_per_s_at_256x8": 1_000_000,
        "adapter_overhead_over_null_max_ratio": 2.0, "env_steps_per_s_at_1000_dcs": 100}}
    pz = datacenter_grid_v0.parallel_env(n_datacenters=8)
    pz.reset(seed=0)
    _, _, _, _, inf = pz.step({a: 0 for a in pz.agents})
    null, null_info = NullParallelEnv(pz), NullParallelEnv(pz, tuple(inf["dc_0"]))
    pz_lean = datacenter_grid_v0.parallel_env(n_datacenters=8, infos="none")
    # The adapter overhead is a difference of two timings, so a noisy neighbour easily
    # swamps it: the four are measured in interleaved rounds and each figure is the median
    # over rounds (the ratios are medians of the per-round ratios).
    rounds = 7
    per = max(min_seconds / rounds, 0.05)
    pz_us, core_us, null_us_r, null_info_us_r, direct_us, lean_us = [], [], [], [], [], []
    for _ in range(rounds):
        pz_us.append(1e6 / _pz_steps_per_s(pz, per))
        core_us.append(1e6 / _core_steps_per_s({"n_datacenters": 8}, 1, per)[0])
        null_us_r.append(1e6 / _pz_steps_per_s(null, per / 4))
        null_info_us_r.append(1e6 / _pz_steps_per_s(null_info, per / 4))
        direct_us.append(_adapter_us_direct(pz, per))
        lean_us.append(_adapter_us_direct(pz_lean, per))
    over = [p - c for p, c in zip(pz_us, core_us, strict=True)]

    def median_ratio(num, den):  # median of the per-round ratios
        return float(np.median(np.divide(num, den)))

    pz_rate, core1 = 1e6 / np.median(pz_us), 1e6 / np.median(core_us)
    null_us, null_info_us = float(np.median(null_us_r)), float(np.median(null_info_us_r))
    null_rate, null_info_rate = 1e6 / null_us, 1e6 / null_info_us
    overhead_us, direct, lean = (float(np.median(x)) for x in (over, direct_us, lean_us))
    ratio, ratio_info = median_ratio(over, null_us_r), median_ratio(over, null_info_us_r)
    d_ratio, d_ratio_info = median_ratio(direct_us, null_us_r), median_ratio(direct_us, null_info_us_r)
    lean_ratio = median_ratio(lean_us, null_us_r)
    res["pettingzoo_8_dcs"] = {"env_steps_per_s": pz_rate, "agent_steps_per_s": 8 * pz_rate, "us_per_step": 1e6 / pz_rate}
    res["core_batch1_8_dcs"] = {"env_steps_per_s": core1, "us_per_step": 1e6 / core1}
    res["null_parallel_env_8_agents"] = {"env_steps_per_s": null_rate, "us_per_step": null_us}
    res["null_parallel_env_8_agents_same_info_keys"] = {"env_steps_per_s": null_info_rate, "us_per_step": null_info_us}
    res["adapter"] = {"overhead_us": overhead_us, "null_us": null_us, "ratio": ratio,
                      "null_same_info_us": null_info_us, "ratio_same_info": ratio_info, "rounds": rounds,
                      "overhead_us_per_round": over,
                      "direct_us": direct, "direct_ratio": d_ratio, "direct_ratio_same_info": d_ratio_info,
                      "direct_us_infos_none": lean, "direct_ratio_infos_none": lean_ratio}
    print(f"PettingZoo ParallelEnv, 8 DCs : {pz_rate:>10,.0f} env-steps/s  ({1e6 / pz_rate:.0f} us/step)")
    print(f"batched core, batch 1, 8 DCs  : {core1:>10,.0f} env-steps/s  ({1e6 / core1:.0f} us/step)")
    print(f"null ParallelEnv, 8 agents    : {null_rate:>10,.0f} env-steps/s  ({null_us:.0f} us/step)")
    print(f"null ParallelEnv, same infos  : {null_info_rate:>10,.0f} env-steps/s  ({null_info_us:.0f} us/step)")
    print(f"adapter overhead (PZ - core)  : {overhead_us:>10.1f} us = {ratio:.2f} x null step with empty infos, "
          f"{ratio_info:.2f} x null step with the same info keys (target <= 2; medians of {rounds} interleaved rounds)")
    print(f"adapter overhead, direct      : {direct:>10.1f} us = {d_ratio:.2f} x null step with empty infos, "
          f"{d_ratio_info:.2f} x null step with the same info keys (env.step minus the time inside core.step/observe)")
    print(f"adapter overhead, infos=none  : {lean:>10.1f} us = {lean_ratio:.2f} x null step with empty infos (direct)")

    batches = (1, 16, 64, 256) if not quick else (1, 16)
    res["batch_scaling_8_dcs"] = []
    for nb in batches:
        rate, nbytes = _core_steps_per_s({"n_datacenters": 8}, nb, min_seconds)
        row = {"batch": nb, "env_steps_per_s": rate * nb, "agent_steps_per_s": rate * nb * 8, "state_mib": nbytes / 2**20}
        res["batch_scaling_8_dcs"].append(row)
        print(f"batched core {nb:>4} envs x 8 DCs: {row['agent_steps_per_s']:>12,.0f} agent-steps/s  state {row['state_mib']:.1f} MiB")

    ns = (4, 16, 64, 256, 1000) if not quick else (4, 64)
    res["agent_scaling_pettingzoo"] = []
    for n in ns:
        env = datacenter_grid_v0.parallel_env(n_datacenters=n)
        rate = _pz_steps_per_s(env, min_seconds)
        _, nbytes = _core_steps_per_s({"n_datacenters": n}, 1, 0.05)
        row = {"n_datacenters": n, "env_steps_per_s": rate, "agent_steps_per_s": rate * n, "state_mib": nbytes / 2**20}
        res["agent_scaling_pettingzoo"].append(row)
        print(f"PettingZoo {n:>5} DCs: {rate:>10,.0f} env-steps/s  {rate * n:>12,.0f} agent-steps/s  state {row['state_mib']:.1f} MiB")
    res["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {res['peak_rss_mib']:.0f} MiB")
    return res


def bench_eval(policies=None, seeds=(0, 1), min_seconds: float = 0.0) -> dict:
    """Evaluation throughput of heuristics at 8 DCs: episode steps/s including the policy,
    per-step recording, the ledger and the metrics (warm-up and reset excluded)."""
    from gridshift.agents.heuristics import HEURISTICS
    from gridshift.agents.registry import make_policy
    from gridshift.eval.runner import episode_metrics, run_episode

    policies = policies or sorted(HEURISTICS)
    episode_metrics(run_episode(make_policy("fifo"), "default", 0))  # load the compiled kernels first
    rows = []
    for name in policies:
        steps, busy = 0, 0.0
        for seed in seeds:
            pol = make_policy(name)
            t0 = time.perf_counter()
            rec = run_episode(pol, "default", seed)
            episode_metrics(rec)
            busy += time.perf_counter() - t0
            steps += rec.steps
        rate = steps / busy
        rows.append({"policy": name, "env_steps_per_s": rate})
        print(f"evaluate {name:<24} {rate:>8,.0f} env-steps/s at 8 DCs (incl. reset, warm-up, recording, metrics)")
    return {"benchmark": "eval", "target_env_steps_per_s": 1000, "results": rows}
