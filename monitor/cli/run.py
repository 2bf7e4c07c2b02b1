"""`heishi run`: the unattended monitor (or `--once`, for cron), and `heishi status`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.cli.app import add_db_option, store_path
from monitor.settings import current as current_settings

if TYPE_CHECKING:
    from datetime import datetime


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser(
        "run",
        help="crawl every source on its schedule until stopped (or --once, for cron)",
        description="Crawl every enabled non-demo source (or the SOURCEs named) on the "
        "schedule in its site file, until SIGTERM or SIGINT. docs/operations.md explains "
        "running it unattended.",
    )
    run.add_argument("sources", nargs="*", metavar="SOURCE", help="default: every enabled one")
    add_db_option(run, create=True)
    run.add_argument(
        "--once", action="store_true", help="sweep every source that is due, then exit"
    )
    run.add_argument("--sites-dir", metavar="DIR", help="site files (default $HEISHI_SITES_DIR)")
    run.add_argument(
        "--max-parallel", type=int, default=2, metavar="N", help="crawls at once (default 2)"
    )
    run.add_argument(
        "--timeout",
        metavar="DURATION",
        help="per crawl, then it is stopped (default $HEISHI_CRAWL_TIMEOUT, else 10m)",
    )
    run.add_argument(
        "--jitter", default="60s", metavar="DURATION", help="delay each run by up to this (60s)"
    )
    run.add_argument(
        "--default-interval",
        default="1h",
        metavar="DURATION",
        help="for site files without a schedule (1h)",
    )
    run.add_argument(
        "--failures-before-alert",
        type=int,
        default=current_settings().failures_before_alert,
        metavar="N",
        help="failed runs in a row before a source_failing alert "
        "(default $HEISHI_FAILURES_BEFORE_ALERT, else 3)",
    )
    run.add_argument(
        "--heartbeat", default="30s", metavar="DURATION", help="how often the store hears of us"
    )
    run.add_argument(
        "--drain-every", default="60s", metavar="DURATION", help="send the outbox this often"
    )
    run.add_argument(
        "--stop-timeout",
        default="10s",
        metavar="DURATION",
        help="on SIGTERM, wait this long for crawls to close their runs before killing them",
    )
    run.add_argument(
        "--log-file", metavar="PATH", help="default: <db stem>-logs/heishi-run.log beside the store"
    )
    run.add_argument("--verbose", action="store_true", help="debug logging")
    run.set_defaults(func=cmd_run)

    status = sub.add_parser(
        "status", help="each source's last and next run, the outbox, the monitor"
    )
    add_db_option(status)
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(func=cmd_status)


def cmd_run(args: argparse.Namespace) -> int:
    from monitor.errors import HeishiError
    from monitor.running.daemon import Monitor, RunSettings
    from monitor.timespec import parse_duration

    if args.max_parallel < 1 or args.failures_before_alert < 1:
        raise HeishiError("--max-parallel and --failures-before-alert must be at least 1")
    db = store_path(args)
    settings = RunSettings(
        db=db,
        sources=tuple(args.sources),
        sites_dir=Path(args.sites_dir) if args.sites_dir else None,
        max_parallel=args.max_parallel,
        timeout=parse_duration(args.timeout) if args.timeout else current_settings().crawl_timeout,
        jitter=0.0 if args.jitter in ("0", "0s") else parse_duration(args.jitter),
        default_interval=parse_duration(args.default_interval),
        failures_before_alert=args.failures_before_alert,
        heartbeat=parse_duration(args.heartbeat),
        drain_every=parse_duration(args.drain_every),
        stop_timeout=parse_duration(args.stop_timeout),
        log_file=Path(args.log_file) if args.log_file else default_log_file(db),
    )
    assert settings.log_file is not None
    configure_logging(settings.log_file, verbose=args.verbose)
    monitor = Monitor(settings)
    if not args.once:
        return monitor.serve()
    report = monitor.once()
    failed = [r.source for r in report.results if r.status in ("failed", "crashed")]
    return 1 if failed else 0


def default_log_file(db: Path) -> Path:
    """Beside the store: heishi.db -> heishi-logs/heishi-run.log."""
    from monitor.running.sweep import log_dir

    return log_dir(db.resolve()) / "heishi-run.log"


def configure_logging(log_file: Path, *, verbose: bool = False) -> None:
    """Log to the terminal and to a rotating file (10 MB, five old files kept)."""
    import logging
    import logging.handlers

    from monitor.privacy.file_modes import private_folder

    private_folder(log_file.parent)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    to_file = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=10_000_000, backupCount=5, encoding="utf-8"
    )
    Path(log_file).chmod(0o600)  # it quotes crawl errors; rotated files follow heishi's umask
    to_terminal = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    for handler in (to_file, to_terminal):
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # APScheduler says "Running job ..." at INFO and "skipped: maximum number of running
    # instances" at WARNING for every turn a long crawl skips: our own lines say it better.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)


def cmd_status(args: argparse.Namespace) -> int:
    from monitor.config import db_path
    from monitor.errors import StoreError
    from monitor.store import open_store

    path = db_path(args.db)
    if not path.exists():
        raise StoreError(f"store {path} does not exist", hint="start `heishi run` first")
    with open_store(path) as store:
        report = status_report(store)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, default=str))
    else:
        print_status(report)
    return 0


def status_report(store: Any) -> dict[str, Any]:
    """What `heishi status --json` prints."""
    daemon = store.operations.latest_daemon()
    if daemon is not None:
        daemon["settings"] = json.loads(daemon.get("settings") or "{}")
    sources = []
    for row in store.operations.source_status():
        last = None
        if row["last_run_id"] is not None:
            last = {
                "id": row["last_run_id"],
                "status": row["last_status"],
                "started_at": row["last_run_started"],
                "finished_at": row["last_run_finished"],
                "duration": row["last_duration"],
                "items": row["last_items"],
                "new": row["last_new"],
                "changed": row["last_changed"],
                "removed": row["last_removed"],
                "error": row["last_error"],
            }
        sources.append(
            {
                "name": row["name"],
                "kind": row["kind"],
                "schedule": row["schedule"],
                "health": row["health"],
                "consecutive_failures": row["consecutive_failures"],
                "last_started_at": row["last_started_at"],
                "last_ok_at": row["last_ok_at"],
                "last_run": last,
                "running_since": row["running_since"],
                "next_run_at": row["next_run_at"],
            }
        )
    outbox = store.outbox.counts()
    return {
        "db": str(store.path),
        "daemon": daemon,
        "sources": sources,
        "outbox": outbox,
        # Given-up messages: alerts nobody was told about (`heishi notify retry --dead`).
        "dead_letters": store.outbox.dead_letters() if outbox.get("dead") else None,
    }


def _ago(text: str | None, now: datetime) -> str:
    """`3m ago`, `in 2h`: one unit is enough for a status line."""
    from monitor.running.schedule import parse_time

    moment = parse_time(text)
    if moment is None:
        return ""
    seconds = (now - moment).total_seconds()
    if abs(seconds) < 1:
        return "now"
    size, unit = next(
        (size, unit)
        for size, unit in ((86400, "d"), (3600, "h"), (60, "m"), (1, "s"))
        if abs(seconds) >= size
    )
    span = f"{int(abs(seconds) // size)}{unit}"
    return f"{span} ago" if seconds > 0 else f"in {span}"


def _shown(value: Any) -> str:
    """A value from the store inside rich markup: printable, brackets escaped."""
    from rich.markup import escape

    from monitor.render import printable

    return escape(printable(value))


def print_status(report: dict[str, Any]) -> None:
    from datetime import UTC, datetime

    from rich.table import Table

    from monitor.render import console as make_console
    from monitor.render import plain
    from monitor.store import utc_now

    console = make_console()
    now = datetime.now(UTC)
    daemon = report["daemon"]
    if daemon is None:
        console.print(f"monitor: [dim]never run on {_shown(report['db'])}[/dim]")
    elif daemon["live"]:
        console.print(
            f"monitor: [green]running[/green], pid {daemon['pid']} on {_shown(daemon['host'])}, "
            f"started {_ago(daemon['started_at'], now)}, "
            f"heartbeat {_ago(daemon['heartbeat_at'], now)}"
        )
    elif daemon["status"] == "running":
        console.print(
            f"monitor: [red]not responding[/red] (pid {daemon['pid']} on {_shown(daemon['host'])}, "
            f"last heartbeat {_ago(daemon['heartbeat_at'], now)})"
        )
    else:
        console.print(
            f"monitor: [yellow]not running[/yellow] ({_shown(daemon['status'])} "
            f"{_ago(daemon['heartbeat_at'], now)}, pid {daemon['pid']} on {_shown(daemon['host'])})"
        )
    table = Table(box=None, header_style="bold underline", title_justify="left")
    for column in ("source", "schedule", "health", "last run", "listings", "next run"):
        table.add_column(column, no_wrap=True)
    errors = []
    colours = {"ok": "green", "degraded": "yellow", "failing": "red", "empty": "yellow"}
    colours |= dict.fromkeys(("login_wall", "captcha", "blocked", "changed_shape"), "red")
    for source in report["sources"]:
        last = source["last_run"]
        last_text, counts = "", ""
        if last:
            last_text = f"{last['status']} {_ago(last['finished_at'], now)}"
            if last["status"] != "ok" and last["error"]:
                errors.append((source["name"], last["error"]))
            counts = (
                f"{last['items'] or 0} ([green]+{last['new'] or 0}[/green] "
                f"~{last['changed'] or 0} [red]-{last['removed'] or 0}[/red])"
            )
        if source["running_since"]:
            next_text = f"[cyan]running[/cyan] since {_ago(source['running_since'], now)}"
        elif source["next_run_at"] and source["next_run_at"] <= utc_now():
            next_text = "due"
        else:
            next_text = _ago(source["next_run_at"], now)
        health = (source["health"] or "unknown").replace("_", " ")
        if source["consecutive_failures"]:
            health += f" {source['consecutive_failures']}x"
        colour = colours.get(source["health"] or "", "dim")
        table.add_row(
            plain(source["name"]),
            plain(source["schedule"] or ""),
            plain(health, style=colour),
            last_text,
            counts,
            next_text,
        )
    console.print(table)
    for name, error in errors:
        console.print(plain(f"{name}: {error}", style="dim"), overflow="ellipsis", no_wrap=True)
    outbox = report["outbox"]
    if outbox:
        parts = [f"{outbox.get(s, 0)} {s}" for s in ("pending", "sending", "sent", "dead")]
        console.print("outbox: " + ", ".join(parts))
    dead = report.get("dead_letters")
    if dead and dead["count"]:
        console.print(
            f"[bold red]{dead['count']} notification(s) given up[/bold red] (oldest "
            f"{_ago(dead['oldest'], now)}; last error: {dead['last_error']}): "
            "`heishi notify retry --dead` sends them again",
            overflow="fold",
        )
