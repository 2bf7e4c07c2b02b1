"""Every benchmark in one run, one table of ratios: `python -m benchmarks` (or `make bench`).

    python -m benchmarks [--quick] [--only NAME ...] [--results DIR] [--json]

Runs benchmarks.matcher, ordinary, crawl, sweeps, store, search, startup and worst_case (each module's `bench(quick)`, see
benchmarks/table.py), prints one table with each figure's baseline measured in the same run,
the target, whether it was met and the change since the last run, and writes
benchmarks/results/<name>.json and summary.json. Exits 1 only when a benchmark raised; a
missed target is printed, not an error. A module without `bench()` shows as not available.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks import table

BENCHMARKS = (
    "matcher",
    "ordinary",
    "crawl",
    "sweeps",
    "store",
    "search",
    "actors",
    "startup",
    "worst_case",
)


def run_benchmark(name: str, quick: bool, module_name: str | None = None) -> dict[str, Any]:
    """One benchmark's result; 'not available' when its module or `bench()` is missing,
    'error' (with the traceback's last line) when it raised."""
    module_name = module_name or f"benchmarks.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            return table.failed(name, f"cannot import {module_name}: {exc}")
        return table.unavailable(name, f"{module_name} does not exist")
    except Exception as exc:
        return table.failed(name, f"cannot import {module_name}: {exc!r}")
    bench = getattr(module, "bench", None)
    if not callable(bench):
        return table.unavailable(name, f"{module_name} has no bench(quick) function yet")
    started = time.perf_counter()
    try:
        result = bench(quick=quick)
    except Exception as exc:
        traceback.print_exc()
        return table.failed(name, f"{type(exc).__name__}: {exc}")
    problems = table.check(result)
    if problems:
        return table.failed(name, f"bench() result: {'; '.join(problems)}")
    result["name"] = name  # the file and the table go by the runner's name
    for entry in result["rows"]:  # ints and floats alike in the JSON
        entry["value"] = float(entry["value"])
        if entry.get("baseline") is not None:
            entry["baseline"] = float(entry["baseline"])
    result.setdefault("details", {})["seconds"] = round(time.perf_counter() - started, 1)
    result["quick"] = quick
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds, not minutes)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only these (repeatable or comma-separated): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--results",
        type=Path,
        metavar="DIR",
        help="where the JSON files go and the last run is read from (default "
        "benchmarks/results, benchmarks/results/quick with --quick)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON too")
    return parser.parse_args(argv)


def selected(only: list[str]) -> list[str]:
    names = [n.strip() for item in only for n in item.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(
            f"benchmarks: unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}"
        )
    return [n for n in BENCHMARKS if n in names] if names else list(BENCHMARKS)


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    args = parse_args(argv)
    if args.results is None:  # quick figures are compared with quick figures only
        args.results = table.RESULTS_DIR / "quick" if args.quick else table.RESULTS_DIR
    names = selected(args.only)
    console = Console()
    if not console.is_terminal:  # a log file or a pipe: rich would assume 80 columns
        console = Console(width=170)
    previous = table.previous_values(args.results)
    env = table.environment()
    results = []
    for name in names:
        console.print(f"[bold]{name}[/] ...", highlight=False)
        started = time.perf_counter()
        result = run_benchmark(name, args.quick)
        status = result.get("status", "done")
        console.print(f"  {status} in {time.perf_counter() - started:.1f} s", highlight=False)
        results.append(result)
    summary = table.write_results(results, args.results, env, BENCHMARKS)
    console.print(table.build_table(results, previous))
    load = env.get("load_average")
    console.print(
        f"{env['cpus']} CPUs, load average {load} at the start; "
        f"{'quick sizes; ' if args.quick else ''}results in {summary.parent}/",
        highlight=False,
    )
    misses = table.missed(results)
    for line in misses:
        console.print(f"[bold red]target missed[/] {line}", highlight=False)
    absent = [r for r in results if r.get("status") == "not available"]
    for result in absent:
        console.print(f"[yellow]not available[/] {result['name']}: {result['reason']}")
    errors = [r for r in results if r.get("status") == "error"]
    for result in errors:
        console.print(f"[bold red]error[/] {result['name']}: {result['reason']}", highlight=False)
    if args.json:
        print(json.dumps(json.loads(summary.read_text(encoding="utf-8")), indent=1))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
