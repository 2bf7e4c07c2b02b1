"""A Datasette plugin heishi registers when it serves a store: every connection to the store
is query-only, secrets kept in the store (password hashes) read as NULL, SQLite functions that
reach outside the database are refused, and only requests for the host names heishi was told
about are answered.

Datasette opens its read connections with `mode=ro` already; its write connection (used by
plugins and writable canned queries) is plain, so `PRAGMA query_only` closes that door too.
`immutable=1` is not used: it would stop Datasette from seeing what a running sweep writes.

Debian's SQLite is built with SQLITE_ENABLE_FTS3_TOKENIZER: `fts3_tokenizer(name)` returns
the address of a C structure and `fts3_tokenizer(name, pointer)` makes SQLite call whatever
that pointer points at. The authorizer refuses it and the functions of SQLite's shell and
extensions that read or write files, whichever of them this SQLite has.

The Host header check stops DNS rebinding: a page on a name its owner points at 127.0.0.1
would otherwise read the store through the analyst's browser. The names allowed are the
loopback ones, the address Datasette listens on, and those given to `heishi datasette
--allow-host` or in $HEISHI_DATASETTE_HOSTS (in the plugin's config: `allowed_hosts`).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from datasette import hookimpl

PLUGIN_NAME = "heishi-readonly"
# Columns whose values never leave the store through Datasette.
SECRET_COLUMNS = {("users", "password_hash")}
DENIED_FUNCTIONS = {
    "fts3_tokenizer",
    "load_extension",
    "readfile",
    "writefile",
    "edit",
    "fsdir",
    "zipfile",
    "sqlar_compress",
    "sqlar_uncompress",
}
DENIED_ACTIONS = {sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH}  # no other file is opened
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _authorizer(action: int, arg1: str | None, arg2: str | None, *_: object) -> int:
    if action == sqlite3.SQLITE_READ and (arg1, arg2) in SECRET_COLUMNS:
        return sqlite3.SQLITE_IGNORE  # the column reads as NULL
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    if action in DENIED_ACTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


@hookimpl
def prepare_connection(conn: sqlite3.Connection, database: str, datasette: object) -> None:
    if database.startswith("_"):  # Datasette's own _internal and _memory databases
        return
    conn.execute("PRAGMA query_only = 1")
    conn.set_authorizer(_authorizer)


@hookimpl
def asgi_wrapper(datasette: Any) -> Any:
    def wrap(app: Any) -> Any:
        async def host_checked(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] in ("http", "websocket"):
                config = datasette.plugin_config(PLUGIN_NAME) or {}
                allowed = {*LOOPBACK_HOSTS, *(h.lower() for h in config.get("allowed_hosts", []))}
                if host_name(scope) not in allowed:
                    await _refuse(send)
                    return
            await app(scope, receive, send)

        return host_checked

    return wrap


def host_name(scope: dict[str, Any]) -> str:
    """The name in the request's Host header, without its port ("" when there is none)."""
    raw = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1").strip().lower()
    if raw.startswith("["):  # [::1]:8001
        return raw[1:].split("]", 1)[0]
    return raw.rsplit(":", 1)[0] if raw.count(":") == 1 else raw


async def _refuse(send: Any) -> None:
    body = b"Refused: this server answers only for the host names it was given (--allow-host)."
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
