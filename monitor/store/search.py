"""The search index: an FTS5 table over the text of listing versions (see monitor/analysis/search.py).

`listing_search` holds one row per version whose title or text differs from the version before
it, its rowid the version's id. Versions that only changed price or seller add nothing, and a
listing seen again unchanged (`touch_unchanged`, the hot path of every sweep) never touches the
index. Old rows are kept when a listing changes, so text that only an older version had is
still found. Column `facets` holds the listing's source and current categories as tokens; a
trigger on `listings` rewrites them when the categories change (a changed listing, or a
retro-hunt), which is why the table keeps its content (FTS5 can update only such rows).

Ranking (monitor/analysis/search.py, monitor/analysis/search_results.py) reads the newest matching rows with
their stored words (`search_window`) and scores them with bm25 itself: FTS5's bm25() first
visits every row of every query word to count them, which for a common word (身份证, in hundreds
of thousands of versions) is most of a search's time. Filters on source and category are facet
tokens that FTS5 intersects before the window is cut, so a filter never empties the window;
`since` (listings.last_seen) is checked row by row.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import TYPE_CHECKING, Any

from monitor.store import rows
from monitor.store.base import QueryGroup

if TYPE_CHECKING:
    from monitor.store.connection import Store

log = logging.getLogger(__name__)

# Column weights for bm25: title, text, words hidden in longer words, facets (filters only).
BM25_WEIGHTS = (4.0, 1.0, 0.5, 0.0)
_BATCH = 2000

# The facet tokens of listing `new` in SQL, as monitor.analysis.search.facet_token makes them.
_FACETS_SQL = (
    "'zs' || lower(hex(new.source)) || coalesce((SELECT ' ' || group_concat('zc' || "
    "lower(hex(value)), ' ') FROM json_each(CASE WHEN json_valid(new.categories) "
    "THEN new.categories ELSE '[]' END)), '')"
)


def migrate_0006_search(store: Store) -> None:
    """The FTS5 table and the trigger that keeps its facets current. The versions already
    stored are indexed afterwards, in the background (monitor/store/search_backfill.py):
    opening an old store does not wait for them."""
    _create_table(store)
    if store.conn.execute("SELECT 1 FROM listing_versions LIMIT 1").fetchone() is not None:
        state = store.search_backfill.start()
        log.warning(
            "store %s: %d stored versions will be indexed for search in the background "
            "(heishi run does it; heishi search --reindex does it now)",
            store.path,
            state.upto,
        )
    store.conn.execute(
        "CREATE TRIGGER listing_search_facets AFTER UPDATE OF categories ON listings "
        "WHEN new.categories IS NOT old.categories BEGIN "
        f"UPDATE listing_search SET facets = {_FACETS_SQL} "
        "WHERE rowid IN (SELECT id FROM listing_versions WHERE listing_id = new.id); END"
    )


def migrate_0011_search_state(store: Store) -> None:
    """`search_state`: which segmentation the index was built with (`segmentation`, see
    SearchSegmenter.fingerprint), so a search can say when new keyword lists left it stale.
    A store without versions has nothing indexed yet: it is current. An older one's is
    unknown until its next `heishi search --reindex`."""
    store.conn.execute(
        "CREATE TABLE search_state (name TEXT PRIMARY KEY, value TEXT NOT NULL, "
        "recorded_at TEXT NOT NULL)"
    )
    if store.conn.execute("SELECT 1 FROM listing_versions LIMIT 1").fetchone() is None:
        store.search.record_segmentation()


def _create_table(store: Store) -> None:
    conn = store.conn
    conn.execute(
        "CREATE VIRTUAL TABLE listing_search USING fts5("
        "title, text, extra, facets, tokenize='unicode61 remove_diacritics 0')"
    )
    # So `ORDER BY rank` in a query typed by hand ranks as heishi does.
    conn.execute(
        "INSERT INTO listing_search (listing_search, rank) VALUES ('rank', ?)",
        (f"bm25({', '.join(map(str, BM25_WEIGHTS))})",),
    )


class SearchQueries(QueryGroup):
    """`store.search`: the queries for the search index `listing_search`."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        # Search rows of the versions written in the open transaction.
        self._pending: list[tuple[Any, ...]] = []

    def index_version(
        self,
        version_id: int,
        listing_id: int,
        version: int,
        state: dict[str, Any],
        source: str | None = None,
        previous: tuple[str | None, str | None] | None = None,
    ) -> None:
        """Index a version just written, unless its title and text are the previous one's.
        The caller may pass the listing's source and the previous version's (title, text);
        otherwise they are read."""
        conn = self.conn
        title, text = state.get("title"), state.get("text")
        if version > 1:
            if previous is None:
                row = conn.execute(
                    "SELECT title, text FROM listing_versions WHERE listing_id = ? AND version = ?",
                    (listing_id, version - 1),
                ).fetchone()
                previous = tuple(row) if row is not None else None
            if previous == (title, text):
                return
        if source is None:
            row = conn.execute("SELECT source FROM listings WHERE id = ?", (listing_id,)).fetchone()
            source = row[0] if row else ""
        indexed = (version_id, source, title, text, state.get("categories"))
        if not conn.in_transaction:
            self._insert_rows([indexed])
            return
        # Written together just before the transaction commits (StoreConnection.transaction): FTS5
        # writes its pending rows out as a new segment at every statement savepoint, so rows
        # inserted one by one between other writes made a segment per listing, and merging
        # them was most of a sweep's writes.
        self._pending.append(indexed)

    def write_pending(self) -> None:
        """Index the versions written in this transaction (called before COMMIT)."""
        pending = self._pending
        self._pending = []
        if pending:
            self._insert_rows(pending)

    def drop_pending(self) -> None:
        """The transaction rolled back: its versions are gone, so is their indexing."""
        self._pending = []

    def _insert_rows(self, versions: list[tuple[Any, ...]]) -> None:
        """(version id, source, title, text, categories JSON) -> rows of the index."""
        from monitor.analysis.search import index_row

        values = []
        for version_id, source, title, text, categories in versions:
            indexed = index_row(title, text, source, _category_list(categories))
            values.append((version_id, indexed.title, indexed.text, indexed.extra, indexed.facets))
        self.conn.executemany(
            "INSERT INTO listing_search (rowid, title, text, extra, facets) VALUES (?, ?, ?, ?, ?)",
            values,
        )

    def record_segmentation(self) -> None:
        """The index is now made with the current keyword lists' segmentation."""
        from monitor.analysis.search import default_segmenter
        from monitor.store.clock import utc_now

        self.conn.execute(
            "INSERT OR REPLACE INTO search_state (name, value, recorded_at) "
            "VALUES ('segmentation', ?, ?)",
            (default_segmenter().fingerprint(), utc_now()),
        )

    def segmentation(self) -> str | None:
        """The fingerprint of the segmentation the index was built with; None if unknown."""
        try:
            row = self.conn.execute(
                "SELECT value FROM search_state WHERE name = 'segmentation'"
            ).fetchone()
        except sqlite3.OperationalError:  # a store older than migration 0011, read-only
            return None
        return row[0] if row else None

    def rebuild_index(self) -> int:
        """Index every stored version anew (a new store, an old one, new keyword lists);
        returns the number of rows indexed. Run inside a transaction."""
        conn = self.conn
        conn.execute("DROP TABLE IF EXISTS listing_search")
        _create_table(self.store)
        # Each listing's versions in order; facets from the listing's current categories.
        cursor = conn.execute(
            "SELECT v.id, v.listing_id, l.source, v.title, v.text, l.categories "
            "FROM listing_versions v JOIN listings l ON l.id = v.listing_id "
            "ORDER BY v.listing_id, v.version"
        )
        previous: tuple[Any, ...] | None = None
        batch: list[tuple[Any, ...]] = []
        indexed = 0
        for version_id, listing_id, source, title, text, categories in cursor:
            key = (listing_id, title, text)
            if key == previous:
                continue
            previous = key
            batch.append((version_id, source, title, text, categories))
            if len(batch) >= _BATCH:
                self._insert_rows(batch)
                indexed += len(batch)
                batch = []
                if indexed % 50_000 < _BATCH:
                    log.warning("search index: %d versions indexed", indexed)
        if batch:
            self._insert_rows(batch)
            indexed += len(batch)
        has_state = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'search_state'"
        ).fetchone()
        if has_state:  # (migration 0006 builds the index before 0011 makes the table)
            self.record_segmentation()
        self.store.search_backfill.finish()  # nothing is left to backfill
        return indexed

    def window(
        self,
        expression: str,
        *,
        since: str | None = None,
        window: int = 1000,
        with_text: bool = True,
    ) -> list[tuple[Any, ...]]:
        """The newest `window` index rows matching an FTS5 expression, newest first, as
        (rowid, title, text, extra, facets) (just (rowid,) without `with_text`); `since` keeps
        listings last seen then or later. FTS5 walks the rows in rowid order and stops at
        `window`, so this costs the same for a word in a million rows as in a thousand.
        Raises sqlite3.OperationalError for an expression FTS5 cannot parse."""
        columns = "s.rowid, c.c0, c.c1, c.c2, c.c3" if with_text else "s.rowid"
        sql = f"SELECT {columns} FROM listing_search s "
        if with_text:  # the stored words, read straight from FTS5's content table
            sql += "CROSS JOIN listing_search_content c ON c.id = s.rowid "
        params: list[Any] = [expression]
        where = "WHERE listing_search MATCH ?"
        if since:
            sql += (
                "CROSS JOIN listing_versions v ON v.id = s.rowid "
                "CROSS JOIN listings l ON l.id = v.listing_id "
            )
            where += " AND l.last_seen >= ?"
            params.append(since)
        params.append(window)
        return self.conn.execute(
            sql + where + " ORDER BY s.rowid DESC LIMIT ?", tuple(params)
        ).fetchall()

    def term_sample(self, expression: str, size: int) -> list[int]:
        """The rowids of the newest `size` index rows matching an expression, newest first."""
        return [
            row[0]
            for row in self.conn.execute(
                "SELECT rowid FROM listing_search WHERE listing_search MATCH ? "
                "ORDER BY rowid DESC LIMIT ?",
                (expression, size),
            )
        ]

    def index_totals(self) -> dict[str, Any]:
        """Rows in the index, the largest rowid, and words per column in all rows, from the
        totals FTS5 keeps (its 'averages' record) rather than by counting."""
        row = self.conn.execute("SELECT block FROM listing_search_data WHERE id = 1").fetchone()
        numbers = _varints(row[0]) if row and row[0] else [0]
        top = self.conn.execute("SELECT max(id) FROM listing_search_docsize").fetchone()[0]
        tokens = (numbers[1:] + [0, 0, 0, 0])[:4]
        return {"rows": numbers[0], "max_rowid": top or 0, "tokens": tokens}

    def details(self, version_ids: list[int]) -> dict[int, dict[str, Any]]:
        """For each version id: the version's text and the listing it belongs to, as it is now."""
        if not version_ids:
            return {}
        marks = ", ".join("?" * len(version_ids))
        found = rows.many(
            self.conn,
            "SELECT v.id AS version_id, v.version AS hit_version, v.seen_at AS hit_seen_at, "
            "v.title AS hit_title, v.text AS hit_text, l.id AS listing_id, l.source, l.site_id, "
            "l.url, l.title, l.text, l.seller, l.price, l.currency, l.status, l.version, "
            "l.categories, l.score, l.matched, l.first_seen, l.last_seen "
            "FROM listing_versions v JOIN listings l ON l.id = v.listing_id "
            f"WHERE v.id IN ({marks})",
            tuple(version_ids),
        )
        return {row["version_id"]: row for row in found}

    def current_text_versions(self, listing_ids: list[int]) -> dict[int, set[int]]:
        """For each listing: the ids of its versions whose title and text are its current ones."""
        if not listing_ids:
            return {}
        marks = ", ".join("?" * len(listing_ids))
        found: dict[int, set[int]] = {}
        for listing_id, version_id in self.conn.execute(
            "SELECT v.listing_id, v.id FROM listing_versions v JOIN listings l "
            "ON l.id = v.listing_id AND v.title IS l.title AND v.text IS l.text "
            f"WHERE v.listing_id IN ({marks})",
            tuple(listing_ids),
        ):
            found.setdefault(listing_id, set()).add(version_id)
        return found

    def index_size(self) -> int:
        """Rows in the search index (versions indexed)."""
        return rows.count(self.conn, "SELECT count(*) FROM listing_search_docsize")


def _varints(blob: bytes) -> list[int]:
    """SQLite's variable-length integers, as FTS5 writes its totals."""
    numbers: list[int] = []
    position = 0
    while position < len(blob):
        value = 0
        for index in range(9):
            byte = blob[position]
            position += 1
            if index == 8:  # the ninth byte carries 8 bits
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        numbers.append(value)
    return numbers


def _category_list(categories: str | None) -> list[str]:
    try:
        value = json.loads(categories) if categories else []
    except (TypeError, ValueError):
        return []
    return [str(c) for c in value] if isinstance(value, list) else []
