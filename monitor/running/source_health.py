"""Why a source is unwell, told apart from a crawl's stats: a site that refuses heishi
(HTTP 403, 429, 451), a captcha or bot check, a log-in wall, a board or channel that says it
is empty, pages that changed shape, or a site that is down. Each is its own health state with
its own wording, because each has its own fix.

Pure functions: monitor.alerting.ingest applies them when it closes a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Every state `sources.health` takes.
HEALTH_STATES = (
    "unknown",
    "ok",
    "degraded",
    "failing",
    "empty",
    "login_wall",
    "captcha",
    "blocked",
    "changed_shape",
)


@dataclass(frozen=True)
class Cause:
    health: str  # the source's health state
    says: str  # what the source does, after its name: "source bbs {says}"
    fix: str  # what an operator does about it


CAUSES = {
    "blocked": Cause(
        "blocked",
        "refuses heishi",
        "it answers HTTP {codes}: slow down (download_delay, concurrency), or go through a proxy",
    ),
    "captcha": Cause(
        "captcha",
        "shows a captcha",
        "a person must pass it: log in with a browser and export its cookies to cookies_file",
    ),
    "login_wall": Cause(
        "login_wall",
        "is behind a log-in wall",
        "give it a login (credentials from the environment) or a cookies_file",
    ),
    "empty": Cause(
        "empty",
        "says it has no listings",
        "nothing to fix if it is really empty; heishi sources check shows its page",
    ),
    "changed_shape": Cause(
        "changed_shape",
        "changed shape",
        "run heishi sources check and fix the selectors of its site file",
    ),
    "down": Cause("failing", "is failing", "check its address, the network or its proxy"),
}


def cause_of(stats: dict[str, Any], status: str, shape_changed: bool, items: int) -> Cause | None:
    """What went wrong with a run, most specific first; None when nothing did."""
    refused = sorted(
        key.rsplit("/", 1)[1]
        for key, value in stats.items()
        if key.startswith("heishi/http_refused/") and value
    )
    if refused:
        return _with_codes(CAUSES["blocked"], refused)
    if stats.get("heishi/captcha_pages"):
        return CAUSES["captcha"]
    if stats.get("heishi/login_walls") or stats.get("heishi/login_failures"):
        return CAUSES["login_wall"]
    if stats.get("heishi/source_empty_pages") and not items:
        return CAUSES["empty"]
    if shape_changed:
        return CAUSES["changed_shape"]
    if status == "failed":
        return CAUSES["down"]
    return None


def health_of(status: str, cause: Cause | None) -> str:
    """The source's health after a run that ended `status` for `cause`."""
    if cause is not None:
        return cause.health
    return {"ok": "ok", "partial": "degraded"}.get(status, "failing")


def _with_codes(cause: Cause, codes: list[str]) -> Cause:
    return Cause(cause.health, cause.says, cause.fix.format(codes=", ".join(codes)))


def describe(source: str, cause: Cause) -> str:
    """One line for an alert or a log: what the source does, and what to do."""
    return f"source {source} {cause.says}: {cause.fix}"
