"""A stable id for the keyword rules in force: a hash of the keyword files' names and bytes,
and of the learned score's model file (keywords/model.json, monitor/matching/model.py) when there is one.

Stored with each listing version and match (`rules_version` columns) and in `rule_sets`, so
a match can be traced to the rules that produced it and `heishi retrohunt` knows which
versions the current rules have already seen. Editing, adding or removing a keyword file
changes the id; touching a file without changing it does not.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ID_LENGTH = 16  # hex characters: 64 bits, plenty for the rule sets one install sees
SHORT_LENGTH = 8


@dataclass(frozen=True)
class RuleFile:
    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class RulesVersion:
    """The keyword rules of one directory, as an id and the files that make it."""

    id: str
    directory: str
    files: tuple[RuleFile, ...]

    @property
    def short(self) -> str:
        """The form people read: `rules 3f9a2c1b`."""
        return self.id[:SHORT_LENGTH]

    def files_summary(self) -> list[dict[str, Any]]:
        return [{"name": f.name, "sha256": f.sha256[:16], "bytes": f.size} for f in self.files]


MODEL_FILE = (
    "model.json"  # monitor.matching.model.MODEL_FILE (not imported: this module stays light)
)


def model_file(directory: str | Path) -> dict[str, bytes]:
    """{name: bytes} of the directory's model file, {} when it has none: part of the rules."""
    path = Path(directory) / MODEL_FILE
    try:
        return {MODEL_FILE: path.read_bytes()} if path.is_file() else {}
    except OSError:
        return {}  # unreadable: loading the matcher reports it


def version_of(files: dict[str, bytes], directory: str = "") -> RulesVersion:
    """The rules version of keyword files given as {file name: bytes}."""
    hasher = hashlib.sha256(b"heishi-rules\0")
    summary = []
    for name, data in sorted(files.items()):
        hasher.update(name.encode() + b"\0" + data + b"\0")
        summary.append(RuleFile(name, hashlib.sha256(data).hexdigest(), len(data)))
    return RulesVersion(hasher.hexdigest()[:ID_LENGTH], directory, tuple(summary))


def rules_version(directory: str | Path | None = None) -> RulesVersion:
    """The rules version of a keyword directory (default: $HEISHI_KEYWORDS_DIR, keywords/)."""
    from monitor import config
    from monitor.errors import KeywordFileError
    from monitor.matching.keywords import keyword_files

    directory = Path(directory) if directory is not None else config.keywords_dir()
    files = {}
    for path in keyword_files(directory):
        try:
            files[path.name] = path.read_bytes()
        except OSError as exc:
            raise KeywordFileError(str(path), f"cannot read: {exc}") from exc
    if not files:
        raise KeywordFileError(str(directory), "no keyword files (*.toml) in this directory")
    return version_of(files | model_file(directory), str(directory))


def record_rules_version(store: Any, directory: str | Path | None = None) -> str | None:
    """The current rules' id, remembered in the store's `rule_sets`; None (unknown) when the
    keyword files cannot be read, which the matcher reports on its own."""
    from monitor.errors import HeishiError
    from monitor.store import utc_now

    try:
        version = rules_version(directory)
    except HeishiError as exc:
        log.warning("rules version unknown: %s", exc)
        return None
    with store.transaction():
        store.retrohunt.record_rule_set(
            version.id, version.directory, version.files_summary(), utc_now()
        )
    return version.id


def keyword_lists_version(directory: str | Path) -> str:
    """The version of a directory's keyword lists alone (not of the model file beside them,
    which the rules version includes): what a model was trained against."""
    from monitor.matching.keywords import keyword_files

    return version_of({p.name: p.read_bytes() for p in keyword_files(Path(directory))}).id


def model_lists_warning(directory: str | Path) -> str | None:
    """'model.json: warning: ...' when the directory's model was trained on other keyword
    lists than the directory holds now (its rule features may then mean something else than
    they did in training), else None. Editing the lists without retraining is allowed
    (docs/matching.md); this says so, it does not refuse it."""
    import json

    from monitor.matching.model import MODEL_FILE

    path = Path(directory) / MODEL_FILE
    try:
        trained_on = json.loads(path.read_text(encoding="utf-8"))["training"]["rules_version"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no model, or one that records nothing: the model's own loader says so
    now = keyword_lists_version(directory)
    if not isinstance(trained_on, str) or trained_on == now:
        return None
    return (
        f"{path}: warning: trained on keyword lists {trained_on[:SHORT_LENGTH]}, the lists are "
        f"now {now[:SHORT_LENGTH]}; retrain (python -m monitor.matching.training) and adopt by "
        "the rule in docs/matching.md, or check that the verdicts it changes are wanted"
    )
