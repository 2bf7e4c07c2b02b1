"""Writing one sweep into the store: each listing in its own transaction, the run judged at
the end, and listings it did not see marked removed only after a complete sweep.

`SweepRecorder` is what a crawl writes through (docs/contracts.md). A crash at any point leaves
the store consistent: each listing's version, matches and alerts commit together, alerts carry
a dedupe key so a rerun never raises one twice, and removals happen only in `close()`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.alerting import changes
from monitor.alerting.severity import DEFAULT_RULES, severity
from monitor.errors import StoreError, StoreFullError
from monitor.running import source_health
from monitor.settings import Settings
from monitor.settings import current as current_settings
from monitor.store import Store, open_store, utc_now
from monitor.store.connection import release_reserve

log = logging.getLogger(__name__)


# A crawl HEISHI_FAILURES_BEFORE_ALERT is not set for (a one-off `heishi sweep`, which someone
# is watching) alerts at its first failure; `heishi run` always sets it for its crawls.
ONE_OFF_FAILURES_BEFORE_ALERT = 1


def failures_before_alert(given: Settings | None = None) -> int:
    """Failed runs in a row before a source_failing alert: $HEISHI_FAILURES_BEFORE_ALERT
    where it is set (by `heishi run`, default 3), else ONE_OFF_FAILURES_BEFORE_ALERT."""
    given = given or current_settings()
    if given.is_set("HEISHI_FAILURES_BEFORE_ALERT"):
        return given.failures_before_alert
    return ONE_OFF_FAILURES_BEFORE_ALERT


def raise_alert(
    store: Store,
    notify_config: Any,
    alert: dict[str, Any],
    listing: dict[str, Any] | None,
    now: str,
) -> int | None:
    """Insert an alert (unless its dedupe_key exists) and queue its notifications, in the
    caller's transaction: what every alert raised from a sweep or a retro-hunt goes through."""
    alert_id = store.alerts.insert(alert, now)
    if alert_id is not None and notify_config is not None:
        from monitor.alerting.notify import enqueue_alert

        enqueue_alert(store, notify_config, alert_id, alert, listing, now)
    return alert_id


@dataclass
class RunOutcome:
    run_id: int
    source: str
    status: str
    error: str | None = None
    items: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # new/changed/unchanged/removed/relisted
    alert_ids: list[int] = field(default_factory=list)


