"""Training throughput (`gridshift bench train`): SB3 and RLlib on the default scenario (8 DCs).

Stages, each in its own process under a time limit (:func:`run_stage`), so none can hang the run:

* ``sb3_ppo_{8,32}_envs``: SB3 PPO through :class:`~gridshift.training.sb3_vec.DCGridSB3VecEnv`,
  SB3's own ``collect_rollouts`` (policy forward + adapter + batched core) and a full ``learn``;
* ``rllib_sampling_paths``: RLlib PPO's env runner sampling through each env path in **one Ray
  session, in interleaved rounds** (a busy machine slows every path alike; the figures are
  medians over rounds): RLlib's ``ParallelPettingZooEnv`` (1 env, as before this path existed,
  and ``num_envs`` envs), the batched env under RLlib's own sampling loop, and the native array
  sampler. The ratio native / PettingZoo is the headline; one sampling call of each path is then
  profiled (cProfile) and its own time split into the env, torch, RLlib's episode bookkeeping,
  RLlib's connectors, RLlib's metrics and the rest;
* ``rllib_ppo_{k}_runners``: RLlib PPO (native env) with ``k`` remote env runners: sampled
  env-steps/s over RLlib's own sampling timer, and over whole iterations (learning included).

A stage that cannot run here (a library missing, more env runners than CPUs) is ``skipped`` with
the reason; one that runs past its limit is killed and reported as ``timeout``.
"""

from __future__ import annotations

import time

N_DC = 8
#: Profile categories, in the order they are printed.
PROFILE_PARTS = ("env", "torch", "rllib_episodes", "rllib_connectors", "rllib_metrics", "rllib_other", "gridshift_sampler",
                 "numpy", "other")


def _stage_sb3(num_envs: int, iterations: int) -> dict:
    """SB3 PPO through the VecEnv adapter: sampling and full-loop agent-steps/s."""
    import torch
    from stable_baselines3 import PPO

    from gridshift.training.sb3_vec import DCGridSB3VecEnv

    torch.set_num_threads(1)
    venv = DCGridSB3VecEnv("default", num_envs=num_envs, seed=0, action_mode="discrete")
    model = PPO("MlpPolicy", venv, n_steps=64, batch_size=1024, n_epochs=4, policy_kwargs={"net_arch": [64, 64]},
                device="cpu", seed=0, verbose=0)
    model.learn(total_timesteps=venv.num_envs * 64)  # warm-up: kernels compiled, buffers allocated
    _, callback = model._setup_learn(total_timesteps=10**9, callback=None, reset_num_timesteps=False)
    callback.on_training_start(locals(), globals())
    t0 = time.perf_counter()
    steps = 0
    for _ in range(iterations * 2):
        model.collect_rollouts(model.env, callback, model.rollout_buffer, n_rollout_steps=model.n_steps)
        steps += model.n_steps * venv.num_envs
    sample_rate = steps / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    n = iterations * model.n_steps * venv.num_envs
    model.learn(total_timesteps=n, reset_num_timesteps=False)
    learn_rate = n / (time.perf_counter() - t0)
    return {"library": "sb3", "algo": "ppo", "num_envs": num_envs, "slots": venv.num_envs,
            "sampled_agent_steps_per_s": sample_rate, "sampled_env_steps_per_s": sample_rate / N_DC,
            "learn_agent_steps_per_s": learn_rate}


def _profile_parts(stats) -> dict[str, float]:
    """Own time (seconds) of a cProfile run, by the code it was spent in."""
    parts = dict.fromkeys(PROFILE_PARTS, 0.0)
    for (path, _, func), (_, _, tt, _, _) in stats.stats.items():
        p = path.replace("\\", "/")
        if path == "~":  # a built-in: named by what it belongs to
            key = "torch" if "torch" in func else "numpy" if "numpy" in func else "other"
        elif "/site-packages/torch/" in p:
            key = "torch"
        elif "/ray/rllib/env/" in p and ("episode" in p or "infinite_lookback" in p):
            key = "rllib_episodes"
        elif "/ray/rllib/connectors/" in p:
            key = "rllib_connectors"
        elif "/ray/rllib/utils/metrics/" in p:
            key = "rllib_metrics"
        elif "/ray/rllib/" in p:
            key = "rllib_other"
        elif "/site-packages/numpy/" in p:
            key = "numpy"
        elif "/site-packages/" not in p and ("/envs/" in p or "/data/" in p):
            key = "env"
        elif "/site-packages/" not in p and "/training/" in p:
            key = "gridshift_sampler"
        else:
            key = "other"
        parts[key] += tt
    return parts


