"""Every HEISHI_* setting: its name, type, default and meaning, in one table (`SETTINGS`).

Two kinds. Environment settings are read from the environment once, into the frozen
`Settings` that `current()` returns and that is passed down; a process heishi starts gets its
settings explicitly, from `child_environment(settings)`. Crawl settings are Scrapy settings
of each crawl (`--set NAME=VALUE`, `scrapy crawl -s`); `crawl_defaults()` gives
spiders/settings.py their defaults, and the environment settings a crawl reads as Scrapy
settings. The README's settings tables are this table (tests/test_settings.py checks both
ways).

Nothing else in monitor/ or spiders/ reads `os.environ`: the few variables that are not
heishi's settings (the user's name, a site file's `${VAR}`, Scrapy's own `SCRAPY_CHECK`) are
read here too, by the functions at the end.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from monitor.errors import ConfigError

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENT = "environment"
CRAWL = "crawl"
# Variables outside HEISHI_* that the settings' defaults depend on.
_SYSTEM_VARIABLES = ("HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME")
_OFF_WORDS = ("0", "false", "no", "off")
DEFAULT_TIME_ZONE = "Asia/Shanghai"  # where the team works


@dataclass(frozen=True)
class Setting:
    """One row of the table: what the README shows, and the default a crawl gets."""

    name: str
    type: str
    default: str  # as the README shows it (Markdown); "" for no default
    help: str
    kind: str = ENVIRONMENT  # or CRAWL: a Scrapy setting of each crawl
    value: Any = None  # the Python default of a crawl setting


def _env(name: str, type_: str, default: str, help_: str) -> Setting:
    return Setting(name, type_, default, help_)


def _crawl(name: str, type_: str, value: Any, help_: str, shown: str | None = None) -> Setting:
    if shown is None:
        shown = f"`{str(value).lower() if isinstance(value, bool) else value}`"
    return Setting(name, type_, shown, help_, CRAWL, value)


SETTINGS: tuple[Setting, ...] = (
    # -- where things are ------------------------------------------------------------------
    _env("HEISHI_DB", "path", "`./heishi.db`", "the store (`--db` overrides it)"),
    _env("HEISHI_SITES_DIR", "path", "`spiders/sites/`", "site files"),
    _env("HEISHI_KEYWORDS_DIR", "path", "`keywords/`", "keyword lists"),
    _env(
        "HEISHI_CACHE_DIR",
        "path",
        "`~/.cache/heishi`",
        "caches, such as jieba's dictionary (`$XDG_CACHE_HOME/heishi` when that is set)",
    ),
    _env(
        "HEISHI_SECRET_FILE",
        "path",
        "`~/.local/share/heishi/secret.key`",
        "the per-install key for hashing personal data (created on first use, mode 0600; see "
        "[what the key protects](#looking-up-a-number))",
    ),
    _env(
        "HEISHI_SEVERITY_FILE",
        "path",
        "`severity.toml` in the checkout",
        "severity rules (optional): `high_volume` and `sensitive_volume` (whole numbers ≥ 1), "
        "`sensitive_categories` (a list of category ids), `kind_floor` (a table of alert kind "
        "= `low`/`medium`/`high`/`critical`); see `monitor/alerting/severity.py`",
    ),
    _env(
        "HEISHI_NOTIFY_FILE",
        "path",
        "`notify.toml` in the checkout",
        "notification routes (see [Notifications](#notifications))",
    ),
    # -- matching --------------------------------------------------------------------------
    _env(
        "HEISHI_ALERT_THRESHOLD",
        "number",
        "`3.0`",
        "matcher score at which a listing alerts",
    ),
    _env(
        "HEISHI_MODEL",
        "`on`/`off`",
        "`on`",
        "`on`: the learned score in `keywords/model.json` decides alerts when the file is "
        "there; `off`: the keyword rules' score and `HEISHI_ALERT_THRESHOLD` alone (see "
        "[docs/matching.md](docs/matching.md))",
    ),
    _env(
        "HEISHI_MATCH_MAX_CHARS",
        "whole number",
        "`50000`",
        "the matcher reads at most this many characters of a title and of a text (0: all); a "
        "listing cut short says so in its match reasons",
    ),
    _env(
        "HEISHI_MATCHER_COMPILED",
        "`on`/`off`",
        "`on`",
        "`on`: the matcher's compiled modules run when `make setup` built them (mypyc; see "
        "[docs/scale.md](docs/scale.md)); `off`: their pure-Python sources, same outputs",
    ),
    _env(
        "HEISHI_PII_MASK_KEEP",
        "`LEADING,TRAILING`",
        "`2,2`",
        "digits a masked number keeps at its start and end (`2,2`: `13*******00`; at most "
        "`6,4`, the form older versions stored)",
    ),
    # -- crawling --------------------------------------------------------------------------
    _env("HEISHI_CHROMIUM", "path", "`/usr/bin/chromium`", "the Chromium binary"),
    _env(
        "HEISHI_CHROMIUM_SANDBOX",
        "true/false",
        "`true`",
        "Chromium's sandbox; `false` adds `--no-sandbox` (only where the kernel cannot give "
        "it user namespaces)",
    ),
    _env(
        "HEISHI_CHROMIUM_USER",
        "user name",
        "`nobody`",
        "when heishi runs as root, the unprivileged user Chromium is started as (through "
        "`setpriv`), so that its sandbox can run; empty runs it as root without the "
        "sandbox. Better: run heishi itself as an unprivileged user",
    ),
    _env(
        "HEISHI_RETRY_BACKOFF_BASE",
        "seconds",
        "`1`",
        "a crawl waits base × 2ⁿ⁻¹ seconds, at most `HEISHI_RETRY_BACKOFF_MAX`, before the "
        "n-th retry of a page (or the server's Retry-After)",
    ),
    _env(
        "HEISHI_RETRY_BACKOFF_MAX",
        "seconds",
        "`30`",
        "the longest wait before a retry",
    ),
    _env(
        "HEISHI_STORE_BATCH",
        "whole number",
        "`1000`",
        "a sweep writes listings in batches of this many, one transaction each",
    ),
    _env(
        "HEISHI_STORE_FLUSH",
        "seconds",
        "`2`",
        "... or of what this many seconds brought, whichever comes first",
    ),
    _env(
        "HEISHI_STORE_CACHE",
        "megabytes",
        "`64`",
        "SQLite's page cache of a sweep's connection to the store: the pages of the indexes a "
        "batch of new listings writes all over (near-duplicate bands, search index) stay in "
        "memory instead of being read again from the OS; a sweep that touches few pages uses "
        "little of it",
    ),
    _env(
        "HEISHI_DB_TIMEOUT",
        "seconds",
        "`30`",
        "how long a write waits for another writer",
    ),
    _env(
        "HEISHI_FAILURES_BEFORE_ALERT",
        "whole number",
        "`3`",
        "failed runs of a source in a row before a `source_failing` alert, in `heishi run` "
        "(its `--failures-before-alert`) and in every crawl this variable is set for. Unset, "
        "a one-off `heishi sweep` alerts at the first failure: someone is watching it",
    ),
    _env(
        "HEISHI_CRAWL_WORKERS",
        "whole number",
        "`2`",
        "crawl worker processes of `heishi run` and `heishi sweep`, started when first needed, "
        "each running several crawls at once in one reactor (see [Running "
        "unattended](#running-unattended)); `0`: each crawl in a new process of its own",
    ),
    _env(
        "HEISHI_CRAWL_WORKER_CRAWLS",
        "whole number",
        "`100`",
        "crawls a worker runs before it is recycled (it takes no more and exits once its "
        "crawls are done)",
    ),
    _env(
        "HEISHI_CRAWL_WORKER_MEMORY_MB",
        "whole number",
        "`2048`",
        "a worker's memory ceiling (resident, the worker process): past it the watchdog kills "
        "the worker, its crawls fail saying so, and the next crawl gets a new worker",
    ),
    _env(
        "HEISHI_CRAWL_TIMEOUT",
        "duration",
        "`10m`",
        "how long a crawl may take (`--timeout` of `heishi run` and `heishi sweep` says it per "
        "command): then it is stopped and its run closed as a failure, and its worker is "
        "killed if the crawl has not stopped 5 s later",
    ),
    # -- people ----------------------------------------------------------------------------
    _env(
        "HEISHI_WEB_SECRET",
        "text",
        "`heishi-web.key` beside the store",
        "the key that signs web sessions (the file is created with mode 0600)",
    ),
    _env(
        "HEISHI_TIME_ZONE",
        "IANA name",
        "`Asia/Shanghai`",
        "the install's time zone: the web page shows times in it and statistics cut days in "
        "it, unless a user chose their own zone (or `heishi stats --tz`)",
    ),
    _env(
        "HEISHI_TIMEZONE",
        "IANA name",
        "",
        "the older name of `HEISHI_TIME_ZONE`, still read when that is unset, with a warning",
    ),
    _env(
        "HEISHI_WEB_MATCH_SECONDS",
        "seconds",
        "`10`",
        "how long the web page's keyword test may match one text before it is stopped",
    ),
    _env(
        "HEISHI_BASE_URL",
        "URL",
        "",
        "where people open the review web page (`https://heishi.example.com`): "
        "notifications link to each alert's page there (unset: no link)",
    ),
    _env(
        "HEISHI_DATASETTE_HOSTS",
        "names, comma-separated",
        "",
        "more host names `heishi datasette` answers for (as `--allow-host`)",
    ),
    # -- distributed crawling --------------------------------------------------------------
    _env(
        "HEISHI_DISTRIBUTED_REDIS_URL",
        "URL",
        "",
        "turns on distributed crawling (`redis://:PASSWORD@HOST:6379/0`, or `rediss://` for "
        "TLS); unset, every crawl runs on this machine. See [Crawling on several "
        "machines](#crawling-on-several-machines)",
    ),
    _env(
        "HEISHI_DISTRIBUTED_KEY_FILE",
        "path",
        "",
        "the key shared by every machine of distributed sweeps, which signs what they put in "
        "Redis (`heishi distributed keygen FILE`); distributed commands refuse to start "
        "without it",
    ),
    # -- each crawl's Scrapy settings (`--set NAME=VALUE`) ---------------------------------
    _crawl(
        "HEISHI_RECORD_RUNS",
        "true/false",
        True,
        "record the crawl as a run in the store (off for dry runs)",
    ),
    _crawl(
        "HEISHI_EVIDENCE",
        "true/false",
        True,
        "keep the page (masked, gzip) of every matched listing beside the store",
    ),
    _crawl(
        "HEISHI_EVIDENCE_SCREENSHOTS", "true/false", True, "screenshot rendered pages for evidence"
    ),
    _crawl(
        "HEISHI_RENDER_WAIT_TIMEOUT",
        "milliseconds",
        20_000,
        "how long a rendered page may take to show its site file's `wait_selector`",
    ),
    _crawl(
        "HEISHI_KEEP_COOKIES",
        "true/false",
        True,
        "write each source's cookie jar at the end of a crawl (it is always read)",
    ),
    _crawl(
        "HEISHI_COOKIES_PER_DOMAIN",
        "whole number",
        50,
        "cookies a site may leave per domain; the rest are dropped and counted",
    ),
    _crawl(
        "HEISHI_COOKIE_MAX_BYTES",
        "bytes",
        4096,
        "the largest cookie (name and value) a site may leave",
    ),
    _crawl("HEISHI_COOKIE_JAR_MAX_BYTES", "bytes", 32768, "the largest cookie jar of a source"),
    _crawl(
        "HEISHI_MAX_TITLE_CHARS",
        "whole number",
        500,
        "characters of a listing's title that are kept (the rest is cut, marked and counted)",
    ),
    _crawl(
        "HEISHI_MAX_TEXT_CHARS",
        "whole number",
        20_000,
        "characters of a listing's text that are kept (the rest is cut, marked and counted)",
    ),
    _crawl(
        "HEISHI_PASTE_MAX_CHARS",
        "whole number",
        200_000,
        "characters of a paste's raw text that are kept",
    ),
    _crawl(
        "HEISHI_MAX_ROWS_PER_PAGE",
        "whole number",
        1000,
        "list rows read per page: a page of a million links is not a sweep",
    ),
    _crawl(
        "HEISHI_CHECK_ROWS",
        "whole number",
        0,
        "set by `heishi sources check`: the first list page and this many listings only",
    ),
    _crawl(
        "HEISHI_CHECK_REMOVALS",
        "whole number",
        50,
        "listings gone from a complete list whose own pages are fetched before they are "
        "marked removed, the most recently seen first (0: none)",
    ),
    _crawl(
        "HEISHI_DISTRIBUTED_SWEEP",
        "sweep id",
        None,
        "the distributed sweep a crawl works on (`heishi worker` sets it); unset, a new "
        "sweep of its source",
        shown="",
    ),
    _crawl(
        "HEISHI_DISTRIBUTED_WORKER",
        "text",
        None,
        "the worker's name in Redis (`heishi worker` sets it)",
        shown="`HOST:PID`",
    ),
    _crawl(
        "HEISHI_DISTRIBUTED_LEASE_SECONDS",
        "seconds",
        60.0,
        "a worker that stops answering for this long loses its requests to another worker",
        shown="`60`",
    ),
    _crawl(
        "HEISHI_DISTRIBUTED_MAX_DELIVERIES",
        "whole number",
        3,
        "deliveries of one request before it is given up as poisonous",
    ),
)

BY_NAME: Mapping[str, Setting] = MappingProxyType({s.name: s for s in SETTINGS})


def _number(name: str, raw: str, convert: type[float] | type[int], hint: str) -> Any:
    try:
        return convert(raw)
    except ValueError:
        raise ConfigError(name, f"not a number: {raw!r}", hint=hint) from None


@dataclass(frozen=True)
class Settings:
    """The environment settings of one process, read once. Each value is parsed when asked
    for, so a malformed one fails the command that uses it, naming the setting."""

    environ: Mapping[str, str] = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        """The variable as set, None when unset or empty."""
        return self.environ.get(name) or None

    def is_set(self, name: str) -> bool:
        return bool(self.environ.get(name))

    def replace(self, **values: str | None) -> Settings:
        """These settings with some changed (None: unset), for a process this one starts."""
        changed = dict(self.environ)
        for name, value in values.items():
            if name not in BY_NAME:
                raise KeyError(f"{name} is not a HEISHI_* setting (monitor/settings.py)")
            if value is None:
                changed.pop(name, None)
            else:
                changed[name] = value
        return Settings(MappingProxyType(changed))

    # -- where things are ------------------------------------------------------------------

    @property
    def db(self) -> Path:
        return Path(self.text("HEISHI_DB") or "heishi.db")

    @property
    def sites_dir(self) -> Path:
        return Path(self.text("HEISHI_SITES_DIR") or PROJECT_ROOT / "spiders" / "sites")

    @property
    def keywords_dir(self) -> Path:
        return Path(self.text("HEISHI_KEYWORDS_DIR") or PROJECT_ROOT / "keywords")

    @property
    def cache_dir(self) -> Path:
        explicit = self.text("HEISHI_CACHE_DIR")
        if explicit:
            return Path(explicit)
        return Path(self.text("XDG_CACHE_HOME") or self._home() / ".cache") / "heishi"

    @property
    def secret_file(self) -> Path:
        explicit = self.text("HEISHI_SECRET_FILE")
        if explicit:
            return Path(explicit)
        base = self.text("XDG_DATA_HOME") or self._home() / ".local" / "share"
        return Path(base) / "heishi" / "secret.key"

    def _home(self) -> Path:
        return Path(self.text("HOME") or Path.home())

    @property
    def severity_file(self) -> Path:
        return Path(self.text("HEISHI_SEVERITY_FILE") or PROJECT_ROOT / "severity.toml")

    @property
    def notify_file(self) -> Path:
        return Path(self.text("HEISHI_NOTIFY_FILE") or PROJECT_ROOT / "notify.toml")

    # -- matching --------------------------------------------------------------------------

    @property
    def alert_threshold(self) -> float | None:
        """None: the matcher's calibrated default."""
        raw = self.text("HEISHI_ALERT_THRESHOLD")
        return None if raw is None else _number("HEISHI_ALERT_THRESHOLD", raw, float, "e.g. 3.0")

    @property
    def model(self) -> bool:
        raw = self.environ.get("HEISHI_MODEL", "on").strip().lower()
        if raw not in ("on", "off"):
            raise ConfigError("HEISHI_MODEL", f"not on or off: {raw!r}", hint="on (default) or off")
        return raw == "on"

    @property
    def match_max_chars(self) -> int:
        raw = self.text("HEISHI_MATCH_MAX_CHARS")
        if raw is None:
            return 50_000
        try:
            value = int(raw)
        except ValueError:
            value = -1
        if value < 0:
            raise ConfigError(
                "HEISHI_MATCH_MAX_CHARS", f"not a number of characters: {raw!r}", hint="e.g. 50000"
            )
        return value

    @property
    def matcher_compiled(self) -> bool:
        raw = self.environ.get("HEISHI_MATCHER_COMPILED", "on").strip().lower()
        if raw not in ("on", "off"):
            raise ConfigError(
                "HEISHI_MATCHER_COMPILED", f"not on or off: {raw!r}", hint="on (default) or off"
            )
        return raw == "on"

    @property
    def pii_mask_keep(self) -> str:
        """As written; monitor.privacy.pii.mask_keep parses it."""
        return self.environ.get("HEISHI_PII_MASK_KEEP", "").strip()

    # -- crawling --------------------------------------------------------------------------

    @property
    def chromium(self) -> str:
        return self.text("HEISHI_CHROMIUM") or "/usr/bin/chromium"

    @property
    def chromium_sandbox(self) -> bool:
        return self.environ.get("HEISHI_CHROMIUM_SANDBOX", "").strip().lower() not in _OFF_WORDS

    @property
    def chromium_user(self) -> str:
        """Empty when set empty: Chromium then runs as root without its sandbox."""
        return self.environ.get("HEISHI_CHROMIUM_USER", "nobody")

    @property
    def retry_backoff_base(self) -> float:
        raw = self.text("HEISHI_RETRY_BACKOFF_BASE")
        return 1.0 if raw is None else _number("HEISHI_RETRY_BACKOFF_BASE", raw, float, "e.g. 1")

    @property
    def retry_backoff_max(self) -> float:
        raw = self.text("HEISHI_RETRY_BACKOFF_MAX")
        return 30.0 if raw is None else _number("HEISHI_RETRY_BACKOFF_MAX", raw, float, "e.g. 30")

    @property
    def store_batch(self) -> int:
        raw = self.text("HEISHI_STORE_BATCH")
        return max(1, 1000 if raw is None else _number("HEISHI_STORE_BATCH", raw, int, "e.g. 1000"))

    @property
    def store_flush(self) -> float:
        raw = self.text("HEISHI_STORE_FLUSH")
        return 2.0 if raw is None else _number("HEISHI_STORE_FLUSH", raw, float, "e.g. 2")

    @property
    def store_cache(self) -> int:
        raw = self.text("HEISHI_STORE_CACHE")
        return max(1, 64 if raw is None else _number("HEISHI_STORE_CACHE", raw, int, "e.g. 64"))

    @property
    def db_timeout(self) -> float:
        raw = self.text("HEISHI_DB_TIMEOUT")
        return 30.0 if raw is None else _number("HEISHI_DB_TIMEOUT", raw, float, "e.g. 30")

    @property
    def failures_before_alert(self) -> int:
        """At least 1; a value that is not a number counts as unset."""
        try:
            return max(1, int(self.text("HEISHI_FAILURES_BEFORE_ALERT") or 3))
        except ValueError:
            return 3

    @property
    def crawl_workers(self) -> int:
        """0: a process per crawl."""
        raw = self.text("HEISHI_CRAWL_WORKERS")
        hint = "e.g. 2 (0: a process per crawl)"
        return 2 if raw is None else max(0, _number("HEISHI_CRAWL_WORKERS", raw, int, hint))

    @property
    def crawl_worker_crawls(self) -> int:
        raw = self.text("HEISHI_CRAWL_WORKER_CRAWLS")
        hint = "e.g. 100"
        return 100 if raw is None else max(1, _number("HEISHI_CRAWL_WORKER_CRAWLS", raw, int, hint))

    @property
    def crawl_worker_memory_mb(self) -> int:
        raw = self.text("HEISHI_CRAWL_WORKER_MEMORY_MB")
        hint = "e.g. 2048"
        return (
            2048
            if raw is None
            else max(1, _number("HEISHI_CRAWL_WORKER_MEMORY_MB", raw, int, hint))
        )

    @property
    def crawl_timeout(self) -> float:
        """Seconds; a duration such as `600` or `10m`."""
        from monitor.errors import HeishiError
        from monitor.timespec import parse_duration

        raw = self.text("HEISHI_CRAWL_TIMEOUT")
        if raw is None:
            return 600.0
        try:
            return parse_duration(raw.strip())
        except HeishiError as exc:
            raise ConfigError("HEISHI_CRAWL_TIMEOUT", str(exc), hint="e.g. 600 or 10m") from None

    # -- people ----------------------------------------------------------------------------

    @property
    def web_secret(self) -> str | None:
        """None: a key file beside the store (monitor.web.auth)."""
        return self.text("HEISHI_WEB_SECRET")

    @property
    def time_zone(self) -> str:
        name = self.environ.get("HEISHI_TIME_ZONE", "").strip()
        if name:
            return name
        old = self.environ.get("HEISHI_TIMEZONE", "").strip()
        if old:
            _warn_deprecated_time_zone()
            return old
        return DEFAULT_TIME_ZONE

    @property
    def web_match_seconds(self) -> float:
        """A value that is not a number counts as unset."""
        try:
            return float(self.text("HEISHI_WEB_MATCH_SECONDS") or 10)
        except ValueError:
            return 10.0

    @property
    def base_url(self) -> str:
        """As written, stripped ("" when unset); monitor.alerting.notify.base_url checks it."""
        return self.environ.get("HEISHI_BASE_URL", "").strip()

    @property
    def datasette_hosts(self) -> list[str]:
        return [h for h in (self.text("HEISHI_DATASETTE_HOSTS") or "").split(",") if h.strip()]

    # -- distributed crawling --------------------------------------------------------------

    @property
    def distributed_redis_url(self) -> str | None:
        return self.text("HEISHI_DISTRIBUTED_REDIS_URL")

    @property
    def distributed_key_file(self) -> Path | None:
        raw = self.text("HEISHI_DISTRIBUTED_KEY_FILE")
        return Path(raw) if raw else None


