"""Reading and validating site files: one TOML file per site, checked key by key on load.

Every problem is a `SiteFileError` naming the file and the key or line, so an operator who
adds a site sees at once what to fix. See docs/site-files.md for the format.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor.config_files import TomlFile
from monitor.errors import SiteFileError
from monitor.settings import variables
from monitor.sites.checks import Login, Schedule, Where, expand_env
from monitor.sites.keys import KEYS, read_keys
from monitor.sites.network_policy import BadHost, policy_for_site


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


def load_site(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Site:
    """Read and validate one site file."""
    toml = TomlFile.read(path, SiteFileError)
    where, raw = Where(toml.path, toml.text), toml.data
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise where.error(unknown[0], "unknown key", None)
    raw = {k: expand_env(v, variables() if env is None else env, where, k) for k, v in raw.items()}
    return _build(raw, where)


def _build(raw: dict[str, Any], where: Where) -> Site:
    site = Site(**read_keys(raw, where))
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
