"""The benchmarks' common shape, their table, their JSON files and the change since last run.

Every benchmark module (benchmarks/matcher.py, crawl.py, store.py, search.py, startup.py)
exposes one function:

    def bench(quick: bool = False) -> dict[str, Any]

returning

    {"name": "crawl",                      # also the results file: benchmarks/results/crawl.json
     "rows": [{"metric": "sweep pages/s",  # what was measured, unique within the benchmark
               "value": 143.0,             # heishi's figure (float)
               "unit": "pages/s",
               "baseline": 171.0,          # the same work done the bare way, same run (or None)
               "baseline_name": "bare Scrapy spider",
               "ratio": 0.84,              # value / baseline (or None)
               "target": ">= 0.8x",        # human-readable; "" when there is none
               "meets": True}],            # None when there is no target
     "details": {...}}                     # anything else: sizes, raw timings, how measured

`row()` builds one row (and the ratio); `quick=True` means small sizes that finish in
seconds (the smoke test). `benchmarks/__main__.py` runs them all, prints one table with the
change of each figure against that benchmark's previous results file, and writes each
benchmark's dict (plus "environment": when, CPUs, load average) to
benchmarks/results/<name>.json, and every benchmark's latest results to summary.json.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SUMMARY = "summary.json"
# Figures where a smaller value is better (for colouring the change column).
LOWER_IS_BETTER_UNITS = {"s", "ms", "MB", "x per doubling"}


def row(
    metric: str,
    value: float,
    unit: str,
    *,
    baseline: float | None = None,
    baseline_name: str | None = None,
    target: str = "",
    meets: bool | None = None,
) -> dict[str, Any]:
    """One row of a benchmark's result; the ratio is value / baseline when there is one."""
    ratio = None
    if baseline is not None and baseline_name is not None and baseline > 0:
        ratio = round(value / baseline, 3)
    return {
        "metric": metric,
        "value": float(value),
        "unit": unit,
        "baseline": None if baseline is None else float(baseline),
        "baseline_name": baseline_name,
        "ratio": ratio,
        "target": target,
        "meets": meets,
    }


def unavailable(name: str, reason: str) -> dict[str, Any]:
    """A benchmark that could not run because it is not there (not an error)."""
    return {"name": name, "rows": [], "details": {}, "status": "not available", "reason": reason}


def failed(name: str, error: str) -> dict[str, Any]:
    """A benchmark that raised: the run exits non-zero."""
    return {"name": name, "rows": [], "details": {}, "status": "error", "reason": error}


def check(result: dict[str, Any]) -> list[str]:
    """What is wrong with a benchmark's result shape (empty when it follows the interface)."""
    problems = []
    if not isinstance(result.get("name"), str):
        problems.append("no 'name'")
    rows = result.get("rows")
    if not isinstance(rows, list) or not rows:
        problems.append("no 'rows'")
        return problems
    for n, entry in enumerate(rows):
        for key in ("metric", "unit", "target"):
            if not isinstance(entry.get(key), str):
                problems.append(f"row {n}: '{key}' is not a string")
        if not isinstance(entry.get("value"), int | float):
            problems.append(f"row {n}: 'value' is not a number")
        if not isinstance(entry.get("baseline"), int | float | None):
            problems.append(f"row {n}: 'baseline' is neither a number nor None")
    return problems


def environment() -> dict[str, Any]:
    """Where and when: results on a shared 2-core machine are only comparable with this."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": platform.node(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in load] if load else None,
    }


# -- files ----------------------------------------------------------------------------------


def previous_values(results_dir: Path = RESULTS_DIR) -> dict[tuple[str, str], float]:
    """{(benchmark, metric): value} of each benchmark's last good run (<name>.json files;
    a benchmark run alone with --only still finds the others' last figures)."""
    values: dict[tuple[str, str], float] = {}
    if not results_dir.is_dir():
        return values
    for path in sorted(results_dir.glob("*.json")):
        if path.name == SUMMARY:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
            continue  # a file in an older shape: its figures show as new
        for entry in data["rows"]:
            if isinstance(entry.get("value"), int | float):
                values[(data.get("name", path.stem), entry.get("metric", ""))] = entry["value"]
    return values


