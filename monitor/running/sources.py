"""The configured sources, as the monitor sees them (site files are read by monitor.sites)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from monitor.errors import HeishiError
from monitor.running.sweep import SourceRef


def load_site_files(directory: Path | None = None) -> list[Any]:
    from monitor.sites import load_sites

    return list(load_sites(directory))


def is_demo(site: Any) -> bool:
    return "demo" in (getattr(site, "tags", None) or ()) or site.name.startswith("demo_")


def source_refs(
    names: Sequence[str] = (), *, include_demo: bool = False, directory: Path | None = None
) -> list[SourceRef]:
    """Sources to sweep: the named ones, else every enabled non-demo site file."""
    sites = load_site_files(directory)
    by_name = {site.name: site for site in sites}
    if names:
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise HeishiError(
                f"unknown source(s): {', '.join(unknown)}",
                hint="`heishi sources list` shows the configured sources: "
                + ", ".join(sorted(by_name)),
            )
        chosen = [by_name[n] for n in names]
    else:
        chosen = [
            s for s in sites if getattr(s, "enabled", True) and (include_demo or not is_demo(s))
        ]
    return [SourceRef(s.name, s.kind, s.url) for s in chosen]
