"""The ``gridshift`` command line.

argparse (standard library) rather than typer/click: one fewer dependency, and subcommands
with typed options are all this CLI needs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gridshift import __version__
from gridshift.eval.protocol import DEFAULT_EVAL_SEEDS

#: ``gridshift.eval.cascade.SWEEPS`` (named here so that building the parser imports no pandas;
#: a test keeps the two equal).
CASCADE_SWEEPS = ("phase", "adequacy", "emergency", "stagger", "price_band", "resume_band", "virginia", "em_checks")


def _write_json(obj: dict, out_dir: str | None, name: str) -> None:
    if not out_dir:
        return
    path = Path(out_dir)
    path.mkdir(parents=True, exist_ok=True)
    f = path / name
    f.write_text(json.dumps(obj, indent=2) + "\n")
    print(f"wrote {f}")


#: What `gridshift leaderboard` ranks when no --policies are given (--policy adds to them).
#: The anchors fifo (score 0) and oracle (score 100) are always added.
LEADERBOARD_BASELINES = ("fifo", "oracle", "gas_literal", "gas_intent", "gas_stagger", "hold_e2e3", "hold_all", "random")
DEMO_POLICIES = ["fifo", "oracle", "hold_e2e3", "hold_all", "gas_literal", "gas_intent", "gas_stagger", "gas_fallback", "renewable_greedy", "sb3_ppo", "sb3_dqn",
                 "rllib_ppo", "rllib_dqn",
                 "price_threshold", "carbon_forecast", "day_ahead", "random"]


def cmd_demo(args: argparse.Namespace) -> int:
    from gridshift.eval.demo import run_demo, run_demo_leaderboard

    if args.episode_only:
        run_demo(scenario=args.scenario, seed=args.seed)
        return 0
    run_demo_leaderboard(policies=args.policies or DEMO_POLICIES, scenario=args.scenario, seeds=_seeds(args.seeds),
                         out_dir=args.out)
    return 0


def _out_dir(path: str) -> str:
    """An output folder: refuse a path that is an existing file before any work is done."""
    if Path(path).exists() and not Path(path).is_dir():
        raise SystemExit(f"gridshift: --out {path} is a file: allowed a directory (it is created when missing)")
    return path


def _seeds(text):
    from gridshift.eval.runner import parse_seeds

    try:
        return parse_seeds(text)
    except ValueError as e:
        raise SystemExit(f"gridshift: {e}") from None


def _overrides(pairs):
    """``--set key=value`` pairs -> scenario overrides (values parsed as TOML scalars)."""
    import tomllib

    out = {}
    for item in pairs or []:
        if "=" not in item:
            raise SystemExit(f"gridshift: --set {item!r} is invalid: allowed KEY=VALUE")
        k, v = item.split("=", 1)
        try:
            out[k.strip()] = tomllib.loads(f"x = {v}")["x"]
        except tomllib.TOMLDecodeError:
            out[k.strip()] = v
    return out


def cmd_evaluate(args: argparse.Namespace) -> int:
    from gridshift.eval.leaderboard import Progress
    from gridshift.eval.runner import evaluate_run

    seeds = _seeds(args.seeds)
    bar = Progress(len(seeds), "runs")
    for seed in seeds:
        try:
            res = evaluate_run(args.policy, args.scenario, seed, out_dir=_out_dir(args.out), parquet=args.parquet,
                               overrides=_overrides(args.set))
        except ValueError as e:
            raise SystemExit(f"gridshift: {e}") from None
        bar.update(1, f"seed {seed}: social cost ${res['metrics']['social_cost_usd']:,.0f}")
        print(f"wrote {res['path']}")
    return 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from gridshift.eval.leaderboard import build_leaderboard

    try:
        policies = list(dict.fromkeys([*args.policies, *args.policy]))  # keep order, drop repeats
        res = build_leaderboard(policies, args.scenarios, _seeds(args.seeds), out_dir=_out_dir(args.out), runs_dir=args.runs,
                                overrides=_overrides(args.set), ray_address=args.ray_address, ray_num_cpus=args.ray_num_cpus)
    except ValueError as e:
        raise SystemExit(f"gridshift: {e}") from None
    print(res["paths"]["md"].read_text())
    print(f"leaderboard written to {args.out}/ (leaderboard.md/.csv/.json, outcome_*.png) in {res['wall_s']:.1f} s")
    return 0


def cmd_policies(args: argparse.Namespace) -> int:
    from gridshift.agents.registry import policy_descriptions

    rows = policy_descriptions()
    width = max(len(k) for k in rows)
    print("\n".join(f"{k.ljust(width)}  {v}" for k, v in rows.items()))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    import dataclasses
    import json
    from pathlib import Path

    # Only what the user typed overrides; the rest comes from the dataclass defaults or, with
    # --resume DIR, from DIR/config.json, so a resumed run continues with its own settings.
    given = {"algo": args.algo, "scenario": args.scenario, "stop_timesteps": args.stop_timesteps, "seed": args.seed,
             "run_dir": args.run_dir, "checkpoint_every": args.checkpoint_every}
    if args.set:
        given["overrides"] = _overrides(args.set)
    if args.library == "rllib":
        given |= {"sharing": args.sharing, "stop_iters": args.stop_iters, "num_env_runners": args.num_env_runners,
                  "ray_address": args.ray_address, "num_envs_per_env_runner": args.num_envs}
    else:
        given |= {"num_envs": args.num_envs}
    given = {k: v for k, v in given.items() if v is not None}
    try:
        if args.library == "rllib":
            from gridshift.training.rllib_train import RLlibConfig as Config
            from gridshift.training.rllib_train import train_rllib as train
        else:
            from gridshift.training.sb3_train import SB3Config as Config
            from gridshift.training.sb3_train import train_sb3 as train
        fields = {f.name for f in dataclasses.fields(Config)}
        hp = _hyperparameters(args.config, args.hp, Config)
        kw: dict = {}
        if args.resume:
            cfg_file = Path(args.resume) / "config.json"
            if not cfg_file.exists():
                raise FileNotFoundError(f"--resume {args.resume}: no config.json there (not a gridshift run directory)")
            kw = {k: v for k, v in json.loads(cfg_file.read_text()).items() if k in fields}
            for k in ("net_arch", "fcnet_hiddens"):
                if k in kw:
                    kw[k] = tuple(kw[k])
            kw |= {"run_dir": args.resume, "resume": True}
        else:
            kw["run_dir"] = f"runs/{args.library}_{given.get('algo', 'ppo')}"
        kw |= hp
        kw |= {k: v for k, v in given.items() if not (args.resume and k == "run_dir")}
        res = train(Config(**kw))
    except (ValueError, FileNotFoundError) as e:
        raise SystemExit(f"gridshift: {e}") from None
    print(json.dumps({k: str(v) for k, v in res.items()}))
    return 0


def _hyperparameters(config_file, pairs, config_cls) -> dict:
    """Training settings from ``--config FILE`` (TOML or JSON: a table of config fields) and
    ``--hp KEY=VALUE`` pairs (which win), checked against the config dataclass's fields."""
    import dataclasses
    import tomllib

    out: dict = {}
    if config_file:
        p = Path(config_file)
        if not p.is_file():
            raise SystemExit(f"gridshift: --config {config_file}: file not found")
        try:
            text = p.read_text(encoding="utf-8")
            out.update(json.loads(text) if p.suffix.lower() == ".json" else tomllib.loads(text))
        except (UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
            raise SystemExit(f"gridshift: --config {config_file}: not valid {'JSON' if p.suffix.lower() == '.json' else 'TOML'} ({e})") from None
    out.update(_overrides(pairs))
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(out) - set(fields))
    if unknown:
        raise SystemExit(f"gridshift: unknown training setting(s) {unknown} for {config_cls.__name__}: allowed {sorted(fields)}")
    for k, v in list(out.items()):
        if isinstance(v, list):
            out[k] = tuple(v)  # e.g. net_arch = [128, 128]
    return out


