"""A list page's listings found by structure, for drafting a site file: the repeated rows,
the fields inside them (link, title, author, date), the id in their links, and the link to
the next page (a listing's own page is read by monitor.sites.listing_page).

Rows are the largest group of same-tag siblings whose members each carry a link with text,
outside navigation, headers and footers; rows whose ids share a numbered prefix
(`normalthread_4711`) are told apart from other rows by it, and rows marked as sticky,
announcements or ads by their classes are left out. Everything is returned as selectors a
site file takes, with a note of what each found.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from lxml import etree
from parsel import Selector
from parsel.csstranslator import HTMLTranslator

from monitor.sites.elements import (
    NOISE_CLASS,
    NUMBERED_ID,
    STABLE_ID,
    classed_block,
    content_links,
    css_ident,
    in_furniture,
    key_of,
    tag_and_classes,
    tag_of,
    visible,
)
from monitor.sites.selectors import first_text, node_text, select

# Prefixes of numbered ids that are not listings (sticky threads, ads).
_NOISE_WORD = re.compile(r"stick|top|pin|announce|notice|^ad|[_-]ad|advert|sponsor", re.I)
_PROFILE_LINK = re.compile(
    r"uid=|[?&]u=\d|[?&](user|username|un)=|/u/|/user|member|space|profile|home/main|/people/",
    re.I,
)
_AUTHOR_CLASS = re.compile(r"author|username|user-name|user_name|poster|nickname", re.I)
_NEXT_WORDS = ("下一页", "下页", "下一頁", "后页", "next", "next page", "next ›", "›", "»", ">")
_translator = HTMLTranslator()


@dataclass
class ListShape:
    """What a list page's structure says about its listings."""

    item: str | None = None
    rows: int = 0
    item_link: str | None = None
    item_title: str | None = None
    item_author: str | None = None
    item_posted: list[str] = field(default_factory=list)
    id_pattern: str | None = None
    next_page: str | None = None
    samples: list[str] = field(default_factory=list)  # the first titles found
    links: list[str] = field(default_factory=list)  # their links, as on the page


def find_list_shape(html: str) -> ListShape:
    """The listings of a list page, found by structure (an empty shape when none are)."""
    page = Selector(text=html)
    shape = ListShape(next_page=_next_page(page))
    group = _best_group(page.root)
    if group is None:
        return shape
    rows, item = group
    shape.item, shape.rows = item, len(rows)
    row_nodes = [Selector(root=row) for row in rows]
    link_key = _title_link(rows)
    if link_key:
        shape.item_link = f"{link_key}::attr(href)"
        shape.item_title = link_key
        shape.samples = [t for t in (first_text(r, link_key) for r in row_nodes[:3]) if t]
        shape.links = [h for h in (first_text(r, shape.item_link) for r in row_nodes) if h]
        shape.id_pattern = id_pattern(shape.links)
    shape.item_author = _author(rows, link_key)
    shape.item_posted = _dates(rows)
    return shape


def id_pattern(links: list[str]) -> str | None:
    """A regular expression whose group 1 is the listing id in each link: a numeric query
    parameter, a number in the path, or the last path segment, whichever tells them apart."""
    links = [link for link in links if link]
    if len(links) < 2:
        return None
    queries = [dict(parse_qsl(urlsplit(link).query)) for link in links]
    for name in queries[0]:
        values = [q.get(name) for q in queries]
        if all(v and v.isdigit() for v in values) and len(set(values)) == len(values):
            return rf"[?&]{re.escape(name)}=(\d+)"
    paths = [urlsplit(link).path for link in links]
    runs = [list(re.finditer(r"\d+", p)) for p in paths]
    for index, first in enumerate(runs[0]):
        if not all(len(r) > index for r in runs):
            continue
        values = [r[index].group(0) for r in runs]
        if len(set(values)) != len(values):
            continue
        before = paths[0][: first.start()]
        if before.endswith("/"):  # a number of its own in the path: /p/<id>
            segment = before.rstrip("/").rsplit("/", 1)[-1]
            pattern = f"/{_literal(segment)}/" if segment else "/"
        else:  # a number inside a segment: thread-<id>-1-1.html
            pattern = _literal(before.rsplit("/", 1)[-1][-8:])
        pattern += r"(\d+)"
        if _distinct(pattern, links):
            return pattern
    pattern = r"/([A-Za-z0-9_-]{4,})/?$"
    return pattern if _distinct(pattern, [urlsplit(link).path for link in links]) else None


