"""Parsing pages that nest too deep to be parsed.

libxml2 (lxml, parsel) stops parsing a document at 2,048 levels of nesting and drops the rest
of it: a page could hide every listing after one row of 5,000 nested `<div>`s. A page whose
parse hit that limit is parsed again with the nesting beyond `MAX_DEPTH` flattened (the
deeper tags dropped, their text kept), so every row after it is read. Ordinary pages are
parsed once, as Scrapy would.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lxml import etree
from scrapy.selector import Selector

if TYPE_CHECKING:
    from scrapy.http import TextResponse

MAX_DEPTH = 512
_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "keygen",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
# A start or end tag; comments, doctypes and processing instructions are left alone.
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:_-]*)(?:\s[^>]*)?(/?)>")


def _parse(html: str) -> tuple[etree._Element | None, bool]:
    """The tree of `html` as parsel builds it, and whether the parser hit its depth limit."""
    parser = etree.HTMLParser(recover=True, encoding="utf-8", huge_tree=True)
    body = html.strip().replace("\x00", "").encode("utf-8") or b"<html/>"
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError:
        root = None
    too_deep = any("Excessive depth" in error.message for error in parser.error_log)
    return root, too_deep


def flatten_deep_markup(html: str, max_depth: int = MAX_DEPTH) -> str:
    """`html` with every tag opened below `max_depth` open elements dropped (and its end
    tag), text kept. End tags close what they match, as HTML parsers do; stray ones are
    dropped."""
    stack: list[str] = []
    open_names: dict[str, int] = {}
    dropped: dict[str, int] = {}
    out: list[str] = []
    position = 0
    for tag in _TAG.finditer(html):
        closing, name, self_closing = tag.group(1), tag.group(2).lower(), tag.group(3)
        keep = True
        if closing:
            if dropped.get(name):
                dropped[name] -= 1
                keep = False
            elif open_names.get(name):
                while stack:
                    top = stack.pop()
                    open_names[top] -= 1
                    if top == name:
                        break
            else:
                keep = False  # closes nothing open: the parser would ignore it
        elif not self_closing and name not in _VOID:
            if len(stack) >= max_depth:
                dropped[name] = dropped.get(name, 0) + 1
                keep = False
            else:
                stack.append(name)
                open_names[name] = open_names.get(name, 0) + 1
        if not keep:
            out.append(html[position : tag.start()])
            position = tag.end()
    out.append(html[position:])
    return "".join(out)


def page_selector(response: TextResponse) -> tuple[Selector, bool]:
    """The response's selector, built from the page with its nesting flattened when it is
    too deep to parse, and cached on the response as Scrapy caches its own (so `response.css`
    uses it too); and whether this call flattened it (True once per response at most)."""
    cached = getattr(response, "_cached_selector", None)
    if cached is not None:
        return cached, False
    html = response.text
    root, too_deep = _parse(html)
    if too_deep:
        root, _ = _parse(flatten_deep_markup(html))
    if root is None:
        root, _ = _parse("<html/>")
    selector = Selector(root=root, type="html")
    selector.response = response
    response._cached_selector = selector
    return selector, too_deep