#: The env paths the sampling stage compares: (name, env_impl, envs per runner or None = num_envs).
PATHS = (("pettingzoo_1_env", "pettingzoo", 1), ("pettingzoo", "pettingzoo", None),
         ("native_rllib_loop", "native_rllib_loop", None), ("native", "native", None))


def _stage_rllib_paths(num_envs: int, steps: int, rounds: int) -> dict:
    """RLlib PPO sampling, every env path in one Ray session and interleaved rounds (module docstring)."""
    import cProfile
    import pstats

    import numpy as np
    import ray
    import torch

    from gridshift.training.rllib_config import RLlibConfig, build_config

    torch.set_num_threads(1)  # as gridshift train rllib (and sb3) run
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    algos = {}
    try:
        for name, impl, b in PATHS:
            conf, _ = build_config(RLlibConfig(env_impl=impl, num_envs_per_env_runner=b or num_envs, overrides={"n_datacenters": N_DC}))
            algos[name] = conf.build_algo()
            algos[name].env_runner.sample(num_timesteps=min(steps, 1000))  # warm-up
        rates = {name: [] for name in algos}
        for _ in range(rounds):
            for name, algo in algos.items():
                t0 = time.perf_counter()
                eps = algo.env_runner.sample(num_timesteps=steps)
                dt = time.perf_counter() - t0
                rates[name].append(sum(len(e) for e in eps) / dt)
        er = algos["native"].env_runner
        er.get_metrics()  # drop what the timed rounds logged
        t0 = time.perf_counter()
        er.sample(num_timesteps=steps)
        wall = time.perf_counter() - t0
        own = {k: float(np.asarray(getattr(v, "peek", lambda v=v: v)())) for k, v in
               er.get_metrics().get("gridshift", {}).get("sampling_s", {}).items()}
        profiles = {}
        for name, algo in algos.items():
            pr = cProfile.Profile()
            pr.enable()
            algo.env_runner.sample(num_timesteps=steps)
            pr.disable()
            st = pstats.Stats(pr)
            parts = _profile_parts(st)
            total = sum(parts.values())
            profiles[name] = {"total_s": total, **{k: v / total for k, v in parts.items()}}
    finally:
        for algo in algos.values():
            algo.stop()
        ray.shutdown()
    med = {name: float(np.median(r)) for name, r in rates.items()}
    return {"library": "rllib", "algo": "ppo", "num_envs": num_envs, "steps_per_round": steps, "rounds": rounds,
            "env_steps_per_s": med, "agent_steps_per_s": {k: v * N_DC for k, v in med.items()},
            "env_steps_per_s_per_round": rates,
            "ratio_native_vs_pettingzoo_1_env": med["native"] / med["pettingzoo_1_env"],
            "ratio_native_vs_pettingzoo": med["native"] / med["pettingzoo"],
            "native_breakdown_s": {"wall": wall, **own, "rllib_rest": wall - sum(own.values())},
            "profile_share": profiles}


