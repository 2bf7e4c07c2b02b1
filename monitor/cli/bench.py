"""`heishi bench`: every benchmark in one table (benchmarks/__main__.py, as `make bench`);
`heishi bench matcher`: the matcher's speed against bare jieba.lcut (benchmarks/matcher.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# benchmarks/ sits beside monitor/ in the checkout; it is not part of the installed package.
CHECKOUT = Path(__file__).resolve().parents[2]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "bench",
        help="benchmarks: every one in one table of ratios, or the matcher's alone",
        description="Without BENCHMARK: every benchmark, one table, JSON in benchmarks/results/.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds, not minutes)")
    parser.add_argument(
        "--only", action="append", default=[], metavar="NAME", help="run only these (repeatable)"
    )
    parser.add_argument("--results", metavar="DIR", help="JSON files (default benchmarks/results/)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON too")
    parser.set_defaults(func=cmd_all)
    actions = parser.add_subparsers(dest="action", metavar="BENCHMARK")
    matcher = actions.add_parser(
        "matcher",
        help="texts/s of the matcher vs bare jieba.lcut on listings and on forum traffic",
    )
    matcher.add_argument(
        "--texts", type=int, help="texts per mix (default 3000; 300 with bench --quick)"
    )
    matcher.add_argument("--seed", type=int, default=7, help="seed of the generated texts")
    matcher.add_argument(
        "--out",
        metavar="FILE",
        help="JSON report (default: benchmarks/results/quick/matcher-report.json; the committed "
        "matcher.json is written only by a full run of every benchmark or --only matcher)",
    )
    matcher.add_argument("--json", action="store_true", help="print the JSON report")
    matcher.set_defaults(func=cmd_matcher)


def cmd_matcher(args: argparse.Namespace) -> int:
    bench = _benchmarks_matcher()
    quick = bool(getattr(args, "quick", False))  # heishi bench --quick matcher
    texts = args.texts if args.texts is not None else (300 if quick else 3000)
    report = bench.run(texts, args.seed, start_runs=1 if quick else 3)
    bench.save(report, Path(args.out) if args.out else bench.RESULTS)
    print(json.dumps(report, indent=2) if args.json else bench.render(report))
    return 0


def cmd_all(args: argparse.Namespace) -> int:
    _checkout_on_path()
    from benchmarks.__main__ import main

    argv = ["--quick"] if args.quick else []
    argv += [f"--only={name}" for name in args.only]
    argv += [f"--results={args.results}"] if args.results else []
    argv += ["--json"] if args.json else []
    return main(argv)


def _checkout_on_path() -> None:
    if str(CHECKOUT) not in sys.path and (CHECKOUT / "benchmarks" / "__main__.py").exists():
        sys.path.insert(0, str(CHECKOUT))


def _benchmarks_matcher():
    _checkout_on_path()
    from benchmarks import matcher

    return matcher
