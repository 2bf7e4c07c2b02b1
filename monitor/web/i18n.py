"""The page's language and time zone: Simplified Chinese first, English kept.

Strings live in gettext message catalogues (monitor/web/locale/LANG/LC_MESSAGES/messages.po,
compiled to .mo beside it by `make translations`), never in templates as literals: templates
write `{{ _("Queue") }}`, Python code marks strings with `_()` (translated now) or `N_()`
(translated where shown; monitor/vocabulary.py marks its labels so too, and `make
translations` reads it). A request's language is its user's choice, else the browser's
Accept-Language, else Simplified Chinese; its time zone the user's, else HEISHI_TIME_ZONE
(default Asia/Shanghai). Both are held in a context variable for the request's rendering, so
one shared Jinja environment serves every language at once.

Adding a string: write it in English inside `_()`, run `make translations` (extracts every
string into messages.pot and merges it into each .po), translate the new `msgid` in
monitor/web/locale/zh_CN/LC_MESSAGES/messages.po, run `make translations` again (compiles the
.mo). tests/test_web_i18n.py fails while a string is missing or untranslated.
"""

from __future__ import annotations

import functools
import gettext
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import jinja2

from monitor import config, settings
from monitor.vocabulary import N_ as N_  # marks a string: translated where shown

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
LANGUAGES = {"zh_CN": "简体中文", "en": "English"}  # each in its own words
DEFAULT_LANGUAGE = "zh_CN"
DEFAULT_TIME_ZONE = settings.DEFAULT_TIME_ZONE
# Time zones offered on the preferences page first; any IANA name is accepted.
COMMON_ZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "UTC")


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of `language` (English is the source: no catalogue)."""
    if language == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language])


def time_zone_setting() -> str:
    """$HEISHI_TIME_ZONE: the zone the page shows times in (default Asia/Shanghai)."""
    return config.time_zone_name()


def zone(name: str | None) -> ZoneInfo | None:
    """The IANA time zone `name`, or None when it is not one."""
    if not name or len(name) > 64 or name not in _zone_names():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_names() -> list[str]:
    """Every IANA zone name, the common ones first."""
    return [*COMMON_ZONES, *sorted(_zone_names() - set(COMMON_ZONES))]


def negotiate(accept_language: str | None) -> str:
    """The language of LANGUAGES a browser's Accept-Language asks for first (zh-TW, zh-HK
    and plain zh read Simplified Chinese); Simplified Chinese when it asks for neither."""
    wanted: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "")[:500].split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        wanted.append((-quality, index, tag.strip().lower()))
    for quality, _, tag in sorted(wanted):
        if quality >= 0:  # q=0: not wanted
            continue
        if tag == "zh" or tag.startswith("zh-"):
            return "zh_CN"
        if tag == "en" or tag.startswith("en-"):
            return "en"
    return DEFAULT_LANGUAGE


@dataclass(frozen=True)
class PageLocale:
    """A request's language and time zone."""

    language: str
    zone_name: str

    @property
    def translations(self) -> gettext.NullTranslations:
        return translations(self.language)

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.zone_name) or ZoneInfo("UTC")

    @property
    def html_lang(self) -> str:
        return "zh-CN" if self.language == "zh_CN" else "en"

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)


def page_locale(
    accept_language: str | None, language: str | None = None, time_zone: str | None = None
) -> PageLocale:
    """A request's locale: the user's choices where made, else the browser's and the
    install's."""
    chosen = language if language in LANGUAGES else negotiate(accept_language)
    zone_name = time_zone if time_zone and zone(time_zone) else time_zone_setting()
    return PageLocale(chosen, zone_name if zone(zone_name) else DEFAULT_TIME_ZONE)


_current: ContextVar[PageLocale] = ContextVar(
    "heishi_page_locale",
    default=PageLocale(DEFAULT_LANGUAGE, DEFAULT_TIME_ZONE),  # noqa: B039  (frozen)
)


def use(locale: PageLocale) -> None:
    """Render what follows (in this thread or task) in `locale`."""
    _current.set(locale)


def current() -> PageLocale:
    return _current.get()


def _(message: str) -> str:
    """`message` in the current request's language."""
    return _current.get().translations.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return _current.get().translations.ngettext(singular, plural, count)


# --- times -------------------------------------------------------------------------------


def zone_label(moment: datetime | None = None) -> str:
    """The current zone as an offset from UTC at `moment` (now): UTC+8, UTC-3:30, UTC."""
    moment = (moment or datetime.now(UTC)).astimezone(current().zone)
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    if not minutes:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def when(value: str | None, full: bool = False) -> str:
    """A stored UTC time (2026-11-23T08:00:00Z) in the current zone: 11-23 16:00, or in full
    with its zone, 2026-11-23 16:00 UTC+8."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(current().zone)
    if not full:
        return local.strftime("%m-%d %H:%M")
    return f"{local.strftime('%Y-%m-%d %H:%M')} {zone_label(moment)}"


# --- the Jinja environment ---------------------------------------------------------------


def install(env: jinja2.Environment) -> None:
    """Gettext in templates (`_`, `gettext`, `ngettext`, `{% trans %}`) for whichever
    language the request rendering runs in, and the time filters."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_, ngettext=ngettext, newstyle=True
    )
    env.filters["when"] = when
    env.globals["zone_label"] = zone_label
    env.globals["page_locale"] = current
    env.globals["languages"] = LANGUAGES
