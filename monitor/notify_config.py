"""Notification routes: which alerts go where (Apprise URLs), read from a TOML file.

```toml
[settings]
max_attempts = 8       # then the notification is dead (shown by `heishi notify status`)
backoff = 30           # seconds before the first retry; doubles each time
backoff_max = 3600

[[routes]]
name = "urgent"
urls = ["json://127.0.0.1:8080/hook", "mailto://user:${SMTP_PASSWORD}@mail.example.com"]
min_severity = "high"                # low | medium | high | critical
kinds = ["new", "changed", "relisted", "reposted", "source_failing"]   # default: all
categories = ["identity", "finance"] # any of these; default: all
brands_only = false                  # only listings that name a watched brand
digest = "1h"                        # one message per interval instead of one per alert
```
`${VAR}` in a URL is taken from the environment, so secrets stay out of the file.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.config import PROJECT_ROOT, duration_seconds, expand_vars
from monitor.errors import ConfigError

SEVERITIES = ("low", "medium", "high", "critical")
ROUTE_KEYS = {"name", "urls", "min_severity", "kinds", "categories", "brands_only", "digest"}
SETTING_KEYS = {"max_attempts", "backoff", "backoff_max"}


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

    def wants(self, alert: dict[str, Any], categories: list[str], brands: list[str]) -> bool:
        """Whether an alert goes through this route."""
        if SEVERITIES.index(alert.get("severity") or "low") < SEVERITIES.index(self.min_severity):
            return False
        if self.kinds is not None and alert["kind"] not in self.kinds:
            return False
        if self.categories is not None and not self.categories & set(categories):
            return False
        return not (self.brands_only and not brands)


@dataclass(frozen=True)
class NotifyConfig:
    routes: tuple[Route, ...] = ()
    max_attempts: int = 8
    backoff: float = 30.0
    backoff_max: float = 3600.0
    path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def route(self, name: str) -> Route | None:
        return next((r for r in self.routes if r.name == name), None)


def notify_file() -> Path:
    """$HEISHI_NOTIFY_FILE, else notify.toml in the checkout."""
    return Path(os.environ.get("HEISHI_NOTIFY_FILE") or PROJECT_ROOT / "notify.toml")


def load_notify_config(path: str | Path | None = None) -> NotifyConfig:
    """The routes in `path` (default notify_file()); no file means no routes."""
    path = Path(path) if path else notify_file()
    if not path.exists():
        return NotifyConfig()
    text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise NotifyConfigError(
            str(path), f"not valid TOML: {exc}", line=int(line.group(1)) if line else None
        ) from exc

    def fail(message: str, key: str) -> NotifyConfigError:
        line = next(
            (n for n, ln in enumerate(text.splitlines(), 1) if ln.strip().startswith(key)), None
        )
        return NotifyConfigError(str(path), message, line=line, key=key)

    settings = raw.get("settings", {})
    for key in set(settings) - SETTING_KEYS:
        raise fail(f"unknown setting (known: {', '.join(sorted(SETTING_KEYS))})", key)
    routes = []
    for index, spec in enumerate(raw.get("routes", [])):
        for key in set(spec) - ROUTE_KEYS:
            raise fail(
                f"unknown key in route {index + 1} (known: {', '.join(sorted(ROUTE_KEYS))})", key
            )
        name = spec.get("name") or f"route{index + 1}"
        urls = spec.get("urls")
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise fail(f"route {name!r} needs urls, a list of Apprise URLs", "urls")
        severity = spec.get("min_severity", "low")
        if severity not in SEVERITIES:
            raise fail(f"min_severity must be one of {', '.join(SEVERITIES)}", "min_severity")
        digest = spec.get("digest")
        digest_seconds = duration_seconds(digest) if digest else None
        if digest and not digest_seconds:
            raise fail(f"digest {digest!r} is not a duration such as 30m, 1h, 1d", "digest")
        routes.append(
            Route(
                name=name,
                urls=tuple(_expand(u, path) for u in urls),
                min_severity=severity,
                kinds=frozenset(spec["kinds"]) if "kinds" in spec else None,
                categories=frozenset(spec["categories"]) if "categories" in spec else None,
                brands_only=bool(spec.get("brands_only", False)),
                digest_seconds=digest_seconds,
            )
        )
    if len({r.name for r in routes}) != len(routes):
        raise fail("route names must be unique", "name")
    return NotifyConfig(
        routes=tuple(routes),
        max_attempts=int(settings.get("max_attempts", 8)),
        backoff=float(settings.get("backoff", 30)),
        backoff_max=float(settings.get("backoff_max", 3600)),
        path=str(path),
    )


def _expand(url: str, path: Path) -> str:
    return expand_vars(
        url,
        os.environ,
        lambda name: NotifyConfigError(
            str(path), f"environment variable {name} is not set", key="urls"
        ),
    )
