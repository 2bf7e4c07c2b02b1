"""What a rendered page shows as text, read from a CDP DOM snapshot, and the masking of it.

Pure functions over `DOMSnapshot.captureSnapshot` (no browser here; spiders/screenshots.py
drives Chromium). A snapshot is Chromium's own reading of the page, which page scripts cannot
tamper with: every text node, open, closed and user-agent shadow roots, pseudo-elements with
the text they generate (`::before`, `::after`, `::marker`, counters, `attr()`), input and
textarea values, attributes and same-process frames, each its own document.

Text is read in rendering order (marker, before, shadow root, children, after) and masked as
one text per document (monitor.privacy.pii.mask_segments), so a number split across elements, shadow
roots or generated content is found. Script and style text, and attribute values, are masked
on their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from monitor.privacy.pii import PiiHit, mask_segments

# Digests of what is masked in a picture are never kept: any key does.
PICTURE_KEY = b"heishi: screenshot masking, digests unused"
_OWN_TEXT = frozenset({"SCRIPT", "STYLE", "TEMPLATE", "NOSCRIPT", "TITLE"})
_ORDER = {"marker": 0, "before": 1, "shadow": 2, "child": 3, "after": 4}


@dataclass
class SnapshotDocument:
    """One document of a snapshot, its arrays decoded."""

    frame_id: str
    names: list[str]
    types: list[int]
    values: list[str | None]
    parents: list[int]
    backend_ids: list[int]
    attributes: list[list[tuple[str, str]]]
    shadow: dict[int, str]  # node -> open | closed | user-agent (shadow roots)
    pseudo: dict[int, str]  # node -> before | after | marker...
    form_values: dict[int, str]  # input and textarea values as shown
    layout_text: dict[int, list[str]]  # node -> the text laid out for it
    frames: dict[int, int]  # frame element -> index of its document (same process only)
    children: list[list[int]] = field(default_factory=list)

    def ordered_children(self, node: int) -> list[int]:
        def rank(child: int) -> int:
            if child in self.shadow:
                return _ORDER["shadow"]
            return _ORDER.get(self.pseudo.get(child, "child"), _ORDER["after"] + 1)

        return sorted(self.children[node], key=rank)

    def walk(self) -> Iterator[int]:
        """Nodes in rendering order, without user-agent shadow trees (an input's inner
        text is its value, read from `form_values`)."""
        stack = [0] if self.names else []
        while stack:
            node = stack.pop()
            if self.shadow.get(node) == "user-agent":
                continue
            yield node
            stack.extend(reversed(self.ordered_children(node)))

    def parent_name(self, node: int) -> str:
        parent = self.parents[node]
        return self.names[parent] if parent >= 0 else ""


def read_snapshot(snapshot: dict[str, Any]) -> list[SnapshotDocument]:
    """The documents of a `DOMSnapshot.captureSnapshot` answer."""
    strings: list[str] = snapshot["strings"]

    def text(index: int) -> str | None:
        return strings[index] if index >= 0 else None

    def sparse(entry: dict[str, list[int]] | None) -> dict[int, str]:
        entry = entry or {}
        return {
            i: strings[v]
            for i, v in zip(entry.get("index", []), entry.get("value", []), strict=False)
        }

    def sparse_index(entry: dict[str, list[int]] | None) -> dict[int, int]:
        entry = entry or {}
        return dict(zip(entry.get("index", []), entry.get("value", []), strict=False))

    documents = []
    for raw in snapshot["documents"]:
        nodes = raw["nodes"]
        names = [strings[i] for i in nodes.get("nodeName", [])]
        attributes = [
            [(strings[pair[k]], strings[pair[k + 1]]) for k in range(0, len(pair) - 1, 2)]
            for pair in nodes.get("attributes", [[] for _ in names])
        ]
        layout: dict[int, list[str]] = {}
        for node, index in zip(raw["layout"]["nodeIndex"], raw["layout"]["text"], strict=False):
            if index >= 0:
                layout.setdefault(node, []).append(strings[index])
        form_values = sparse(nodes.get("inputValue"))
        form_values.update(sparse(nodes.get("textValue")))
        document = SnapshotDocument(
            frame_id=text(raw.get("frameId", -1)) or "",
            names=names,
            types=list(nodes.get("nodeType", [])),
            values=[text(i) for i in nodes.get("nodeValue", [])],
            parents=list(nodes.get("parentIndex", [])),
            backend_ids=list(nodes.get("backendNodeId", [])),
            attributes=attributes,
            shadow=sparse(nodes.get("shadowRootType")),
            pseudo=sparse(nodes.get("pseudoType")),
            form_values={i: v for i, v in form_values.items() if names[i] in ("INPUT", "TEXTAREA")},
            layout_text=layout,
            frames=sparse_index(nodes.get("contentDocumentIndex")),
        )
        document.children = [[] for _ in names]
        for node, parent in enumerate(document.parents):
            if parent >= 0:
                document.children[parent].append(node)
        documents.append(document)
    return documents


@dataclass
class Changes:
    """What masking a document changes: text nodes, attributes, form values, and the text
    of pseudo-elements (keyed by their host and kind), each new value by node index."""

    document: SnapshotDocument
    texts: dict[int, str] = field(default_factory=dict)
    attributes: dict[tuple[int, str], str] = field(default_factory=dict)
    form_values: dict[int, str] = field(default_factory=dict)
    pseudo: dict[int, str] = field(default_factory=dict)  # pseudo-element node -> content
    hits: list[PiiHit] = field(default_factory=list)


def _flow(document: SnapshotDocument) -> tuple[list[tuple[str, int, str]], list[int]]:
    """The document's text in rendering order, as (what, node, text): DOM text nodes,
    pseudo-element text, form values; and text nodes whose text is their own."""
    flow: list[tuple[str, int, str]] = []
    own: list[int] = []
    for node in document.walk():
        if document.types[node] == 3:
            if document.parent_name(node) in _OWN_TEXT:
                own.append(node)
            elif document.values[node]:
                flow.append(("text", node, document.values[node] or ""))
        elif node in document.pseudo and node in document.layout_text:
            flow.append(("pseudo", node, "".join(document.layout_text[node])))
        if node in document.form_values:
            flow.append(("value", node, document.form_values[node]))
    return flow, own


def mask_document(document: SnapshotDocument, keep: tuple[int, int]) -> Changes:
    """The changes that mask every personal number `document` shows or holds."""
    changes = Changes(document)
    flow, own = _flow(document)
    shown = list(document.walk())  # user-agent shadow trees are Chromium's, left alone
    masked, hits = mask_segments([t for _, _, t in flow], PICTURE_KEY, keep, markup=True)
    changes.hits += hits
    for (what, node, before), after in zip(flow, masked, strict=True):
        if after == before:
            continue
        if what == "text":
            changes.texts[node] = after
        elif what == "pseudo":
            changes.pseudo[node] = after
        else:
            changes.form_values[node] = after
    for node in own:
        before = document.values[node] or ""
        (after,), hits = mask_segments([before], PICTURE_KEY, keep)
        if hits:
            changes.texts[node] = after
            changes.hits += hits
    for node in shown:
        for name, value in document.attributes[node]:
            (after,), hits = mask_segments([value], PICTURE_KEY, keep, markup=True)
            if hits:
                changes.attributes[(node, name)] = after
                changes.hits += hits
    return changes


def readable_numbers(document: SnapshotDocument, keep: tuple[int, int]) -> list[PiiHit]:
    """Numbers still readable in what the document paints: its laid-out text in rendering
    order (generated content included), form values, option labels and attributes."""
    segments: list[str] = []
    separate: list[str] = []
    for node in document.walk():
        segments += document.layout_text.get(node, [])
        if node in document.form_values:
            segments.append(document.form_values[node])
        if document.types[node] == 3 and document.parent_name(node) == "OPTION":
            separate.append(document.values[node] or "")
        separate += [value for _, value in document.attributes[node]]
    _, hits = mask_segments(segments, PICTURE_KEY, keep, markup=True)
    for text in separate:
        hits += mask_segments([text], PICTURE_KEY, keep, markup=True)[1]
    return hits


def tree_scope(document: SnapshotDocument, node: int) -> int:
    """The shadow root or document whose style sheets style `node`."""
    parent = document.parents[node]
    while parent >= 0 and parent not in document.shadow and document.types[parent] != 9:
        parent = document.parents[parent]
    return max(parent, 0)


def css_string(text: str) -> str:
    """`text` as a CSS string literal."""
    escaped = "".join(
        c if c.isalnum() or c in " *-_.,:;!?()/" or ord(c) > 127 else f"\\{ord(c):x} " for c in text
    )
    return f'"{escaped}"'
