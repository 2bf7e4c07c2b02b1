"""Listings, their versions, matches and hashed personal data.

The write methods expect to run inside `Store.transaction()`: the caller (monitor.alerting.ingest)
groups one listing's reads and writes into one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from monitor.store import rows
from monitor.store.base import QueryGroup
from monitor.store.fields import TRACKED_FIELDS

STATE_COLUMNS = (
    *TRACKED_FIELDS,
    "url",
    "score",
    "matched",
    "posted_at",
    "content_hash",
    "extra",  # not tracked: kept with the listing and each version it gets
)
VERSION_ONLY_COLUMNS = ("evidence", "rules_version")


class ListingQueries(QueryGroup):
    """`store.listings`: the queries for `listings`, `listing_versions`, `matches` and `pii_hashes`."""

    def by_key(self, source: str, site_id: str) -> dict[str, Any] | None:
        return rows.one(
            self.conn,
            "SELECT * FROM listings WHERE source = ? AND site_id = ?",
            (source, site_id),
        )

    def by_keys(self, source: str, site_ids: list[str]) -> dict[str, dict[str, Any]]:
        """`by_key` for many listings of `source` in one statement: the stored rows by site id."""
        if not site_ids:
            return {}
        found = rows.many(
            self.conn,
            "SELECT l.* FROM json_each(?) AS wanted CROSS JOIN listings AS l "
            "ON l.source = ? AND l.site_id = wanted.value",
            (json.dumps(site_ids, ensure_ascii=False), source),
        )
        return {row["site_id"]: row for row in found}

    def seen_in_run(self, source: str, site_ids: list[str], run_id: int) -> set[str]:
        """Which of these listings of `source` the run `run_id` has already written."""
        if not site_ids:
            return set()
        found = self.conn.execute(
            "SELECT l.site_id FROM json_each(?) AS seen CROSS JOIN listings AS l "
            "ON l.source = ? AND l.site_id = seen.value WHERE l.last_run_id = ?",
            (json.dumps(site_ids, ensure_ascii=False), source, run_id),
        ).fetchall()
        return {site_id for (site_id,) in found}

    def get(self, listing_id: int) -> dict[str, Any] | None:
        return rows.one(self.conn, "SELECT * FROM listings WHERE id = ?", (listing_id,))

    def insert(
        self, source: str, site_id: str, state: dict[str, Any], run_id: int, now: str
    ) -> int:
        # Ids are handed out in blocks per source, so a source's listings cluster: see
        # listing_ids.py.
        listing_id = self.store.listing_ids.next_id(source)
        columns = ["id", "source", "site_id", *STATE_COLUMNS, "status", "first_seen", "last_seen"]
        values = [listing_id, source, site_id, *(state.get(c) for c in STATE_COLUMNS)]
        values += ["live", now, now]
        columns += ["last_run_id", "missing_sweeps", "version"]
        values += [run_id, 0, 1]
        self.conn.execute(
            f"INSERT INTO listings ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            values,
        )
        return listing_id

    def insert_version(
        self,
        listing_id: int,
        version: int,
        run_id: int,
        now: str,
        state: dict[str, Any],
        diff: dict[str, Any] | None,
        current: dict[str, Any] | None = None,
        source: str | None = None,
    ) -> int:
        """Write a version of a listing and index its text for search. `current` is the
        listing's row before this version (None for a new listing): its source and text
        spare the search index two lookups; so does `source` for a new listing."""
        columns = ["listing_id", "version", "run_id", "seen_at", *STATE_COLUMNS]
        columns += [*VERSION_ONLY_COLUMNS, "diff"]
        values = [listing_id, version, run_id, now, *(state.get(c) for c in STATE_COLUMNS)]
        values += [state.get(c) for c in VERSION_ONLY_COLUMNS]
        values.append(json.dumps(diff, ensure_ascii=False) if diff else None)
        cursor = self.conn.execute(
            f"INSERT INTO listing_versions ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})",
            values,
        )
        version_id = rows.inserted_id(cursor)
        if current is not None:
            previous = (current.get("title"), current.get("text"))
            self.store.search.index_version(
                version_id, listing_id, version, state, current["source"], previous
            )
        else:
            self.store.search.index_version(version_id, listing_id, version, state, source)
        return version_id

    def update(
        self,
        listing_id: int,
        state: dict[str, Any],
        version: int,
        run_id: int,
        now: str,
        current: dict[str, Any] | None = None,
    ) -> None:
        """A new version became current: the listing row takes its state. With the row as it
        was (`current`), only the columns whose value changed are written, so indexes on the
        others (seller, status) are not rewritten for a new price."""
        columns = [c for c in STATE_COLUMNS if current is None or state.get(c) != current.get(c)]
        sets = [f"{c} = ?" for c in columns] + ["version = ?", "last_seen = ?", "last_run_id = ?"]
        values = [*(state.get(c) for c in columns), version, now, run_id]
        if current is None or (
            current.get("status") != "live"
            or current.get("missing_sweeps")
            or current.get("removed_at") is not None
        ):
            sets.append("missing_sweeps = 0, status = 'live', removed_at = NULL")
        self.conn.execute(
            f"UPDATE listings SET {', '.join(sets)} WHERE id = ?", (*values, listing_id)
        )

    def touch(
        self, listing_ids: list[int], run_id: int, now: str, revive: Iterable[int] = ()
    ) -> None:
        """Seen again unchanged: last_seen only. `revive` are those of them that had been
        missed or removed, and are live again. The hot path of a sweep: it sets as few
        columns (and so indexes) as it can."""
        self.conn.executemany(
            "UPDATE listings SET last_seen = ?, last_run_id = ? WHERE id = ?",
            [(now, run_id, listing_id) for listing_id in listing_ids],
        )
        self.conn.executemany(
            "UPDATE listings SET missing_sweeps = 0, status = 'live', removed_at = NULL "
            "WHERE id = ?",
            [(listing_id,) for listing_id in revive],
        )

    def touch_unchanged(
        self, source: str, seen: list[tuple[str, str]], run_id: int, now: str
    ) -> dict[str, int]:
        """The hot path of a sweep, in one statement: of these (site id, content hash) pairs,
        the live listings of `source` stored with that same hash are marked seen (last_seen
        only; back to no missed sweeps). Returns their site ids (with their listing ids); the
        others are new, changed or removed, and need the full path."""
        if not seen:
            return {}
        # CROSS JOIN keeps the pairs as the outer loop: one (source, site_id) index lookup
        # each, instead of a scan of the source's listings.
        touched = self.conn.execute(
            "UPDATE listings SET last_seen = ?, last_run_id = ? WHERE id IN ("
            "SELECT l.id FROM json_each(?) AS seen CROSS JOIN listings AS l "
            "ON l.source = ? AND l.site_id = seen.value ->> 0 "
            "AND l.content_hash = seen.value ->> 1 AND l.status = 'live') "
            "RETURNING site_id, id, missing_sweeps",
            (now, run_id, json.dumps(seen, ensure_ascii=False), source),
        ).fetchall()
        missed = [(listing_id,) for _, listing_id, missing in touched if missing]
        if missed:
            self.conn.executemany("UPDATE listings SET missing_sweeps = 0 WHERE id = ?", missed)
        return {site_id: listing_id for site_id, listing_id, _ in touched}

    def insert_matches(
        self,
        version_id: int,
        listing_id: int,
        hits: Iterable[dict[str, Any]],
        rules_version: str | None = None,
    ) -> None:
        self.conn.executemany(
            "INSERT INTO matches (version_id, listing_id, term, category, weight, role, field, "
            'start, "end", surface, rules_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
            [
                (
                    version_id,
                    listing_id,
                    h["term"],
                    h.get("category"),
                    h.get("weight"),
                    h.get("role"),
                    h.get("field"),
                    h.get("start"),
                    h.get("end"),
                    h.get("surface"),
                    rules_version,
                )
                for h in hits
            ],
        )

    def insert_pii(self, version_id: int, listing_id: int, hits: Iterable[dict[str, Any]]) -> None:
        self.conn.executemany(
            "INSERT INTO pii_hashes (version_id, listing_id, kind, digest, masked) "
            "VALUES (?, ?, ?, ?, ?)",
            [(version_id, listing_id, h["kind"], h["digest"], h["masked"]) for h in hits],
        )

    def mark_missing(
        self, source: str, run_id: int, removed_after_sweeps: int, now: str
    ) -> list[dict[str, Any]]:
        """After a complete sweep: count one more miss for each live listing it did not see,
        and mark removed those missed `removed_after_sweeps` times. Returns the removed.

        Only this run's own sightings count: a listing last seen by an earlier run is missed,
        one a later run saw is not (with the run lease there is no later run, but a run must
        never remove what another saw)."""
        # One pass over the source's live listings finds the missed ones (usually none); only
        # those are written.
        missed = self.conn.execute(
            "SELECT id, missing_sweeps FROM listings "
            "WHERE source = ? AND status = 'live' AND (last_run_id IS NULL OR last_run_id < ?)",
            (source, run_id),
        ).fetchall()
        if not missed:
            return []
        self.conn.executemany(
            "UPDATE listings SET missing_sweeps = missing_sweeps + 1 WHERE id = ?",
            [(listing_id,) for listing_id, _ in missed],
        )
        gone = [listing_id for listing_id, misses in missed if misses + 1 >= removed_after_sweeps]
        if not gone:
            return []
        ids = json.dumps(gone)  # any number of them: one parameter, not one each
        removed = rows.many(
            self.conn,
            "SELECT * FROM listings WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (ids,),
        )
        self.conn.execute(
            "UPDATE listings SET status = 'removed', removed_at = ? "
            "WHERE id IN (SELECT value FROM json_each(?))",
            (now, ids),
        )
        return removed

    def removal_candidates(self, source: str, run_id: int, limit: int) -> list[dict[str, Any]]:
        """Live listings of `source` that run `run_id` has not seen (so far), the most
        recently seen first: what the crawl checks on their own page before it may remove
        them (a list that shifted while it was read hides listings that are still there)."""
        return rows.many(
            self.conn,
            "SELECT id, site_id, url, title, seller, posted_at FROM listings "
            "WHERE source = ? AND status = 'live' AND (last_run_id IS NULL OR last_run_id < ?) "
            "ORDER BY last_seen DESC, id LIMIT ?",
            (source, run_id, limit),
        )

    def versions(self, listing_id: int) -> list[dict[str, Any]]:
        return rows.many(
            self.conn,
            "SELECT * FROM listing_versions WHERE listing_id = ? ORDER BY version",
            (listing_id,),
        )

    def matches_of_version(self, version_id: int) -> list[dict[str, Any]]:
        """The hits of a version found by the latest rules that recorded any (a retro-hunt
        adds hits under its own rules version and keeps the older ones)."""
        return rows.many(
            self.conn,
            "SELECT * FROM matches WHERE version_id = ? AND rules_version IS (SELECT "
            "rules_version FROM matches WHERE version_id = ? ORDER BY id DESC LIMIT 1) "
            "ORDER BY id",
            (version_id, version_id),
        )

    def current_version_id(self, listing_id: int) -> int | None:
        row = self.conn.execute(
            "SELECT v.id FROM listing_versions v JOIN listings l ON l.id = v.listing_id "
            "AND l.version = v.version WHERE l.id = ?",
            (listing_id,),
        ).fetchone()
        return row[0] if row else None

    def count(self, source: str | None = None, status: str | None = None) -> int:
        sql, params = "SELECT COUNT(*) FROM listings WHERE 1", []
        if source:
            sql += " AND source = ?"
            params.append(source)
        if status:
            sql += " AND status = ?"
            params.append(status)
        return rows.count(self.conn, sql, params)
