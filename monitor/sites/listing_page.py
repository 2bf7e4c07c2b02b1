"""A listing's own page, read for drafting a site file: the block that holds its text
(a forum thread's first post), and the element that holds its title."""

from __future__ import annotations

import re

from lxml import etree
from parsel import Selector

from monitor.sites.elements import in_furniture, key_of
from monitor.sites.selectors import node_text

_CONTENT_HINT = re.compile(r"content|message|post|text|body|article|entry|msg|t_f|desc", re.I)
# Parts of a post that are not its text: its tail, author box, signature, buttons.
_NOT_CONTENT = re.compile(
    r"tail|meta|info|author|profile|sign|reply|footer|btn|button|tool|rate|comment|share",
    re.I,
)
_CONTENT_TAGS = frozenset(
    {"div", "td", "article", "section", "p", "pre", "blockquote", "main", "cc"}
)


def find_text_block(html: str) -> str | None:
    """The selector of the block that holds a listing's (or a thread's first post's) text:
    the innermost element named like content with the most text."""
    page = Selector(text=html)
    best: tuple[int, str] | None = None
    candidates = [
        el
        for el in page.root.iter()
        if isinstance(el.tag, str) and _hints_content(el) and not in_furniture(el)
    ]
    inner = set(candidates)
    for el in candidates:
        length = len(node_text(Selector(root=el)))
        if length < 8:
            continue
        # The innermost: a block that holds another substantial candidate is its container.
        if any(
            d is not el and d in inner and len(node_text(Selector(root=d))) >= 8
            for d in el.iterdescendants()
        ):
            continue
        key = key_of(el)
        if best is None or length > best[0]:
            best = (length, key)
    return best[1] if best else None


def find_title(html: str, title: str | None) -> str | None:
    """The selector of the element whose text is the listing's title, when there is one."""
    if not title:
        return None
    page = Selector(text=html)
    found = [
        el
        for el in page.root.iter()
        if isinstance(el.tag, str)
        and el.tag not in ("title", "a", "meta")
        and node_text(Selector(root=el)) == title
    ]
    for el in reversed(found):  # the innermost first
        key = key_of(el)
        if len(page.css(key)) == 1 or key.startswith("#"):
            return key
    return None


def _hints_content(el: etree._Element) -> bool:
    names = [name for name in (el.get("id") or "", el.get("class") or "") if name]
    return (
        el.tag in _CONTENT_TAGS
        and any(_CONTENT_HINT.search(name) for name in names)
        and not any(_NOT_CONTENT.search(name) for name in names)
    )
