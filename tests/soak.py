"""Soak: `heishi run` and a distributed writer and worker against the changing demo sites for
N minutes while every process is killed at random, then checks that nothing broke.

    make soak SOAK_MINUTES=10        # or: python -m tests.soak --minutes 10 [--seed 1]

What happens, at random moments (every few seconds): the demo sites switch day (listings come
and go, prices change, the channel goes down on day 2); the monitor (`heishi run s_forum
s_channel`) is SIGKILLed or SIGTERMed and started again; a crawl process is SIGKILLed;
`heishi sweep` is started by hand on a source the monitor is crawling; the webhook receiver
goes down or gets slow; a distributed sweep of a third source (`d_forum`, written by `heishi
writer` into the same store, crawled by `heishi worker`) is started; the writer or the worker
is SIGKILLed; the redis-server (append-only file on) is SIGKILLed and started again.

Then it lets everything settle (a last complete sweep of every source, the outbox drained)
and checks: the store's integrity; no run left running; no false removal (every listing
removed by a run was absent from its site on every demo day that run could have seen, from
the sites' ground truth in monitor.demo.content); after the last sweeps, every listing live
exactly when its site shows it; no duplicate alert; every notification sent, each key
received by the webhook, and no key the store does not know. It prints the figures
(docs/operations.md keeps a run's) and exits 1 when a check fails. Not part of `pytest`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config import PROJECT_ROOT
from monitor.demo import content
from monitor.demo.sites import DemoSites
from tests.receivers import WebhookReceiver

HEISHI = [sys.executable, "-c", "import sys; from monitor.cli import main; sys.exit(main())"]
DEMO = PROJECT_ROOT / "spiders" / "sites"
# source -> (demo site file, demo site in monitor.demo.content)
SOURCES = {"s_forum": ("demo_forum", "forum"), "s_channel": ("demo_channel", "channel")}
DISTRIBUTED = {"d_forum": ("demo_forum", "forum")}
INTERVAL = "20s"


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def site_file(demo: str, name: str, schedule: str | None) -> str:
    """A demo site file under another name, not tagged demo, slowed down a little so that
    crawls last long enough to be killed and overlapped."""
    text = (DEMO / f"{demo}.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^name = .*$", f'name = "{name}"', text)
    text = re.sub(r"(?m)^tags = .*$", "", text)
    text = re.sub(r"(?m)^schedule = .*$", f"schedule = {{ {schedule} }}" if schedule else "", text)
    text = re.sub(r"(?m)^concurrency = .*$", "concurrency = 2", text)
    return text + "download_delay = 0.15\n"


@dataclass
class Figures:
    events: Counter = field(default_factory=Counter)
    manual_sweeps: Counter = field(default_factory=Counter)  # exit status -> count
    distributed_sweeps: int = 0
    crawls_killed: int = 0


class Soak:
    def __init__(self, workdir: Path, minutes: float, seed: int) -> None:
        self.dir = workdir
        self.minutes = minutes
        self.rng = random.Random(seed)
        self.db = workdir / "soak.db"
        self.sites_dir = workdir / "sites"
        self.figures = Figures()
        self.days: list[tuple[str, int]] = []  # (UTC time, day from then on)
        self.procs: dict[str, subprocess.Popen] = {}
        self.manual: list[subprocess.Popen] = []
        self.redis: subprocess.Popen | None = None
        self.redis_port = 0
        self.receiver: WebhookReceiver | None = None
        self.demo: DemoSites | None = None
        self.env: dict[str, str] = {}  # local commands (`heishi run`, `heishi sweep`)
        self.env_distributed: dict[str, str] = {}  # the writer, the worker, distributed sweeps

    # -- processes --------------------------------------------------------------------------

    def start(
        self, name: str, *args: str, distributed: bool = False, group: bool = True
    ) -> subprocess.Popen:
        """A heishi command in the background; only the distributed ones see Redis."""
        log = (self.dir / f"{name}.log").open("ab")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            [*HEISHI, *args],
            cwd=PROJECT_ROOT,
            env=self.env_distributed if distributed else self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=group,
        )
        log.close()
        self.procs[name] = proc
        return proc

    def start_monitor(self) -> None:
        self.start(
            "monitor",
            "run",
            *SOURCES,
            "--db",
            str(self.db),
            "--create",
            "--max-parallel",
            "2",
            "--timeout",
            "90s",
            "--jitter",
            "2s",
            "--stop-timeout",
            "5s",
            "--drain-every",
            "5s",
            "--heartbeat",
            "2s",
            group=False,  # a SIGKILL to the monitor leaves its crawls running
        )

    def start_writer(self) -> None:
        self.start("writer", "writer", "--db", str(self.db), "--create", distributed=True)

    def start_worker(self) -> None:
        self.start(
            "worker",
            "worker",
            "--name",
            "soak",
            "--max-parallel",
            "1",
            "--set",
            "HEISHI_DISTRIBUTED_LEASE_SECONDS=30",
            "--log-dir",
            str(self.dir / "worker-crawls"),
            distributed=True,
        )

    def start_redis(self) -> None:
        argv = [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(self.redis_port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.dir),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
        ]
        log = (self.dir / "redis.log").open("ab")  # noqa: SIM115
        self.redis = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        time.sleep(0.5)

    def alive(self, name: str) -> bool:
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def kill(self, name: str, sig: int, group: bool = True) -> None:
        proc = self.procs.get(name)
        if proc is None or proc.poll() is not None:
            return
        try:
            if group:
                os.killpg(proc.pid, sig)
            else:
                os.kill(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def crawl_processes(self) -> list[int]:
        """Crawl processes writing into this soak's store (the monitor's, orphans included,
        and the manual sweeps')."""
        found = []
        marker = str(self.db).encode()
        for entry in (path.name for path in Path("/proc").iterdir()):
            if not entry.isdigit():
                continue
            try:
                with Path(f"/proc/{entry}/cmdline").open("rb") as handle:
                    cmdline = handle.read()
            except OSError:
                continue
            if b"spiders.crawl" in cmdline and marker in cmdline:
                found.append(int(entry))
        return found

    # -- chaos ------------------------------------------------------------------------------

    def switch_day(self) -> None:
        assert self.demo is not None
        day = self.rng.choice([d for d in content.DAYS if d != self.demo.day])
        self.days.append((now_text(), day))
        self.demo.set_day(day)

    def kill_a_crawl(self) -> None:
        """SIGKILL one running crawl's process group, somewhere in the middle of its work."""
        deadline = time.monotonic() + 15
        crawls = self.crawl_processes()
        while not crawls and time.monotonic() < deadline:
            time.sleep(0.5)
            crawls = self.crawl_processes()
        if crawls:
            time.sleep(self.rng.uniform(0, 3))  # somewhere in the middle of it
            pid = self.rng.choice(crawls)
            try:
                os.killpg(pid, signal.SIGKILL)
                self.figures.crawls_killed += 1
            except (ProcessLookupError, PermissionError):
                pass

    def event(self) -> None:
        choices = {
            "day": 3,
            "monitor_sigkill": 2,
            "monitor_sigterm": 2,
            "crawl_sigkill": 2,
            "manual_sweep": 3,
            "receiver_down": 1,
            "receiver_slow": 1,
            "distributed_sweep": 2,
            "redis_restart": 1,
            "writer_sigkill": 1,
            "worker_sigkill": 1,
        }
        kind = self.rng.choices(list(choices), weights=list(choices.values()))[0]
        self.figures.events[kind] += 1
        if kind == "day":
            self.switch_day()
        elif kind == "monitor_sigkill":
            self.kill("monitor", signal.SIGKILL, group=False)
            time.sleep(self.rng.uniform(0.5, 3))
            self.start_monitor()
        elif kind == "monitor_sigterm":
            self.kill("monitor", signal.SIGTERM, group=False)
            self.start_monitor()
        elif kind == "crawl_sigkill":
            self.kill_a_crawl()
        elif kind == "manual_sweep":
            source = self.rng.choice(list(SOURCES))
            out = (self.dir / "manual.log").open("ab")  # noqa: SIM115
            self.manual.append(
                subprocess.Popen(
                    [*HEISHI, "sweep", source, "--db", str(self.db), "--timeout", "90"],
                    cwd=PROJECT_ROOT,
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
            out.close()
        elif kind == "receiver_down":
            assert self.receiver is not None
            self.receiver.stop()
            time.sleep(self.rng.uniform(3, 20))
            self.receiver.start()
        elif kind == "receiver_slow":
            assert self.receiver is not None
            self.receiver.delay = self.rng.uniform(3, 8)
            time.sleep(self.rng.uniform(10, 20))
            self.receiver.delay = 0.0
        elif kind == "distributed_sweep":
            self.distributed_sweep(wait=False)
        elif kind == "redis_restart":
            if self.redis is not None:
                self.redis.send_signal(signal.SIGKILL)
                self.redis.wait(10)
            time.sleep(self.rng.uniform(0.5, 4))
            self.start_redis()
        elif kind == "writer_sigkill":
            self.kill("writer", signal.SIGKILL)
            self.start_writer()
        elif kind == "worker_sigkill":
            self.kill("worker", signal.SIGKILL)
            self.start_worker()

    def distributed_sweep(self, wait: bool) -> int:
        self.figures.distributed_sweeps += 1
        args = [*HEISHI, "distributed", "sweep", *DISTRIBUTED]
        if wait:
            args += ["--wait", "--timeout", "300"]
        done = subprocess.run(
            args,
            cwd=PROJECT_ROOT,
            env=self.env_distributed,
            capture_output=True,
            text=True,
            timeout=400,
        )
        return done.returncode

    def reap_manual(self) -> None:
        for proc in list(self.manual):
            if proc.poll() is not None:
                self.figures.manual_sweeps[proc.returncode] += 1
                self.manual.remove(proc)

    # -- the run ----------------------------------------------------------------------------

    def run(self) -> int:
        self.sites_dir.mkdir(parents=True)
        for name, (demo, _) in SOURCES.items():
            text = site_file(demo, name, f'interval = "{INTERVAL}"')
            (self.sites_dir / f"{name}.toml").write_text(text, encoding="utf-8")
        for name, (demo, _) in DISTRIBUTED.items():
            # Distributed sweeps do not check a missing listing on its own page: a listing is
            # removed after two sweeps without it (docs/operations.md).
            text = site_file(demo, name, None) + "removed_after_sweeps = 2\n"
            (self.sites_dir / f"{name}.toml").write_text(text, "utf-8")
        self.receiver = WebhookReceiver().start()
        notify = self.dir / "notify.toml"
        notify.write_text(
            f'[settings]\ntimeout = "20s"\nbackoff = "2s"\nbackoff_max = "10s"\n\n'
            f'[[routes]]\nname = "soak"\nurls = ["{self.receiver.url}"]\n',
            encoding="utf-8",
        )
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.redis_port = sock.getsockname()[1]
        self.start_redis()
        with DemoSites(day=1) as demo:
            self.demo = demo
            self.days.append((now_text(), 1))
            self.env = {
                **{k: v for k, v in os.environ.items() if k != "HEISHI_DISTRIBUTED_REDIS_URL"},
                **demo.env(),
                "HEISHI_SITES_DIR": str(self.sites_dir),
                "HEISHI_NOTIFY_FILE": str(notify),
                "HEISHI_SECRET_FILE": str(self.dir / "secret.key"),
                "HEISHI_RETRY_BACKOFF_BASE": "0.2",
            }
            redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
            key = self.dir / "distributed.key"  # the key the writer and workers share
            subprocess.run(
                [*HEISHI, "distributed", "keygen", str(key)],
                cwd=PROJECT_ROOT,
                env=self.env,
                check=True,
                capture_output=True,
            )
            self.env_distributed = {
                **self.env,
                "HEISHI_DISTRIBUTED_REDIS_URL": redis_url,
                "HEISHI_DISTRIBUTED_KEY_FILE": str(key),
            }
            try:
                self.chaos()
                self.settle()
            finally:
                self.stop_everything()
        self.receiver.stop()
        return self.check()

    def chaos(self) -> None:
        self.start_monitor()
        self.start_writer()
        self.start_worker()
        started = time.monotonic()
        end = started + self.minutes * 60
        last_report = started
        while time.monotonic() < end:
            time.sleep(self.rng.uniform(3, 10))
            self.event()
            self.reap_manual()
            if not self.alive("monitor"):
                self.start_monitor()
            if not self.alive("writer"):
                self.start_writer()
            if not self.alive("worker"):
                self.start_worker()
            if time.monotonic() - last_report > 60:
                last_report = time.monotonic()
                minutes = (last_report - started) / 60
                print(f"soak: {minutes:.0f} min, events {dict(self.figures.events)}", flush=True)

    def settle(self) -> None:
        """No more chaos: every source gets a complete sweep of the final day, the outbox is
        sent."""
        assert self.demo is not None and self.receiver is not None
        self.receiver.delay = 0.0
        if self.receiver.server is None:
            self.receiver.start()
        if self.redis is None or self.redis.poll() is not None:
            self.start_redis()
        for proc in self.manual:
            proc.wait(120)
        self.reap_manual()
        if self.demo.day == 2:  # the channel is down on day 2: end on a day it answers
            self.switch_day()
        settle_from = now_text()
        self.settled_at = settle_from
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with sqlite3.connect(self.db, timeout=30) as conn:
                done = {
                    source
                    for (source,) in conn.execute(
                        "SELECT DISTINCT source FROM runs WHERE status = 'ok' AND started_at > ?",
                        (settle_from,),
                    )
                }
            if set(SOURCES) <= done:
                break
            if not self.alive("monitor"):
                self.start_monitor()
            time.sleep(2)
        completed = 0  # two: the distributed source removes after two sweeps without
        for _ in range(6):
            completed += self.distributed_sweep(wait=True) == 0
            if completed == 2:
                break
        self.kill("monitor", signal.SIGTERM, group=False)
        for name in ("writer", "worker"):
            self.kill(name, signal.SIGTERM)
        for _ in range(10):  # what the monitor had not sent yet
            subprocess.run(
                [*HEISHI, "notify", "retry", "--db", str(self.db)],
                cwd=PROJECT_ROOT,
                env=self.env,
                capture_output=True,
                timeout=300,
            )
            with sqlite3.connect(self.db) as conn:
                waiting = conn.execute(
                    "SELECT count(*) FROM notifications WHERE status != 'sent'"
                ).fetchone()[0]
            if not waiting:
                break
            time.sleep(2)

    def stop_everything(self) -> None:
        for name in list(self.procs):
            self.kill(name, signal.SIGTERM, group=name != "monitor")
        for pid in self.crawl_processes():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        for proc in self.manual:
            if proc.poll() is None:
                proc.kill()
        if self.redis is not None and self.redis.poll() is None:
            self.redis.terminate()
            self.redis.wait(10)

    # -- checks -----------------------------------------------------------------------------

    def days_during(self, start: str, end: str) -> set[int]:
        """Demo days the sites showed at any moment of [start, end] (a second's slack)."""
        begin = parse(start) - timedelta(seconds=1)
        finish = parse(end) + timedelta(seconds=1)
        shown = set()
        for index, (since, day) in enumerate(self.days):
            until = parse(self.days[index + 1][0]) if index + 1 < len(self.days) else None
            if parse(since) <= finish and (until is None or until >= begin):
                shown.add(day)
        return shown

    def check(self) -> int:
        conn = sqlite3.connect(self.db)
        conn.row_factory = sqlite3.Row
        sites = {**SOURCES, **DISTRIBUTED}
        present = {
            (source, day): {e["site_id"] for e in content.entries(site, day=day)}
            for source, (_, site) in sites.items()
            for day in content.DAYS
        }
        runs = {r["id"]: dict(r) for r in conn.execute("SELECT * FROM runs")}
        problems: list[str] = []
        checks: list[tuple[str, bool, str]] = []

        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        checks.append(("store integrity", integrity == "ok", integrity))
        running = [r for r in runs.values() if r["status"] == "running"]
        checks.append(("no run left running", not running, f"{len(running)} running"))

        # Removals: each 'removed' alert's run, and each listing removed at the end.
        false_removals = []
        removals = 0
        for alert in conn.execute("SELECT * FROM alerts WHERE kind = 'removed'"):
            removals += 1
            run = runs[alert["run_id"]]
            listing = conn.execute(
                "SELECT source, site_id FROM listings WHERE id = ?", (alert["listing_id"],)
            ).fetchone()
            days = self.days_during(*window(run))
            if all(listing["site_id"] in present[(listing["source"], d)] for d in days):
                false_removals.append((alert["id"], listing["source"], listing["site_id"], days))
        for listing in conn.execute("SELECT * FROM listings WHERE status = 'removed'"):
            candidates = [
                r
                for r in runs.values()
                if r["source"] == listing["source"]
                and r["finished_at"]
                and r["started_at"] <= listing["removed_at"] <= _plus(r["finished_at"], 2)
            ]
            if not candidates:
                false_removals.append(("no run", listing["source"], listing["site_id"], None))
                continue
            run = candidates[-1]
            days = self.days_during(*window(run))
            if all(listing["site_id"] in present[(listing["source"], d)] for d in days):
                false_removals.append(("final", listing["source"], listing["site_id"], days))
        checks.append(
            ("no false removal", not false_removals, f"{removals} removed alerts checked")
        )
        problems += [f"false removal: {f}" for f in false_removals[:10]]

        # After the settling sweeps: live exactly when the site shows it (final day).
        final_day = self.days[-1][1]
        wrong_state = []
        for source in sites:
            live = {
                r[0]
                for r in conn.execute(
                    "SELECT site_id FROM listings WHERE source = ? AND status = 'live'", (source,)
                )
            }
            seen = {
                r[0]
                for r in conn.execute("SELECT site_id FROM listings WHERE source = ?", (source,))
            }
            expected = present[(source, final_day)]
            if live != expected & seen or not expected <= seen:
                wrong_state.append(
                    (source, sorted(expected - live)[:5], sorted(live - expected)[:5])
                )
        checks.append(("live exactly as the sites show after the last sweeps", not wrong_state, ""))
        problems += [f"state: {w}" for w in wrong_state]

        # Alerts: none twice.
        dupes = conn.execute(
            "SELECT kind, listing_id, version_id, count(*) FROM alerts "
            "WHERE kind IN ('new', 'changed', 'reposted') "
            "GROUP BY kind, listing_id, CASE WHEN kind = 'changed' THEN version_id END "
            "HAVING count(*) > 1"
        ).fetchall()
        flips = 0
        by_listing: dict[int, list[str]] = defaultdict(list)
        for alert in conn.execute(
            "SELECT listing_id, kind FROM alerts WHERE kind IN ('removed', 'relisted') ORDER BY id"
        ):
            by_listing[alert["listing_id"]].append(alert["kind"])
        for kinds in by_listing.values():
            flips += sum(1 for a, b in zip(kinds, kinds[1:], strict=False) if a == b)
        checks.append(("no duplicate alert", not dupes and not flips, f"{len(dupes)} + {flips}"))

        # Notifications: every one sent, its key received, no stranger key.
        rows = conn.execute("SELECT idempotency_key, status FROM notifications").fetchall()
        keys = {r["idempotency_key"] for r in rows}
        assert self.receiver is not None
        received = Counter(self.receiver.keys())
        unsent = [r["idempotency_key"] for r in rows if r["status"] != "sent"]
        missing = keys - set(received)
        strangers = set(received) - keys
        repeats = sum(count - 1 for count in received.values() if count > 1)
        checks.append(("every notification sent", not unsent, f"{len(unsent)} not sent"))
        checks.append(
            (
                "every notification received, under a key the store made",
                not missing and not strangers,
                f"{len(missing)} missing, {len(strangers)} unknown",
            )
        )

        statuses = Counter(r["status"] for r in runs.values())
        alerts = dict(conn.execute("SELECT kind, count(*) FROM alerts GROUP BY kind").fetchall())
        figures = {
            "minutes": self.minutes,
            "events": dict(self.figures.events),
            "day switches": len(self.days) - 1,
            "crawl processes SIGKILLed": self.figures.crawls_killed,
            "manual sweeps (exit status: count)": dict(self.figures.manual_sweeps),
            "distributed sweeps started": self.figures.distributed_sweeps,
            "runs by status": dict(statuses),
            "listings": conn.execute("SELECT count(*) FROM listings").fetchone()[0],
            "alerts by kind": alerts,
            "removed alerts checked against the ground truth": removals,
            "notifications sent": len(keys) - len(unsent),
            "webhook deliveries": sum(received.values()),
            "deliveries of a key already received (timeouts)": repeats,
        }
        conn.close()
        print(json.dumps({"figures": figures}, indent=1, ensure_ascii=False, default=str))
        failed = 0
        for name, ok, detail in checks:
            print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f" ({detail})" if detail else ""))
            failed += not ok
        for problem in problems:
            print(f"     {problem}")
        print(f"store and logs: {self.dir}")
        return 1 if failed else 0


def window(run: dict) -> tuple[str, str]:
    """When a run's pages may have been fetched. A distributed run is opened by the writer,
    which may start after the workers did (it was being restarted): two minutes earlier."""
    start = run["started_at"]
    if run["source"] in DISTRIBUTED:
        start = _plus(start, -120)
    return start, run["finished_at"] or run["started_at"]


def _plus(text: str, seconds: int) -> str:
    return (parse(text) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", help="work here (default: a new temporary folder, kept)")
    args = parser.parse_args(argv)
    if not shutil.which("redis-server"):
        print("soak: redis-server is needed (`make setup` installs it)", file=sys.stderr)
        return 2
    workdir = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="heishi-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"soak: {args.minutes:g} min in {workdir} (seed {args.seed})", flush=True)
    return Soak(workdir, args.minutes, args.seed).run()


if __name__ == "__main__":
    sys.exit(main())
