"""`heishi demo`: the demo sites, three days of sweeps, and the alerts they raise.

Day 1 is the baseline; on day 2 prices and volumes change, listings come and go and the
channel is down; on day 3 the channel is back and a removed listing returns.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console

from monitor.errors import HeishiError
from monitor.running.sweep import SourceRef, SourceSweep, sweep_sources

DEMO_SOURCES = (
    SourceRef("demo_forum", "forum"),
    SourceRef("demo_market", "marketplace"),
    SourceRef("demo_channel", "channel"),
)
DEMO_DAYS = (1, 2, 3)


def _show_done(status: Any, result: SourceSweep) -> None:
    status.update(f"{result.source}: {result.status}")


@dataclass
class DemoDay:
    day: int
    results: list[SourceSweep]
    alerts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DemoResult:
    db: Path
    days: list[DemoDay]
    seconds: float


def new_demo_db() -> Path:
    return Path(tempfile.mkdtemp(prefix="heishi-demo-")) / "heishi.db"


def run_demo(
    db: Path | None = None,
    *,
    console: Console | None = None,
    replace: bool = False,
    days: tuple[int, ...] = DEMO_DAYS,
    timeout: float = 120,
    on_day: Callable[[DemoDay], None] | None = None,
) -> DemoResult:
    """Start the demo sites, sweep them day by day into `db`, print what happened.
    `on_day` is called after each day's sweep, the store as that day left it."""
    from monitor.demo.sites import DemoSites
    from monitor.render import print_alerts, sweep_table
    from monitor.store import open_store

    console = console or Console()
    db = Path(db) if db else new_demo_db()
    if db.exists():
        if not replace:
            raise HeishiError(f"{db} already exists", hint="choose another --db, or pass --replace")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    console.print(f"[bold]heishi demo[/bold]: store [cyan]{db}[/cyan]")
    started = time.monotonic()
    result = DemoResult(db=db, days=[], seconds=0.0)
    with DemoSites(day=days[0]) as sites:
        env = sites.env()
        for day in days:
            sites.set_day(day)
            with console.status(f"day {day}: sweeping {len(DEMO_SOURCES)} demo sources") as status:
                results = sweep_sources(
                    DEMO_SOURCES,
                    db,
                    env=env,
                    jobs=len(DEMO_SOURCES),
                    timeout=timeout,
                    on_done=partial(_show_done, status),
                )
            run_ids = [r.run["id"] for r in results if r.run]
            with open_store(db) as store:
                alerts = store.alerts.where(run_ids=run_ids)
                console.print()
                console.print(sweep_table(results, title=f"Day {day}: sweep"))
                print_alerts(console, alerts, store)
            result.days.append(DemoDay(day, results, alerts))
            if on_day is not None:
                on_day(result.days[-1])
    result.seconds = time.monotonic() - started
    console.print(
        f"\n[bold]done[/bold] in {result.seconds:.1f}s. Store: [cyan]{db}[/cyan]\n"
        f"Try: [bold]heishi alerts --db {db}[/bold]\n"
        f"     [bold]heishi actors --db {db} --min-aliases 2[/bold] (one seller on two sources)"
    )
    return result
