"""Reading and validating site files: one TOML file per site, checked key by key on load.

Every problem is a `SiteFileError` naming the file and the key or line, so an operator who
adds a site sees at once what to fix. See docs/site-files.md for the format.
"""

from __future__ import annotations

import codecs
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor.errors import SiteFileError
from monitor.sites.checks import (
    Login,
    Schedule,
    Where,
    as_bool,
    as_int,
    as_login,
    as_network,
    as_proxy,
    as_schedule,
    as_selector,
    as_string,
    as_strings,
    as_url,
    expand_env,
    is_onion,
    type_name,
)
from monitor.sites.presets import KINDS, PRESETS, SELECTOR_NAMES

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Site:
    """One validated site file, environment variables expanded, preset selectors merged."""

    name: str
    kind: str
    path: Path
    start_urls: tuple[str, ...] = ()
    description: str = ""
    preset: str | None = None
    selectors: dict[str, tuple[str, ...]] = field(default_factory=dict)
    encoding: str | None = None
    search_terms: tuple[str, ...] = ()
    search_url: str | None = None
    render: bool = False
    render_details: bool = False
    wait_selector: str | None = None
    max_pages: int = 5
    download_delay: float | None = None
    concurrency: int | None = None
    autothrottle: bool = True
    schedule: Schedule | None = None
    enabled: bool = True
    removed_after_sweeps: int = 1
    list_may_shrink: bool = False
    tags: tuple[str, ...] = ()
    id_pattern: str | None = None
    removed_text: tuple[str, ...] = ()
    blocked_text: tuple[str, ...] = ()
    empty_text: tuple[str, ...] = ()
    commented_html: bool = False
    raw_url: str | None = None
    proxy: str | None = None
    download_timeout: float | None = None
    login: Login | None = None
    cookies_file: Path | None = None
    # [network]: the site's own hosts may be on loopback/private addresses; more hosts it may
    # be fetched from (monitor/sites/network_policy.py).
    allow_private: bool = False
    allowed_hosts: tuple[str, ...] = ()
    download_maxsize: int | None = None

    @property
    def url(self) -> str | None:
        """The address that stands for the site (recorded with each run)."""
        if self.start_urls:
            return self.start_urls[0]
        if self.search_url:
            parts = urlsplit(self.search_url)
            return f"{parts.scheme}://{parts.netloc}/"
        return None

    def search_urls(self) -> list[tuple[str, str]]:
        """(term, url) for each search term, the term URL-encoded into `search_url`."""
        from urllib.parse import quote

        if not self.search_url:
            return []
        return [(t, self.search_url.replace("{term}", quote(t))) for t in self.search_terms]


_KEYS = {
    "name",
    "kind",
    "description",
    "start_urls",
    "preset",
    "selectors",
    "encoding",
    "search_terms",
    "search_url",
    "render",
    "render_details",
    "wait_selector",
    "max_pages",
    "download_delay",
    "concurrency",
    "autothrottle",
    "schedule",
    "enabled",
    "removed_after_sweeps",
    "list_may_shrink",
    "tags",
    "id_pattern",
    "removed_text",
    "blocked_text",
    "empty_text",
    "commented_html",
    "raw_url",
    "proxy",
    "download_timeout",
    "login",
    "cookies_file",
    "network",
    "download_maxsize",
}


