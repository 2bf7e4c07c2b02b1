"""Exports of alerts and listings: CSV, JSON lines, a STIX 2.1 bundle, a MISP event.

`export(store, fmt, what, filters, out)` streams records from the store into one writer;
`write_atomically(path, ...)` puts the result in place only once it is complete.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from monitor.export.records import FIELDS, export_records

if TYPE_CHECKING:
    from monitor.store.filters import Filters

FORMATS = ("csv", "jsonl", "stix", "misp")


def export(store: Any, fmt: str, what: str, filters: Filters, out: TextIO) -> int:
    """Write the alerts or listings the filters select to `out`; returns how many."""
    from monitor.export import misp, stix, tabular

    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}")
    records = export_records(store, what, filters)
    if fmt == "csv":
        return tabular.write_csv(records, FIELDS[what], out)
    if fmt == "jsonl":
        return tabular.write_jsonl(records, out)
    from monitor.export.actors import actor_lookup

    description = filters.described()
    actors = actor_lookup(store) if store.actor_reads.has_actor_tables() else None
    if fmt == "stix":
        return stix.write_stix(records, what, description, out, actors)
    return misp.write_misp(records, what, description, out, actors)


@contextmanager
def write_atomically(path: str | os.PathLike[str], encoding: str = "utf-8") -> Iterator[TextIO]:
    """A text file that appears at `path` only when the block finishes without error."""
    target = Path(path)
    from monitor.privacy.file_modes import private_folder

    private_folder(target.parent)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        Path(temp).chmod(0o600)  # listings and contacts are for its owner to pass on
        Path(temp).replace(target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
