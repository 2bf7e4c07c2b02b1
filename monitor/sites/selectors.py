"""Selector specs from site files: CSS by default, XPath with an `xpath:` prefix.

A spec is one selector string or a list of them (the first that matches wins), so a site file
can say `posted = ["em[id^=authposton] span::attr(title)", "em[id^=authposton]"]`.
Text is read the way a person reads the page: `<br>` and block elements become line breaks,
scripts and styles are dropped, and so is text a browser never shows (`display:none`, and
Discuz!'s anti-copy "jammer" noise).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lxml import etree
from parsel import Selector, SelectorList
from parsel.csstranslator import HTMLTranslator

if TYPE_CHECKING:
    from scrapy.http import Response

    # What selectors run on: a node, or a whole page (a text response).
    Node = Selector | Response

XPATH_PREFIX = "xpath:"
CSS_PREFIX = "css:"

_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "td",
        "th",
        "ul",
    ]
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template"})
# As in a browser, line breaks in the HTML source are spaces (pages put one after every
# `<br />`); only `<pre>` and `<textarea>` keep them.
_PRE_TAGS = frozenset({"pre", "textarea"})
# Text a reader never sees: hidden elements, and the random strings Discuz! X inserts after
# each line of a post (`<font class="jammer">`, or a hidden span) to spoil copying.
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none", re.I)
_HIDDEN_CLASS = "jammer"
_translator = HTMLTranslator()

Spec = str | Sequence[str]


def check_selector(spec: str) -> str | None:
    """Why `spec` is not a usable selector, or None when it compiles."""
    try:
        if spec.startswith(XPATH_PREFIX):
            etree.XPath(spec[len(XPATH_PREFIX) :].strip())
        else:
            _translator.css_to_xpath(spec.removeprefix(CSS_PREFIX).strip())
    except Exception as exc:  # cssselect and lxml raise several kinds
        return f"{type(exc).__name__}: {exc}"
    if not spec.removeprefix(XPATH_PREFIX).removeprefix(CSS_PREFIX).strip():
        return "empty selector"
    return None


def as_specs(spec: Spec | None) -> tuple[str, ...]:
    if spec is None:
        return ()
    return (spec,) if isinstance(spec, str) else tuple(spec)


def select(node: Node, spec: Spec | None) -> SelectorList[Selector]:
    """Everything the first matching selector of `spec` finds under `node`."""
    for one in as_specs(spec):
        found = _compiled_select(node, one)
        if found is None:
            found = _parsel_select(node, one)
        if found:
            return found
    return SelectorList([])


def _parsel_select(node: Node, one: str) -> SelectorList[Selector]:
    if one.startswith(XPATH_PREFIX):
        return node.xpath(one[len(XPATH_PREFIX) :].strip())
    return node.css(one.removeprefix(CSS_PREFIX).strip())


# -- compiled selectors ----------------------------------------------------------------------
# A sweep runs the same few selectors on every page: each spec is translated (CSS to XPath)
# and compiled once per process, and run on the lxml tree directly. parsel's own call looks
# its compiled XPath up again and wraps every node it finds in a Selector, each time; what
# the fast path returns is what parsel would (the same nodes, Selectors built as it builds
# them), and anything it does not handle (a text Selector, an XPath that does not compile or
# returns no node list) goes through parsel as before.

_COMPILED: dict[str, tuple[str, etree.XPath] | None] = {}


def _compiled(one: str) -> tuple[str, etree.XPath] | None:
    """The XPath `one` stands for and its compiled form, or None where parsel decides."""
    try:
        return _COMPILED[one]
    except KeyError:
        pass
    compiled: tuple[str, etree.XPath] | None
    try:
        if one.startswith(XPATH_PREFIX):
            query = one[len(XPATH_PREFIX) :].strip()
        else:
            query = _translator.css_to_xpath(one.removeprefix(CSS_PREFIX).strip())
        # The namespaces parsel gives an HTML selector's query (EXSLT `re:` and `set:`),
        # only those it names, as parsel does.
        namespaces = {
            prefix: uri
            for prefix, uri in Selector._default_namespaces.items()
            if f"{prefix}:" in query
        }
        compiled = (query, etree.XPath(query, namespaces=namespaces, smart_strings=False))
    except Exception:  # parsel raises its own error for it, as before
        compiled = None
    if len(_COMPILED) < 4096:  # selectors come from site files: a few hundred at most
        _COMPILED[one] = compiled
    return compiled


def _html_selector(node: Node) -> Selector | None:
    """The HTML selector over an lxml element that `node` is or holds, or None (then parsel
    decides)."""
    selector = node if isinstance(node, Selector) else getattr(node, "selector", None)
    if not isinstance(selector, Selector) or selector.type != "html":
        return None
    return selector if isinstance(selector.root, etree._Element) else None


def _compiled_nodes(node: Node, one: str) -> tuple[str, list[Any], Selector] | None:
    """What `one` finds under `node` as lxml results, or None where parsel decides."""
    selector = _html_selector(node)
    if selector is None:
        return None
    compiled = _compiled(one)
    if compiled is None:
        return None
    query, xpath = compiled
    try:
        result = xpath(selector.root)
    except etree.XPathError:  # parsel says so in its own words
        return None
    if not isinstance(result, list):
        return None
    return query, result, selector


def _compiled_select(node: Node, one: str) -> SelectorList[Selector] | None:
    found = _compiled_nodes(node, one)
    if found is None:
        return None
    query, result, selector = found
    cls = type(selector)
    return selector.selectorlist_cls(
        [cls(root=x, _expr=query, namespaces=selector.namespaces, type="html") for x in result]
    )


def node_text(node: Selector) -> str:
    """The readable text of a node (or the string an ::attr/::text selector returned)."""
    root = node.root
    if isinstance(root, str):
        return clean_text(root)
    if not isinstance(getattr(root, "tag", None), str):
        return clean_text(str(node.get() or ""))
    parts: list[str] = []
    _walk(root, parts)
    return clean_text("".join(parts))


def first_text(node: Node, spec: Spec | None) -> str | None:
    """The text of the first node `spec` finds, or None."""
    for one in as_specs(spec):
        found = _compiled_nodes(node, one)
        if found is None:
            nodes = _parsel_select(node, one)
            if nodes:
                return node_text(nodes[0]) or None
            continue
        query, result, selector = found
        if not result:
            continue
        first = result[0]
        # The text node_text reads from the Selector parsel would build, without building it.
        if isinstance(first, str):
            return clean_text(first) or None
        if isinstance(first, etree._Element) and isinstance(first.tag, str):
            parts: list[str] = []
            _walk(first, parts)
            return clean_text("".join(parts)) or None
        one_node = type(selector)(
            root=first, _expr=query, namespaces=selector.namespaces, type="html"
        )
        return node_text(one_node) or None
    return None


def all_texts(node: Node, spec: Spec | None) -> list[str]:
    return [t for t in (node_text(n) for n in select(node, spec)) if t]


_OPEN, _CLOSE, _TAIL = 0, 1, 2


def _walk(root: etree._Element, parts: list[str]) -> None:
    """Append the readable text under `root` to `parts`, depth first, without recursion (a
    hostile page nests thousands of levels deep)."""
    stack: list[tuple[int, Any, bool]] = [(_OPEN, root, False)]
    while stack:
        step, value, pre = stack.pop()
        if step == _TAIL:
            parts.append(value if pre else _source_spaces(value))
            continue
        if step == _CLOSE:
            _line_break(parts)
            continue
        el = value
        tag = el.tag if isinstance(el.tag, str) else ""
        # A node a selector chose is read even when hidden; hidden parts inside it are not.
        if tag in _SKIP_TAGS or (tag and el is not root and _is_hidden(el)):
            continue
        if tag == "br":
            parts.append("\n")
        if tag in _BLOCK_TAGS:
            _line_break(parts)
            stack.append((_CLOSE, None, pre))
        pre = pre or tag in _PRE_TAGS
        if tag and el.text:  # comments and processing instructions have no readable text
            parts.append(el.text if pre else _source_spaces(el.text))
        for child in reversed(list(el)):
            if child.tail:
                stack.append((_TAIL, child.tail, pre))
            stack.append((_OPEN, child, pre))


def _source_spaces(text: str) -> str:
    """Line breaks in the HTML source as the spaces a browser shows (clean_text collapses
    runs of spaces later)."""
    if "\n" in text or "\r" in text:
        return text.replace("\r", " ").replace("\n", " ")
    return text


def _line_break(parts: list[str]) -> None:
    """A block element's edge: a new line unless the text already ends one (nested blocks,
    or a `<br>` before a block, make one break, as a browser shows them)."""
    for part in reversed(parts):
        stripped = part.rstrip(" ")
        if stripped:
            if not stripped.endswith("\n"):
                parts.append("\n")
            return


def _is_hidden(el: etree._Element) -> bool:
    style = el.get("style")
    if style and _HIDDEN_STYLE.search(style):
        return True
    classes = el.get("class")
    return classes is not None and _HIDDEN_CLASS in classes and _HIDDEN_CLASS in classes.split()


_SPACES = re.compile(r"[ \t\f\v\u00a0\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(text: str) -> str:
    """Trim every line, collapse runs of spaces and of blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


