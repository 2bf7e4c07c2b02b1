"""Rule sets and re-matching stored versions with new rules (`heishi retrohunt`).

`rule_sets` names every version of the keyword rules the store has seen; `rules_version` on
`listing_versions` says which rules produced a version's score, verdict and categories, and on
`matches` which rules found each hit (NULL: recorded before heishi kept track).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from monitor.store import rows
from monitor.store.base import QueryGroup
from monitor.store.fields import EXTRACTED_FIELDS

if TYPE_CHECKING:
    from monitor.store.connection import Store

# A version's fields that the matcher and extractor derive (and a retro-hunt may rewrite);
# what was seen on the page (title, text, seller, url ...) is never rewritten.
DERIVED_COLUMNS = (*EXTRACTED_FIELDS, "score", "matched", "content_hash")


def migrate_0009_rules(store: Store) -> None:
    db = store.db
    db.table("rule_sets").create(
        {
            "version": str,  # monitor.matching.rules_version id: hash of the keyword files' contents
            "created_at": str,  # when this store first saw these rules
            "directory": str,
            "files": str,  # JSON list of {name, sha256, bytes}
        },
        pk="version",
        not_null={"created_at"},
    )
    db.table("listing_versions").add_column("rules_version", str)
    db.table("matches").add_column("rules_version", str)


class RetrohuntQueries(QueryGroup):
    """`store.retrohunt`: the queries for `rule_sets` and the re-matching of stored versions."""

    def record_rule_set(
        self, version: str, directory: str, files: list[dict[str, Any]], now: str
    ) -> bool:
        """Remember a version of the rules (once); True when it is new to this store."""
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO rule_sets (version, created_at, directory, files) "
            "VALUES (?, ?, ?, ?)",
            (version, now, directory, json.dumps(files, ensure_ascii=False)),
        )
        return cursor.rowcount > 0

    def _rematch_filter(self, rules_version: str, since: str | None) -> tuple[str, list[Any]]:
        # Versions the rules have not seen yet; with `since`, only versions first seen since
        # then, or current versions of listings seen since then.
        where = "(v.rules_version IS NULL OR v.rules_version != ?)"
        params: list[Any] = [rules_version]
        if not self.tracks_rules_versions():  # an old store, read-only: every version
            where, params = "1", []
        if since:
            where += " AND (v.seen_at >= ? OR (v.version = l.version AND l.last_seen >= ?))"
            params += [since, since]
        return where, params

    def count_versions_to_rematch(self, rules_version: str, since: str | None) -> int:
        where, params = self._rematch_filter(rules_version, since)
        return rows.count(
            self.conn,
            "SELECT COUNT(*) FROM listing_versions v JOIN listings l ON l.id = v.listing_id "
            f"WHERE {where}",
            params,
        )

    def versions_to_rematch(
        self, rules_version: str, since: str | None, after_id: int, limit: int
    ) -> list[dict[str, Any]]:
        """The next `limit` versions (by id, after `after_id`) that these rules have not
        matched, with their listing's source, spider kind and whether they are current."""
        where, params = self._rematch_filter(rules_version, since)
        return rows.many(
            self.conn,
            "SELECT v.*, l.source, s.kind, l.site_id, l.status AS listing_status, "
            "(v.version = l.version) AS is_current "
            "FROM listing_versions v JOIN listings l ON l.id = v.listing_id "
            "LEFT JOIN sources s ON s.name = l.source "
            f"WHERE v.id > ? AND {where} ORDER BY v.id LIMIT ?",
            (after_id, *params, limit),
        )

    def match_spans_of_version(self, version_id: int) -> set[tuple[Any, ...]]:
        """The latest recorded hits of a version as (term, role, field, start, end)."""
        return {
            tuple(row)
            for row in self.conn.execute(
                'SELECT term, role, field, start, "end" FROM matches WHERE version_id = ? '
                "AND rules_version IS (SELECT rules_version FROM matches WHERE version_id = ? "
                "ORDER BY id DESC LIMIT 1)",
                (version_id, version_id),
            )
        }

    def apply_rematch(
        self,
        version: dict[str, Any],
        derived: dict[str, Any] | None,
        rules_version: str,
    ) -> None:
        """A version re-matched by `rules_version`: its derived fields (when they changed),
        and its listing's too when it is the current version. Inside a transaction."""
        if derived:
            sets = ", ".join(f"{c} = ?" for c in DERIVED_COLUMNS)
            values = [derived.get(c) for c in DERIVED_COLUMNS]
            self.conn.execute(
                f"UPDATE listing_versions SET {sets}, rules_version = ? WHERE id = ?",
                (*values, rules_version, version["id"]),
            )
            if version["is_current"]:
                self.conn.execute(
                    f"UPDATE listings SET {sets} WHERE id = ?", (*values, version["listing_id"])
                )
        else:
            self.conn.execute(
                "UPDATE listing_versions SET rules_version = ? WHERE id = ?",
                (rules_version, version["id"]),
            )

    def alert_key_exists(self, dedupe_key: str) -> bool:
        return (
            self.conn.execute(
                "SELECT 1 FROM alerts WHERE dedupe_key = ? LIMIT 1", (dedupe_key,)
            ).fetchone()
            is not None
        )

    def tracks_rules_versions(self) -> bool:
        """False for a store opened read-only before migration 0009 (no rules_version)."""
        columns = {row[1] for row in self.conn.execute("PRAGMA table_info(listing_versions)")}
        return "rules_version" in columns