def _literal(text: str) -> str:
    """`text` as a regular expression, without escapes a reader would trip over."""
    return re.escape(text).replace("\\-", "-")


def _distinct(pattern: str, links: list[str]) -> bool:
    found = [re.search(pattern, link) for link in links]
    return all(found) and len({m.group(1) for m in found if m}) == len(links)


# -- rows ----------------------------------------------------------------------------------


def _best_group(root: etree._Element) -> tuple[list[etree._Element], str] | None:
    groups: list[tuple[float, list[etree._Element]]] = []
    for parent in root.iter():
        if not isinstance(parent.tag, str) or in_furniture(parent):
            continue
        by_tag: dict[str, list[etree._Element]] = {}
        for child in parent:
            if isinstance(child.tag, str):
                by_tag.setdefault(child.tag, []).append(child)
        for tag, children in by_tag.items():
            if tag in ("script", "style", "option", "br", "input") or len(children) < 3:
                continue
            rows = [row for row in children if content_links(row)]
            if len(rows) < 3:
                continue
            texts = [len(node_text(Selector(root=row))) for row in rows]
            average = sum(texts) / len(texts)
            if average < 6:
                continue
            # Listings look alike: the same children in the same order, texts of a similar
            # length. A page's sections (one holding the list, others a menu) do not.
            shapes = Counter(tuple(c.tag for c in row if isinstance(c.tag, str)) for row in rows)
            alike = shapes.most_common(1)[0][1] / len(rows)
            spread = statistics.pstdev(texts) / average
            score = len(rows) * math.sqrt(min(average, 400)) * alike**2 / (1 + spread**2)
            groups.append((score, children))
    if not groups:
        return None
    return _rows_and_selector(root, max(groups, key=lambda group: group[0])[1])


def _rows_and_selector(
    root: etree._Element, children: list[etree._Element]
) -> tuple[list[etree._Element], str]:
    """The listing rows among siblings, and a selector that finds them on every such page."""
    # Ids numbered by listing (`normalthread_4711`): the most common prefix is the listings'.
    prefixes = Counter(
        found.group(1)
        for row in children
        if (found := NUMBERED_ID.match(row.get("id") or "")) and found.group(1)
    )
    if prefixes:
        # Sticky threads and ads are numbered too: listings' prefixes win ties.
        prefix, count = max(
            prefixes.items(), key=lambda pc: (pc[1] >= 2 and not _NOISE_WORD.search(pc[0]), pc[1])
        )
        if count >= 2:
            rows = [r for r in children if (r.get("id") or "").startswith(prefix)]
            if all(content_links(r) for r in rows):
                return rows, f"{tag_of(children[0])}[id^={prefix}]"
    tag = tag_of(children[0])
    classes = [set((row.get("class") or "").split()) for row in children]
    linked = [c for c, row in zip(classes, children, strict=True) if content_links(row)]
    common = set.intersection(*linked) if linked else set()
    common = {c for c in common if not NOISE_CLASS.search(c)}
    own = tag + "".join(f".{css_ident(c)}" for c in sorted(common))
    parent = children[0].getparent()
    path = _path_to(parent) if parent is not None else ""
    css = f"{path} > {own}" if path else own
    # The same selector may find rows of other lists too (an announcements block): every
    # row it finds that is marked sticky, an announcement or an ad is left out.
    marked = [set((el.root.get("class") or "").split()) for el in Selector(root=root).css(css)]
    noise = sorted({c for cs in [*classes, *marked] for c in cs if NOISE_CLASS.search(c)})
    css += "".join(f":not(.{css_ident(c)})" for c in noise)
    rows = [
        row
        for row, cs in zip(children, classes, strict=True)
        if common <= cs and not (cs & set(noise))
    ]
    if all(content_links(r) for r in rows):
        return rows, css
    # Rows without a link (a header row of a table): keep those with one, in XPath.
    xpath = _translator.css_to_xpath(css, prefix="//").removeprefix("descendant-or-self::")
    return [r for r in rows if content_links(r)], f"xpath:{xpath}[.//a[@href]]"