def _stage_rllib(num_env_runners: int, iterations: int, quick: bool) -> dict:
    """RLlib PPO (shared parameters, native env): sampled and whole-iteration env-steps/s.

    Whole iterations are timed here around ``algo.train()``. Sampling: with 0 runners, the local
    runner's ``sample`` calls are timed here too; with remote runners, RLlib's own sampling timer
    is read (a moving average over iterations, so it lags)."""
    import ray
    import torch

    from gridshift.training.rllib_config import RLlibConfig, build_config

    torch.set_num_threads(1)
    ray.init(num_cpus=max(2, num_env_runners + 1), include_dashboard=False, log_to_driver=False)
    try:
        conf, _ = build_config(RLlibConfig(num_env_runners=num_env_runners, train_batch_size=2000 if quick else 4000,
                                           overrides={"n_datacenters": N_DC}))
        algo = conf.build_algo()
        algo.train()  # warm-up
        timed = [0.0]
        runner = algo.env_runner if num_env_runners == 0 else None
        if runner is not None:
            sample = runner.sample

            def timed_sample(*args, **kwargs):
                t0 = time.perf_counter()
                try:
                    return sample(*args, **kwargs)
                finally:
                    timed[0] += time.perf_counter() - t0

            runner.sample = timed_sample
        env_steps = agent_steps = sample_s = iter_s = 0.0
        for _ in range(iterations):
            t0 = time.perf_counter()
            r = algo.train()
            iter_s += time.perf_counter() - t0
            er = r.get("env_runners", {})
            env_steps += er.get("num_env_steps_sampled", 0)
            agent_steps += sum((er.get("num_agent_steps_sampled") or {}).values())
            if runner is None:
                sample_s += r.get("timers", {}).get("env_runner_sampling_timer", float("nan"))
        sample_s = timed[0] if runner is not None else sample_s
        algo.stop()
    finally:
        ray.shutdown()
    return {"library": "rllib", "algo": "ppo", "env_impl": "native", "num_env_runners": num_env_runners,
            "sampling_timed_by": "gridshift" if num_env_runners == 0 else "rllib (moving average)",
            "sampled_env_steps_per_s": env_steps / sample_s, "sampled_agent_steps_per_s": agent_steps / sample_s,
            "iteration_env_steps_per_s": env_steps / iter_s, "iteration_agent_steps_per_s": agent_steps / iter_s}


def _stage_sleep(seconds: float) -> dict:
    """A stage that only waits (to exercise the timeout path in tests)."""
    time.sleep(seconds)
    return {"slept_s": seconds}


def _stage_child(fn_name: str, args: tuple, queue) -> None:  # pragma: no cover - runs in a child process
    try:
        queue.put(("ok", globals()[fn_name](*args)))
    except BaseException as e:  # noqa: BLE001 - reported to the parent, never raised past it
        queue.put(("error", f"{e.__class__.__name__}: {e}"))


def run_stage(name: str, fn_name: str, args: tuple, timeout_s: float) -> dict:
    """Run one benchmark stage in a child process with a wall-clock limit. Returns its result row
    with ``status`` ``ok``, or a row saying which stage ``timeout``-ed or ``error``-ed and why;
    the child (and anything it started) is killed on a timeout, so a stage never hangs the run."""
    import multiprocessing as mp
    import queue as _queue

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=_stage_child, args=(fn_name, args, q), daemon=True)
    t0 = time.perf_counter()
    proc.start()
    try:
        kind, payload = q.get(timeout=timeout_s)
    except _queue.Empty:
        kind, payload = "timeout", None
    if kind == "timeout":
        proc.kill()
    proc.join(10)
    if proc.is_alive():
        proc.kill()
        proc.join(5)
    wall = time.perf_counter() - t0
    if kind == "ok":
        return {"stage": name, "status": "ok", "wall_s": wall, **payload}
    if kind == "timeout":
        return {"stage": name, "status": "timeout", "wall_s": wall,
                "why": f"no result within {timeout_s:g} s; the stage was killed"}
    return {"stage": name, "status": "error", "wall_s": wall, "why": payload}


def _print_paths(row: dict) -> None:
    r, a = row["env_steps_per_s"], row["agent_steps_per_s"]
    print(f"RLlib PPO sampling, 8 DCs, {row['rounds']} interleaved rounds of {row['steps_per_round']} env-steps (medians):")
    for name, _, b in PATHS:
        print(f"  {name:<20} {b or row['num_envs']:>3} envs  {r[name]:>9,.0f} env-steps/s {a[name]:>10,.0f} agent-steps/s")
    print(f"  native / ParallelPettingZooEnv: {row['ratio_native_vs_pettingzoo_1_env']:.1f}x (1 env), "
          f"{row['ratio_native_vs_pettingzoo']:.1f}x ({row['num_envs']} envs); target >= 5x")
    bd = row["native_breakdown_s"]
    print("  native, one sampling call: " + ", ".join(f"{k} {v:.3f} s" for k, v in bd.items()))
    for name, pr in row["profile_share"].items():
        print(f"  cProfile {name:<20} " + " ".join(f"{k} {100 * pr[k]:.0f}%" for k in PROFILE_PARTS if pr[k] >= 0.005))


