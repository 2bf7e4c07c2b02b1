"""Rendering pages in Chromium: what the browser need not download, and screenshots for
evidence that never show personal numbers in clear."""

from __future__ import annotations

from typing import Any

# Listings are text: images, media and fonts only cost time and bandwidth.
SKIPPED_RESOURCES = frozenset({"image", "media", "font"})


def skip_heavy_resources(request: Any) -> bool:
    """PLAYWRIGHT_ABORT_REQUEST: abort a browser request for an image, video or font."""
    return request.resource_type in SKIPPED_RESOURCES


# Before a screenshot, the page's text nodes are masked in place: ID numbers, mobile numbers
# and card-like digit runs keep their first and last digits only (like monitor.pii, but
# without checksums: a picture may over-mask, never under-mask). The original texts are kept
# in `window.__heishiMasked` and put back afterwards, so the HTML the spider parses (and the
# keyed hashes made from it) is the page as served.
MASK_PII_SCRIPT = r"""() => {
  const rules = [
    [/(^|[^0-9A-Za-z])([1-9]\d{5})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])/g, 4],
    [/(^|[^0-9A-Za-z])(1[3-9]\d)([- ]?\d{4}[- ]?)(\d{4})(?!\d)/g, 4],
    [/(^|[^0-9A-Za-z])([3-6]\d{5})((?:[ -]?\d){6,9})([ -]?\d{4})(?!\d)/g, 4],
  ];
  const star = (s) => s.replace(/\d/g, "*");
  const saved = [];
  const walker = document.createTreeWalker(document.body || document, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    let text = node.nodeValue;
    for (const [rule] of rules) {
      text = text.replace(rule, (all, lead, head, middle, tail) => lead + head + star(middle) + tail);
    }
    if (text !== node.nodeValue) { saved.push([node, node.nodeValue]); node.nodeValue = text; }
  }
  window.__heishiMasked = saved;
  return saved.length;
}"""

RESTORE_PII_SCRIPT = r"""() => {
  for (const [node, text] of window.__heishiMasked || []) node.nodeValue = text;
  window.__heishiMasked = [];
}"""


def screenshot_methods() -> list[Any]:
    """PageMethods that take a full-page screenshot with personal numbers masked."""
    from scrapy_playwright.page import PageMethod

    return [
        PageMethod("evaluate", MASK_PII_SCRIPT),
        PageMethod("screenshot", full_page=True, type="png"),
        PageMethod("evaluate", RESTORE_PII_SCRIPT),
    ]


def screenshot_of(meta: dict[str, Any]) -> tuple[bytes | None, int]:
    """The screenshot a rendered request took (the result of its `screenshot` PageMethod),
    and how many text nodes were masked in it."""
    screenshot, masked = None, 0
    for method in meta.get("playwright_page_methods") or ():
        name, result = getattr(method, "method", None), getattr(method, "result", None)
        if name == "screenshot" and isinstance(result, bytes):
            screenshot = result
        elif name == "evaluate" and getattr(method, "args", None) == (MASK_PII_SCRIPT,):
            masked = result if isinstance(result, int) else 0
    return screenshot, masked
