"""Reading heishi's TOML files, one way for all: site files, keyword files, notify.toml and
severity.toml are read by `TomlFile.read` (UTF-8, TOML syntax, each problem an error of the
file's own ConfigError class naming the file and line); the typed readers check known keys,
types, ranges and closed vocabularies, each problem naming the file, the line and the key
(`notify.toml:4 [routes.min_severity]: ...`).

    config = TomlFile.read(path, NotifyConfigError)
    settings = config.table(config.data, "settings")
    config.only(settings, {"backoff", "timeout"}, "settings")
    backoff = config.number(settings, "backoff", 30.0, minimum=1, table="settings")

Site files (monitor.sites) check their keys with their own table (monitor/sites/keys.py) and
find their lines with the same `line_of`; keyword files name terms rather than keys and find
them with `find_line` (a word at or after its section's line).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError
from monitor.timespec import duration_seconds

_HEADER = re.compile(r"^\s*\[(\[)?\s*([^\]]+?)\s*\]")


def line_of(lines: Sequence[str], key: str, table: str | None = None, index: int = 0) -> int | None:
    """The line (1-based) where `key` is set: at the top of the file (`table` None), or in
    table `table` (its `index`-th occurrence, for an array of tables such as `[[routes]]`).
    A table header named `key` at the top counts as where `key` is."""
    pattern = re.compile(rf"""^\s*["']?{re.escape(key)}["']?\s*=""")
    current: tuple[str, int] | None = None
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        header = _HEADER.match(line)
        if header:
            name = header.group(2).strip("\"'")
            seen[name] = seen.get(name, -1) + 1
            current = (name, seen[name])
            if table is None and name == key:
                return number
            continue
        here = current is None if table is None else current == (table, index)
        if here and pattern.match(line):
            return number
    return None


def find_line(text: str, needle: str, start_line: int = 1) -> int | None:
    """The first line (1-based) at or after `start_line` whose key is `needle`, else the first
    such line anywhere, else the first line that has `needle` at all (a term in a list)."""
    pattern = re.compile(r'^\s*(?:"|\')?' + re.escape(needle) + r'(?:"|\')?\s*=', re.M)
    lines = text.splitlines()
    offset = sum(len(line) + 1 for line in lines[: start_line - 1])
    match = pattern.search(text, offset)
    if match is None:
        match = pattern.search(text)
    if match is None:
        index = text.find(needle)
        return text.count("\n", 0, index) + 1 if index >= 0 else None
    return text.count("\n", 0, match.start()) + 1


def section_line(text: str, section: str) -> int:
    """The line of the table header `[section]`, or 1."""
    match = re.search(r"^\s*\[" + re.escape(section) + r"\]", text, re.M)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def check_config_files() -> None:
    """Load the severity rules and the notification routes, so a broken file stops a command
    (naming file, line and key) before it starts any crawl."""
    from monitor.alerting.notify_config import load_notify_config
    from monitor.alerting.severity import load_rules

    load_rules()
    load_notify_config()


def type_name(value: Any) -> str:
    return {dict: "a table", list: "a list", bool: "true/false", str: "a string"}.get(
        type(value), type(value).__name__
    )


class TomlFile:
    """One configuration file, read and parsed; its typed readers raise `error` (a
    ConfigError class) naming the file, line and key of what is wrong."""

    def __init__(
        self, path: Path, text: str, data: dict[str, Any], error: type[ConfigError]
    ) -> None:
        self.path = path
        self.text = text
        self.lines = text.splitlines()
        self.data = data
        self.error_class = error

    @classmethod
    def read(cls, path: str | os.PathLike[str], error: type[ConfigError] = ConfigError) -> TomlFile:
        """Read and parse `path`: not readable, not UTF-8 or not TOML is an `error`."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise error(str(path), f"cannot read: {exc.strerror or exc}") from None
        return cls.parse(path, raw, error)

    @classmethod
    def parse(cls, path: Path, raw: bytes, error: type[ConfigError] = ConfigError) -> TomlFile:
        """Parse the bytes of the file at `path`: not UTF-8 or not TOML is an `error`."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise error(
                str(path),
                f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
                line=line,
            ) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            found = re.search(r"line (\d+)", str(exc))
            raise error(
                str(path), f"not valid TOML: {exc}", line=int(found.group(1)) if found else None
            ) from None
        return cls(path, text, data, error)

    # -- errors -----------------------------------------------------------------------------

    def fail(self, key: str, message: str, table: str | None = None, index: int = 0) -> ConfigError:
        """An error about `key` (in `table`), naming its line."""
        line = line_of(self.lines, key, table, index)
        if line is None and table is not None:
            line = line_of(self.lines, table.split(".")[0])  # an inline table: its own line
        name = f"{table}.{key}" if table else key
        return self.error_class(str(self.path), message, line=line, key=name)

    # -- structure --------------------------------------------------------------------------

    def table(self, values: dict[str, Any], key: str, table: str | None = None) -> dict[str, Any]:
        """A sub-table (`[settings]`, or an inline `{ ... }`), empty when absent."""
        value = values.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table, not {type_name(value)}", table)
        return value

    def tables(self, values: dict[str, Any], key: str) -> list[dict[str, Any]]:
        """An array of tables (`[[routes]]`), empty when absent."""
        value = values.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, f"must be [[{key}]] tables, not {type_name(value)}")
        return value

    def only(
        self,
        values: dict[str, Any],
        known: Collection[str],
        table: str | None = None,
        index: int = 0,
    ) -> None:
        """Refuse keys other than `known` (a misspelt key would silently do nothing)."""
        for key in sorted(set(values) - set(known)):
            raise self.fail(key, f"unknown key (known: {', '.join(sorted(known))})", table, index)

    # -- values -----------------------------------------------------------------------------

    def integer(
        self,
        values: dict[str, Any],
        key: str,
        default: int | None,
        *,
        minimum: int | None = None,
        table: str | None = None,
        index: int = 0,
    ) -> int | None:
        if key not in values:
            return default
        value = values[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be a whole number, not {type_name(value)}", table, index)
        if minimum is not None and value < minimum:
            raise self.fail(key, f"must be at least {minimum}, not {value}", table, index)
        return value

    def number(
        self,
        values: dict[str, Any],
        key: str,
        default: float,
        *,
        minimum: float | None = None,
        above: float | None = None,
        table: str | None = None,
        index: int = 0,
    ) -> float:
        if key not in values:
            return default
        value = values[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number, not {type_name(value)}", table, index)
        if minimum is not None and value < minimum:
            raise self.fail(key, f"must be at least {minimum:g}, not {value:g}", table, index)
        if above is not None and value <= above:
            raise self.fail(key, f"must be more than {above:g}, not {value:g}", table, index)
        return float(value)

    def duration(
        self,
        values: dict[str, Any],
        key: str,
        default: float | None,
        *,
        table: str | None = None,
        index: int = 0,
    ) -> float | None:
        """Seconds: a number, or a duration such as "90s", "30m", "2h", "3d"; above zero."""
        if key not in values:
            return default
        value = values[key]
        if isinstance(value, str):
            seconds = duration_seconds(value)
            if seconds is None:
                raise self.fail(
                    key, f"{value!r} is not a duration such as 30s, 10m, 1h, 3d", table, index
                )
            value = seconds
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(
                key, f'must be a duration such as "30s", not {type_name(value)}', table, index
            )
        if value <= 0:
            raise self.fail(key, "must be longer than zero", table, index)
        return float(value)

    def string(
        self,
        values: dict[str, Any],
        key: str,
        default: str | None,
        *,
        table: str | None = None,
        index: int = 0,
    ) -> str | None:
        if key not in values:
            return default
        value = values[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(
                key, f"must be a non-empty string, not {type_name(value)}", table, index
            )
        return value

    def boolean(
        self,
        values: dict[str, Any],
        key: str,
        default: bool,
        *,
        table: str | None = None,
        index: int = 0,
    ) -> bool:
        if key not in values:
            return default
        value = values[key]
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, not {type_name(value)}", table, index)
        return value

    def choice(
        self,
        values: dict[str, Any],
        key: str,
        default: str,
        choices: Sequence[str],
        *,
        table: str | None = None,
        index: int = 0,
    ) -> str:
        value = self.string(values, key, default, table=table, index=index) or default
        if value not in choices:
            raise self.fail(key, f"{value!r} is not one of {', '.join(choices)}", table, index)
        return value

    def strings(
        self,
        values: dict[str, Any],
        key: str,
        *,
        choices: Collection[str] | None = None,
        table: str | None = None,
        index: int = 0,
        empty: bool = False,
    ) -> tuple[str, ...] | None:
        """A list of strings (None when absent); each one of `choices` when given. A bare
        string is refused, not read as a list of its letters."""
        if key not in values:
            return None
        value = values[key]
        if isinstance(value, str):
            raise self.fail(
                key, f"must be a list of strings, such as [{value!r}], not a string", table, index
            )
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"must be a list of strings, not {type_name(value)}", table, index)
        if not value and not empty:
            raise self.fail(key, "must not be empty (leave the key out for all)", table, index)
        if choices is not None:
            unknown = [v for v in value if v not in choices]
            if unknown:
                raise self.fail(
                    key,
                    f"unknown value {unknown[0]!r} (known: {', '.join(sorted(choices))})",
                    table,
                    index,
                )
        return tuple(value)