def write_results(
    results: list[dict[str, Any]],
    results_dir: Path = RESULTS_DIR,
    env: dict[str, Any] | None = None,
    order: tuple[str, ...] = (),
) -> Path:
    """Each benchmark that ran to <name>.json; summary.json holds the latest good result of
    every benchmark in `order` (this run's, else its <name>.json from an earlier run, with
    that run's environment), so a run of one benchmark leaves the others' figures in it."""
    results_dir.mkdir(parents=True, exist_ok=True)
    env = env or environment()
    ran = {result["name"]: result for result in results}
    for result in results:
        if result.get("status") in ("error", "not available"):
            continue  # keep the last good file of a benchmark that did not run
        data = {**result, "environment": env}
        path = results_dir / f"{result['name']}.json"
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    latest = []
    for name in [*order, *(name for name in ran if name not in order)]:
        if name in ran:
            latest.append({**ran[name], "environment": env})
        elif (earlier := _read_result(results_dir / f"{name}.json")) is not None:
            latest.append(earlier)
    summary = results_dir / SUMMARY
    summary.write_text(
        json.dumps({"environment": env, "benchmarks": latest}, indent=1, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    return summary


def _read_result(path: Path) -> dict[str, Any] | None:
    """A benchmark's results file, or None when there is none or it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("rows"), list) else None


# -- the table ------------------------------------------------------------------------------


def number(value: float | None, unit: str = "") -> str:
    """A figure with sensible precision and its unit."""
    if value is None:
        return "-"
    size = abs(value)
    if size >= 1000:
        text = f"{value:,.0f}"
    elif size >= 100:
        text = f"{value:.0f}"
    elif size >= 10:
        text = f"{value:.1f}"
    elif size >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    return f"{text} {unit}".rstrip()


def change(value: float, before: float | None, unit: str) -> str:
    """The change against the last run, as a percentage with rich colour (green = better)."""
    if before is None:
        return "[dim]new[/]"
    if before == 0:
        return "-"
    pct = (value - before) / abs(before) * 100
    if abs(pct) < 0.5:
        return "[dim]±0%[/]"
    better = pct < 0 if unit in LOWER_IS_BETTER_UNITS else pct > 0
    colour = "green" if better else "red"
    return f"[{colour}]{pct:+.0f}%[/]"


def build_table(results: list[dict[str, Any]], previous: dict[tuple[str, str], float]) -> Any:
    """One rich Table: metric, heishi, baseline, ratio, target, met?, change vs last run."""
    from rich.table import Table

    table = Table(title="heishi benchmarks", title_justify="left")
    for header, justify in (
        ("benchmark", "left"),
        ("metric", "left"),
        ("heishi", "right"),
        ("baseline", "right"),
        ("ratio", "right"),
        ("target", "left"),
        ("met?", "center"),
        ("vs last run", "right"),
    ):
        # Metric and baseline stay on one line, so a log can be searched for them.
        no_wrap = header in ("metric", "baseline")
        table.add_column(header, justify=justify, no_wrap=no_wrap)  # type: ignore[arg-type]
    for result in results:
        name = result.get("name", "?")
        status = result.get("status")
        if status in ("error", "not available"):
            style = "bold red" if status == "error" else "yellow"
            table.add_row(
                name, result.get("reason", ""), f"[{style}]{status.upper()}[/]", end_section=True
            )
            continue
        for n, entry in enumerate(result["rows"]):
            unit = entry["unit"]
            baseline = ""
            if entry.get("baseline") is not None:
                baseline = f"{number(entry['baseline'], unit)} ({entry.get('baseline_name')})"
            met = {True: "[green]yes[/]", False: "[bold red]MISSED[/]", None: ""}[
                entry.get("meets")
            ]
            ratio = f"{entry['ratio']:.2f}x" if entry.get("ratio") is not None else ""
            table.add_row(
                name if n == 0 else "",
                entry["metric"],
                number(entry["value"], unit),
                baseline,
                ratio,
                entry.get("target", ""),
                met,
                change(entry["value"], previous.get((name, entry["metric"])), unit),
                end_section=n == len(result["rows"]) - 1,
            )
    return table


def missed(results: list[dict[str, Any]]) -> list[str]:
    """'benchmark: metric (target)' of every row that missed its target."""
    return [
        f"{result['name']}: {entry['metric']} = {number(entry['value'], entry['unit'])}"
        + (f" ({entry['ratio']:.2f}x)" if entry.get("ratio") is not None else "")
        + f", target {entry['target']}"
        for result in results
        for entry in result.get("rows") or []
        if entry.get("meets") is False
    ]