def load_site(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Site:
    """Read and validate one site file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteFileError(str(path), f"cannot read: {exc}") from exc
    where = Where(path, text)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        raise SiteFileError(
            str(path), f"not valid TOML: {exc}", line=int(found.group(1)) if found else None
        ) from exc
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise where.error(unknown[0], "unknown key", None)
    raw = {k: expand_env(v, os.environ if env is None else env, where, k) for k, v in raw.items()}
    return _build(raw, where)


def _build(raw: dict[str, Any], where: Where) -> Site:
    for key in ("name", "kind"):
        if key not in raw:
            raise SiteFileError(str(where.path), "missing required key", key=key)
    name = as_string(raw["name"], where, "name")
    if not _NAME.match(name):
        raise where.error("name", f"{name!r}: use letters, digits, _ and - only")
    kind = as_string(raw["kind"], where, "kind")
    if kind not in KINDS:
        raise where.error("kind", f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
    spec = KINDS[kind]
    values: dict[str, Any] = {"name": name, "kind": kind, "path": where.path}

    if "description" in raw:
        values["description"] = as_string(raw["description"], where, "description")
    if "start_urls" in raw:
        urls = as_strings(raw["start_urls"], where, "start_urls")
        values["start_urls"] = tuple(as_url(u, where, "start_urls") for u in urls)
    if "search_url" in raw:
        search_url = as_url(as_string(raw["search_url"], where, "search_url"), where, "search_url")
        if "{term}" not in search_url:
            raise where.error("search_url", "must contain {term} where the search term goes")
        values["search_url"] = search_url
    if "search_terms" in raw:
        values["search_terms"] = as_strings(raw["search_terms"], where, "search_terms")
        if "search_url" not in values:
            raise where.error("search_terms", "needs a search_url to put the terms in")
    elif "search_url" in values:
        raise where.error("search_url", "needs search_terms to search for")
    if not values.get("start_urls") and not (spec.name == "marketplace" and "search_url" in values):
        need = "start_urls" if spec.needs_start_urls else "start_urls or search_url"
        raise SiteFileError(str(where.path), f"missing required key ({need})", key="start_urls")

    preset_name = raw.get("preset", spec.default_preset)
    preset = None
    if preset_name is not None:
        preset_name = as_string(preset_name, where, "preset")
        preset = PRESETS.get(preset_name)
        if preset is None:
            raise where.error(
                "preset", f"unknown preset {preset_name!r} (known: {', '.join(PRESETS)})"
            )
        if kind not in preset.kinds:
            raise where.error("preset", f"preset {preset_name!r} is for {', '.join(preset.kinds)}")
        values["preset"] = preset_name

    selectors = dict(preset.selectors) if preset else {}
    given = raw.get("selectors", {})
    if not isinstance(given, dict):
        raise where.error("selectors", f"must be a table, not {type_name(given)}")
    for key, value in given.items():
        if key not in SELECTOR_NAMES:
            raise where.error(key, "unknown selector name", "selectors")
        specs = as_strings(value, where, key, "selectors")
        if not specs:
            selectors.pop(key, None)  # an empty list switches a preset selector off
            continue
        selectors[key] = tuple(as_selector(s, where, key, "selectors") for s in specs)
    missing = [s for s in spec.required if s not in selectors]
    if kind == "marketplace" and not {"item_link", "item_id"} & selectors.keys():
        missing.append("item_link or item_id")
    if missing:
        raise SiteFileError(
            str(where.path),
            f"a {kind} site needs selectors for: {', '.join(missing)}"
            + ("" if preset else " (or a preset)"),
            key="selectors",
        )
    values["selectors"] = selectors

    if "encoding" in raw:
        encoding = as_string(raw["encoding"], where, "encoding")
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise where.error("encoding", f"unknown encoding {encoding!r}") from None
        values["encoding"] = encoding
    for key in ("render", "render_details", "enabled", "autothrottle", "list_may_shrink"):
        if key in raw:
            values[key] = as_bool(raw[key], where, key)
    if "wait_selector" in raw:
        values["wait_selector"] = as_selector(
            as_string(raw["wait_selector"], where, "wait_selector"), where, "wait_selector"
        )
    if "max_pages" in raw:
        values["max_pages"] = as_int(raw["max_pages"], where, "max_pages", 1)
    if "concurrency" in raw:
        values["concurrency"] = as_int(raw["concurrency"], where, "concurrency", 1)
    if "removed_after_sweeps" in raw:
        values["removed_after_sweeps"] = as_int(
            raw["removed_after_sweeps"], where, "removed_after_sweeps", 1
        )
    if "download_delay" in raw:
        delay = raw["download_delay"]
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            raise where.error("download_delay", "must be a number of seconds, 0 or more")
        values["download_delay"] = float(delay)
    if "schedule" in raw:
        values["schedule"] = as_schedule(raw["schedule"], where)
    if "tags" in raw:
        values["tags"] = as_strings(raw["tags"], where, "tags")
    pattern = raw.get("id_pattern", preset.id_pattern if preset else None)
    if pattern is not None:
        pattern = as_string(pattern, where, "id_pattern")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise where.error("id_pattern", f"bad regular expression: {exc}") from None
        values["id_pattern"] = pattern
    for key in ("removed_text", "blocked_text", "empty_text"):
        if key in raw:
            values[key] = as_strings(raw[key], where, key)
        elif preset:
            values[key] = getattr(preset, key)
    if "commented_html" in raw:
        values["commented_html"] = as_bool(raw["commented_html"], where, "commented_html")
    elif preset:
        values["commented_html"] = preset.commented_html
    raw_url = raw.get("raw_url", preset.raw_url if preset else None)
    if raw_url is not None:
        raw_url = as_string(raw_url, where, "raw_url")
        if "{id}" not in raw_url:
            raise where.error("raw_url", "must contain {id} where the paste's id goes")
        if not raw_url.startswith("/"):
            as_url(raw_url, where, "raw_url")
        values["raw_url"] = raw_url
    if kind == "paste" and "raw_url" not in values and "text" not in selectors:
        raise where.error("raw_url", "a paste site needs raw_url (or a `text` selector)")
    if "download_timeout" in raw:
        timeout = raw["download_timeout"]
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise where.error("download_timeout", "must be a number of seconds above 0")
        values["download_timeout"] = float(timeout)
    if "proxy" in raw:
        values["proxy"] = as_proxy(as_string(raw["proxy"], where, "proxy"), where)
    onion = [u for u in (*values.get("start_urls", ()), values.get("search_url")) if is_onion(u)]
    if onion and "proxy" not in values:
        raise where.error(
            "start_urls" if "start_urls" in raw else "search_url",
            f"{onion[0]} is a hidden service: set proxy (Tor's socks5h://127.0.0.1:9050 "
            "or privoxy's http://127.0.0.1:8118)",
        )
    if "login" in raw:
        values["login"] = as_login(raw["login"], where)
    if "network" in raw:
        values["allow_private"], values["allowed_hosts"] = as_network(raw["network"], where)
    if "download_maxsize" in raw:
        values["download_maxsize"] = as_int(
            raw["download_maxsize"], where, "download_maxsize", 1024
        )
    if "cookies_file" in raw:
        cookies = Path(as_string(raw["cookies_file"], where, "cookies_file")).expanduser()
        values["cookies_file"] = cookies if cookies.is_absolute() else where.path.parent / cookies
    site = Site(**values)
    from monitor.sites.network_policy import BadHost, policy_for_site

    try:
        policy_for_site(site)
    except BadHost as exc:
        raise where.error("start_urls", f"a host the crawl cannot use: {exc}") from None
    return site


def load_sites(dir: str | os.PathLike[str] | None = None) -> list[Site]:
    """Every site file (`*.toml`) in `dir` (default `monitor.config.sites_dir()`), by name."""
    from monitor.config import sites_dir

    directory = Path(dir) if dir is not None else sites_dir()
    sites: dict[str, Site] = {}
    for path in sorted(directory.glob("*.toml")):
        site = load_site(path)
        if site.name in sites:
            raise SiteFileError(
                str(path),
                f"name {site.name!r} is already used by {sites[site.name].path.name}",
                line=Where(path, path.read_text(encoding="utf-8")).line_of("name"),
                key="name",
            )
        sites[site.name] = site
    return sorted(sites.values(), key=lambda s: s.name)


def find_site(name: str, dir: str | os.PathLike[str] | None = None) -> Site:
    """The site called `name`. A broken file named `<name>.toml` raises its own error; other
    broken files are skipped, so one bad file never stops the other sources. KeyError if none."""
    from monitor.config import sites_dir

    directory = Path(dir) if dir is not None else sites_dir()
    candidates = sorted(directory.glob("*.toml"), key=lambda p: p.stem != name)
    for path in candidates:
        try:
            site = load_site(path)
        except SiteFileError:
            if path.stem == name:
                raise
            continue
        if site.name == name:
            return site
    raise KeyError(name)
