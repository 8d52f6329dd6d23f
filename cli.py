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


def _write_json(obj: dict, out_dir: str | None, name: str) -> None:
    if not out_dir:
        return
    path = Path(out_dir)
    path.mkdir(parents=True, exist_ok=True)
    f = path / name
    f.write_text(json.dumps(obj, indent=2) + "\n")
    print(f"wrote {f}")


def cmd_demo(args: argparse.Namespace) -> int:
    from gridshift.eval.demo import run_demo

    run_demo(scenario=args.scenario, seed=args.seed)
    return 0


def cmd_grid_day(args: argparse.Namespace) -> int:
    from gridshift.eval.grid_day import print_day_summary, simulate_grid_day

    frame = simulate_grid_day(month=args.month, daytype=args.daytype, dc_load_mw=args.dc_load_mw, seed=args.seed)
    print_day_summary(frame, title=f"one simulated {args.daytype} in month {args.month} on the default grid, DC load {args.dc_load_mw:,.0f} MW")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from gridshift.eval.bench import bench_env, bench_grid
    from gridshift.eval.provenance import run_metadata

    which = ["grid", "env"] if args.which == "all" else [args.which]
    for w in which:
        if w == "grid":
            res = bench_grid(batch_sizes=tuple(args.batch_sizes), min_seconds=args.seconds)
        else:
            res = bench_env(min_seconds=args.seconds, quick=args.quick)
        res["metadata"] = run_metadata()
        _write_json(res, args.out, f"bench_{w}.json")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gridshift", description="Multi-agent grid-aware compute scheduling on an endogenous grid.")
    p.add_argument("--version", action="version", version=f"gridshift {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="run the main job on the embedded default scenario")
    d.add_argument("--scenario", default="default")
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=cmd_demo)

    d = sub.add_parser("grid-day", help="clear one simulated day of the default grid with a constant DC load")
    d.add_argument("--month", type=int, default=8, choices=range(1, 13), metavar="1..12")
    d.add_argument("--daytype", default="weekday", choices=("weekday", "weekend"))
    d.add_argument("--dc-load-mw", type=float, default=2640.0, help="constant DC facility load (MW)")
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=cmd_grid_day)

    b = sub.add_parser("bench", help="print throughput figures and write them as JSON")
    b.add_argument("which", choices=("all", "grid", "env"), nargs="?", default="all")
    b.add_argument("--quick", action="store_true", help="fewer configurations (for smoke tests)")
    b.add_argument("--out", default="bench-results", help="directory for the JSON files ('' to skip)")
    b.add_argument("--seconds", type=float, default=2.0, help="minimum timed seconds per measurement")
    b.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 256, 4096])
    b.set_defaults(func=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
