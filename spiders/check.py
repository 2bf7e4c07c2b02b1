"""`heishi sources check NAME`: fetch a site's first list page (rendered if the site renders)
and a few of its listings, and report what the site file's selectors read, without storing
anything: every field it could not fill, personal numbers masked, and for each listing
whether it would raise an alert and why. For operators writing a site file."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.errors import HeishiError, SourceError
from monitor.settings import child_environment

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
    "extra",
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

# A field not read from any listing, and where to read it.
FIELD_SELECTORS = {
    "title": "selectors.item_title or selectors.title",
    "seller": "selectors.item_author or selectors.author",
    "posted_at": "selectors.item_posted or selectors.posted",
    "text": "selectors.text (and post)",
}
# Only digests need the install's key; masking for display does not.
_DISPLAY_KEY = b"heishi sources check: masking for display only"
_PEOPLES_TEXT = ("title", "seller", "price_text", "text")


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
    warnings: list[str] = field(default_factory=list)  # fields it could not fill
    verdicts: list[dict[str, Any]] = field(default_factory=list)  # per item: alert and why
    empty: bool = False  # the page says the source has no listings

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "url": self.url,
            "rows": self.rows,
            "next_page": self.next_page,
            "items": self.items,
            "verdicts": self.verdicts,
            "warnings": self.warnings,
            "empty": self.empty,
            "problems": self.problems,
        }


def check_site(
    name: str, *, rows: int = 3, sites_dir: str | None = None, timeout: float = 120
) -> SiteCheck:
    """Crawl the first list page of `name` and up to `rows` of its listings in a subprocess
    (nothing is stored). Raises SiteFileError for a broken file, SourceError for an unknown
    name or a crawl that did not run."""
    from monitor.sites import find_site

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
            # One page at a time, first in first out: listings come back in the page's order.
            "CONCURRENT_REQUESTS": "1",
            "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
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
                env=child_environment(extra={"SCRAPY_SETTINGS_MODULE": "spiders.settings"}),
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
    shown = [
        masked_fields({k: item[k] for k in FIELDS if k in item and (k != "extra" or item[k])})
        for item in items
    ]
    check = SiteCheck(
        source=site.name,
        kind=site.kind,
        url=site.url,
        rows=int(stats.get("heishi/list_rows", 0)),
        next_page=stats.get("heishi/check/next_page"),
        items=shown,
        problems=problems,
        stats=stats,
        empty=bool(stats.get("heishi/source_empty_pages")) and not items,
    )
    check.warnings = field_warnings(site, check)
    if shown:
        check.verdicts = alert_verdicts(site.name, site.kind, shown)
    return check


def masked_fields(item: dict[str, Any]) -> dict[str, Any]:
    """The item's text fields with ID, phone and card numbers masked (as the store keeps
    them): a check's output is read and pasted by people."""
    from monitor.privacy.pii import mask_keep, mask_pii

    keep = mask_keep()  # the digits the team keeps ($HEISHI_PII_MASK_KEEP), as the store does
    return {
        key: mask_pii(value, _DISPLAY_KEY, keep)[0] if key in _PEOPLES_TEXT and value else value
        for key, value in item.items()
    }


def field_warnings(site: Any, check: SiteCheck) -> list[str]:
    """Every field the check could not fill, and what to set."""
    warnings = []
    items = check.items
    if items:
        for name, where in FIELD_SELECTORS.items():
            filled = sum(1 for item in items if item.get(name))
            if not filled:
                warnings.append(f"no {name} read from any listing: set {where}")
            elif filled < len(items):
                warnings.append(f"{name} read for {filled} of {len(items)} listings: see {where}")
    if not site.id_pattern:
        warnings.append(
            "no id_pattern: a listing's whole link is its id (a session id in links would "
            "make every listing new at every sweep)"
        )
    elif items and any("/" in str(item.get("site_id") or "") for item in items):
        warnings.append("id_pattern finds no id in some links: their whole link is the id")
    if not check.next_page and not check.empty:
        warnings.append(
            "no next page found: only the first list page is read (set selectors.next_page, "
            "unless the source has one page)"
        )
    skipped = int(check.stats.get("heishi/skipped_messages", 0))
    if skipped:
        reasons = ", ".join(
            f"{key.rsplit('/', 1)[1]} {int(value)}"
            for key, value in sorted(check.stats.items())
            if key.startswith("heishi/skipped_messages/")
        )
        warnings.append(f"{skipped} message(s) without text were skipped ({reasons})")
    return warnings


def alert_verdicts(source: str, kind: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each item: whether the matcher would raise an alert, its score and why."""
    from monitor.matching.matcher import load_matcher

    matcher = load_matcher()
    verdicts = []
    for item in items:
        result = matcher.match(
            item.get("title") or "", item.get("text") or "", source=source, kind=kind
        )
        terms = list(dict.fromkeys(hit.term for hit in result.hits if hit.role != "exclusion"))
        verdicts.append(
            {
                "alert": result.alert,
                "score": round(result.score, 2),
                "categories": result.categories if result.alert else [],
                "terms": terms[:8],
                "why": result.reasons[-1] if result.reasons else "",
            }
        )
    return verdicts
