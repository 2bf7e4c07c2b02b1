"""Where heishi keeps things: the store, keyword lists, site files, caches and the secret."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path

from monitor import settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_vars(text: str, env: Mapping[str, str], missing: Callable[[str], Exception]) -> str:
    """`${VAR}` and `${VAR:-default}` (default when unset or empty, as in the shell) in a
    string from a data file; `$${` is a literal `${`. `missing(name)` is the error raised for
    a variable that is unset and has no default."""

    def replace(found: re.Match[str]) -> str:
        name, default = found.group(1), found.group(2)
        current = env.get(name)
        if current:
            return current
        if default is not None:
            return default
        if current is not None:  # set but empty, and no default
            return current
        raise missing(name)

    return _ENV_REFERENCE.sub(replace, text.replace("$${", "\0")).replace("\0", "${")


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The store's path: --db, else $HEISHI_DB, else ./heishi.db."""
    return Path(explicit) if explicit else settings.current().db


def time_zone_name() -> str:
    """The install's time zone, an IANA name: $HEISHI_TIME_ZONE, else the deprecated
    $HEISHI_TIMEZONE (an older name of the same setting), else Asia/Shanghai."""
    return settings.current().time_zone


def keywords_dir() -> Path:
    """Keyword lists: $HEISHI_KEYWORDS_DIR, else keywords/ in the checkout."""
    return settings.current().keywords_dir


def sites_dir() -> Path:
    """Site files: $HEISHI_SITES_DIR, else spiders/sites/ in the checkout."""
    return settings.current().sites_dir


def cache_dir() -> Path:
    """A writable cache (jieba's dictionary cache lives here)."""
    path = settings.current().cache_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


def secret_path() -> Path:
    """The per-install HMAC secret: $HEISHI_SECRET_FILE, else ~/.local/share/heishi/secret.key."""
    return settings.current().secret_file


def install_secret() -> bytes:
    """The key for hashing personal data; created once per install with mode 0600."""
    return key_file(secret_path())


def key_file(path: Path) -> bytes:
    """A random 32-byte key kept in `path`, created once with mode 0600."""
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    from monitor.privacy.file_modes import private_folder

    private_folder(path.parent)
    key = secrets.token_hex(32)
    # O_EXCL: two processes starting at once must agree on one key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return bytes.fromhex(key)
