"""The ``data`` and ``calibrate`` subcommands; :func:`register` adds them to the CLI."""

from __future__ import annotations

import argparse


def cmd_data_fetch(args: argparse.Namespace) -> int:
    from gridshift.data.fetch import fetch

    try:
        paths = fetch(args.ba, args.year, args.cache, what=tuple(args.what))
    except ValueError as e:
        raise SystemExit(f"gridshift: {e}") from None
    for p in paths:
        print(f"wrote {p}")
    print(f"use it with GRIDSHIFT_DATA={args.cache}")
    return 0


def cmd_data_info(args: argparse.Namespace) -> int:
    from gridshift.data.paths import data_root

    root = data_root()
    print(f"data directory: {root if root else 'not found (set $GRIDSHIFT_DATA; see README, Real data)'}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from gridshift.data.paths import DataNotFoundError
    from gridshift.eval.calibrate import calibrate, format_report, format_table

    fit = (args.fit_start, args.fit_end) if args.fit_start else None
    test = (args.test_start, args.test_end) if args.test_start else None
    results = []
    for ba in args.ba:
        try:
            res = calibrate(ba, args.year, fit=fit, test=test, fit_params=not args.no_fit,
                            gas_price_scale=args.gas_price_scale, coal_price_scale=args.coal_price_scale,
                            footprint=not args.no_footprint, unit_commitment=not args.no_uc,
                            out_dir=args.out or None, plot=not args.no_plot)
        except (ValueError, DataNotFoundError) as e:
            raise SystemExit(f"gridshift: {e}") from None
        print(format_report(res), flush=True)
        if args.out:
            print(f"wrote {args.out}/calibration_{ba}_{args.year}.json", flush=True)
        results.append(res)
    if len(results) > 1:
        print(format_table(results))
    return 0


def register(sub) -> None:
    """Add ``data {fetch,info}`` and ``calibrate`` to an argparse subparsers object."""
    d = sub.add_parser("data", help="real public data: where it is, and fetching more with gridstatus")
    dsub = d.add_subparsers(dest="data_command", required=True)
    f = dsub.add_parser("fetch", help="download EIA-930 load/fuel mix and ISO prices (needs gridshift[fetch])")
    f.add_argument("--ba", required=True, help="balancing authority, e.g. ERCO, CISO, PJM")
    f.add_argument("--year", type=int, required=True)
    f.add_argument("--out", "--cache", dest="cache", default="gridshift-data",
                   help="output directory, laid out like the shared data directory (--cache is the old name)")
    f.add_argument("--what", nargs="+", default=["load", "fuelmix", "prices"], choices=("load", "fuelmix", "prices"))
    f.set_defaults(func=cmd_data_fetch)
    i = dsub.add_parser("info", help="print the data directory in use")
    i.set_defaults(func=cmd_data_info)

    c = sub.add_parser("calibrate", help="compare the simulated grid with real prices and carbon intensity")
    c.add_argument("--ba", required=True, nargs="+",
                   help="one or more of ERCO, CISO, PJM, NYIS, MISO, SOCO, AZPS, BPAT (several: a summary table too)")
    c.add_argument("--year", type=int, default=2022)
    c.add_argument("--fit-start", default=None, help="fit period start (UTC date; default Jan 1)")
    c.add_argument("--fit-end", default=None, help="fit period end, exclusive (default Jul 1)")
    c.add_argument("--test-start", default=None, help="test period start (default Jul 1)")
    c.add_argument("--test-end", default=None, help="test period end, exclusive (default Jan 1 of next year)")
    c.add_argument("--no-fit", action="store_true", help="use --gas-price-scale/--coal-price-scale as given")
    c.add_argument("--gas-price-scale", type=float, default=1.0)
    c.add_argument("--coal-price-scale", type=float, default=1.0)
    c.add_argument("--no-footprint", action="store_true",
                   help="the region's powersimdata fleet as it is, not narrowed to the BA's observed output")
    c.add_argument("--no-uc", action="store_true", help="every unit online, minimum outputs 0 (no commitment)")
    c.add_argument("--out", default="", help="directory for the JSON (and PNG) report; '' = none")
    c.add_argument("--no-plot", action="store_true")
    c.set_defaults(func=cmd_calibrate)
