"""The keys of a site file as a table: each key's name, how its value is read and checked, and
whether a preset gives it a value when the file leaves it out (otherwise `Site`'s default
stands). Rules between keys (a search needs both its URL and its terms, a hidden service needs
a proxy ...) are steps of the same table, run where they stand, so the first problem of a file
is reported first, with its file and line.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.errors import SiteFileError
from monitor.sites.checks import (
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
    is_onion,
    type_name,
)
from monitor.sites.presets import KINDS, PRESETS, SELECTOR_NAMES, KindSpec, Preset

# A key's reader: (value as the file has it, where, key) -> the value `Site` holds.
Read = Callable[[Any, Where, str], Any]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Key:
    """One key of a site file."""

    name: str
    read: Read
    # When the file leaves the key out, the preset's attribute of the same name stands.
    from_preset: bool = False
    # The `Site` fields the value goes to (default: the field named like the key).
    into: tuple[str, ...] = ()


@dataclass
class Reading:
    """A site file part way through being read: its raw keys and the values read so far."""

    raw: dict[str, Any]
    where: Where
    kind: KindSpec
    values: dict[str, Any] = field(default_factory=dict)
    preset: Preset | None = None


Rule = Callable[[Reading], None]


# Readers: each checks its type and value and raises `where.error(key, ...)` when wrong.


def _whole(minimum: int) -> Read:
    return lambda value, where, key: as_int(value, where, key, minimum)


def _seconds(above_zero: bool) -> Read:
    message = (
        "must be a number of seconds above 0"
        if above_zero
        else "must be a number of seconds, 0 or more"
    )

    def read(value: Any, where: Where, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise where.error(key, message)
        if value <= 0 if above_zero else value < 0:
            raise where.error(key, message)
        return float(value)

    return read


def _urls(value: Any, where: Where, key: str) -> tuple[str, ...]:
    return tuple(as_url(url, where, key) for url in as_strings(value, where, key))


def _search_url(value: Any, where: Where, key: str) -> str:
    url = as_url(as_string(value, where, key), where, key)
    if "{term}" not in url:
        raise where.error(key, "must contain {term} where the search term goes")
    return url


def _encoding(value: Any, where: Where, key: str) -> str:
    encoding = as_string(value, where, key)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise where.error(key, f"unknown encoding {encoding!r}") from None
    return encoding


def _selector(value: Any, where: Where, key: str) -> str:
    return as_selector(as_string(value, where, key), where, key)


def _pattern(value: Any, where: Where, key: str) -> str:
    pattern = as_string(value, where, key)
    try:
        re.compile(pattern)
    except re.error as exc:
        raise where.error(key, f"bad regular expression: {exc}") from None
    return pattern


def _raw_url(value: Any, where: Where, key: str) -> str:
    raw_url = as_string(value, where, key)
    if "{id}" not in raw_url:
        raise where.error(key, "must contain {id} where the paste's id goes")
    if not raw_url.startswith("/"):
        as_url(raw_url, where, key)
    return raw_url


def _proxy(value: Any, where: Where, key: str) -> str:
    return as_proxy(as_string(value, where, key), where)


def _schedule(value: Any, where: Where, key: str) -> Any:
    return as_schedule(value, where)


def _login(value: Any, where: Where, key: str) -> Any:
    return as_login(value, where)


def _network(value: Any, where: Where, key: str) -> tuple[bool, tuple[str, ...]]:
    return as_network(value, where)


def _cookies_file(value: Any, where: Where, key: str) -> Path:
    cookies = Path(as_string(value, where, key)).expanduser()
    return cookies if cookies.is_absolute() else where.path.parent / cookies


# Rules between keys, and the two keys whose reading depends on the kind (preset, selectors).


def _search_url_and_terms_go_together(reading: Reading) -> None:
    if "search_terms" in reading.raw and "search_url" not in reading.values:
        raise reading.where.error("search_terms", "needs a search_url to put the terms in")
    if "search_terms" not in reading.raw and "search_url" in reading.values:
        raise reading.where.error("search_url", "needs search_terms to search for")


def _somewhere_to_start(reading: Reading) -> None:
    values, kind = reading.values, reading.kind
    if values.get("start_urls") or (kind.name == "marketplace" and "search_url" in values):
        return
    need = "start_urls" if kind.needs_start_urls else "start_urls or search_url"
    raise SiteFileError(str(reading.where.path), f"missing required key ({need})", key="start_urls")


def _preset(reading: Reading) -> None:
    where, kind = reading.where, reading.kind
    name = reading.raw.get("preset", kind.default_preset)
    if name is None:
        return
    name = as_string(name, where, "preset")
    preset = PRESETS.get(name)
    if preset is None:
        raise where.error("preset", f"unknown preset {name!r} (known: {', '.join(PRESETS)})")
    if kind.name not in preset.kinds:
        raise where.error("preset", f"preset {name!r} is for {', '.join(preset.kinds)}")
    reading.preset = preset
    reading.values["preset"] = name


def _selectors(reading: Reading) -> None:
    where, kind, preset = reading.where, reading.kind, reading.preset
    selectors = dict(preset.selectors) if preset else {}
    given = reading.raw.get("selectors", {})
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
    missing = [s for s in kind.required if s not in selectors]
    if kind.name == "marketplace" and not {"item_link", "item_id"} & selectors.keys():
        missing.append("item_link or item_id")
    if missing:
        raise SiteFileError(
            str(where.path),
            f"a {kind.name} site needs selectors for: {', '.join(missing)}"
            + ("" if preset else " (or a preset)"),
            key="selectors",
        )
    reading.values["selectors"] = selectors


def _a_paste_has_its_text(reading: Reading) -> None:
    values = reading.values
    if (
        reading.kind.name == "paste"
        and "raw_url" not in values
        and "text" not in values["selectors"]
    ):
        raise reading.where.error("raw_url", "a paste site needs raw_url (or a `text` selector)")


def _a_hidden_service_has_a_proxy(reading: Reading) -> None:
    values = reading.values
    addresses = (*values.get("start_urls", ()), values.get("search_url"))
    onion = [url for url in addresses if is_onion(url)]
    if onion and "proxy" not in values:
        raise reading.where.error(
            "start_urls" if "start_urls" in reading.raw else "search_url",
            f"{onion[0]} is a hidden service: set proxy (Tor's socks5h://127.0.0.1:9050 "
            "or privoxy's http://127.0.0.1:8118)",
        )


# The table, in the order a file is checked.
STEPS: tuple[Key | Rule, ...] = (
    Key("description", as_string),
    Key("start_urls", _urls),
    Key("search_url", _search_url),
    Key("search_terms", as_strings),
    _search_url_and_terms_go_together,
    _somewhere_to_start,
    _preset,
    _selectors,
    Key("encoding", _encoding),
    Key("render", as_bool),
    Key("render_details", as_bool),
    Key("enabled", as_bool),
    Key("autothrottle", as_bool),
    Key("list_may_shrink", as_bool),
    Key("wait_selector", _selector),
    Key("max_pages", _whole(1)),
    Key("concurrency", _whole(1)),
    Key("removed_after_sweeps", _whole(1)),
    Key("download_delay", _seconds(above_zero=False)),
    Key("schedule", _schedule),
    Key("tags", as_strings),
    Key("id_pattern", _pattern, from_preset=True),
    Key("removed_text", as_strings, from_preset=True),
    Key("blocked_text", as_strings, from_preset=True),
    Key("empty_text", as_strings, from_preset=True),
    Key("commented_html", as_bool, from_preset=True),
    Key("raw_url", _raw_url, from_preset=True),
    _a_paste_has_its_text,
    Key("download_timeout", _seconds(above_zero=True)),
    Key("proxy", _proxy),
    _a_hidden_service_has_a_proxy,
    Key("login", _login),
    Key("network", _network, into=("allow_private", "allowed_hosts")),
    Key("download_maxsize", _whole(1024)),
    Key("cookies_file", _cookies_file),
)

# Every key a site file may have.
KEYS = frozenset(
    {"name", "kind", "preset", "selectors"} | {step.name for step in STEPS if isinstance(step, Key)}
)


def _name_and_kind(raw: dict[str, Any], where: Where) -> tuple[str, str]:
    for key in ("name", "kind"):
        if key not in raw:
            raise SiteFileError(str(where.path), "missing required key", key=key)
    name = as_string(raw["name"], where, "name")
    if not _NAME.match(name):
        raise where.error("name", f"{name!r}: use letters, digits, _ and - only")
    kind = as_string(raw["kind"], where, "kind")
    if kind not in KINDS:
        raise where.error("kind", f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
    return name, kind


def read_keys(raw: dict[str, Any], where: Where) -> dict[str, Any]:
    """The values of `Site`'s fields from a site file's keys (environment already expanded)."""
    name, kind = _name_and_kind(raw, where)
    reading = Reading(raw, where, KINDS[kind], {"name": name, "kind": kind, "path": where.path})
    for step in STEPS:
        if not isinstance(step, Key):
            step(reading)
        elif step.name in raw:
            _put(reading.values, step, step.read(raw[step.name], where, step.name))
        elif step.from_preset and getattr(reading.preset, step.name, None) is not None:
            _put(reading.values, step, getattr(reading.preset, step.name))
    return reading.values


def _put(values: dict[str, Any], key: Key, value: Any) -> None:
    if key.into:
        values.update(zip(key.into, value, strict=True))
    else:
        values[key.name] = value
