"""The errors heishi reports to people: each one says where the problem is."""

from __future__ import annotations

from typing import Any


class HeishiError(Exception):
    """Base class: an error with a clear message and an optional hint for the user."""

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class ConfigError(HeishiError):
    """A malformed data file (site file, keyword file): names the file, and line or key."""

    def __init__(
        self,
        path: str,
        message: str,
        *,
        line: int | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = str(path)
        self.line = line
        self.key = key
        where = self.path
        if line is not None:
            where += f":{line}"
        if key is not None:
            where += f" [{key}]"
        super().__init__(f"{where}: {message}", hint=hint)


class SiteFileError(ConfigError):
    """A site file in spiders/sites/ that cannot be used."""


class KeywordFileError(ConfigError):
    """A keyword file in keywords/ that cannot be used."""


class StoreError(HeishiError):
    """The SQLite store cannot be opened or written (locked, read-only, corrupt)."""


class SourceError(HeishiError):
    """A source could not be swept: names the source and, where known, the URL."""

    def __init__(self, source: str, message: str, *, url: str | None = None) -> None:
        self.source = source
        self.url = url
        where = f"source {source!r}" + (f" ({url})" if url else "")
        super().__init__(f"{where}: {message}")


class SourceBusyError(HeishiError):
    """A source already has a live run: one crawl of a source at a time (the run lease)."""

    def __init__(self, source: str, holder: dict[str, Any]) -> None:
        self.source = source
        self.holder = holder
        super().__init__(
            f"source {source!r} is already being crawled: run {holder.get('id')} "
            f"(pid {holder.get('pid')} on {holder.get('host') or 'this host'}, "
            f"since {holder.get('started_at')})",
            hint="wait for that crawl to finish; it is skipped, not counted as a failure",
        )


class StoreFullError(StoreError):
    """The disk holding the store (or its evidence folder) is full: SQLite rolled back the
    transaction that did not fit, so nothing was half-written."""


class RunLeaseLost(StoreError):
    """A run is no longer this process's to write: it was closed (marked crashed, say) while
    the crawl still ran. Nothing more of it is written, so it never removes listings."""
