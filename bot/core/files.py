"""Files that hold visitors' health data or secrets are readable by their owner only, checked at every start.

A visitor's name was read from the conversations database's WAL by another
user of the machine, and staff password hashes and MEDIUS_API_TOKEN from
`var/medius.db` and `.env`: all were 0644. Every Medius process calls
`secure_files` first: it sets the umask to 077, so what SQLite, the spool and
the key files create from then on (a database's -wal and -shm files take the
database's own mode) is 0600, and tightens what is already there: `var/` to
0700, each database, spool, key and secret file to 0600, saying so in the log.

supervisord's pid file and the logs of runs and tests under `var/` still came
out 0644: `make run` started supervisord itself, under the shell's umask 022.
Now `python -m bot run` (and `run-prod`) starts it, after `secure_files` and
`secure_tree(var/)`: every folder under `var/` 0700 and every file 0600, once
per start, so what older versions left is tightened too, and supervisord and
everything it starts inherit the umask (supervisord.conf sets it per program
as well, for a supervisord started by hand).
"""
from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path
from typing import Iterable, List, Optional

from bot.core.paths import ROOT
from bot.core.settings import Settings

logger = logging.getLogger(__name__)

VAR = ROOT / "var"
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
_SQLITE_SIDES = ("", "-wal", "-shm", "-journal")


def sqlite_file(url: str) -> Optional[Path]:
    """The file of a SQLite URL ("sqlite:///var/medius.db"), None for any other database or memory."""
    if not url.startswith("sqlite") or "://" not in url:
        return None
    path = url.split("://", 1)[1].split("?", 1)[0]
    path = path[1:] if path.startswith("/") else path  # sqlite:///relative, sqlite:////absolute
    if not path or path == ":memory:":
        return None
    return Path(path) if Path(path).is_absolute() else Path.cwd() / path


def private_paths(database_urls: Iterable[str], files: Iterable[Optional[Path]]) -> List[Path]:
    """Every file that must be 0600: the databases with their WAL, SHM and journal, and the files named."""
    found: List[Path] = []
    for url in database_urls:
        database = sqlite_file(url)
        if database is not None:
            found += [database.with_name(database.name + side) for side in _SQLITE_SIDES]
    found += [Path(f) for f in files if f]
    return found


def tighten(path: Path, mode: int) -> bool:
    """Set the mode if the path exists and allows more; True when it had to."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return False
    if current & ~mode:
        os.chmod(path, mode)
        return True
    return False


def secure_files(database_urls: Iterable[str], files: Iterable[Optional[Path]]) -> List[Path]:
    """Umask 077 for this process, `var/` 0700, and the given files 0600; returns what had to be tightened."""
    os.umask(0o077)
    VAR.mkdir(mode=PRIVATE_DIR, exist_ok=True)
    fixed = [VAR] if tighten(VAR, PRIVATE_DIR) else []
    for path in private_paths(database_urls, files):
        if path.parent != VAR and VAR in path.parents and tighten(path.parent, PRIVATE_DIR):
            fixed.append(path.parent)
        if tighten(path, PRIVATE_FILE):
            fixed.append(path)
    for path in fixed:
        logger.warning("%s was readable by other users of this machine; now %s", path,
                       "0700" if path.is_dir() else "0600")
    return fixed


def secure_tree(root: Path) -> List[Path]:
    """Every folder under root (itself included) 0700 and every regular file 0600; returns what had to change.

    os.walk follows no symbolic link; sockets and pipes keep their modes (supervisord's socket is 0700).
    """
    fixed: List[Path] = []
    if root.is_symlink() or not root.is_dir():
        return fixed
    for folder, _dirs, names in os.walk(root):
        here = Path(folder)
        if tighten(here, PRIVATE_DIR):
            fixed.append(here)
        for name in names:
            path = here / name
            with contextlib.suppress(FileNotFoundError):  # a file of a running process may go at any time
                if stat.S_ISREG(path.lstat().st_mode) and tighten(path, PRIVATE_FILE):
                    fixed.append(path)
    for path in fixed:
        logger.warning("%s was readable by other users of this machine; now %s", path,
                       "0700" if path.is_dir() else "0600")
    return fixed


def secure_for(settings: Settings) -> List[Path]:
    """`secure_files` for everything Medius's settings name: both databases, the spool, `.env`, the secrets."""
    spool = settings.spool_file
    return secure_files([settings.database_url, settings.conversations_url],
                        [spool, spool.with_name(spool.name + ".quarantine"), ROOT / ".env", VAR / "internal-token",
                         settings.data_key_file])
