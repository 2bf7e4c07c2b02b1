"""Notification routes: which alerts go where (Apprise URLs), read from a TOML file.

```toml
[settings]
timeout = "60s"        # a receiver's time to answer (per route too)
backoff = "30s"        # before the first retry; doubles each time ...
backoff_max = "1h"     # ... up to this, and retries go on at this interval ...
give_up_after = "3d"   # ... until a message has failed this long: then it is dead
# max_attempts = 100   # or give up after this many attempts

[[routes]]
name = "urgent"
urls = ["json://127.0.0.1:8080/hook", "mailto://user:${SMTP_PASSWORD}@mail.example.com"]
min_severity = "high"                # low | medium | high | critical
kinds = ["new", "changed", "relisted", "reposted", "source_failing"]   # default: all
categories = ["identity", "finance"] # any of these; default: all
brands_only = false                  # only listings that name a watched brand
digest = "1h"                        # one message per interval instead of one per alert
timeout = "2m"                       # this route's receiver is slow
```
`${VAR}` in a URL is taken from the environment, so secrets stay out of the file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor import settings
from monitor.config import expand_vars
from monitor.errors import ConfigError

if TYPE_CHECKING:
    from monitor.config_files import TomlFile

from monitor.vocabulary import ALERT_KINDS, CATEGORIES, SEVERITIES, severity_rank

# Messages a route can select that are not alerts in the store: the store's disk is full.
ROUTE_ONLY_KINDS = ("store_full",)
ROUTE_KEYS = {
    "name",
    "urls",
    "min_severity",
    "kinds",
    "categories",
    "brands_only",
    "digest",
    "timeout",
}
SETTING_KEYS = {"max_attempts", "backoff", "backoff_max", "give_up_after", "timeout"}
DEFAULT_TIMEOUT = 60.0  # seconds a receiver may take to answer (Apprise's own default is 4)


class NotifyConfigError(ConfigError):
    """A notification config that cannot be used."""


@dataclass(frozen=True)
class Route:
    name: str
    urls: tuple[str, ...]
    min_severity: str = "low"
    kinds: frozenset[str] | None = None
    categories: frozenset[str] | None = None
    brands_only: bool = False
    digest_seconds: int | None = None
    timeout: float = DEFAULT_TIMEOUT  # seconds to connect and to read the answer

    def wants(self, alert: dict[str, Any], categories: list[str], brands: list[str]) -> bool:
        """Whether an alert goes through this route."""
        if severity_rank(alert.get("severity") or "low") < severity_rank(self.min_severity):
            return False
        if self.kinds is not None and alert["kind"] not in self.kinds:
            return False
        if self.categories is not None and not self.categories & set(categories):
            return False
        return not (self.brands_only and not brands)


@dataclass(frozen=True)
class NotifyConfig:
    routes: tuple[Route, ...] = ()
    max_attempts: int | None = None  # None: retry until give_up_after
    backoff: float = 30.0
    backoff_max: float = 3600.0  # retries go on at this interval...
    give_up_after: float = 3 * 86400.0  # ... until a message has failed for this long
    path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def route(self, name: str) -> Route | None:
        return next((r for r in self.routes if r.name == name), None)


def notify_file() -> Path:
    """$HEISHI_NOTIFY_FILE, else notify.toml in the checkout."""
    return settings.current().notify_file


def load_notify_config(path: str | Path | None = None) -> NotifyConfig:
    """The routes in `path` (default notify_file()); no file means no routes. Every key is
    checked (type, range, known values) and every URL must be one Apprise can send to: a
    problem is a NotifyConfigError naming the file, line and key, found now rather than by
    a message that can never go out."""
    from monitor.config_files import TomlFile

    path = Path(path) if path else notify_file()
    if not path.exists():
        return NotifyConfig()
    config = TomlFile.read(path, NotifyConfigError)
    config.only(config.data, {"settings", "routes"})
    settings = config.table(config.data, "settings")
    config.only(settings, SETTING_KEYS, "settings")
    timeout = config.duration(settings, "timeout", DEFAULT_TIMEOUT, table="settings")
    backoff = config.duration(settings, "backoff", 30.0, table="settings")
    backoff_max = config.duration(settings, "backoff_max", 3600.0, table="settings")
    assert timeout is not None and backoff is not None and backoff_max is not None
    if backoff_max < backoff:
        raise config.fail("backoff_max", f"must be at least backoff ({backoff:g} s)", "settings")
    routes = [
        _route(config, spec, index, timeout)
        for index, spec in enumerate(config.tables(config.data, "routes"))
    ]
    names = [r.name for r in routes]
    for index, name in enumerate(names):
        if names.index(name) != index:
            raise config.fail("name", f"route name {name!r} is used twice", "routes", index)
    return NotifyConfig(
        routes=tuple(routes),
        max_attempts=config.integer(settings, "max_attempts", None, minimum=1, table="settings"),
        backoff=backoff,
        backoff_max=backoff_max,
        give_up_after=config.duration(settings, "give_up_after", 3 * 86400.0, table="settings")
        or 3 * 86400.0,
        path=str(path),
    )


def _route(config: TomlFile, spec: dict[str, Any], index: int, timeout: float) -> Route:
    """Route `index` (the `index`-th [[routes]] table), checked key by key."""
    where: dict[str, Any] = {"table": "routes", "index": index}
    config.only(spec, ROUTE_KEYS, "routes", index)
    name = config.string(spec, "name", None, **where) or f"route{index + 1}"
    urls = config.strings(spec, "urls", **where)
    if not urls:
        raise config.fail("urls", f"route {name!r} needs urls, a list of Apprise URLs", **where)
    expanded = tuple(_expand(url, config.path) for url in urls)
    for number, url in enumerate(expanded, 1):
        problem = apprise_problem(url)
        if problem:
            raise config.fail("urls", f"route {name!r}, URL {number}: {problem}", **where)
    kinds = config.strings(spec, "kinds", choices={*ALERT_KINDS, *ROUTE_ONLY_KINDS}, **where)
    categories = config.strings(spec, "categories", choices=CATEGORIES, **where)
    digest = config.duration(spec, "digest", None, **where)
    return Route(
        name=name,
        urls=expanded,
        min_severity=config.choice(spec, "min_severity", "low", SEVERITIES, **where),
        kinds=frozenset(kinds) if kinds is not None else None,
        categories=frozenset(categories) if categories is not None else None,
        brands_only=config.boolean(spec, "brands_only", False, **where),
        digest_seconds=int(digest) if digest else None,
        timeout=config.duration(spec, "timeout", timeout, **where) or timeout,
    )


def apprise_problem(url: str) -> str | None:
    """Why Apprise cannot send to `url`, or None when it can (its scheme is known and the
    URL parses for it). The URL is not shown: it may hold a token."""
    import apprise

    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if not scheme:
        return "not an Apprise URL (scheme://...)"
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        accepted = apprise.Apprise().add(url)
        said = captured.getvalue().strip()
    if accepted:
        return None
    reason = said.splitlines()[-1] if said else ""
    return f"Apprise cannot send to this {scheme}:// URL" + (f" ({reason})" if reason else "")


def _expand(url: str, path: Path) -> str:
    return expand_vars(
        url,
        settings.variables(),
        lambda name: NotifyConfigError(
            str(path), f"environment variable {name} is not set", key="urls"
        ),
    )
