"""`heishi bench matcher`: the matcher's speed against bare jieba.lcut (benchmarks/matcher.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# benchmarks/ sits beside monitor/ in the checkout; it is not part of the installed package.
CHECKOUT = Path(__file__).resolve().parents[2]


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="benchmarks: the matcher's speed")
    actions = parser.add_subparsers(dest="action", metavar="BENCHMARK", required=True)
    matcher = actions.add_parser(
        "matcher",
        help="texts/s of the matcher vs bare jieba.lcut on listings and on forum traffic",
    )
    matcher.add_argument("--texts", type=int, default=3000, help="texts per mix (default 3000)")
    matcher.add_argument("--seed", type=int, default=7, help="seed of the generated texts")
    matcher.add_argument("--out", metavar="FILE", help="JSON report (default: benchmarks/results/)")
    matcher.add_argument("--json", action="store_true", help="print the JSON report")
    matcher.set_defaults(func=cmd_matcher)


def cmd_matcher(args: argparse.Namespace) -> int:
    bench = _benchmarks_matcher()
    report = bench.run(args.texts, args.seed)
    bench.save(report, Path(args.out) if args.out else bench.RESULTS)
    print(json.dumps(report, indent=2) if args.json else bench.render(report))
    return 0


def _benchmarks_matcher():
    if str(CHECKOUT) not in sys.path and (CHECKOUT / "benchmarks" / "matcher.py").exists():
        sys.path.insert(0, str(CHECKOUT))
    from benchmarks import matcher

    return matcher
