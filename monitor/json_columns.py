"""Store rows for JSON output: the columns that hold JSON text (categories, diff, contacts,
evidence ...) as the values they encode, so a script reads `"categories": ["identity"]`,
never a string holding JSON."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from typing import Any

# Columns of heishi's tables whose text is JSON.
JSON_COLUMNS = frozenset(
    {"categories", "brands", "diff", "contacts", "evidence", "extra", "stats", "payload"}
)


def decoded(row: dict[str, Any] | None, columns: Iterable[str] = JSON_COLUMNS) -> dict[str, Any]:
    """A copy of `row` with each JSON column parsed (text that is not JSON is kept as it is)."""
    if row is None:
        return {}
    out = dict(row)
    for name in columns:
        value = out.get(name)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                out[name] = json.loads(value) if value else None
    return out


def decoded_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [decoded(row) for row in rows]
