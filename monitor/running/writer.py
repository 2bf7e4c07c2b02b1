"""The single writer of distributed sweeps: reads finished items from the Redis stream, writes
them through monitor.alerting.ingest.SweepRecorder, and closes each sweep's run when the sweep is done.

Only this process opens the SQLite store; workers (spiders/distributed/) only talk to Redis.
It reads the stream as the consumer group `writers` and acknowledges (and deletes) entries
only after the recorder committed them, so a writer that crashes reads them again when it
restarts. An item seen twice in one sweep (a request redone after its worker died) is
recorded once: the site ids committed per sweep are kept in Redis.

A sweep is complete when its start requests were sent and no request is queued or leased:
every request was acknowledged, so every item is already on the stream. The writer then
reads the stream to its end and closes the run, judged like a single-process crawl
(monitor.alerting.changes.judge_run over the stats the workers summed); requests given up after too
many deliveries make it partial, so no live listing is ever marked removed because a worker
died. See docs in README.md, "Crawling on several machines".

Everything read from Redis is checked against the installation's key first
(monitor.running.payload_signing): a sweep whose record is not signed gets no run, and a stream entry
that is unsigned, badly signed or malformed is counted, logged without its contents,
acknowledged and deleted, and makes its sweep's run partial. No entry stops the writer.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.alerting.ingest import RunOutcome, SweepRecorder
from monitor.errors import SourceBusyError
from monitor.running import distributed as dist
from monitor.running.payload_signing import BadSignature, load_signer

log = logging.getLogger(__name__)


class _Counter:
    """The `inc_value` of a stats collector, for the evidence step."""

    def __init__(self) -> None:
        self.values: dict[str, int] = defaultdict(int)

    def inc_value(self, name: str, count: int = 1) -> None:
        self.values[name] += int(count)


class SweepWriter:
    """Consumes the item stream into the store at `db`."""

    def __init__(
        self,
        redis_url: str,
        db: str | Path,
        consumer: str = "writer",
        batch: int = 200,
        sweep_timeout: float | None = None,
        max_deliveries: int = dist.DEFAULT_MAX_DELIVERIES,
    ) -> None:
        self.signer = load_signer()
        self.client = dist.connect(redis_url)
        self.db = Path(db)
        self.consumer = consumer
        self.batch = batch
        self.sweep_timeout = sweep_timeout
        self.max_deliveries = max_deliveries
        self.recorders: dict[str, SweepRecorder] = {}
        self.local_stats: dict[str, _Counter] = defaultdict(_Counter)
        self.outcomes: list[RunOutcome] = []
        self.rejected = 0  # stream entries refused, over every sweep
        self.refused_sweeps: set[str] = set()  # open sweeps whose record is not signed
        self.reading_own_pending = True  # first re-read what a crashed writer left unacked
        self._evidence: tuple[Path, bytes, tuple[int, int]] | None = None
        self.ensure_group()

    # -- the loop ---------------------------------------------------------------------------

    def run(self, should_stop: Callable[[], bool] = lambda: False, block: float = 1.0) -> None:
        """Write until `should_stop()`; each turn waits up to `block` seconds for items."""
        while not should_stop():
            self.step(block)

    def step(self, block: float = 1.0) -> int:
        """One turn: open runs of new sweeps, write what arrived, close sweeps that are done."""
        self.open_new_sweeps()
        written = self.read(int(block * 1000))
        self.close_finished_sweeps()
        return written

    def open_new_sweeps(self) -> None:
        for sweep in dist.open_sweeps(self.client):
            if sweep not in self.recorders and sweep not in self.refused_sweeps:
                self.open_run(sweep)

    def open_run(self, sweep: str) -> SweepRecorder | None:
        """The run of `sweep` in the store: a new one, or the one a crashed writer left."""
        info = dist.verified_sweep_info(self.client, self.signer, sweep)
        if info is None:
            self.refused_sweeps.add(sweep)
            return None
        if info.get("state") != "open":
            return None
        recorder = SweepRecorder(
            self.db,
            source=info["source"],
            kind=info["kind"],
            url=info.get("url") or None,
            removed_after_sweeps=int(info.get("removed_after_sweeps") or 1),
            list_may_shrink=info.get("list_may_shrink") == "1",
        )
        run_id = int(info.get("run_id") or 0)
        if run_id and self._resume(recorder, sweep, run_id):
            if recorder.store is None:  # closed already, or another writer's: nothing to do
                return None
            log.info("sweep %s: resumed run %s", sweep, run_id)
        else:
            try:
                run_id = recorder.open()
            except SourceBusyError as exc:  # another sweep (or crawl) of the source runs
                log.warning("sweep %s: %s; closed unswept", sweep, exc)
                dist.close_sweep(self.client, sweep, {"status": "busy", "error": str(exc)})
                return None
            dist.record_run_id(self.client, self.signer, sweep, run_id)
            log.info("sweep %s: run %s opened", sweep, run_id)
        self.recorders[sweep] = recorder
        return recorder

    def _resume(self, recorder: SweepRecorder, sweep: str, run_id: int) -> bool:
        """Reattach `recorder` to a run still open in the store (this writer restarted).
        SweepRecorder has no resume; its open() is reproduced here minus the new run."""
        from monitor.alerting.notify_config import load_notify_config
        from monitor.alerting.severity import load_rules
        from monitor.store import open_store

        store = open_store(self.db)
        run = store.runs.get(run_id)
        if run is None or run["status"] != "running":
            store.close()
            if run is not None:  # closed in the store, not yet in Redis: finish that
                dist.close_sweep(self.client, sweep, {"run_id": run_id, "status": run["status"]})
                return True
            return False
        # The run becomes this writer's (its owner, a writer that died, is gone): otherwise
        # the next sweep of the source would close it as crashed while it is being written.
        run = store.runs.take_over(run_id)
        if run is None:
            store.close()
            log.warning("sweep %s: run %s belongs to another live writer", sweep, run_id)
            return True
        recorder.notify_config = load_notify_config()
        recorder.severity_rules = load_rules()
        recorder.store = store
        recorder.run_id = run_id
        # Where the run got to, as its last committed batch recorded it.
        recorder.recorded = int(run.get("items") or 0)
        for name in recorder.counts:
            recorder.counts[name] = int(run.get(name) or 0)
        return True

    # -- items ------------------------------------------------------------------------------

    def read(self, block_ms: int | None) -> int:
        """Write one batch from the stream; returns how many entries it held."""
        start = "0" if self.reading_own_pending else ">"
        try:
            reply = self.client.xreadgroup(
                dist.WRITER_GROUP,
                self.consumer,
                {dist.ITEM_STREAM: start},
                count=self.batch,
                # BLOCK 0 would wait for ever: no wait at all is None.
                block=None if self.reading_own_pending or not block_ms else block_ms,
            )
        except Exception as exc:
            if "NOGROUP" not in str(exc):
                raise
            self.ensure_group()  # Redis lost the stream and its group: a new one
            return 0
        entries = reply[0][1] if reply else []
        if self.reading_own_pending and not entries:
            self.reading_own_pending = False
        if entries:
            self.write(entries)
        return len(entries)

    def write(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        by_sweep: dict[str, list[tuple[bytes, dict[str, Any]]]] = defaultdict(list)
        for entry_id, fields in entries:
            if not fields:  # deleted while pending
                continue
            try:
                sweep, item = dist.decode_item(self.signer, fields)
            except BadSignature as exc:
                self.reject(entry_id, fields, exc)
                continue
            by_sweep[sweep].append((entry_id, item))
        committed: dict[str, set[str]] = {}
        for sweep, batch in by_sweep.items():
            recorder = self.recorders.get(sweep) or self.open_run(sweep)
            if recorder is None:
                log.warning("%d item(s) of sweep %s, which is closed: dropped", len(batch), sweep)
                continue
            site_ids = [str(item["site_id"]) for _, item in batch]
            seen = self.client.smismember(dist.sweep_key(sweep, "written"), site_ids)
            # Redis forgets a batch's written mark when it went away after the store committed
            # the batch and before it took the acknowledgement (the entries come back): the
            # store remembers, so such an item is not counted twice in the run.
            unmarked = [
                site_id for site_id, already in zip(site_ids, seen, strict=True) if not already
            ]
            stored = recorder.written_in_this_run(unmarked)
            fresh: set[str] = set()
            for (_, item), site_id, already in zip(batch, site_ids, seen, strict=True):
                if already or site_id in fresh or site_id in stored:
                    self.local_stats[sweep].inc_value("heishi/distributed/duplicate_items")
                    continue
                fresh.add(site_id)
                recorder.record(self.keep_evidence(sweep, item))
            recorder.flush()  # committed before anything is acknowledged
            committed[sweep] = fresh | stored
        ids = [entry_id for entry_id, _ in entries]
        with self.client.pipeline(transaction=True) as pipe:
            for sweep, written in committed.items():
                if written:
                    pipe.sadd(dist.sweep_key(sweep, "written"), *written)
            pipe.xack(dist.ITEM_STREAM, dist.WRITER_GROUP, *ids)
            pipe.xdel(dist.ITEM_STREAM, *ids)
            pipe.execute()

    def reject(self, entry_id: bytes, fields: dict[Any, Any], problem: Exception) -> None:
        """Count a stream entry that is not ours against its sweep (when that is a sweep of
        ours); it is acknowledged and deleted with the rest of the batch."""
        self.rejected += 1
        claimed = fields.get(b"sweep", fields.get("sweep", b""))
        sweep = claimed.decode("utf-8", "replace") if isinstance(claimed, bytes) else str(claimed)
        if sweep in self.recorders:
            self.local_stats[sweep].inc_value(dist.REJECTED_STAT)
        size = sum(len(v) for v in fields.values() if isinstance(v, bytes | str))
        name = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        log.warning("dropped stream entry %s (%d bytes): %s", name, size, problem)

    def keep_evidence(self, sweep: str, item: dict[str, Any]) -> dict[str, Any]:
        """Write a matched listing's page beside the store, as a crawl's EvidencePipeline
        does (workers send a page only with a matched listing)."""
        page = item.pop("page", None)
        if page is None:
            return item
        from monitor.running.evidence import evidence_dir, keep_evidence

        if self._evidence is None:
            from monitor.config import install_secret
            from monitor.privacy.pii import mask_keep

            self._evidence = (evidence_dir(self.db), install_secret(), mask_keep())
        directory, secret, keep = self._evidence
        item["evidence"] = keep_evidence(directory, page, secret, keep, self.local_stats[sweep])
        return item

    # -- Redis restarts ---------------------------------------------------------------------

    def ensure_group(self) -> None:
        """The consumer group on the item stream (gone if Redis lost its data)."""
        try:
            self.client.xgroup_create(dist.ITEM_STREAM, dist.WRITER_GROUP, id="0", mkstream=True)
        except Exception as exc:  # the group exists already
            if "BUSYGROUP" not in str(exc):
                raise

    def after_redis_restart(self) -> None:
        """Redis answers again after an outage: read what this writer had not acknowledged
        once more, and close the runs of sweeps Redis no longer knows (it was restarted
        without persistence) as interrupted: their items are gone, so they are not complete,
        and no other writer will ever finish them."""
        self.ensure_group()
        self.reading_own_pending = True
        for sweep in list(self.recorders):
            if dist.sweep_info(self.client, sweep).get("state"):
                continue
            recorder = self.recorders.pop(sweep)
            self.local_stats.pop(sweep, None)
            outcome = recorder.close(
                {},
                "redis_lost",
                "Redis lost this sweep (was it restarted without persistence? heishi needs "
                "Redis with appendonly yes)",
                interrupted=True,
            )
            self.outcomes.append(outcome)
            log.warning("sweep %s: run %s interrupted: %s", sweep, outcome.run_id, outcome.error)

    # -- closing ----------------------------------------------------------------------------

    def close_finished_sweeps(self) -> None:
        for sweep in list(self.recorders):
            queue = dist.SweepQueue(self.client, sweep, max_deliveries=self.max_deliveries)
            queue.requeue_expired()  # a dead worker's requests, for the live ones
            progress = queue.progress()
            info = dist.verified_sweep_info(self.client, self.signer, sweep) or {}
            age = time.time() - float(info.get("created") or time.time())
            if progress.state != "open":
                self.recorders.pop(sweep)
            elif progress.drained:
                self.close_run(sweep, "finished", age)
            elif self.sweep_timeout is not None and age > self.sweep_timeout:
                self.close_run(sweep, "timeout", age)

    def close_run(self, sweep: str, finish_reason: str, age: float) -> RunOutcome:
        """Write what is left on the stream, then judge and close the sweep's run."""
        while self.read(None):
            pass
        recorder = self.recorders.pop(sweep)
        stats: dict[str, Any] = dist.sweep_stats(self.client, sweep)
        for name, value in self.local_stats.pop(sweep, _Counter()).values.items():
            stats[name] = stats.get(name, 0) + value
        stats["elapsed_time_seconds"] = age
        lost = int(stats.get(dist.LOST_STAT, 0))
        rejected = int(stats.get(dist.REJECTED_STAT, 0))
        problems = []
        if lost:
            problems.append(
                f"{lost} request(s) given up after {self.max_deliveries} deliveries "
                "(their workers died or hung)"
            )
        if rejected:
            # Someone without the key wrote to this Redis: the sweep may be incomplete.
            problems.append(
                f"{rejected} queue or stream entr(y/ies) not signed with this installation's "
                "key were dropped"
            )
        error = "; ".join(problems) or None
        outcome = recorder.close(stats, finish_reason, error)
        dist.close_sweep(
            self.client,
            sweep,
            {
                "run_id": outcome.run_id,
                "status": outcome.status,
                "error": outcome.error,
                "items": outcome.items,
                "counts": outcome.counts,
            },
        )
        self.outcomes.append(outcome)
        log.info(
            "sweep %s: run %s %s, %d item(s) %s",
            sweep,
            outcome.run_id,
            outcome.status,
            outcome.items,
            outcome.counts,
        )
        return outcome
