"""heishi's files are for its user alone: files 0600, folders 0700, whatever the umask.

The store holds password hashes and keyed hashes of personal numbers; logs, evidence, cookies
and exports hold what hostile sites wrote. heishi's entry points (the `heishi` command and a
crawl process) set the umask to 077, so everything they and their children create is private;
the functions here make the same true for the library used on its own: the store and its
WAL are created 0600, and heishi's folders beside it (`-logs`, `-evidence`, `-cookies`) 0700.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077
FILE_MODE = 0o600
FOLDER_MODE = 0o700


def restrict_umask() -> None:
    """Files this process (and every process it starts) creates are private."""
    os.umask(PRIVATE_UMASK)


def private_folder(path: str | os.PathLike[str], *, tighten: bool = False) -> Path:
    """`path` as a folder, each level created here made 0700; with `tighten`, an existing
    `path` (one of heishi's own folders) is made 0700 too."""
    folder = Path(path)
    missing = []
    for level in (folder, *folder.parents):
        if level.exists():
            break
        missing.append(level)
    for level in reversed(missing):
        try:
            level.mkdir(mode=FOLDER_MODE)
        except FileExistsError:  # made by another process meanwhile
            continue
        Path(level).chmod(FOLDER_MODE)
    if tighten and not missing:
        _restrict(folder, FOLDER_MODE)
    return folder


def create_private_file(path: str | os.PathLike[str]) -> bool:
    """Create `path` empty with mode 0600 unless it exists; returns whether it was created."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    return True


def no_world_access(*paths: str | os.PathLike[str]) -> None:
    """Take away what others (not the owner, not the group) may do with existing files of
    ours: a store made by an older heishi was world-readable. A group's access is left, as an
    operator may share the store on purpose."""
    for path in paths:
        try:
            mode = stat.S_IMODE(Path(path).stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o007:
            _restrict(Path(path), mode & ~0o007)


def _restrict(path: Path, mode: int) -> None:
    try:
        if stat.S_IMODE(path.stat().st_mode) != mode:
            path.chmod(mode)
    except PermissionError:  # not ours: say so, and go on
        log.warning("cannot restrict the permissions of %s (owned by another user)", path)