@functools.cache
def _warn_deprecated_time_zone() -> None:
    log.warning("HEISHI_TIMEZONE is deprecated: set HEISHI_TIME_ZONE instead (the same value)")


def from_environment(environ: Mapping[str, str]) -> Settings:
    """The settings in `environ` (HEISHI_* and the few system variables defaults use)."""
    kept = {k: v for k, v in environ.items() if k.startswith("HEISHI_") or k in _SYSTEM_VARIABLES}
    return Settings(MappingProxyType(kept))


_current: Settings | None = None


def current() -> Settings:
    """This process's settings, read from its environment once. Read again only when a
    HEISHI_* variable changed since (tests change them between cases)."""
    global _current
    wanted = {
        k: v for k, v in os.environ.items() if k.startswith("HEISHI_") or k in _SYSTEM_VARIABLES
    }
    if _current is None or dict(_current.environ) != wanted:
        _current = Settings(MappingProxyType(wanted))
    return _current


def child_environment(
    settings: Settings | None = None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a process heishi starts (a crawl, a worker, a server): this
    process's environment without its HEISHI_* variables, then `settings` (default: this
    process's), then `extra` (such as SCRAPY_SETTINGS_MODULE or a demo site's address)."""
    settings = settings if settings is not None else current()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEISHI_")}
    env.update({k: v for k, v in settings.environ.items() if k.startswith("HEISHI_")})
    env.update(extra or {})
    return env


def crawl_defaults(settings: Settings | None = None) -> dict[str, Any]:
    """The HEISHI_* Scrapy settings of a crawl (spiders/settings.py): the crawl settings'
    defaults, and the environment settings that crawl components read from their Scrapy
    settings (None where monitor's default applies)."""
    s = settings if settings is not None else current()
    values = {row.name: row.value for row in SETTINGS if row.kind == CRAWL}
    values.update(
        HEISHI_DB=s.text("HEISHI_DB"),
        HEISHI_SITES_DIR=s.text("HEISHI_SITES_DIR"),
        HEISHI_CHROMIUM=s.chromium,
        HEISHI_CHROMIUM_SANDBOX=s.chromium_sandbox,
        HEISHI_CHROMIUM_USER=s.chromium_user,
        HEISHI_DISTRIBUTED_REDIS_URL=s.distributed_redis_url,
        HEISHI_RETRY_BACKOFF_BASE=s.retry_backoff_base,
        HEISHI_RETRY_BACKOFF_MAX=s.retry_backoff_max,
    )
    return values


# -- variables that are not heishi's settings ----------------------------------------------


def variables() -> Mapping[str, str]:
    """The process environment, read-only: for the `${VAR}` a site or notify file names
    (credentials, a demo site's address), which are the file's to choose."""
    return MappingProxyType(dict(os.environ))


def login_name() -> str:
    """Who runs heishi ($USER), recorded as the actor of a review from the command line."""
    return os.environ.get("USER") or "cli"


def under_scrapy_check() -> bool:
    """`scrapy check` is running contracts in this process (Scrapy sets SCRAPY_CHECK when
    it starts, so this is read each time)."""
    return bool(os.environ.get("SCRAPY_CHECK"))


def use_scrapy_project() -> None:
    """Point Scrapy at heishi's project settings (spiders/settings.py) in this process, as
    `scrapy` run from the checkout does, unless something else was chosen."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "spiders.settings")
