"""Distributed crawling: `heishi writer`, `heishi worker`, `heishi distributed
sweep|status|keygen`.

All but keygen need Redis: `--redis URL`, else $HEISHI_DISTRIBUTED_REDIS_URL; all but status
and keygen need the shared key ($HEISHI_DISTRIBUTED_KEY_FILE, monitor.running.payload_signing).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from typing import Any

from monitor import settings
from monitor.cli.app import add_db_option, store_path
from monitor.errors import HeishiError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    writer = sub.add_parser(
        "writer", help="distributed crawling: write the workers' items into the store"
    )
    _add_redis_option(writer)
    add_db_option(writer, create=True)
    writer.add_argument(
        "--sweep-timeout",
        type=float,
        default=None,
        metavar="S",
        help="close a sweep still unfinished after S seconds as partial (default: never)",
    )
    writer.add_argument("--consumer", default="writer", help="the consumer name in Redis")
    writer.add_argument(
        "--until-idle",
        action="store_true",
        help="exit once no sweep is open and the stream is empty (for scripts)",
    )
    writer.set_defaults(func=cmd_writer)

    worker = sub.add_parser("worker", help="distributed crawling: crawl open sweeps on this host")
    _add_redis_option(worker)
    worker.add_argument(
        "--max-parallel", type=int, default=2, metavar="N", help="crawls at once (default 2)"
    )
    worker.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Scrapy or HEISHI_* setting for every crawl (repeatable)",
    )
    worker.add_argument("--name", help="this worker's name in Redis (default host:pid)")
    worker.add_argument("--log-dir", metavar="DIR", help="keep each crawl's log here")
    worker.set_defaults(func=cmd_worker)

    group = sub.add_parser("distributed", help="start distributed sweeps and watch them")
    commands = group.add_subparsers(dest="distributed_command", metavar="COMMAND")
    sweep = commands.add_parser("sweep", help="start a distributed sweep of each source")
    sweep.add_argument("sources", nargs="*", metavar="SOURCE", help="default: every enabled one")
    _add_redis_option(sweep)
    sweep.add_argument("--wait", action="store_true", help="wait until the writer closes them")
    sweep.add_argument("--timeout", type=float, default=3600, help="seconds to --wait")
    sweep.add_argument("--json", action="store_true", help="print one JSON object")
    sweep.set_defaults(func=cmd_sweep)
    status = commands.add_parser("status", help="open sweeps: queued and leased requests")
    _add_redis_option(status)
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(func=cmd_status)
    keygen = commands.add_parser(
        "keygen", help="make the key that signs what the machines of a sweep put in Redis"
    )
    keygen.add_argument(
        "file", metavar="FILE", help="where to write it (mode 0600, never replaced)"
    )
    keygen.set_defaults(func=cmd_keygen)

    def show_help(args: argparse.Namespace) -> int:
        group.print_help()
        return 0

    group.set_defaults(func=show_help)


def _add_redis_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--redis", metavar="URL", help="Redis (default: $HEISHI_DISTRIBUTED_REDIS_URL)"
    )


def _redis_url(args: argparse.Namespace) -> str:
    url = args.redis or settings.current().distributed_redis_url
    if not url:
        raise HeishiError(
            "distributed crawling needs a Redis",
            hint="pass --redis redis://HOST:6379/0 or set HEISHI_DISTRIBUTED_REDIS_URL",
        )
    return url


def _client(url: str) -> Any:
    from urllib.parse import urlsplit

    from redis.exceptions import AuthenticationError, AuthorizationError, ResponseError

    from monitor.running.distributed import connect, redacted

    shown = redacted(url)
    hint = (
        "put the password of redis-server's requirepass in the URL: redis://:PASSWORD@HOST:6379/0"
    )
    try:
        client = connect(url)
        client.ping()
    except (AuthenticationError, AuthorizationError, ResponseError) as exc:
        refused = isinstance(exc, AuthenticationError | AuthorizationError) or any(
            code in str(exc) for code in ("NOAUTH", "WRONGPASS")
        )
        if not refused:
            raise HeishiError(f"Redis at {shown} answered with an error: {exc}") from None
        try:
            has_password = urlsplit(url).password is not None
        except ValueError:
            has_password = False
        if has_password:
            raise HeishiError(f"Redis at {shown} refused the password", hint=hint) from None
        raise HeishiError(f"Redis at {shown} needs a password", hint=hint) from None
    except Exception as exc:
        raise HeishiError(
            f"cannot reach Redis at {shown}: {exc}",
            hint="is redis-server running there? rediss:// URLs need TLS on the server and "
            "?ssl_ca_certs=FILE for a private CA",
        ) from None
    return client


def _stop_on_signals() -> list[bool]:
    """A flag set by SIGTERM or SIGINT: loops finish their turn and stop cleanly."""
    stopped: list[bool] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.append(True))
    return stopped


def cmd_writer(args: argparse.Namespace) -> int:
    import logging

    from monitor.config import db_path
    from monitor.running import distributed as dist
    from monitor.running.reconnect import Reconnecting
    from monitor.running.writer import SweepWriter

    url = _redis_url(args)
    _client(url)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    writer = SweepWriter(url, db_path(args.db), args.consumer, sweep_timeout=args.sweep_timeout)
    store_path(args)  # after the key is checked (the writer's own), before anything is written
    stopped = _stop_on_signals()
    print(f"heishi writer: {dist.redacted(url)} -> {writer.db}", file=sys.stderr, flush=True)
    idle: list[bool] = []

    def step() -> None:
        written = writer.step()
        if args.until_idle and not written and not dist.open_sweeps(writer.client):
            idle.append(True)

    # Through Redis restarts: wait for it, then resynchronise (monitor.running.reconnect).
    Reconnecting(
        "heishi writer", dist.redacted(url), logging.getLogger("monitor.running.writer")
    ).run(step, lambda: bool(stopped or idle), on_back=writer.after_redis_restart)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import logging
    from pathlib import Path

    from monitor.running.distributed import redacted
    from spiders.distributed.worker import Worker

    url = _redis_url(args)
    _client(url)
    for pair in args.settings:
        if "=" not in pair:
            raise HeishiError(f"--set needs KEY=VALUE, got {pair!r}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    worker = Worker(
        url,
        args.max_parallel,
        args.settings,
        name=args.name,
        log_dir=Path(args.log_dir) if args.log_dir else None,
    )
    stopped = _stop_on_signals()
    print(f"heishi worker {worker.name}: {redacted(url)}", file=sys.stderr, flush=True)
    worker.run(lambda: bool(stopped))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from monitor.running import distributed as dist
    from monitor.running.payload_signing import load_signer
    from monitor.running.sources import source_refs
    from monitor.sites import find_site

    signer = load_signer()
    client = _client(_redis_url(args))
    refs = source_refs(args.sources)
    if not refs:
        print("heishi: no enabled sources to sweep (see `heishi sources list`)", file=sys.stderr)
        return 1
    sweeps = {}
    for ref in refs:
        site = find_site(ref.name)
        sweeps[ref.name] = dist.start_sweep(
            client,
            signer,
            site.name,
            site.kind,
            site.url,
            site.removed_after_sweeps,
            list_may_shrink=site.list_may_shrink,
        )
    if args.wait:
        return _wait_for_sweeps(client, _redis_url(args), sweeps, args.timeout, args.json)
    records = [{"sweep": s, **dist.sweep_info(client, s)} for s in sweeps.values()]
    _print_sweeps(records, args.json, "Distributed sweeps")
    return 0


def _wait_for_sweeps(
    client: Any, url: str, sweeps: dict[str, str], timeout: float, as_json: bool
) -> int:
    """Wait until the writer closes `sweeps` (through Redis restarts), then print them. A
    sweep Redis no longer knows (restarted without persistence) ends the wait: it never
    finishes."""
    import logging

    from monitor.running import distributed as dist
    from monitor.running.reconnect import Reconnecting

    logging.basicConfig(level=logging.WARNING, format="heishi: %(message)s")
    deadline = time.monotonic() + timeout
    records: dict[str, dict[str, str]] = {}
    done: list[bool] = []

    def look() -> None:
        records.update({s: dist.sweep_info(client, s) for s in sweeps.values()})
        if all((r.get("state") or "") in ("closed", "") for r in records.values()):
            done.append(True)
        else:
            time.sleep(0.5)

    Reconnecting(
        "heishi distributed sweep",
        dist.redacted(url),
        logging.getLogger("monitor.running.distributed"),
    ).run(look, lambda: bool(done) or time.monotonic() > deadline)
    shown = [{"sweep": s, **records.get(s, {})} for s in sweeps.values()]
    _print_sweeps(shown, as_json, "Distributed sweeps")
    lost = [r["sweep"] for r in shown if not r.get("state")]
    if lost:
        print(
            f"heishi: Redis lost sweep(s) {', '.join(lost)} (was it restarted without "
            "persistence? run Redis with appendonly yes); sweep again",
            file=sys.stderr,
        )
        return 1
    if any(r.get("state") != "closed" for r in shown):
        print("heishi: timed out waiting for the writer", file=sys.stderr)
        return 1
    return 0 if all(r.get("status") not in ("failed", "busy") for r in shown) else 1


def cmd_status(args: argparse.Namespace) -> int:
    from monitor.running import distributed as dist

    client = _client(_redis_url(args))
    records = []
    for sweep in dist.open_sweeps(client):
        progress = dist.SweepQueue(client, sweep).progress()
        records.append(
            {
                "sweep": sweep,
                **dist.sweep_info(client, sweep),
                "seeded": progress.seeded,
                "queued": progress.queued,
                "in_flight": progress.in_flight,
            }
        )
    unwritten = client.xlen(dist.ITEM_STREAM) if client.exists(dist.ITEM_STREAM) else 0
    if args.json:
        print(json.dumps({"sweeps": records, "items_waiting": unwritten}, ensure_ascii=False))
        return 0
    _print_sweeps(records, False, f"Open sweeps ({unwritten} item(s) waiting for the writer)")
    return 0


def _print_sweeps(records: list[dict[str, Any]], as_json: bool, title: str) -> None:
    if as_json:
        print(json.dumps({"sweeps": records}, ensure_ascii=False, default=str))
        return
    from rich.table import Table

    from monitor.render import console, plain

    table = Table(title=title)
    columns = ("sweep", "source", "state", "queued", "in_flight", "run_id", "status", "items")
    for column in columns:
        table.add_column(column)
    for record in records:
        table.add_row(*(plain(record.get(c, "")) for c in columns))
    console().print(table)


def cmd_keygen(args: argparse.Namespace) -> int:
    from pathlib import Path

    from monitor.running.payload_signing import KEY_SETTING, generate_key_file

    path = Path(args.file)
    generate_key_file(path)
    print(
        f"wrote a new distributed key to {path} (mode 0600); copy it to every machine that runs "
        f"heishi writer, worker or distributed sweep, and set {KEY_SETTING}={path} there",
        file=sys.stderr,
    )
    return 0
