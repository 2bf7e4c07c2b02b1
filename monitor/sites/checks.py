"""Checking the values of a site file, one key at a time; errors name the file and key/line."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor.config import expand_vars
from monitor.config_files import line_of
from monitor.errors import SiteFileError
from monitor.sites.selectors import check_selector
from monitor.timespec import duration_seconds

_CRON_FIELD = re.compile(r"^[\d*/,\-A-Za-z?LW#]+$")


@dataclass(frozen=True)
class Schedule:
    """When the scheduler sweeps a site: every `interval_seconds`, or on a cron expression."""

    interval_seconds: int | None = None
    cron: str | None = None
    text: str = ""


@dataclass(frozen=True)
class Login:
    """A form log-in: credentials come from environment variables, never from the file."""

    url: str
    username_env: str
    password_env: str
    form_selector: str = "xpath://form[.//input[@type='password']]"
    username_field: str | None = None  # default: the form's first text or email input
    password_field: str | None = None  # default: the form's password input


class Where:
    """The file being read and a way to find a key's line in it, for error messages."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, key: str, table: str | None = None) -> int | None:
        return line_of(self.lines, key, table)

    def error(self, key: str, message: str, table: str | None = None) -> SiteFileError:
        name = f"{table}.{key}" if table else key
        return SiteFileError(str(self.path), message, line=self.line_of(key, table), key=name)


def as_string(value: Any, where: Where, key: str, table: str | None = None) -> str:
    if not isinstance(value, str):
        raise where.error(key, f"must be a string, not {type_name(value)}", table)
    return value


def as_strings(value: Any, where: Where, key: str, table: str | None = None) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise where.error(
            key, f"must be a string or a list of strings, not {type_name(value)}", table
        )
    return tuple(value)


def type_name(value: Any) -> str:
    return {dict: "a table", list: "a list", bool: "true/false"}.get(
        type(value), type(value).__name__
    )


def as_int(value: Any, where: Where, key: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error(key, f"must be a whole number, not {type_name(value)}")
    if value < minimum:
        raise where.error(key, f"must be at least {minimum}")
    return value


def as_bool(value: Any, where: Where, key: str) -> bool:
    if not isinstance(value, bool):
        raise where.error(key, f"must be true or false, not {type_name(value)}")
    return value


def as_url(value: str, where: Where, key: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise where.error(key, f"{value!r} is not an http(s) address")
    return value


def as_selector(value: str, where: Where, key: str, table: str | None = None) -> str:
    problem = check_selector(value)
    if problem:
        raise where.error(key, f"bad selector {value!r}: {problem}", table)
    return value


def as_schedule(value: Any, where: Where) -> Schedule:
    if not isinstance(value, dict):
        raise where.error("schedule", 'must be a table: interval = "30m" or cron = "..."')
    unknown = set(value) - {"interval", "cron"}
    if unknown:
        key = sorted(unknown)[0]
        raise where.error(key, "unknown key (use interval or cron)", "schedule")
    if ("interval" in value) == ("cron" in value):
        raise where.error("schedule", "needs exactly one of interval or cron")
    if "interval" in value:
        text = as_string(value["interval"], where, "interval", "schedule").strip()
        seconds = duration_seconds(text)
        if seconds is None:
            raise where.error(
                "interval", f"{text!r} is not an interval like 30m, 2h, 1d", "schedule"
            )
        if seconds <= 0:
            raise where.error("interval", "must be longer than zero", "schedule")
        return Schedule(interval_seconds=int(seconds), text=text)
    text = as_string(value["cron"], where, "cron", "schedule").strip()
    fields = text.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise where.error("cron", f"{text!r} is not a five-field cron expression", "schedule")
    return Schedule(cron=text, text=text)


def expand_env(
    value: Any, env: Mapping[str, str], where: Where, key: str, table: str | None = None
) -> Any:
    """`${VAR}` and `${VAR:-default}` in every string of a value (`$${` is a literal `${`)."""
    if isinstance(value, str):
        return expand_vars(
            value,
            env,
            lambda name: where.error(key, f"environment variable {name} is not set", table),
        )
    if isinstance(value, list):
        return [expand_env(v, env, where, key, table) for v in value]
    if isinstance(value, dict):
        return {k: expand_env(v, env, where, k, key) for k, v in value.items()}
    return value


_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def as_proxy(value: str, where: Where) -> str:
    parts = urlsplit(value)
    if parts.scheme not in _PROXY_SCHEMES or not parts.hostname or not parts.port:
        raise where.error(
            "proxy",
            f"{value!r} is not a proxy address like socks5h://127.0.0.1:9050 or "
            "http://127.0.0.1:8118",
        )
    return value


def is_onion(url: str | None) -> bool:
    """Whether `url` is a Tor hidden service."""
    host = urlsplit(url or "").hostname or ""
    return host.endswith(".onion")


_LOGIN_KEYS = {
    "url",
    "username_env",
    "password_env",
    "form_selector",
    "username_field",
    "password_field",
}


def as_login(value: Any, where: Where) -> Login:
    if not isinstance(value, dict):
        raise where.error("login", "must be a table: { url = ..., username_env = ..., ... }")
    unknown = sorted(set(value) - _LOGIN_KEYS)
    if unknown:
        raise where.error(unknown[0], "unknown key", "login")
    for key in ("url", "username_env", "password_env"):
        if key not in value:
            raise where.error("login", f"needs {key}")
    fields = {k: as_string(v, where, k, "login") for k, v in value.items()}
    as_url(fields["url"], where, "login")
    for key in ("username_env", "password_env"):
        if not _ENV_NAME.match(fields[key]):
            raise where.error(key, f"{fields[key]!r} is not an environment variable name", "login")
    if "form_selector" in fields:
        as_selector(fields["form_selector"], where, "form_selector", "login")
    return Login(**fields)


_NETWORK_KEYS = {"allow_private", "allowed_hosts"}


def as_network(value: Any, where: Where) -> tuple[bool, tuple[str, ...]]:
    """`[network]`: (allow_private, allowed_hosts), each host checked."""
    from monitor.sites.network_policy import BadHost, split_host_port

    if not isinstance(value, dict):
        raise where.error(
            "network", "must be a table: { allow_private = true, allowed_hosts = [...] }"
        )
    unknown = sorted(set(value) - _NETWORK_KEYS)
    if unknown:
        raise where.error(unknown[0], "unknown key (use allow_private or allowed_hosts)", "network")
    allow_private = value.get("allow_private", False)
    if not isinstance(allow_private, bool):
        raise where.error(
            "allow_private", f"must be true or false, not {type_name(allow_private)}", "network"
        )
    hosts = as_strings(value.get("allowed_hosts", []), where, "allowed_hosts", "network")
    for host in hosts:
        try:
            split_host_port(host.removeprefix("*."))
        except BadHost as exc:
            raise where.error(
                "allowed_hosts", f"{exc} (write host, host:port or *.domain)", "network"
            ) from None
    return allow_private, hosts
