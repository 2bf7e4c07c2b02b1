"""Personal numbers masked in a page kept as evidence, read from its parsed document.

A page is parsed (lxml), so character references are decoded and markup is told from text.
Then:
- its text nodes, in document order, are masked as one text (monitor.privacy.pii.mask_segments):
  `139<b></b>12345678`, `&#49;37…`, a number split over several elements or spread with
  runs of spaces are all found; tags and references written inside a text node (an `<xmp>`,
  a `<textarea>`) are read as markup too;
- every attribute value (`title`, `alt`, `value`, `data-*`, `href`…) and every comment is
  masked on its own, reading the markup it may hold;
- scripts, styles (where CSS can write text: `content`, counters), event handlers, `srcdoc`
  and `data:` URLs other than raster images are dropped: the evidence is shown in a
  sandboxed frame that runs no script, and what is not stored cannot show a number;
- the serialised page is masked once more as markup, in case a browser would read some text
  differently from the parser.
A page that is not markup at all (a paste's raw text) is masked as markup directly.
"""

from __future__ import annotations

import re
from typing import Any

import lxml.html
from lxml import etree

from monitor.privacy.pii import PiiHit, mask_markup, mask_segments

DROPPED_ELEMENTS = ("script", "style")
_RASTER_DATA_URL = re.compile(r"\s*data:image/(?:png|jpeg|jpg|gif|webp|avif|bmp)[;,]", re.I)
_STARTS_AS_MARKUP = re.compile(r"\s*<")
_DOCTYPE = re.compile(r"\s*<!doctype", re.I)


def mask_page(
    text: str, secret: bytes, keep: tuple[int, int] | None = None
) -> tuple[str, list[PiiHit]]:
    """`text` (a decoded page) with every personal number masked, and the numbers found."""
    if not _STARTS_AS_MARKUP.match(text[:4096]):
        return mask_markup(text, secret, keep)
    try:
        masked, hits = _mask_document(text, secret, keep)
    except (ValueError, etree.LxmlError):  # a document lxml refuses: masked as markup
        return mask_markup(text, secret, keep)
    again, missed = mask_markup(masked, secret, keep)
    return again, hits + missed


def _mask_document(
    text: str, secret: bytes, keep: tuple[int, int] | None
) -> tuple[str, list[PiiHit]]:
    # huge_tree: without it libxml2 silently drops text past about 10 MB, and the evidence would
    # lose the rest of the page (downloads are capped, so the parse stays bounded).
    parser = lxml.html.HTMLParser(remove_comments=False, remove_pis=False, huge_tree=True)
    doc = lxml.html.document_fromstring(text, parser=parser)
    # lxml makes up a doctype for a page without one: keep the page's rendering mode.
    doctype = doc.getroottree().docinfo.doctype if _DOCTYPE.match(text) else None
    for element in list(doc.iter(*DROPPED_ELEMENTS)):
        element.drop_tree()  # keeps the text that follows it
    hits: list[PiiHit] = []
    places: list[tuple[Any, str]] = []  # (node, "text" or "tail"), in document order
    stack: list[tuple[Any, bool]] = [(doc, False)]
    while stack:
        node, closing = stack.pop()
        if closing:
            places.append((node, "tail"))
            continue
        if isinstance(node.tag, str):
            places.append((node, "text"))
            hits += _mask_attributes(node, secret, keep)
        elif node.text:  # a comment or processing instruction: masked on its own
            node.text, found = mask_markup(node.text, secret, keep)
            hits += found
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node))
    values = [getattr(node, where) or "" for node, where in places]
    masked, found = mask_segments(values, secret, keep, markup=True)
    hits += found
    for (node, where), before, after in zip(places, values, masked, strict=True):
        if after != before:
            setattr(node, where, after)
    serialised = etree.tostring(doc, encoding="unicode", method="html", doctype=doctype)
    return serialised, hits


def _mask_attributes(element: Any, secret: bytes, keep: tuple[int, int] | None) -> list[PiiHit]:
    hits: list[PiiHit] = []
    for name, value in list(element.attrib.items()):
        lowered = name.lower()
        if lowered.startswith("on") or lowered == "srcdoc":
            del element.attrib[name]
            continue
        if "data:" in value.lower() and not _RASTER_DATA_URL.match(value):
            del element.attrib[name]
            continue
        masked, found = mask_markup(value, secret, keep)
        if found:
            element.set(name, masked)
            hits += found
    return hits
