"""Elements of a page named as selectors a site file can hold: an element's own tag and
classes, or its numbered id's prefix (`tbody[id^=normalthread_]`), within a row when it is a
field of one; which parts of a page are furniture (navigation, headers, footers) and which
links lead somewhere. Shared by monitor.sites.structure and monitor.sites.listing_page.
"""

from __future__ import annotations

import re

from lxml import etree
from parsel import Selector

from monitor.sites.selectors import node_text

# Classes of rows that are not listings: board rules, announcements, ads.
NOISE_CLASS = re.compile(
    r"^(sticky|stick|top|thread_top|pinned|announce|announcement|global-announce|ad|ads)$"
    r"|^ad[_-]|[_-]ad$|advert|sponsor|promot",
    re.I,
)
# Ids and classes of page furniture, where a run of links is a menu, not listings.
_FURNITURE = re.compile(
    r"(^|[_-])(nav|menu|header|footer|sidebar|aside|breadcrumbs?|pager|pagination|pg|"
    r"toptb|userbar|qmenu|scbar|search)([_-]|$)|^(hd|ft|nv)$",
    re.I,
)

_FURNITURE_TAGS = frozenset({"nav", "header", "footer", "aside", "head"})

# Inline elements are no landmark: a field's selector names the nearest block with a class.
INLINE = frozenset({"span", "em", "i", "b", "font", "cite", "strong", "small", "u"})

# An id that names an element on every page, and one that numbers it (`post_4711`).
STABLE_ID = re.compile(r"^[A-Za-z][\w-]*$")
NUMBERED_ID = re.compile(r"^(.*?[_-]?)\d+$")


def tag_of(el: etree._Element) -> str:
    """An element's tag name; "" for the nodes lxml gives other tags (comments, entities)."""
    return el.tag if isinstance(el.tag, str) else ""


def tag_and_classes(el: etree._Element) -> str:
    classes = [c for c in (el.get("class") or "").split() if not NOISE_CLASS.search(c)]
    return tag_of(el) + "".join(f".{css_ident(c)}" for c in classes)


def css_ident(name: str) -> str:
    return re.sub(r"([^\w-])", r"\\\1", name)


def in_furniture(el: etree._Element) -> bool:
    node: etree._Element | None = el
    # The body's classes name the page (`pg_forumdisplay`), not a part of it.
    while node is not None and isinstance(node.tag, str) and node.tag not in ("body", "html"):
        if node.tag in _FURNITURE_TAGS:
            return True
        names = [node.get("id") or "", *(node.get("class") or "").split()]
        if any(_FURNITURE.search(name) for name in names if name):
            return True
        node = node.getparent()
    return False


def content_links(row: etree._Element) -> list[etree._Element]:
    """Links in `row` (or `row` itself) that lead somewhere and say something."""
    links = [row] if row.tag == "a" else []
    links += row.iterdescendants("a")
    return [
        a
        for a in links
        if (href := (a.get("href") or "").strip())
        and not href.startswith(("#", "javascript:", "mailto:"))
        and len(node_text(Selector(root=a))) >= 2
    ]


def key_of(el: etree._Element, row: etree._Element | None = None) -> str:
    """A selector for `el` that fits the same element in other rows or pages (inside `row`
    when given: a field's selector is read within its row)."""
    ident = el.get("id") or ""
    numbered = NUMBERED_ID.match(ident)
    if numbered and numbered.group(1) and not numbered.group(1)[-1].isdigit():
        return f"{tag_of(el)}[id^={numbered.group(1)}]"
    if STABLE_ID.match(ident) and not el.get("class"):
        return f"#{css_ident(ident)}"
    if el.get("class"):
        return tag_and_classes(el)
    node = el.getparent()
    for _ in range(4):
        if node is None or node is row or not isinstance(node.tag, str):
            break
        if node.tag in ("body", "html"):
            break
        if node.get("class") and node.tag not in INLINE:
            return f"{tag_and_classes(node)} {tag_of(el)}"
        node = node.getparent()
    return tag_of(el)


def classed_block(el: etree._Element, row: etree._Element) -> etree._Element | None:
    node = el.getparent()
    while node is not None and node is not row:
        if node.get("class") and node.tag not in INLINE:
            return node
        node = node.getparent()
    return None


def visible(row: etree._Element) -> list[etree._Element]:
    """The elements of `row` in document order, without hidden ones (`display:none`: a
    responsive copy of the row, a tooltip) and what they hold."""
    found: list[etree._Element] = []
    stack = [row]
    while stack:
        el = stack.pop()
        if not isinstance(el.tag, str):
            continue
        if el is not row and re.search(r"display\s*:\s*none", el.get("style") or "", re.I):
            continue
        found.append(el)
        stack.extend(reversed(list(el)))
    return found
