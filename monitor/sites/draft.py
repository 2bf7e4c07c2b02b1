"""`heishi sources new URL`: a draft site file from a site's list page.

A page a preset knows (Discuz! X, phpBB, Tieba, a t.me/s channel, a pastebin archive) gets
that preset, once its selectors are seen to find rows on the page. Any other page is read by
structure (monitor.sites.structure): its repeated rows, their link, title, author and date,
the id in their links, the next-page link, and, for a forum, the text block of the first
listing's own page, fetched too. Every choice is written with a comment that says what it
found, and every field not found with one that says what to set.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from parsel import Selector

from monitor.errors import HeishiError
from monitor.sites.listing_page import find_text_block, find_title
from monitor.sites.presets import KINDS, PRESETS
from monitor.sites.selectors import first_text, select, uncomment_pagelets
from monitor.sites.structure import find_list_shape

_PAGELETS = re.compile(r"<code\b[^>]*>\s*<!--", re.I)


@dataclass
class Draft:
    """A site file in the making: its keys, selectors, and a comment for each."""

    name: str
    kind: str
    url: str
    preset: str | None = None
    keys: dict[str, object] = field(default_factory=dict)
    selectors: dict[str, list[str]] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # what a person has to add
    rows: int = 0
    samples: list[str] = field(default_factory=list)

    def to_toml(self) -> str:
        """The site file's text."""
        when = datetime.now(UTC).strftime("%Y-%m-%d")
        lines = [
            f"# Drafted by `heishi sources new` from {self.url} on {when}.",
            f"# Check it with `heishi sources check {self.name}`; it warns about every field",
            "# it cannot fill. Selectors are CSS (XPath with `xpath:`), see docs/site-files.md.",
            f"name = {_toml(self.name)}",
            f"kind = {_toml(self.kind)}",
        ]
        if self.preset:
            lines.append(f"preset = {_toml(self.preset)}  # {self.comments.get('preset', '')}")
        lines.append(f"start_urls = [{_toml(self.url)}]")
        for key, value in self.keys.items():
            comment = f"  # {self.comments[key]}" if key in self.comments else ""
            lines.append(f"{key} = {_toml(value)}{comment}")
        if self.selectors or self.missing:
            lines += ["", "[selectors]"]
        for key, specs in self.selectors.items():
            if key in self.comments:
                lines.append(f"# {self.comments[key]}")
            value = specs[0] if len(specs) == 1 else specs
            lines.append(f"{key} = {_toml(value)}")
        for note in self.missing:
            lines.append(f"# TODO {note}")
        return "\n".join(lines) + "\n"


def draft_site(
    url: str,
    html: str,
    *,
    name: str | None = None,
    kind: str | None = None,
    render: bool = False,
    use_presets: bool = True,
    fetch: Callable[[str], str] | None = None,
) -> Draft:
    """A draft for the list page `html` found at `url`; `fetch` reads a listing's own page
    (for a forum's text selector)."""
    if kind is not None and kind not in KINDS:
        raise HeishiError(f"unknown kind {kind!r}", hint="one of " + ", ".join(KINDS))
    host = urlsplit(url).hostname or ""
    default_kind = "channel" if host in ("t.me", "telegram.me") else "forum"
    draft = Draft(name=name or site_name(url), kind=kind or default_kind, url=url)
    if render:
        draft.keys["render"] = True
    if _private(url):
        # A site on this machine or the local network: crawls refuse such addresses unless
        # the site file allows them (docs/site-files.md, Network policy).
        draft.keys["network"] = {"allow_private": True}
        draft.comments["network"] = "the site is on a private or loopback address"
    commented = bool(_PAGELETS.search(html))
    readable = uncomment_pagelets(html) if commented else html
    preset = _known_preset(url, html) if use_presets else None
    if preset is not None and (kind is None or kind in PRESETS[preset].kinds):
        known = PRESETS[preset]
        page = Selector(text=readable)
        rows = len(select(page, known.selectors["item"]))
        empty = bool(select(page, known.selectors.get("empty"))) or any(
            marker in readable for marker in known.empty_text
        )
        if rows or empty:
            draft.preset, draft.kind, draft.rows = preset, known.kinds[0], rows
            draft.comments["preset"] = (
                f"recognised; its selectors find {rows} rows here"
                if rows
                else "recognised; the page says it has no listings yet"
            )
            if render:
                draft.keys["wait_selector"] = PRESETS[preset].selectors["item"][0]
            return draft
    _by_structure(draft, readable, commented, fetch)
    return draft


def site_name(url: str) -> str:
    """A source name from an address: its host, dots as underscores."""
    host = (urlsplit(url).hostname or "site").removeprefix("www.")
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", host).strip("_-")
    return name if name and name[0].isalnum() else f"site_{name}"


