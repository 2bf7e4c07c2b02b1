"""Retro-hunt: re-match stored listing versions with the current keyword rules.

When the keyword lists change, listings already in the store may read differently: some now
offer data by the new rules, some no longer do. `retrohunt()` re-matches each stored version
(title and masked text, in its source and spider kind) that the current rules have not seen,
records the new verdict with the rules version that produced it, and raises one `retrohunt`
alert for each listing whose current version newly matches. Listings that no longer match
are reported, never alerted.

It runs in batches, each its own transaction, and stamps each version it has re-matched with
the rules version: a crash loses at most one batch and a rerun continues where it stopped.
With `dry_run` it opens the store read-only and only reports what would change.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from monitor.alerting import changes
from monitor.alerting.severity import severity
from monitor.store import Store, open_store, utc_now
from monitor.store.retrohunt import DERIVED_COLUMNS

log = logging.getLogger(__name__)

BATCH_SIZE = 500
SCORE_EPSILON = 1e-6
# Changes in the order a reviewer reads them.
CHANGE_KINDS = ("newly_matched", "no_longer_matched", "categories_changed", "score_changed")


@dataclass
class VersionChange:
    """How the current rules read one stored version differently from its stored verdict."""

    listing_id: int
    version_id: int
    version: int
    current: bool  # the listing's current version
    source: str
    site_id: str
    title: str
    change: str  # one of CHANGE_KINDS
    old: dict[str, Any]  # {matched, score, categories, rules_version}
    new: dict[str, Any]
    alert: str | None = None  # raised | would_raise | already_alerted | None
    alert_id: int | None = None
    severity: str | None = None


@dataclass
class RetrohuntReport:
    rules_version: str
    dry_run: bool
    since: str | None
    examined: int = 0
    unchanged: int = 0
    new_rule_set: bool = False
    changes: list[VersionChange] = field(default_factory=list)

    @property
    def alert_ids(self) -> list[int]:
        return [c.alert_id for c in self.changes if c.alert_id is not None]

    def counts(self) -> dict[str, int]:
        counts = {kind: 0 for kind in CHANGE_KINDS}
        for change in self.changes:
            counts[change.change] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "rules_version": self.rules_version,
            "dry_run": self.dry_run,
            "since": self.since,
            "examined": self.examined,
            "unchanged": self.unchanged,
            "new_rule_set": self.new_rule_set,
            "counts": self.counts(),
            "alerts": self.alert_ids,
            "changes": [asdict(c) for c in self.changes],
        }


def retrohunt(
    db_path: str | Path,
    *,
    since: str | None = None,
    dry_run: bool = False,
    keywords_dir: str | Path | None = None,
    threshold: float | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> RetrohuntReport:
    """Re-match the stored versions the current rules have not seen (since `since`, an ISO
    date or time); see the module's docstring. `progress(done, total)` after each batch."""
    from monitor.alerting.notify_config import load_notify_config
    from monitor.alerting.severity import load_rules
    from monitor.matching.matcher import load_matcher
    from monitor.matching.rules_version import rules_version

    matcher = load_matcher(keywords_dir, threshold=threshold)
    rules = rules_version(keywords_dir)
    hunt = _Hunt(
        matcher=matcher,
        severity_rules=load_rules(),
        notify_config=None if dry_run else load_notify_config(),
        report=RetrohuntReport(rules.id, dry_run, since),
    )
    with open_store(db_path, readonly=dry_run) as store:
        hunt.store = store
        if not dry_run:
            with store.transaction():
                hunt.report.new_rule_set = store.retrohunt.record_rule_set(
                    rules.id, rules.directory, rules.files_summary(), utc_now()
                )
        total = store.retrohunt.count_versions_to_rematch(rules.id, since)
        after_id = 0
        while True:
            batch = store.retrohunt.versions_to_rematch(
                rules.id, since, after_id, max(1, batch_size)
            )
            if not batch:
                break
            hunt.batch(batch)
            after_id = batch[-1]["id"]
            if progress is not None:
                progress(min(hunt.report.examined, total), total)
    return hunt.report


