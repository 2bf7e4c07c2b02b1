"""`heishi datasette`: the store in Datasette, read-only, with heishi's metadata (titles,
descriptions, column help, facets, canned queries) from metadata.json beside this file."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

METADATA_PATH = Path(__file__).with_name("metadata.json")
SHIPPED_NAME = "heishi"  # the database name metadata.json is written for


def metadata_for(db_path: Path) -> dict[str, Any]:
    """The shipped metadata, keyed by the name Datasette gives this file (its stem)."""
    metadata = json.loads(METADATA_PATH.read_text(encoding="utf-8"))
    databases = metadata.get("databases", {})
    databases[db_path.stem] = databases.pop(SHIPPED_NAME)
    return metadata


def serve_arguments(db_path: Path, metadata_file: Path, host: str, port: int) -> list[str]:
    """`datasette serve` arguments for a store: its metadata, no file download."""
    return [
        "serve",
        str(db_path),
        "--metadata",
        str(metadata_file),
        "--host",
        host,
        "--port",
        str(port),
        "--setting",
        "allow_download",
        "off",
        "--setting",
        "sql_time_limit_ms",
        "5000",
    ]


def serve(db_path: Path, host: str = "127.0.0.1", port: int = 8001) -> int:
    """Run Datasette on the store until interrupted; every connection is read-only."""
    from datasette.cli import cli
    from datasette.plugins import pm

    from monitor.datasette import readonly

    if not pm.is_registered(readonly):
        pm.register(readonly, name="heishi-readonly")
    with tempfile.TemporaryDirectory(prefix="heishi-datasette-") as folder:
        metadata_file = Path(folder) / "metadata.json"
        metadata_file.write_text(json.dumps(metadata_for(db_path), ensure_ascii=False))
        args = serve_arguments(db_path, metadata_file, host, port)
        cli.main(args, prog_name="datasette", standalone_mode=False)
    return 0
