"""An actor's links drawn as a small SVG on the server: its sellers in a column on the left,
what links them (a shared contact, payment address or near-duplicate cluster) on the right, a
line from each seller to each thing it shares. No script, no style attribute, nothing loaded
(the pages' CSP allows none); every label is escaped (names come from hostile pages)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from monitor.web.i18n import _

MAX_NODES = 30  # per column; the rest is counted under it
ROW, TOP, WIDTH = 34, 24, 640
LEFT_X, RIGHT_X = 150, 490
LABEL_CHARS = 28


def link_graph(sellers: list[dict[str, Any]], links: list[dict[str, Any]]) -> Markup:
    """The SVG for an actor's sellers (aliases) and the links between them."""
    shown = sellers[:MAX_NODES]
    row_of = {s["id"]: index for index, s in enumerate(shown)}
    evidence: dict[tuple[str, Any], dict[str, Any]] = {}
    for link in links:
        if link["reason"] == "cluster":
            key: tuple[str, Any] = ("cluster", link["cluster_id"])
            label = _("same offer (cluster %(id)s)") % {"id": link["cluster_id"]}
        else:
            key = ("contact", link["contact_id"])
            label = f"{link['contact_kind']}:{link['contact_value']}"
        node = evidence.setdefault(
            key,
            {"label": label, "reason": link["reason"], "sellers": set(), "since": link["since"]},
        )
        node["sellers"] |= {link["seller_id"], link["other_id"]}
        node["since"] = min(node["since"], link["since"])
    nodes = list(evidence.values())[:MAX_NODES]
    rows = max(len(shown), len(nodes), 1)
    height = TOP * 2 + ROW * (rows - 1) + (ROW if len(sellers) > MAX_NODES else 0)
    title = _("How the aliases of this actor are linked")
    parts = [
        f'<svg class="link-graph" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" role="img" aria-label="{escape(title)}">'
    ]
    for index, node in enumerate(nodes):
        y = _y(index, len(nodes), rows)
        for seller_id in sorted(node["sellers"]):
            if seller_id in row_of:
                sy = _y(row_of[seller_id], len(shown), rows)
                parts.append(
                    f'<line class="edge edge-{escape(node["reason"])}" x1="{LEFT_X}" '
                    f'y1="{sy:.0f}" x2="{RIGHT_X}" y2="{y:.0f}" stroke="currentColor">'
                    f"<title>{escape(node['label'])} · {escape(node['since'])}</title></line>"
                )
    listings = _("%(count)s listings")
    for index, seller in enumerate(shown):
        y = _y(index, len(shown), rows)
        label = _cut(f"{seller['handle']} @ {seller['source']}")
        parts.append(
            f'<g class="node node-seller"><circle cx="{LEFT_X}" cy="{y:.0f}" r="6" '
            f'fill="currentColor"/><text x="{LEFT_X - 12}" y="{y + 4:.0f}" '
            f'text-anchor="end" font-size="12" fill="currentColor">{escape(label)}</text>'
            f"<title>{escape(seller['handle'])} @ {escape(seller['source'])}: "
            f"{escape(listings % {'count': seller['listings']})}</title></g>"
        )
    shared_by = _("shared by %(count)s aliases since %(since)s")
    for index, node in enumerate(nodes):
        y = _y(index, len(nodes), rows)
        shared = {"count": len(node["sellers"]), "since": node["since"]}
        parts.append(
            f'<g class="node node-{escape(node["reason"])}"><rect x="{RIGHT_X - 5}" '
            f'y="{y - 5:.0f}" width="10" height="10" fill="currentColor"/>'
            f'<text x="{RIGHT_X + 12}" y="{y + 4:.0f}" font-size="12" fill="currentColor">'
            f"{escape(_cut(node['label']))}</text><title>{escape(node['label'])}: "
            f"{escape(shared_by % shared)}</title></g>"
        )
    if len(sellers) > MAX_NODES:
        more = _("and %(count)s more aliases") % {"count": len(sellers) - MAX_NODES}
        parts.append(
            f'<text x="{LEFT_X}" y="{height - 6}" text-anchor="middle" font-size="11" '
            f'fill="currentColor">{escape(more)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _y(index: int, count: int, rows: int) -> float:
    """Rows of a shorter column are spread over the height of the longer one."""
    if count <= 1:
        return TOP + ROW * (rows - 1) / 2
    return TOP + index * ROW * (rows - 1) / (count - 1)


def _cut(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
