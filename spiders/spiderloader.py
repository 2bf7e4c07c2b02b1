"""Scrapy's spider loader for heishi: one spider per site file, named after the site.

`scrapy list` prints the site names and `scrapy crawl demo_forum` builds the forum kind's
spider bound to demo_forum.toml. Site files are read from `HEISHI_SITES_DIR` (setting), else
`monitor.config.sites_dir()`. A broken site file is reported and skipped by `list()`; loading
it by name raises its `SiteFileError`, so `scrapy crawl` says what to fix.
"""

from __future__ import annotations

import builtins
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Self

from monitor.errors import SiteFileError
from monitor.sites import Site, load_site
from spiders.kinds import spider_class

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.settings import BaseSettings

log = logging.getLogger(__name__)


class SiteSpiderLoader:
    def __init__(self, sites_dir: Path) -> None:
        self.sites_dir = sites_dir
        self.sites: dict[str, Site] = {}
        self.errors: dict[str, SiteFileError] = {}  # by file stem
        for path in sorted(sites_dir.glob("*.toml")):
            try:
                site = load_site(path)
            except SiteFileError as exc:
                log.warning("skipping site file: %s", exc)
                self.errors[path.stem] = exc
                continue
            if site.name in self.sites:
                log.warning(
                    "%s: name %r is already used by %s; skipped",
                    path,
                    site.name,
                    self.sites[site.name].path.name,
                )
                continue
            self.sites[site.name] = site

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        from monitor.config import sites_dir

        configured = settings.get("HEISHI_SITES_DIR")
        return cls(Path(configured) if configured else sites_dir())

    def load(self, spider_name: str) -> type[Spider]:
        site = self.sites.get(spider_name)
        if site is None:
            if spider_name in self.errors:
                raise self.errors[spider_name]
            raise KeyError(f"Spider not found: {spider_name}")
        return spider_class(site.kind).for_site(site)

    def list(self) -> list[str]:
        return sorted(self.sites)

    def find_by_request(self, request: Request) -> builtins.list[str]:
        from urllib.parse import urlsplit

        host = urlsplit(request.url).netloc
        return [
            name
            for name, site in self.sites.items()
            if any(urlsplit(u).netloc == host for u in (*site.start_urls, site.search_url) if u)
        ]
