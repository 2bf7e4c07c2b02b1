"""Worst-case listing text: does the work grow linearly with the text?

    python -m benchmarks.worst_case [--n 10000] [--runs 3] [--json]

Listing text comes from hostile sites. Strings built to make backtracking regexes slow (long
runs of digits, digits with separators, Chinese numerals, many prices, a label followed by
a run) go through the matcher (keyword patterns and extraction, `keywords test`'s full
analysis, the length cap turned off so the work itself is measured), through PII masking and
through the text of notifications, at n, 2n and 4n characters. Linear work doubles with the
text (2x per doubling); quadratic work quadruples (4x). Each figure is the best of a few runs
of CPU time, each repeated until it lasts long enough to time. `bench()` reports, per stage,
the worst growth per doubling over all strings.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from typing import Any

# Strings that hurt backtracking patterns, as functions of their length in characters.
CASES: dict[str, Callable[[int], str]] = {
    "digits": lambda n: "1" * n,
    "digits and spaces": lambda n: "1 " * (n // 2),
    "digits and commas": lambda n: "1," * (n // 2),
    "digits and dots": lambda n: "1." * (n // 2),
    "digits then 个": lambda n: "1" * (n - 1) + "个",
    "label then digits": lambda n: "价格" + "1" * (n - 2),
    "qq then digits": lambda n: "qq" + "1" * (n - 2),
    "Chinese numerals": lambda n: "一" * n,
    "numerals and 万": lambda n: "一二万" * (n // 3),
    "prices": lambda n: "1元 " * (n // 3),
    "counts and prices": lambda n: "1条2" * (n // 3),
    "currency signs": lambda n: "$" * n,
    "handles": lambda n: "@abcdef " * (n // 8),
    "letters": lambda n: "a" * n,
    "links": lambda n: "http://a.b/" * (n // 11),
    "phone numbers": lambda n: "13812345678 " * (n // 12),
    "listing": lambda n: ("出售 身份证四件套 3000元/条 qq12345678 @seller 1万条800 " * n)[:n],
}
LINEAR, QUADRATIC = 2.0, 4.0
TARGET = 2.6  # per doubling: linear with room for noise, well under quadratic
MIN_SECONDS = 0.02  # a timing repeats its call until it lasts at least this long


def stages() -> dict[str, Callable[[str], object]]:
    """The work a listing's text goes through, each as one call on the text."""
    from monitor.alerting.notify_text import neutralise
    from monitor.config import install_secret
    from monitor.matching.matcher import Matcher, load_matcher
    from monitor.privacy.pii import mask_pii

    loaded = load_matcher()
    uncapped = Matcher(loaded.keywords, loaded.threshold, loaded.segmenter, max_chars=None)
    uncapped.match("", "身份证 出售 3000元")  # warm: jieba's cut, the automata
    secret = install_secret()
    return {
        "matcher (full analysis)": lambda text: uncapped.match("", text, first_pass=False),
        "PII masking": lambda text: mask_pii(text, secret),
        "notification text": lambda text: neutralise(text),
    }


def seconds(call: Callable[[str], object], text: str, runs: int = 3) -> float:
    """CPU seconds one call takes (best of `runs`, each repeated until MIN_SECONDS): CPU
    time, so that other processes on a busy machine skew it less than wall time."""
    return min(_once(call, text) for _ in range(runs))


def _once(call: Callable[[str], object], text: str) -> float:
    repeat, elapsed = 0, 0.0
    started = time.process_time()
    while elapsed < MIN_SECONDS:
        call(text)
        repeat += 1
        elapsed = time.process_time() - started
    return elapsed / repeat


def growth(
    call: Callable[[str], object], make: Callable[[int], str], n: int, runs: int = 3
) -> dict[str, Any]:
    """Times at n, 2n and 4n characters and the growth per doubling (geometric mean). The
    sizes take turns, so a burst of load on the machine hits all of them alike."""
    texts = [make(size) for size in (n, 2 * n, 4 * n)]
    times = [math.inf] * 3
    for _ in range(runs):
        for index, text in enumerate(texts):
            times[index] = min(times[index], _once(call, text))
    per_doubling = math.sqrt(times[2] / times[0]) if times[0] > 0 else 0.0
    return {"seconds": [round(t, 6) for t in times], "per_doubling": round(per_doubling, 2)}


def run(n: int = 10_000, only: list[str] | None = None, runs: int = 3) -> dict[str, Any]:
    report: dict[str, Any] = {"n": n, "target_per_doubling": TARGET, "stages": {}}
    for stage, call in stages().items():
        if only and stage not in only:
            continue
        cases = {name: growth(call, make, n, runs) for name, make in CASES.items()}
        worst = max(cases, key=lambda name: cases[name]["per_doubling"])
        report["stages"][stage] = {
            "cases": cases,
            "worst_case": worst,
            "worst_per_doubling": cases[worst]["per_doubling"],
            "meets_target": cases[worst]["per_doubling"] <= TARGET,
        }
    return report


def render(report: dict[str, Any]) -> str:
    n = report["n"]
    lines = [f"{'stage / string':44} {n:>9,} {2 * n:>9,} {4 * n:>9,} chars   per doubling"]
    for stage, result in report["stages"].items():
        lines.append(stage)
        for name, case in result["cases"].items():
            ms = "".join(f"{t * 1000:>9.2f}" for t in case["seconds"])
            flag = "" if case["per_doubling"] <= TARGET else "  SUPERLINEAR"
            lines.append(f"  {name:42}{ms} ms   {case['per_doubling']:.2f}x{flag}")
        lines.append(
            f"  worst: {result['worst_case']} {result['worst_per_doubling']:.2f}x per doubling "
            f"(target <= {TARGET}x; linear {LINEAR:g}x, quadratic {QUADRATIC:g}x) "
            + ("ok" if result["meets_target"] else "MISSED")
        )
    return "\n".join(lines)


def bench(quick: bool = False) -> dict[str, Any]:
    """Growth per doubling of every stage (n = 10,000 characters; 2,000 when quick)."""
    from benchmarks.table import row

    report = run(2_000 if quick else 10_000)
    rows = [
        row(
            f"worst-case growth per doubling, {stage}",
            result["worst_per_doubling"],
            "x per doubling",
            target=f"<= {TARGET:g}x (linear 2x, quadratic 4x)",
            meets=result["meets_target"],
        )
        for stage, result in report["stages"].items()
    ]
    return {"name": "worst_case", "rows": rows, "details": report}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="the shortest text, in characters")
    parser.add_argument(
        "--runs", type=int, default=3, help="timings of each size, the best kept (default 3)"
    )
    parser.add_argument("--json", action="store_true", help="print the JSON report")
    args = parser.parse_args(argv)
    report = run(args.n, runs=max(1, args.runs))
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0 if all(r["meets_target"] for r in report["stages"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