def write_draft(draft: Draft, directory: Path, *, force: bool = False) -> Path:
    """Write the draft as `<directory>/<name>.toml`; refuses to overwrite unless `force`."""
    path = directory / f"{draft.name}.toml"
    if path.exists() and not force:
        raise HeishiError(f"{path} exists", hint="choose another --name, or --force to replace it")
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(draft.to_toml(), encoding="utf-8")
    return path


def _private(url: str) -> bool:
    from monitor.sites.network_policy import address_of, canonical_host, is_public

    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = address_of(canonical_host(host))
    except ValueError:
        return False
    return address is not None and not is_public(address)


def _known_preset(url: str, html: str) -> str | None:
    page = Selector(text=html)
    host = urlsplit(url).hostname or ""
    if host in ("t.me", "telegram.me") or page.css(".tgme_channel_history"):
        return "telegram"
    if "tieba.baidu.com" in host or "pagelet_html_frs-list" in html:
        return "tieba"
    generator = first_text(page, "meta[name=generator]::attr(content)") or ""
    if generator.startswith("Discuz!") or page.css("tbody[id^=normalthread_]"):
        return "discuz"
    if page.css("body#phpbb"):
        return "phpbb"
    if page.css("table.maintable") and "pastebin" in (first_text(page, "title") or "").lower():
        return "pastebin"
    return None


def _by_structure(
    draft: Draft, html: str, commented: bool, fetch: Callable[[str], str] | None
) -> None:
    shape = find_list_shape(html)
    if commented:
        draft.keys["commented_html"] = True
        draft.comments["commented_html"] = "the list is shipped inside HTML comments"
    if shape.item is None:
        draft.missing.append(
            "item: no repeated rows with links were found on this page (fewer than three "
            "listings, or rendered by JavaScript: try --render)"
        )
        return
    draft.rows, draft.samples = shape.rows, shape.samples
    sample = f"; the first: {shape.samples[0]}" if shape.samples else ""
    draft.selectors["item"] = [shape.item]
    draft.comments["item"] = f"{shape.rows} rows on the first page{sample}"
    if draft.keys.get("render"):
        draft.keys["wait_selector"] = shape.item
    if shape.item_link:
        draft.selectors["item_link"] = [shape.item_link]
        draft.selectors["item_title"] = [shape.item_title or shape.item_link]
        draft.comments["item_link"] = "the link in each row that leads to the listing"
    else:
        draft.missing.append("item_link: which link in a row leads to the listing")
    if shape.item_author:
        draft.selectors["item_author"] = [shape.item_author]
    else:
        draft.missing.append("item_author (or `author` on the listing's page): who posted")
    if shape.item_posted:
        draft.selectors["item_posted"] = shape.item_posted
    else:
        draft.missing.append("item_posted (or `posted` on the listing's page): the date")
    if shape.next_page:
        draft.selectors["next_page"] = [shape.next_page]
        draft.comments["next_page"] = "the link to the next (older) page"
    else:
        draft.missing.append("next_page: no link to a next page was found (one page only)")
    if shape.id_pattern:
        draft.keys["id_pattern"] = shape.id_pattern
        draft.comments["id_pattern"] = "the listing id in its link"
    else:
        draft.missing.append("id_pattern: the listing id in its link (else the whole link)")
    if draft.kind in ("forum", "paste") or (draft.kind == "marketplace" and shape.links):
        _listing_page(draft, shape.links, shape.samples, fetch)
    elif draft.kind == "channel":
        draft.missing.append("text: where a row's own text is")


def _listing_page(
    draft: Draft, links: list[str], titles: list[str], fetch: Callable[[str], str] | None
) -> None:
    if not links or fetch is None:
        draft.missing.append("text: where the listing's text is on its own page")
        return
    address = urljoin(draft.url, links[0])
    if _host_and_port(address) != _host_and_port(draft.url):
        # A page's links are its author's: only the site's own pages are fetched.
        draft.missing.append(f"text: the first listing is on another site ({address})")
        return
    try:
        html = fetch(address)
    except HeishiError as exc:
        draft.missing.append(f"text: the first listing's page could not be read ({exc})")
        return
    block = find_text_block(html)
    if block:
        draft.selectors["text"] = [block]
        draft.comments["text"] = f"the text block on a listing's page ({address})"
    else:
        draft.missing.append(f"text: no text block was recognised on {address}")
    title = find_title(html, titles[0] if titles else None)
    if title:
        draft.selectors["title"] = [title]


def _host_and_port(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return (parts.hostname or "", parts.port or default)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    text = str(value)
    # Regular expressions and selectors read best as literal strings.
    if "\\" in text and "'" not in text and "\n" not in text:
        return f"'{text}'"
    return json.dumps(text, ensure_ascii=False)
