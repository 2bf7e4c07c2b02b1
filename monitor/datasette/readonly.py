"""A Datasette plugin heishi registers when it serves a store: every connection to the store
is query-only, and secrets kept in the store (password hashes) read as NULL.

Datasette opens its read connections with `mode=ro` already; its write connection (used by
plugins and writable canned queries) is plain, so `PRAGMA query_only` closes that door too.
`immutable=1` is not used: it would stop Datasette from seeing what a running sweep writes.
"""

from __future__ import annotations

import sqlite3

from datasette import hookimpl

# Columns whose values never leave the store through Datasette.
SECRET_COLUMNS = {("users", "password_hash")}


def _authorizer(action: int, arg1: str | None, arg2: str | None, *_: object) -> int:
    if action == sqlite3.SQLITE_READ and (arg1, arg2) in SECRET_COLUMNS:
        return sqlite3.SQLITE_IGNORE  # the column reads as NULL
    return sqlite3.SQLITE_OK


@hookimpl
def prepare_connection(conn: sqlite3.Connection, database: str, datasette: object) -> None:
    if database.startswith("_"):  # Datasette's own _internal and _memory databases
        return
    conn.execute("PRAGMA query_only = 1")
    conn.set_authorizer(_authorizer)