def _path_to(el: etree._Element) -> str:
    """A selector for `el`: its stable id, else its tag and classes under the nearest
    ancestor with a stable id (or the classes alone)."""
    steps: list[str] = []
    node: etree._Element | None = el
    while node is not None and isinstance(node.tag, str) and node.tag not in ("html", "body"):
        ident = node.get("id") or ""
        if STABLE_ID.match(ident) and not NUMBERED_ID.match(ident):
            steps.append(f"#{css_ident(ident)}" if node is not el else f"{node.tag}#{ident}")
            break
        steps.append(tag_and_classes(node))
        if len(steps) >= 3:
            break
        node = node.getparent()
    return " > ".join(reversed(steps))


# -- fields in a row -----------------------------------------------------------------------


def _title_link(rows: list[etree._Element]) -> str | None:
    """The link most rows have, to distinct places, with the longest texts."""
    seen: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        keys_here: set[str] = set()
        for a in content_links(row):
            key = key_of(a, row)
            if key in keys_here:
                continue
            keys_here.add(key)
            seen.setdefault(key, []).append((a.get("href") or "", node_text(Selector(root=a))))
    best: tuple[float, str] | None = None
    for key, found in seen.items():
        hrefs = [h for h, _ in found]
        if len(found) < max(2, 0.6 * len(rows)) or len(set(hrefs)) < len(hrefs):
            continue
        if sum(bool(_PROFILE_LINK.search(h)) for h in hrefs) > len(hrefs) / 2:
            continue
        average = sum(len(t) for _, t in found) / len(found)
        if best is None or average > best[0]:
            best = (average, key)
    return best[1] if best else None


def _author(rows: list[etree._Element], title_key: str | None) -> str | None:
    """Who posted each row: a link to a profile, or an element named like a user name, under
    the part of the row that holds it (a row also names its last poster)."""
    counts: Counter[str] = Counter()
    for row in rows:
        for el in visible(row):
            href = el.get("href") or "" if el.tag == "a" else ""
            named = _AUTHOR_CLASS.search(el.get("class") or "")
            if not (_PROFILE_LINK.search(href) or (named and el.tag in ("a", "span"))):
                continue
            key = key_of(el, row)
            if key == title_key or not node_text(Selector(root=el)):
                continue
            if " " not in key:  # its own classes only: say which part of the row it is in
                holder = classed_block(el, row)
                key = f"{tag_and_classes(holder)} {key}" if holder is not None else key
            counts[key] += 1
            break
    if sum(counts.values()) < len(rows) / 2:
        return None
    return ", ".join(key for key, _ in counts.most_common())


def _dates(rows: list[etree._Element]) -> list[str]:
    """Selectors for the date in each row: a `<time datetime>`, a date in a `title`, a date
    as text (often both, in the order to try)."""
    from monitor.sites.page_values import parse_date

    by_attr: Counter[str] = Counter()
    by_text: Counter[str] = Counter()
    for row in rows:
        for el in visible(row):
            if el.tag == "a" and el.get("href"):
                continue
            if el.tag == "time" and el.get("datetime"):
                by_attr[f"{key_of(el, row)}::attr(datetime)"] += 1
                break
            if parse_date(el.get("title")) and re.search(r"\d", el.get("title") or ""):
                by_attr[f"{key_of(el, row)}::attr(title)"] += 1
                break
            own = (el.text or "").strip()
            if own and len(own) <= 25 and parse_date(own):
                by_text[key_of(el, row)] += 1
                break
    found = [k for k, n in by_attr.most_common(1)] + [k for k, n in by_text.most_common(1)]
    total = sum(by_attr.values()) + sum(by_text.values())
    return found if total >= len(rows) / 2 else []


# -- the next page -------------------------------------------------------------------------


def _next_page(page: Selector) -> str | None:
    for spec in (
        "a[rel~=next]::attr(href)",
        "link[rel~=next]::attr(href)",
        "a.nxt::attr(href)",
        "a.next::attr(href)",
        "a[data-before]::attr(data-before)",
    ):
        value = first_text(page, spec)
        if value and not value.startswith("javascript:"):
            return spec
    for word in _NEXT_WORDS:
        spec = f"xpath://a[normalize-space(.)={_xpath_literal(word)}]/@href"
        if select(page, spec):
            return spec
    for word in ("下一页", "Next"):
        spec = f"xpath://a[starts-with(normalize-space(.), {_xpath_literal(word)})]/@href"
        if select(page, spec):
            return spec
    return None


def _xpath_literal(text: str) -> str:
    return f"'{text}'" if "'" not in text else f'"{text}"'
