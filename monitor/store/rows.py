"""Rows as dicts, read through the cursor's own column names."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

Params = Sequence[Any] | Mapping[str, Any]


def one(conn: sqlite3.Connection, sql: str, params: Params = ()) -> dict[str, Any] | None:
    cursor = conn.execute(sql, params)
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def many(conn: sqlite3.Connection, sql: str, params: Params = ()) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def count(conn: sqlite3.Connection, sql: str, params: Params = ()) -> int:
    """The one number a `SELECT count(*) ...` (or another single integer) query returns."""
    return int(conn.execute(sql, params).fetchone()[0])


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The rowid an INSERT just made (sqlite3 types it optional: it is None only before one)."""
    rowid = cursor.lastrowid
    if rowid is None:
        raise ValueError("no row was inserted")
    return rowid