@dataclass
class _Hunt:
    matcher: Any
    severity_rules: Any
    notify_config: Any
    report: RetrohuntReport
    store: Store | None = None

    def batch(self, versions: list[dict[str, Any]]) -> None:
        """Match a batch (outside any transaction: it is the slow part), then write it in one."""
        rematched = [self.rematch(version) for version in versions]
        self.report.examined += len(versions)
        if self.report.dry_run:
            for version, (state, result, change) in zip(versions, rematched, strict=True):
                if change is not None:
                    self.decide_alert(version, state, result, change)
            return
        store = self.store
        assert store is not None
        rules_version = self.report.rules_version
        now = utc_now()
        with store.transaction():
            for version, (state, result, change) in zip(versions, rematched, strict=True):
                if change is not None:
                    listing = store.listings.get(version["listing_id"]) or {}
                    # A sweep may have written a newer version since this batch was read.
                    version["is_current"] = listing.get("version") == version["version"]
                    change.current = bool(version["is_current"])
                store.retrohunt.apply_rematch(version, state if change else None, rules_version)
                hits = [changes.as_dict(hit) for hit in result.hits]
                if change is not None and _spans(hits) != store.retrohunt.match_spans_of_version(
                    version["id"]
                ):
                    store.listings.insert_matches(
                        version["id"], version["listing_id"], hits, rules_version
                    )
                if change is not None:
                    self.decide_alert(version, state, result, change, now)

    def rematch(self, version: dict[str, Any]):
        """(new state, match result, VersionChange or None when the verdict is the same)."""
        result = self.matcher.match(
            version["title"] or "",
            version["text"] or "",
            source=version["source"],
            kind=version["kind"],
        )
        item = {key: version.get(key) for key in ("url", "title", "text", "seller", "posted_at")}
        item["price_text"] = version.get("price_text")
        item["match"] = result
        state = changes.listing_state(item)
        state = {column: state[column] for column in DERIVED_COLUMNS}
        old, new = _verdict(version), _verdict(state)
        old["rules_version"] = version.get("rules_version")
        new["rules_version"] = self.report.rules_version
        kind = _change_kind(old, new)
        if kind is None:
            self.report.unchanged += 1
            return state, result, None
        change = VersionChange(
            listing_id=version["listing_id"],
            version_id=version["id"],
            version=version["version"],
            current=bool(version["is_current"]),
            source=version["source"],
            site_id=version["site_id"],
            title=version["title"] or "",
            change=kind,
            old=old,
            new=new,
        )
        self.report.changes.append(change)
        return state, result, change

    def decide_alert(
        self,
        version: dict[str, Any],
        state: dict[str, Any],
        result: Any,
        change: VersionChange,
        now: str | None = None,
    ) -> None:
        """One `retrohunt` alert for a listing whose current version newly matches, unless
        it was alerted as new before or these rules already raised it (dedupe key)."""
        if change.change != "newly_matched" or not change.current:
            return
        store = self.store
        assert store is not None
        listing_id = version["listing_id"]
        key = f"retrohunt:{listing_id}:{self.report.rules_version}"
        if store.alerts.exists("new", listing_id) or store.retrohunt.alert_key_exists(key):
            change.alert = "already_alerted"
            return
        match = changes.as_dict(result)
        change.severity = severity("retrohunt", state, match, self.severity_rules)
        if self.report.dry_run or now is None:
            change.alert = "would_raise"
            return
        from monitor.alerting.ingest import raise_alert

        brands = match.get("brands") or []
        old_rules = change.old["rules_version"]
        summary = (
            f"matches the keyword rules {self.report.rules_version[:8]} "
            f"(not the rules {old_rules[:8] if old_rules else 'of its sweep'}): "
            + "; ".join(match.get("reasons") or [])
        )
        alert = {
            "kind": "retrohunt",
            "severity": change.severity,
            "source": version["source"],
            "listing_id": listing_id,
            "version_id": version["id"],
            "title": version["title"],
            "summary": summary[:500],
            "categories": state["categories"],
            "brands": json.dumps(brands, ensure_ascii=False) if brands else None,
            "diff": {
                name: [change.old[name], change.new[name]]
                for name in ("matched", "score", "categories")
                if change.old[name] != change.new[name]
            },
            "dedupe_key": key,
        }
        listing = {**version, **state}
        change.alert_id = raise_alert(store, self.notify_config, alert, listing, now)
        change.alert = "raised" if change.alert_id is not None else "already_alerted"


def _verdict(row: dict[str, Any]) -> dict[str, Any]:
    categories = row.get("categories") or "[]"
    return {
        "matched": int(row.get("matched") or 0),
        "score": round(float(row.get("score") or 0.0), 3),
        "categories": sorted(json.loads(categories) if isinstance(categories, str) else categories),
    }


def _change_kind(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    if old["matched"] != new["matched"]:
        return "newly_matched" if new["matched"] else "no_longer_matched"
    if new["matched"] and old["categories"] != new["categories"]:
        return "categories_changed"
    if abs(old["score"] - new["score"]) > SCORE_EPSILON or old["categories"] != new["categories"]:
        return "score_changed"
    return None


def _spans(hits: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {(h["term"], h.get("role"), h.get("field"), h.get("start"), h.get("end")) for h in hits}
