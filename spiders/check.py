"""`heishi sources check NAME`: fetch a site's first list page (rendered if the site renders)
and a few of its listings, and report what the site file's selectors read, without storing
anything. For operators writing a site file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.errors import HeishiError, SourceError

# The fields shown, in the order a listing reads.
FIELDS = (
    "site_id",
    "title",
    "seller",
    "price_text",
    "posted_at",
    "replies",
    "views",
    "url",
    "text",
)

# Stats that explain an empty result, with what they mean to an operator.
PROBLEMS = {
    "heishi/list_page_errors": "the list page failed (down, HTTP error or render timeout)",
    "heishi/blocked_pages": "a log-in or captcha wall",
    "heishi/empty_list_pages": "no `item` rows on the list page: check `selectors.item`",
    "heishi/unparsed_pages": "listing pages without text: check `selectors.text` (and `post`)",
    "heishi/detail_page_errors": "listing pages failed",
    "heishi/removed_pages": "listing pages said the listing was deleted",
    "heishi/detail_pages_gone": "listing pages answered 404/410",
    "heishi/refused/offsite": "links to hosts that are not the site's were not followed: "
    "list them in [network] allowed_hosts",
    "heishi/refused/private_address": "loopback or private addresses were refused: "
    "[network] allow_private = true if the site is on your own network",
    "heishi/pages_too_large": "pages larger than the download limit (download_maxsize)",
}


@dataclass
class SiteCheck:
    """What one look at a site found."""

    source: str
    kind: str
    url: str | None
    rows: int  # item rows on the first list page
    next_page: str | None
    items: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "url": self.url,
            "rows": self.rows,
            "next_page": self.next_page,
            "items": self.items,
            "problems": self.problems,
        }


def check_site(
    name: str, *, rows: int = 3, sites_dir: str | None = None, timeout: float = 120
) -> SiteCheck:
    """Crawl the first list page of `name` and up to `rows` of its listings in a subprocess
    (nothing is stored). Raises SiteFileError for a broken file, SourceError for an unknown
    name or a crawl that did not run."""
    from spiders.sites import find_site

    try:
        site = find_site(name, sites_dir)
    except KeyError:
        raise SourceError(name, "no site file defines this source") from None
    with tempfile.TemporaryDirectory(prefix="heishi-check-") as scratch:
        items_path = Path(scratch) / "items.jsonl"
        stats_path = Path(scratch) / "stats.json"
        overrides = {
            "HEISHI_CHECK_ROWS": str(max(1, rows)),
            "ITEM_PIPELINES": "{}",
            "HEISHI_RECORD_RUNS": "false",
            "HEISHI_KEEP_COOKIES": "false",  # read the kept cookies, never write them
            "FEEDS": json.dumps({str(items_path): {"format": "jsonlines"}}),
            "LOG_LEVEL": "WARNING",
        }
        if sites_dir:
            overrides["HEISHI_SITES_DIR"] = str(sites_dir)
        command = [sys.executable, "-m", "spiders.crawl", name, "--stats", str(stats_path)]
        for key, value in overrides.items():
            command += ["--set", f"{key}={value}"]
        project = Path(__file__).resolve().parent.parent
        try:
            proc = subprocess.run(
                command,
                cwd=project,
                env={**os.environ, "SCRAPY_SETTINGS_MODULE": "spiders.settings"},
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            raise SourceError(name, f"no answer within {timeout:.0f} s", url=site.url) from None
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise HeishiError(f"the check crawl of {name} failed: {last}")
        items = []
        if items_path.exists():
            lines = items_path.read_text(encoding="utf-8").splitlines()
            items = [json.loads(line) for line in lines if line.strip()]
        stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    problems = [
        f"{meaning} ({int(stats[key])})" for key, meaning in PROBLEMS.items() if stats.get(key)
    ]
    if stats.get("heishi/first_error"):
        problems.append(f"first error: {stats['heishi/first_error']}")
    return SiteCheck(
        source=site.name,
        kind=site.kind,
        url=site.url,
        rows=int(stats.get("heishi/list_rows", 0)),
        next_page=stats.get("heishi/check/next_page"),
        items=[{k: item.get(k) for k in FIELDS if k in item} for item in items],
        problems=problems,
        stats=stats,
    )
