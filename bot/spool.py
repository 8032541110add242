"""A durable local spool for leads the database could not take, so none is ever lost.

Append-only JSON lines, fsync'd before the visitor is told their request is in;
replayed into the database, in order, once it answers again. A file lock keeps the
action server and the notifier from replaying the same lines at once.
"""
from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(path.suffix + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def append(path: Path, record: Dict[str, Any]) -> None:
    """Add one record and make sure it is on disk before returning."""
    line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
    with _locked(path):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)


def pending(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 0


def replay(path: Path, store: Callable[[List[Dict[str, Any]]], None]) -> int:
    """Hand every spooled record to `store` (one call, one transaction); clear the spool only if it succeeded.

    A line that is not valid JSON (a write cut short by a crash) is moved to
    `<spool>.rejected` for a person to look at, never dropped.
    """
    if not pending(path):
        return 0
    with _locked(path):
        lines = path.read_text(encoding="utf-8").splitlines()
        records, rejected = [], []
        for line in lines:
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                rejected.append(line)
        store(records)  # raises if the database is still away: the spool stays as it is
        if rejected:
            with open(path.with_suffix(path.suffix + ".rejected"), "a", encoding="utf-8") as out:
                out.write("\n".join(rejected) + "\n")
                out.flush()
                os.fsync(out.fileno())
        with open(path, "w", encoding="utf-8") as out:
            out.flush()
            os.fsync(out.fileno())
        return len(records)