_PAGELET_END = re.compile(r"-->\s*</code>")
_SPACE = " \t\n\r\f\v"


def uncomment_pagelets(html: str) -> str:
    """HTML shipped inside comments in `<code>` blocks (Tieba's BigPipe pagelets, which its
    JavaScript inserts into the page), made part of the page.

    `<code ...>`, blanks, `<!--`, the pagelet, `-->`, blanks, `</code>` -- found by scanning
    forward once (a regular expression with a lazy `.*?` took quadratic time on a page of
    unclosed `<code><!--`: seconds for 100 KB)."""
    out: list[str] = []
    done = position = 0
    while True:
        start = html.find("<code", position)
        if start < 0:
            break
        position = start + 5
        if position < len(html) and (html[position].isalnum() or html[position] == "_"):
            continue  # <codex>, not <code>
        tag_end = html.find(">", position)
        if tag_end < 0:
            break  # no tag closes from here on
        body = tag_end + 1
        while body < len(html) and html[body] in _SPACE:
            body += 1
        if not html.startswith("<!--", body):
            continue
        end = _PAGELET_END.search(html, body + 4)
        if end is None:
            break  # no pagelet closes from here on
        out += [html[done:start], "<div>", html[body + 4 : end.start()], "</div>"]
        done = position = end.end()
    out.append(html[done:])
    return "".join(out)