def cmd_cascade(args: argparse.Namespace) -> int:
    from gridshift.eval.cascade import run_cascade

    res = run_cascade(_out_dir(args.out), penetrations=tuple(args.penetrations), n_dcs=tuple(args.n_dcs),
                      widths=tuple(args.widths), bands=tuple(args.bands), windows=tuple(args.windows),
                      cell_n_dcs=args.cell_n_dcs, sweeps=tuple(args.sweeps), seeds=tuple(_seeds(args.seeds)),
                      horizon_steps=args.horizon_steps, scenario=args.scenario, overrides=_overrides(args.set))
    print(res["paths"]["report"].read_text())
    print(f"cascade study written to {args.out}/ in {res['wall_s']:.1f} s")
    return 0


def cmd_grid_day(args: argparse.Namespace) -> int:
    import math

    from gridshift.eval.grid_day import print_day_summary, simulate_grid_day

    if not (math.isfinite(args.dc_load_mw) and args.dc_load_mw >= 0):
        raise SystemExit(f"gridshift: --dc-load-mw {args.dc_load_mw!r} is invalid: allowed a finite load >= 0 MW")

    frame = simulate_grid_day(month=args.month, daytype=args.daytype, dc_load_mw=args.dc_load_mw, seed=args.seed)
    print_day_summary(frame, title=f"one simulated {args.daytype} in month {args.month} on the default grid, DC load {args.dc_load_mw:,.0f} MW")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from gridshift.eval.bench import bench_env, bench_eval, bench_grid, bench_train
    from gridshift.eval.provenance import run_metadata

    which = ["grid", "env", "eval", "train"] if args.which == "all" else [args.which]
    for w in which:
        if w == "grid":
            res = bench_grid(batch_sizes=tuple(args.batch_sizes), min_seconds=args.seconds)
        elif w == "env":
            res = bench_env(min_seconds=args.seconds, quick=args.quick)
        elif w == "train":
            res = bench_train(quick=args.quick, stage_timeout_s=args.stage_timeout)
        elif w == "network":
            from gridshift.eval.bench_network import bench_network

            res = bench_network(batch_sizes=(1, 16) if args.quick else (1, 16, 64), n_steps=48 if args.quick else 192,
                                year=not args.quick, stress=not args.quick)
        else:
            res = bench_eval(seeds=(0,) if args.quick else (0, 1))
        res["metadata"] = run_metadata()
        _write_json(res, args.out, f"bench_{w}.json")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gridshift", description="Multi-agent grid-aware compute scheduling on an endogenous grid.")
    p.add_argument("--version", action="version", version=f"gridshift {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="run the main job on the embedded default scenario: a small leaderboard")
    d.add_argument("--scenario", default="default")
    d.add_argument("--seeds", default=DEFAULT_EVAL_SEEDS, help=f"held-out evaluation seeds (default {DEFAULT_EVAL_SEEDS})")
    d.add_argument("--seed", type=int, default=0, help="episode seed with --episode-only")
    d.add_argument("--policies", nargs="+", default=None)
    d.add_argument("--out", default="demo-leaderboard")
    d.add_argument("--episode-only", action="store_true", help="one FIFO episode with its summary instead")
    d.set_defaults(func=cmd_demo)

    e = sub.add_parser("evaluate", help="run a policy on a scenario for some seeds; one JSON per run")
    e.add_argument("--policy", required=True, help="built-in name, package.module:Class, rllib:PATH or sb3:PATH")
    e.add_argument("--scenario", default="default")
    e.add_argument("--seeds", default=DEFAULT_EVAL_SEEDS, help=f"held-out evaluation seeds (default {DEFAULT_EVAL_SEEDS})")
    e.add_argument("--out", default="runs")
    e.add_argument("--parquet", action="store_true", help="also write the per-step record and the ledger as Parquet")
    e.add_argument("--set", nargs="*", metavar="KEY=VALUE", help="scenario overrides")
    e.set_defaults(func=cmd_evaluate)

    lb = sub.add_parser("leaderboard", help="policies x scenarios x seeds; reruns only missing or invalid runs")
    lb.add_argument("--policies", nargs="+", default=list(LEADERBOARD_BASELINES),
                    help=f"the policies to rank (default: {' '.join(LEADERBOARD_BASELINES)})")
    lb.add_argument("--policy", action="append", default=[], metavar="SPEC",
                    help="add one policy (built-in name, package.module:Class, rllib:PATH or sb3:PATH) to "
                         "--policies; repeatable")
    lb.add_argument("--scenarios", nargs="+", default=["default"])
    lb.add_argument("--seeds", default=DEFAULT_EVAL_SEEDS, help=f"held-out evaluation seeds (default {DEFAULT_EVAL_SEEDS}; training uses 0-999)")
    lb.add_argument("--out", default="leaderboard")
    lb.add_argument("--runs", default=None, help="run-file directory (default OUT/runs)")
    lb.add_argument("--set", nargs="*", metavar="KEY=VALUE", help="scenario overrides")
    lb.add_argument("--ray-address", default=None, help="'auto', 'host:port', or 'local' (start a local Ray)")
    lb.add_argument("--ray-num-cpus", type=int, default=None, help="CPUs of a local Ray instance")
    lb.set_defaults(func=cmd_leaderboard)

    pl = sub.add_parser("policies", help="list the available policies")
    pl.set_defaults(func=cmd_policies)

    tr = sub.add_parser("train", help="train PPO or DQN with RLlib or stable-baselines3")
    tr.add_argument("library", choices=("rllib", "sb3"))
    tr.add_argument("--algo", default=None, help="ppo (default) or dqn")
    tr.add_argument("--sharing", default=None, help="rllib: shared (default, one module for all agents) or independent")
    tr.add_argument("--scenario", default=None, help="scenario name or TOML path (default: default)")
    tr.add_argument("--set", nargs="*", metavar="KEY=VALUE", help="scenario overrides")
    tr.add_argument("--stop-timesteps", type=int, default=None,
                    help="rllib: env-steps, sb3: agent-steps (defaults: the config dataclasses)")
    tr.add_argument("--stop-iters", type=int, default=None, help="rllib: also stop after this many iterations")
    tr.add_argument("--num-env-runners", type=int, default=None, help="rllib: remote env runners")
    tr.add_argument("--num-envs", type=int, default=None, help="sb3: envs in the batch (slots = envs x DCs); rllib: envs per env runner (one batched core)")
    tr.add_argument("--ray-address", default=None, help="rllib: 'auto' or host:port of an existing Ray cluster")
    tr.add_argument("--seed", type=int, default=None)
    tr.add_argument("--run-dir", default=None)
    tr.add_argument("--checkpoint-every", type=int, default=None, help="rllib: iterations; sb3: agent-steps")
    tr.add_argument("--resume", default=None, metavar="DIR", help="continue the run in DIR from its last checkpoint")
    tr.add_argument("--config", default=None, metavar="FILE",
                    help="training settings from a TOML or JSON file: any field of SB3Config / RLlibConfig")
    tr.add_argument("--hp", nargs="*", metavar="KEY=VALUE",
                    help="training settings, e.g. --hp learning_rate=1e-4 gamma=0.99 'net_arch=[128, 128]' (win over --config)")
    tr.set_defaults(func=cmd_train)

    c = sub.add_parser("cascade", help="the cascade study: every cell closed and open loop; phase diagram, adequacy, "
                                       "operator rule, staggering, price band, resume band, Virginia event, EM checks")
    c.add_argument("--out", default="cascade")
    c.add_argument("--penetrations", type=float, nargs="+", default=[0.044, 0.12, 0.3, 0.5])
    c.add_argument("--n-dcs", type=int, nargs="+", default=[4, 16, 64], help="the phase diagram's DC counts")
    c.add_argument("--widths", type=float, nargs="+", default=[0.0, 2.0, 5.0, 10.0, 20.0, 50.0],
                   help="price-band widths w ($/MWh) of the price_band sweep")
    c.add_argument("--bands", type=float, nargs="+", default=[0.0, 0.02, 0.05, 0.1],
                   help="GAS resume bands b (signal units) of the resume_band sweep")
    c.add_argument("--windows", type=int, nargs="+", default=[4], help="resume-delay windows (steps) of the staggering")
    c.add_argument("--cell-n-dcs", type=int, default=16, help="DCs in every sweep but the phase diagram")
    c.add_argument("--sweeps", nargs="+", choices=CASCADE_SWEEPS, default=list(CASCADE_SWEEPS))
    c.add_argument("--seeds", default=DEFAULT_EVAL_SEEDS, help=f"held-out evaluation seeds (default {DEFAULT_EVAL_SEEDS})")
    c.add_argument("--horizon-steps", type=int, default=192)
    c.add_argument("--scenario", default="default", help="base scenario of every sweep cell")
    c.add_argument("--set", nargs="*", metavar="KEY=VALUE", help="scenario overrides (the sweeps set penetration, "
                   "n_datacenters and horizon_steps)")
    c.set_defaults(func=cmd_cascade)

    d = sub.add_parser("grid-day", help="clear one simulated day of the default grid with a constant DC load")
    d.add_argument("--month", type=int, default=8, choices=range(1, 13), metavar="1..12")
    d.add_argument("--daytype", default="weekday", choices=("weekday", "weekend"))
    d.add_argument("--dc-load-mw", type=float, default=2640.0, help="constant DC facility load (MW)")
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=cmd_grid_day)

    b = sub.add_parser("bench", help="print throughput figures and write them as JSON")
    b.add_argument("which", choices=("all", "grid", "env", "eval", "train", "network"), nargs="?", default="all",
                   help="network needs the real-data directory (RTS-GMLC); 'all' runs every other one")
    b.add_argument("--quick", action="store_true", help="fewer configurations (for smoke tests)")
    b.add_argument("--out", default="bench-results", help="directory for the JSON files ('' to skip)")
    b.add_argument("--seconds", type=float, default=2.0, help="minimum timed seconds per measurement")
    b.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 256, 4096])
    b.add_argument("--stage-timeout", type=float, default=600.0,
                   help="train: seconds each stage may run before it is killed and reported as timed out")
    b.set_defaults(func=cmd_bench)

    from gridshift.data.commands import register as register_data_commands

    register_data_commands(sub)  # `data fetch`, `data info`, `calibrate`
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command. Bad input (a value, a file, a policy, a scenario) ends with one line,
    ``gridshift: <what is wrong and what is allowed>``, and exit status 1, never a traceback;
    ``GRIDSHIFT_DEBUG=1`` shows the traceback instead."""
    import os

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, OSError, RuntimeError) as e:
        if os.environ.get("GRIDSHIFT_DEBUG"):
            raise
        raise SystemExit(f"gridshift: {e}") from None


if __name__ == "__main__":
    sys.exit(main())