class SweepRecorder:
    """Records one sweep of one source."""

    def __init__(
        self,
        db_path: str | Path,
        source: str,
        kind: str,
        url: str | None = None,
        removed_after_sweeps: int = 1,
        batch_size: int | None = None,
        flush_seconds: float | None = None,
        list_may_shrink: bool = False,
        settings: Settings | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.settings = settings or current_settings()
        self.source = source
        self.kind = kind
        self.url = url
        self.removed_after_sweeps = max(1, int(removed_after_sweeps))
        # The site file says its list can really get shorter: fewer list pages, or empty
        # ones, do not make a run partial.
        self.list_may_shrink = list_may_shrink
        self.store: Store | None = None
        self.run_id: int | None = None
        self.counts = {"new": 0, "changed": 0, "unchanged": 0, "removed": 0, "relisted": 0}
        self.alert_ids: list[int] = []
        self.recorded = 0
        self.notify_config: Any = None
        self.severity_rules: Any = None
        self.rules_version: str | None = (
            None  # the keyword rules' id (monitor.matching.rules_version)
        )
        self.pii_keys: set[str] = set()  # keys whose numbers this recorder has stored
        # A batch is written when it is full or old: fast sweeps, little lost to a crash.
        self.batch_size = max(1, batch_size or self.settings.store_batch)
        self.flush_seconds = (
            flush_seconds if flush_seconds is not None else self.settings.store_flush
        )
        self.pending: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (item, state)
        # A batch that could not be written: the run is not complete, whatever it saw.
        self.write_error: str | None = None
        self.pending_since = 0.0
        # Signatures made for the batch being written, by id() of its states (flush).
        self.signed: dict[int, tuple[Any]] = {}

    def open(self) -> int:
        """Open this sweep's run. Broken configuration (severity or notification rules) fails
        here, before crawling: the run is recorded as failed with the file's error (so the
        source's health shows it), and the ConfigError is raised."""
        from monitor.alerting.notify_config import load_notify_config
        from monitor.alerting.severity import load_rules
        from monitor.errors import ConfigError
        from monitor.matching.rules_version import record_rules_version

        self.store = open_store(self.db_path)
        # A batch of new listings writes index pages all over the store: keep them in memory.
        self.store.set_cache(self.settings.store_cache)
        self.run_id = self.store.runs.start(self.source, self.kind, self.url)
        try:
            self.notify_config = load_notify_config()
            self.severity_rules = load_rules()
        except ConfigError as exc:
            self._load_rules()  # what of them can be read, to alert on this failure
            self.close({}, None, str(exc), fatal=True)
            raise
        self.rules_version = record_rules_version(self.store)
        log.info("run %s of %s opened in %s", self.run_id, self.source, self.db_path)
        return self.run_id

    def record(self, item: dict[str, Any]) -> None:
        """Take one listing as seen now; written with the next batch (see `flush`)."""
        self.record_state(item, changes.listing_state(item))

    def record_state(self, item: dict[str, Any], state: dict[str, Any]) -> None:
        """`record` for an item whose stored state (`changes.listing_state`) is known."""
        assert self.store is not None and self.run_id is not None, "open() first"
        if not self.pending:
            self.pending_since = time.monotonic()
        self.pending.append((item, state))
        if (
            len(self.pending) >= self.batch_size
            or time.monotonic() - self.pending_since >= self.flush_seconds
        ):
            self.flush()

    def flush(self) -> list[int]:
        """Write the listings taken so far in one transaction; returns the alerts raised.

        One transaction per batch keeps a large sweep fast; a crash loses at most the batch
        being written, which the next sweep writes again (nothing is marked removed)."""
        store = self.store
        assert store is not None and self.run_id is not None, "open() first"
        if not self.pending:
            return []
        batch, self.pending = self.pending, []
        now = utc_now()
        raised: list[int | None] = []
        # One listing seen twice in a batch (two URLs, a page crawled twice): its last view.
        latest = {str(item["site_id"]): (item, state) for item, state in batch}
        counted = dict(self.counts)
        try:
            with store.transaction():
                # Most listings are unchanged: one statement marks them seen and names them.
                touched = store.listings.touch_unchanged(
                    self.source,
                    [(site_id, state["content_hash"]) for site_id, (_, state) in latest.items()],
                    self.run_id,
                    now,
                )
                self.counts["unchanged"] += len(touched)
                counters = []
                # The rows of the others, in one statement: writing one listing changes no
                # other listing's row in ways these are read for.
                stored = store.listings.by_keys(
                    self.source, [site_id for site_id in latest if site_id not in touched]
                )
                # New listings' near-duplicate look-ups, all at once. (A changed one usually
                # keeps its text and links, and needs none.)
                self._sign_and_prefetch(
                    [
                        state
                        for site_id, (_, state) in latest.items()
                        if site_id not in touched and site_id not in stored
                    ]
                )
                for site_id, (item, state) in latest.items():
                    listing_id = touched.get(site_id)
                    if listing_id is None:
                        # New, changed, or back after removal: full row, versions and alerts.
                        row = stored.get(site_id)
                        match = changes.as_dict(item.get("match")) or {}
                        raised += self._apply(site_id, row, state, match, item, now)
                        listing_id = state.get("listing_id")
                    views, replies = item.get("views"), item.get("replies")
                    if listing_id is not None and (views is not None or replies is not None):
                        counters.append((listing_id, views, replies))
                # Views and replies are observations over time, not versions (observations).
                store.observations.record(counters, self.run_id, now)
                # Still this run's to write (else all of it rolls back), and its figures.
                progress = {"items": self.recorded + len(batch), **self.counts}
                store.runs.hold(self.run_id, progress, now)
        except StoreError as exc:  # rolled back (a full disk, the run taken away)
            self.counts = counted
            self.write_error = self.write_error or str(exc)
            raise
        self.recorded += len(batch)
        alert_ids = [a for a in raised if a is not None]
        self.alert_ids += alert_ids
        return alert_ids

    def _sign_and_prefetch(self, states: list[dict[str, Any]]) -> None:
        """The near-duplicate signatures of these listings (the batch's new ones) that are
        matched, and the newest listings of all their LSH bands read in one statement,
        instead of one look-up per listing (link_reposts takes them from there)."""
        from monitor.alerting.reposts import signature

        store = self.store
        assert store is not None
        self.signed = {}
        bands = []
        for state in states:
            if state["matched"]:
                found = signature(state.get("title") or "", state.get("text") or "")
                self.signed[id(state)] = (found,)
                if found is not None:
                    bands += found.bands()
        store.clusters.prefetch_bands(bands)

    def written_in_this_run(self, site_ids: list[str]) -> set[str]:
        """Which of these listings this run has already written (a batch delivered again)."""
        assert self.store is not None and self.run_id is not None, "open() first"
        return self.store.listings.seen_in_run(self.source, site_ids, self.run_id)

    def complete_so_far(self, stats: dict[str, Any]) -> bool:
        """Would the run be judged complete (`ok`) if it ended now, with these stats? Only
        then is it worth checking missing listings: otherwise it removes nothing anyway."""
        store = self.store
        assert store is not None and self.run_id is not None, "open() first"
        last_good = store.runs.last_good(self.source, self.run_id)
        verdict = changes.judge_run(
            stats,
            "finished",
            self.recorded + len(self.pending),
            last_good["items"] if last_good else None,
            changes.ListCoverage.of_run(last_good) if last_good else None,
            list_may_shrink=self.list_may_shrink,
        )
        return verdict.status == "ok" and self.write_error is None

    def removal_candidates(self, limit: int) -> list[dict[str, Any]]:
        """Live listings this sweep has not seen so far (after writing what it took), the
        most recently seen first, at most `limit`: the crawl checks them on their own page."""
        store = self.store
        assert store is not None and self.run_id is not None, "open() first"
        self.flush()
        return store.listings.removal_candidates(self.source, self.run_id, limit)

    def _apply(
        self,
        site_id: str,
        current: dict[str, Any] | None,
        state: dict[str, Any],
        match: dict[str, Any],
        item: dict[str, Any],
        now: str,
    ) -> list[int | None]:
        """A listing that is new, changed or back: versions, matches and alerts."""
        store = self.store
        assert store is not None and self.run_id is not None
        state["rules_version"] = self.rules_version  # written with the version
        if current is None:
            listing_id = store.listings.insert(self.source, site_id, state, self.run_id, now)
            state["listing_id"] = listing_id
            version_id = store.listings.insert_version(
                listing_id, 1, self.run_id, now, state, None, source=self.source
            )
            self._write_details(version_id, listing_id, item, match)
            self.counts["new"] += 1
            raised: list[int | None] = []
            if state["matched"]:
                raised = [
                    self._alert("new", listing_id, version_id, state, match, now),
                    *self._reposts(listing_id, version_id, state, match, now, new_listing=True),
                ]
                store.clusters.mark_dismissed_twins(listing_id)  # its cluster is known only now
            return raised + self._actors(listing_id, version_id, state, item, match, now, True)
        listing_id = current["id"]
        state["listing_id"] = listing_id
        was_removed = current["status"] == "removed"
        if was_removed:
            self.counts["relisted"] += 1
        if current["content_hash"] == state["content_hash"]:  # back, unchanged
            store.listings.touch([listing_id], self.run_id, now, revive=[listing_id])
            if state["matched"]:
                current_id = store.listings.current_version_id(listing_id)
                return [self._alert("relisted", listing_id, current_id, state, match, now)]
            return []
        version = current["version"] + 1
        diff = changes.field_diff(current, state)
        version_id = store.listings.insert_version(
            listing_id, version, self.run_id, now, state, diff, current
        )
        store.listings.update(listing_id, state, version, self.run_id, now, current)
        self._write_details(version_id, listing_id, item, match)
        self.counts["changed"] += 1
        raised = self._change_alerts(
            current, state, match, listing_id, version_id, diff, was_removed, now
        )
        if state["matched"]:
            raised += self._reposts(listing_id, version_id, state, match, now)
        return raised + self._actors(listing_id, version_id, state, item, match, now, False)

    def _actors(
        self,
        listing_id: int,
        version_id: int,
        state: dict[str, Any],
        item: dict[str, Any],
        match: dict[str, Any],
        now: str,
        new_listing: bool,
    ) -> list[int | None]:
        """Link the version's seller and contacts (after its cluster is known), and raise
        `actor_seen` when it is newly linked to a watched actor or contact."""
        from monitor.actors.linking import link_version, watch_alert

        store = self.store
        assert store is not None
        sighting = link_version(
            store,
            listing_id=listing_id,
            version_id=version_id,
            source=self.source,
            state=state,
            pii=[changes.as_dict(hit) for hit in item.get("pii") or []],
            now=now,
            new_listing=new_listing,
        )
        alert = watch_alert(
            store,
            sighting,
            source=self.source,
            listing_id=listing_id,
            version_id=version_id,
            run_id=self.run_id,
            state=state,
            match=match,
            rules=self.severity_rules or DEFAULT_RULES,
        )
        return [self._raise(alert, state, now)] if alert else []

    def _reposts(
        self,
        listing_id: int,
        version_id: int,
        state: dict[str, Any],
        match: dict[str, Any],
        now: str,
        *,
        new_listing: bool = False,
    ) -> list[int | None]:
        """A `reposted` alert when this offer is already up on another source or by another
        seller, or is a forward of (or was forwarded as) a message heishi has; near-duplicates
        and forwards are linked into one cluster either way."""
        from monitor.alerting.reposts import link_reposts

        store = self.store
        assert store is not None
        duplicates = link_reposts(
            store,
            listing_id,
            version_id,
            state,
            self.source,
            new_listing=new_listing,
            signed=self.signed.pop(id(state), None),
        )
        forwards = []
        if state.get("extra") or str(state.get("url") or "").startswith("https://t.me/"):
            known = {d["id"] for d in duplicates}
            forwards = [f for f in store.forwards.links(listing_id) if f["id"] not in known]
            if forwards:
                store.clusters.join_cluster(
                    [listing_id, *(f["id"] for f in forwards)],
                    [f["cluster_id"] for f in forwards if f["cluster_id"]],
                )
        # The forward is the repost; its origin, seen after it, is only linked.
        origins = [f for f in forwards if f["direction"] == "from"]
        if not duplicates and not origins:
            return []
        where = [f"#{f['id']} on {f['source']} (forwarded from it)" for f in origins]
        where += [f"#{d['id']} on {d['source']} ({d['seller'] or '?'})" for d in duplicates]
        summary = f"same offer as {', '.join(where[:5])}"
        return [self._alert("reposted", listing_id, version_id, state, match, now, summary=summary)]

    def _change_alerts(
        self,
        old: dict[str, Any],
        state: dict[str, Any],
        match: dict[str, Any],
        listing_id: int,
        version_id: int,
        diff: dict[str, Any],
        was_removed: bool,
        now: str,
    ) -> list[int | None]:
        if not (state["matched"] or old["matched"]):
            return []
        store = self.store
        assert store is not None
        if was_removed:
            return [self._alert("relisted", listing_id, version_id, state, match, now, diff)]
        if state["matched"] and not store.alerts.exists(("new", "retrohunt"), listing_id):
            # It only now reads as a black-market listing: that is news, not a change.
            return [self._alert("new", listing_id, version_id, state, match, now)]
        return [self._alert("changed", listing_id, version_id, state, match, now, diff)]

    def _write_details(
        self, version_id: int, listing_id: int, item: dict[str, Any], match: dict[str, Any]
    ) -> None:
        store = self.store
        assert store is not None
        store.listings.insert_matches(
            version_id, listing_id, match.get("hits") or [], self.rules_version
        )
        pii = [changes.as_dict(hit) for hit in item.get("pii") or []]
        store.listings.insert_pii(version_id, listing_id, pii)
        keys = {hit.get("key") for hit in pii if hit.get("key")} - self.pii_keys
        if keys:  # which key hashed them: a look-up with another one is refused, not empty
            store.pii_keys.record(keys, utc_now())
            self.pii_keys |= keys

    def _keep_alert_id(self, alert_id: int | None) -> None:
        """Remember an alert raised in this run (None: it was raised before, by a rerun)."""
        if alert_id is not None:
            self.alert_ids.append(alert_id)

    def _alert(
        self,
        kind: str,
        listing_id: int,
        version_id: int | None,
        state: dict[str, Any],
        match: dict[str, Any] | None,
        now: str,
        diff: dict[str, Any] | None = None,
        summary: str | None = None,
    ) -> int | None:
        key_part = {
            "new": f"{listing_id}",
            "reposted": f"{listing_id}",
            "changed": f"{listing_id}:{version_id}",
        }.get(kind, f"{listing_id}:{self.run_id}")
        brands = (match or {}).get("brands") or []
        alert = {
            "kind": kind,
            "severity": severity(kind, state, match, self.severity_rules or DEFAULT_RULES),
            "source": self.source,
            "listing_id": listing_id,
            "version_id": version_id,
            "run_id": self.run_id,
            "title": state.get("title"),
            "summary": summary or "; ".join((match or {}).get("reasons") or [])[:500] or None,
            "categories": state.get("categories"),
            "brands": json.dumps(brands, ensure_ascii=False) if brands else None,
            "diff": diff or None,
            "dedupe_key": f"{kind}:{key_part}",
        }
        alert_id = self._raise(alert, state, now)
        if alert_id is not None and kind in ("changed", "relisted"):
            assert self.store is not None
            self.store.clusters.mark_dismissed_twins(listing_id)
        return alert_id

    def _raise(self, alert: dict[str, Any], listing: dict[str, Any] | None, now: str) -> int | None:
        """Insert an alert and queue its notifications, in the caller's transaction."""
        assert self.store is not None
        return raise_alert(self.store, self.notify_config, alert, listing, now)

    def close(
        self,
        stats: dict[str, Any],
        finish_reason: str | None,
        error: str | None = None,
        *,
        fatal: bool = False,
        interrupted: bool = False,
    ) -> RunOutcome:
        """Judge the run, mark removals after a complete sweep, raise health alerts.
        `error` is a failure the crawl itself could not record (it never started, say);
        `fatal` makes the run failed whatever it recorded (the disk filled up);
        `interrupted` closes it as stopped from outside (no removals, no failure counted). A
        full disk while closing closes the run as failed with as small a write as can be."""
        store = self.store
        assert store is not None and self.run_id is not None, "open() first"
        with contextlib.suppress(StoreFullError):  # the batch was rolled back; write_error says so
            self.flush()
        if self.write_error:  # a batch was lost: this run is not complete
            error, fatal = "; ".join(dict.fromkeys(filter(None, [error, self.write_error]))), True
        last_good = store.runs.last_good(self.source, self.run_id)
        verdict = changes.judge_run(
            stats,
            finish_reason,
            self.recorded,
            last_good["items"] if last_good else None,
            changes.ListCoverage.of_run(last_good) if last_good else None,
            list_may_shrink=self.list_may_shrink,
        )
        if interrupted:  # stopped from outside: neither a success nor a failure
            verdict = changes.RunVerdict("interrupted", error)
        elif error and fatal:  # the crawl was stopped for it: what else it saw is beside it
            verdict = changes.RunVerdict("failed", error)
        elif error:
            verdict = changes.RunVerdict(
                "failed" if self.recorded == 0 else "partial",
                "; ".join(filter(None, [error, verdict.error])),
            )
        cause: source_health.Cause | None = None
        if not (interrupted or fatal):  # why it went as it did, in the source's words
            cause, verdict = self._cause(stats, verdict, last_good)
        now = utc_now()
        raised = len(self.alert_ids)
        try:
            self._finish(verdict, stats, finish_reason, now, cause)
        except StoreFullError as exc:  # rolled back: no removals, no alerts
            verdict = changes.RunVerdict("failed", error if fatal else str(exc))
            self.counts["removed"] = 0
            del self.alert_ids[raised:]
            if release_reserve(self.db_path):
                log.warning(
                    "disk full: released the reserve beside %s to close run %s",
                    self.db_path,
                    self.run_id,
                )
            with store.transaction():  # status and error only: a few bytes, no new rows
                store.runs.finish(
                    self.run_id,
                    "failed",
                    {
                        "finish_reason": finish_reason,
                        "error": verdict.error,
                        "items": self.recorded,
                    },
                )
        self._fold_bands()
        return self._closed(verdict)

    def _fold_bands(self) -> None:
        """Fold the near-duplicate bands gathered since the last fold into their index once
        there are enough of them (see monitor/store/clusters.py), after the run is closed: a
        fold that fails (a full disk, a lock) changes nothing, and the next close tries it."""
        from monitor.store.clusters import RECENT_BANDS_LIMIT

        store = self.store
        assert store is not None
        if store.clusters.recent_bands_held() <= RECENT_BANDS_LIMIT:
            return
        try:
            moved = store.clusters.fold_recent_bands(RECENT_BANDS_LIMIT)
            log.info("folded %d near-duplicate band rows into their index", moved)
        except StoreError as exc:
            log.warning("near-duplicate bands not folded this time: %s", exc)

    def _finish(
        self,
        verdict: changes.RunVerdict,
        stats: dict[str, Any],
        finish_reason: str | None,
        now: str,
        cause: source_health.Cause | None,
    ) -> None:
        """Close the run as judged, in one transaction with the removals it allows."""
        store = self.store
        assert store is not None and self.run_id is not None
        with store.transaction():
            # Sellers and contacts of the listings it saw again were seen now.
            store.actors.record_actor_sightings(self.source, self.run_id, now)
            if verdict.status == "ok":
                for listing in store.listings.mark_missing(
                    self.source, self.run_id, self.removed_after_sweeps, now
                ):
                    self.counts["removed"] += 1
                    if listing["matched"]:
                        version_id = store.listings.current_version_id(listing["id"])
                        self._keep_alert_id(
                            self._alert("removed", listing["id"], version_id, listing, None, now)
                        )
            self._health_alerts(verdict, now, cause)
            store.runs.finish(
                self.run_id,
                verdict.status,
                {
                    "finish_reason": finish_reason,
                    "pages": int(stats.get("response_received_count", 0)),
                    "items": self.recorded,
                    "errors": int(stats.get("log_count/ERROR", 0)),
                    "bytes": int(stats.get("downloader/response_bytes", 0)),
                    "duration": float(stats.get("elapsed_time_seconds", 0.0)),
                    "error": verdict.error,
                    "stats": stats,
                    **changes.ListCoverage.of_stats(stats).columns(),
                    **self.counts,
                },
                health=source_health.health_of(verdict.status, cause),
            )

    def record_failure(
        self, status: str, error: str, finish_reason: str | None = None
    ) -> RunOutcome:
        """Record a crawl that ended without recording its run (it died, or never started):
        a run closed as `status` with `error`, counted in the source's health and alerted on
        as a failed run is. Takes no run lease, so it works while another crawl runs."""
        self._load_rules()
        self.store = store = open_store(self.db_path)
        now = utc_now()
        with store.transaction():
            self.run_id = store.runs.record_closed(
                self.source,
                self.kind,
                self.url,
                status,
                {"error": error, "finish_reason": finish_reason, "items": 0, **self.counts},
            )
            verdict = changes.RunVerdict(status, error)
            self._health_alerts(verdict, now)
            store.runs.count(self.run_id, status, now)
        return self._closed(verdict)

    def count_failure(self, run_id: int, status: str, error: str | None) -> RunOutcome:
        """A run this crawl opened that the runner knows more about than the crawl did: left
        running when the crawl died (already marked crashed), closed as interrupted by a
        timeout's SIGTERM, stopped with the monitor. Records it as `status` with `error`,
        counts it in the source's health (an interrupted run does not count) and alerts on
        it as on any failed run. A run already counted as interrupted is counted once."""
        self._load_rules()
        self.store = store = open_store(self.db_path)
        self.run_id = run_id
        now = utc_now()
        run = store.runs.get(run_id) or {}
        error = error or run.get("error")
        with store.transaction():
            store.runs.set_outcome(run_id, status, error)
            verdict = changes.RunVerdict(status, error)
            self._health_alerts(verdict, now)
            store.runs.count(run_id, status, now)
        self.recorded = int(run.get("items") or 0)
        return self._closed(verdict)

    def _load_rules(self) -> None:
        """Severity rules and notification routes for a failure record: the defaults (and
        no notifications) when a file is broken, so the failure is recorded all the same."""
        from monitor.alerting.notify_config import load_notify_config
        from monitor.alerting.severity import load_rules
        from monitor.errors import ConfigError

        try:
            self.severity_rules = load_rules()
        except ConfigError:
            self.severity_rules = DEFAULT_RULES
        try:
            self.notify_config = load_notify_config()
        except ConfigError:
            self.notify_config = None

    def _health_alerts(
        self,
        verdict: changes.RunVerdict,
        now: str,
        cause: source_health.Cause | None = None,
    ) -> None:
        """A complete run resolves the source's health alerts; a failed one raises one once
        it has failed often enough in a row (a changed shape at once, a list read short
        too); a source that had listings and says it has none, once. In the caller's
        transaction, before the run is counted."""
        store = self.store
        assert store is not None and self.run_id is not None
        if verdict.status == "ok":
            store.alerts.resolve_source(self.source, self.run_id, now)
        elif verdict.shape_changed or verdict.status in ("failed", "crashed"):
            kind = "source_changed_shape" if verdict.shape_changed else "source_failing"
            # A changed shape alerts at once; a failing source after N failures in a row.
            in_a_row = store.operations.consecutive_failures(self.source) + 1  # this run included
            due = kind == "source_changed_shape" or in_a_row >= failures_before_alert(self.settings)
            if due and not store.alerts.open_exists(kind, self.source):
                self._keep_alert_id(self._source_alert(kind, verdict.error, now, cause))
        elif (
            cause is not None
            and cause.health == "empty"
            # It had listings and now says it has none: worth a look, once.
            and not store.alerts.open_exists("source_failing", self.source)
        ):
            self._keep_alert_id(self._source_alert("source_failing", verdict.error, now, cause))

    def _closed(self, verdict: changes.RunVerdict) -> RunOutcome:
        assert self.store is not None and self.run_id is not None
        outcome = RunOutcome(
            run_id=self.run_id,
            source=self.source,
            status=verdict.status,
            error=verdict.error,
            items=self.recorded,
            counts=dict(self.counts),
            alert_ids=[a for a in self.alert_ids if a is not None],
        )
        self.store.close()
        self.store = None
        return outcome

    def _cause(
        self, stats: dict[str, Any], verdict: changes.RunVerdict, last_good: dict[str, Any] | None
    ) -> tuple[source_health.Cause | None, changes.RunVerdict]:
        """Why the run went as it did (monitor.running.source_health), and its verdict in those
        words. A page that says the source is empty is no shape change: the run is complete
        when it never had listings, partial (no removals) when it had some."""
        cause = source_health.cause_of(stats, verdict.status, verdict.shape_changed, self.recorded)
        if cause is None:
            return None, verdict
        line = source_health.describe(self.source, cause)
        if cause.health == "empty":
            if last_good and last_good["items"]:
                return cause, changes.RunVerdict(
                    "partial", f"{line} (the last complete sweep read {last_good['items']})"
                )
            return cause, changes.RunVerdict("ok", None)
        if verdict.error:
            verdict = changes.RunVerdict(
                verdict.status, f"{line}; {verdict.error}", verdict.shape_changed
            )
        return cause, verdict

    def _source_alert(
        self,
        kind: str,
        error: str | None,
        now: str,
        cause: source_health.Cause | None = None,
    ) -> int | None:
        store = self.store
        assert store is not None
        says = cause.says if cause is not None else None
        says = says or ("changed shape" if kind == "source_changed_shape" else "is failing")
        return self._raise(
            {
                "kind": kind,
                "severity": severity(kind, {}, None, self.severity_rules or DEFAULT_RULES),
                "source": self.source,
                "run_id": self.run_id,
                "title": f"source {self.source} {says}",
                "summary": error,
                "dedupe_key": f"{kind}:{self.source}:{self.run_id}",
            },
            None,
            now,
        )