def bench_train(iterations: int = 3, quick: bool = False, runners: tuple[int, ...] = (0, 2),
                stage_timeout_s: float = 600.0, num_envs: int = 16) -> dict:
    """Training throughput on the default scenario (8 DCs): the stages of the module docstring.

    One warm-up iteration (or sampling call) is excluded from each measurement. Every stage runs in
    its own process with a limit of ``stage_timeout_s`` and reports ``ok``, ``timeout`` or ``error``
    with the reason; a stage that cannot run on this machine (RLlib with ``k`` env runners needs
    ``k + 1`` CPUs, or a library that is not installed) is reported as ``skipped``, never waited on.
    """
    import importlib.util
    import os

    iterations = 1 if quick else iterations
    cpus = os.cpu_count() or 1
    rows = []

    def report(row: dict) -> None:
        rows.append(row)
        st = row["status"]
        if st != "ok":
            print(f"{row['stage']}: {st.upper()} ({row['why']})")
        elif row["library"] == "sb3":
            print(f"SB3 PPO via VecEnv adapter, {row['num_envs']:>3} envs x {N_DC} DCs = {row['slots']:>4} slots: sampling "
                  f"{row['sampled_env_steps_per_s']:>9,.0f} env-steps/s {row['sampled_agent_steps_per_s']:>10,.0f} "
                  f"agent-steps/s; with learning {row['learn_agent_steps_per_s']:>9,.0f} agent-steps/s")
        elif "profile_share" in row:
            _print_paths(row)
        else:
            print(f"RLlib PPO (native env), {row['num_env_runners']} env runners: sampling {row['sampled_env_steps_per_s']:>9,.0f} "
                  f"env-steps/s {row['sampled_agent_steps_per_s']:>10,.0f} agent-steps/s; whole iterations "
                  f"{row['iteration_env_steps_per_s']:>9,.0f} env-steps/s {row['iteration_agent_steps_per_s']:>10,.0f} "
                  "agent-steps/s (learning included)")

    has_sb3, has_ray = importlib.util.find_spec("stable_baselines3") is not None, importlib.util.find_spec("ray") is not None
    for n in ((8,) if quick else (8, 32)):
        name = f"sb3_ppo_{n}_envs"
        if not has_sb3:
            report({"stage": name, "status": "skipped", "why": "stable-baselines3 is not installed (the train extra)"})
            continue
        report(run_stage(name, "_stage_sb3", (n, iterations), stage_timeout_s))
    if not has_ray:
        report({"stage": "rllib_sampling_paths", "status": "skipped", "why": "ray[rllib] is not installed (the train extra)"})
    else:
        steps, rounds = (800, 2) if quick else (2000, 3)
        report(run_stage("rllib_sampling_paths", "_stage_rllib_paths", (num_envs, steps, rounds), stage_timeout_s))
    for k in runners:
        name = f"rllib_ppo_{k}_runners"
        if not has_ray:
            report({"stage": name, "status": "skipped", "why": "ray[rllib] is not installed (the train extra)"})
        elif k + 1 > cpus:
            report({"stage": name, "status": "skipped",
                    "why": f"{k} env runners and the driver need {k + 1} CPUs; this machine has {cpus}, and RLlib "
                           "then waits for samples that never come"})
        else:
            report(run_stage(name, "_stage_rllib", (k, iterations, quick), stage_timeout_s))
    return {"benchmark": "train", "n_datacenters": N_DC, "target_sb3_sampled_agent_steps_per_s": 20_000,
            "target_rllib_native_vs_pettingzoo": 5.0, "stage_timeout_s": stage_timeout_s, "results": rows}
