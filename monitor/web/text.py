"""Listing text as HTML: matched words highlighted, masked personal data marked, diffs.

Listing text is hostile input. Every function here builds its HTML by escaping each segment
of the text on its own and wrapping it in markup of our own; no text is ever inserted raw.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from markupsafe import Markup, escape

from monitor.alerting.diffing import BoundedDiff

# Fields compared between two versions, in the order a reviewer reads them.
DIFF_FIELDS = ("title", "price_text", "volume_text", "seller", "contacts", "categories", "text")
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[A-Za-z_]+|\s+|.", re.S)


def highlighted(
    text: str | None,
    hits: Iterable[dict[str, Any]],
    masked: Iterable[str] = (),
) -> Markup:
    """`text` with each hit's [start, end) in <mark> (its term and category as a tooltip)
    and each masked personal datum in <span class="pii">."""
    text = text or ""
    marks: list[tuple[int, int, str, str]] = []  # start, end, css class, tooltip
    for hit in hits:
        start, end = hit.get("start"), hit.get("end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
            tip = f"{hit.get('term')} · {hit.get('category') or hit.get('role') or ''}"
            marks.append((start, end, f"hit role-{hit.get('role') or 'term'}", tip))
    for value in set(masked):
        if value:
            for found in re.finditer(re.escape(value), text):
                marks.append((found.start(), found.end(), "pii", "personal data (masked)"))
    marks.sort(key=lambda m: (m[0], -m[1]))
    out: list[str] = []
    position = 0
    for start, end, css, tip in marks:
        if start < position:  # overlaps a mark already drawn: extend it no further
            continue
        out.append(str(escape(text[position:start])))
        out.append(f'<mark class="{css}" title="{escape(tip)}">{escape(text[start:end])}</mark>')
        position = end
    out.append(str(escape(text[position:])))
    return Markup("".join(out))


def marked(text: str | None, spans: Iterable[tuple[int, int]]) -> Markup:
    """`text` with each [start, end) span (the words a search found) in <mark>."""
    text = text or ""
    out: list[str] = []
    position = 0
    for start, end in sorted(spans):
        if start < position or not 0 <= start < end <= len(text):
            continue
        out.append(str(escape(text[position:start])))
        out.append(f'<mark class="hit search">{escape(text[start:end])}</mark>')
        position = end
    out.append(str(escape(text[position:])))
    return Markup("".join(out))


def field_value(version: dict[str, Any], name: str) -> str:
    """A version's field as a reviewer reads it (JSON lists joined)."""
    value = version.get(name)
    if name in ("contacts", "categories") and value:
        try:
            items = json.loads(value)
        except ValueError:
            return str(value)
        return ", ".join(str(v) for v in items) if isinstance(items, list) else str(value)
    return "" if value is None else str(value)


def side_by_side(old: str, new: str, differ: BoundedDiff | None = None) -> list[dict[str, Any]]:
    """Rows of a side-by-side diff of two texts: each row has `left`, `right` (HTML) and
    `op` (equal, replace, delete, insert). Changed lines show what changed word by word,
    while `differ`'s work budget lasts (hostile text: monitor/alerting/diffing.py)."""
    old_lines, new_lines = old.splitlines() or [""], new.splitlines() or [""]
    differ = differ or BoundedDiff()
    table: list[dict[str, Any]] = []
    for op, i1, i2, j1, j2 in differ.opcodes(old_lines, new_lines):
        if op == "equal":
            for line in old_lines[i1:i2]:
                table.append({"op": "equal", "left": escape(line), "right": escape(line)})
            continue
        left, right = old_lines[i1:i2], new_lines[j1:j2]
        for index in range(max(len(left), len(right))):
            a = left[index] if index < len(left) else None
            b = right[index] if index < len(right) else None
            if a is not None and b is not None:
                marked_a, marked_b = _inline(a, b, differ)
                table.append({"op": "replace", "left": marked_a, "right": marked_b})
            elif a is not None:
                table.append({"op": "delete", "left": _whole(a, "del"), "right": Markup("")})
            else:
                table.append({"op": "insert", "left": Markup(""), "right": _whole(b, "ins")})
    return table


def _whole(line: str | None, tag: str) -> Markup:
    return Markup(f"<{tag}>{escape(line or '')}</{tag}>")


def _inline(old: str, new: str, differ: BoundedDiff) -> tuple[Markup, Markup]:
    """Two versions of a line, the removed words in <del>, the added ones in <ins>."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    left: list[str] = []
    right: list[str] = []
    for op, i1, i2, j1, j2 in differ.opcodes(a, b):
        removed, added = "".join(a[i1:i2]), "".join(b[j1:j2])
        if op == "equal":
            left.append(str(escape(removed)))
            right.append(str(escape(added)))
            continue
        if removed:
            left.append(f"<del>{escape(removed)}</del>")
        if added:
            right.append(f"<ins>{escape(added)}</ins>")
    return Markup("".join(left)), Markup("".join(right))


def version_diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields that differ between two versions, each with its side-by-side rows."""
    fields = []
    differ = BoundedDiff()  # one budget for the page
    for name in DIFF_FIELDS:
        a, b = field_value(old, name), field_value(new, name)
        if a != b:
            fields.append({"field": name, "rows": side_by_side(a, b, differ)})
    return fields


def changed_fields(version: dict[str, Any]) -> list[str]:
    """The names of the fields a version changed against the one before."""
    try:
        diff = json.loads(version.get("diff") or "{}")
    except ValueError:
        return []
    return [name for name in DIFF_FIELDS if name in diff] + [
        name for name in diff if name not in DIFF_FIELDS
    ]


def json_list(value: str | None) -> list[str]:
    try:
        items = json.loads(value) if value else []
    except ValueError:
        return []
    return [str(v) for v in items] if isinstance(items, list) else []
