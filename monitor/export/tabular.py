"""CSV and JSON lines: one row or line per alert or listing, written as it is read."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any, TextIO

LIST_SEPARATOR = "; "


def _cell(value: Any) -> Any:
    """Lists joined for a spreadsheet; a diff as JSON; None as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, list):
        return LIST_SEPARATOR.join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def write_csv(records: Iterable[dict[str, Any]], fields: tuple[str, ...], out: TextIO) -> int:
    """A header row, then one row per record; returns the rows written."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(fields)
    count = 0
    for record in records:
        writer.writerow([_cell(record.get(name)) for name in fields])
        count += 1
    return count


def write_jsonl(records: Iterable[dict[str, Any]], out: TextIO) -> int:
    """One JSON object per line (UTF-8, not escaped); returns the lines written."""
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        count += 1
    return count
