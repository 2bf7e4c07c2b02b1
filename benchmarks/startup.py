"""Start-up benchmark: `heishi --help` against `python -c pass`, wall time of whole processes.

    python -m benchmarks.startup [--runs 15]

Both are run the same number of times, interleaved, and the medians compared (target < 3x):
the command line must not import Scrapy, jieba or rich to print its help.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.table import row

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 3.0


def heishi_command() -> list[str]:
    """The installed console script beside this interpreter (the venv's), else the module."""
    script = Path(sys.executable).with_name("heishi")
    if script.exists():
        return [str(script), "--help"]
    return [sys.executable, "-m", "monitor.cli", "--help"]


def wall_times(command: list[str], runs: int) -> list[float]:
    return [_one(command) for _ in range(runs)]


def _one(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def measure(runs: int) -> dict[str, Any]:
    """Median wall seconds of each, interleaved so a busy moment hits both alike."""
    heishi = heishi_command()
    bare = [sys.executable, "-c", "pass"]
    # One of each first: the page cache, not the code, would decide the first run.
    _one(heishi)
    _one(bare)
    times: dict[str, list[float]] = {"heishi": [], "python": []}
    for _ in range(runs):
        times["heishi"].append(_one(heishi))
        times["python"].append(_one(bare))
    return {
        "runs": runs,
        "heishi_command": " ".join(os.path.relpath(p, ROOT) if "/" in p else p for p in heishi),
        "heishi_median_s": statistics.median(times["heishi"]),
        "python_median_s": statistics.median(times["python"]),
        "heishi_s": [round(t, 4) for t in times["heishi"]],
        "python_s": [round(t, 4) for t in times["python"]],
    }


def bench(quick: bool = False) -> dict[str, Any]:
    figures = measure(5 if quick else 21)
    heishi_ms = figures["heishi_median_s"] * 1000
    python_ms = figures["python_median_s"] * 1000
    ratio = heishi_ms / python_ms
    return {
        "name": "startup",
        "rows": [
            row(
                "heishi --help start-up",
                round(heishi_ms, 1),
                "ms",
                baseline=round(python_ms, 1),
                baseline_name="python -c pass",
                target=f"< {TARGET_RATIO:g}x",
                meets=ratio < TARGET_RATIO,
            )
        ],
        "details": {**figures, "how": "median wall time of whole processes, interleaved runs"},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.runs), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
