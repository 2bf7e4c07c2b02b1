"""`heishi datasette`: the store in Datasette, read-only, with heishi's metadata (titles,
descriptions, column help, facets, canned queries) from metadata.json beside this file."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from monitor import settings

METADATA_PATH = Path(__file__).with_name("metadata.json")
SHIPPED_NAME = "heishi"  # the database name metadata.json is written for


def metadata_for(db_path: Path, allowed_hosts: Sequence[str] = ()) -> dict[str, Any]:
    """The shipped metadata, keyed by the name Datasette gives this file (its stem), with the
    host names heishi's plugin answers for besides the loopback ones."""
    from monitor.datasette.readonly import PLUGIN_NAME

    metadata = json.loads(METADATA_PATH.read_text(encoding="utf-8"))
    databases = metadata.get("databases", {})
    databases[db_path.stem] = databases.pop(SHIPPED_NAME)
    metadata.setdefault("plugins", {})[PLUGIN_NAME] = {"allowed_hosts": list(allowed_hosts)}
    return metadata


def allowed_hosts(host: str, extra: Sequence[str] = ()) -> list[str]:
    """Host names to answer for: the address listened on (unless it is every address),
    `extra` (--allow-host), and $HEISHI_DATASETTE_HOSTS (comma-separated)."""
    names = [host] if host not in ("0.0.0.0", "::", "") else []
    names += extra
    names += settings.current().datasette_hosts
    return sorted({name.strip().strip("[]").lower() for name in names if name.strip()})


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


def serve(
    db_path: Path, host: str = "127.0.0.1", port: int = 8001, allow_hosts: Sequence[str] = ()
) -> int:
    """Run Datasette on the store until interrupted; every connection is read-only."""
    from datasette.cli import cli
    from datasette.plugins import pm

    from monitor.datasette import readonly

    if not pm.is_registered(readonly):
        pm.register(readonly, name="heishi-readonly")
    with tempfile.TemporaryDirectory(prefix="heishi-datasette-") as folder:
        metadata_file = Path(folder) / "metadata.json"
        metadata = metadata_for(db_path, allowed_hosts(host, allow_hosts))
        metadata_file.write_text(json.dumps(metadata, ensure_ascii=False))
        args = serve_arguments(db_path, metadata_file, host, port)
        cli.main(args, prog_name="datasette", standalone_mode=False)
    return 0
