"""A durable local spool for leads the database could not take, so none is ever lost.

Append-only JSON lines, fsync'd before the visitor is told their request is in;
replayed into the database, in order, once it answers again; a record the
database refuses for itself is quarantined instead of blocking the ones after it.
A file lock keeps the action server and the notifier from replaying the same
lines at once.
"""
from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
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


def _rewrite(path: Path, lines: List[str]) -> None:
    """Replace the spool's contents durably (write aside, fsync, rename)."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    with open(temporary, "w", encoding="utf-8") as out:
        out.write("".join(line + "\n" for line in lines))
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def _set_aside(path: Path, lines: List[str]) -> None:
    if lines:
        with open(path, "a", encoding="utf-8") as out:
            out.write("".join(line + "\n" for line in lines))
            out.flush()
            os.fsync(out.fileno())


def quarantine_file(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".quarantine")


def quarantine(path: Path, record: Dict[str, Any], reason: str) -> None:
    """Keep a record the database refused, with the kind of refusal, for a person to look at."""
    with _locked(path):
        _set_aside(quarantine_file(path), [json.dumps({"reason": reason, "record": record}, ensure_ascii=False,
                                                      sort_keys=True)])


def quarantined(path: Path) -> int:
    target = quarantine_file(path)
    return sum(1 for line in target.read_text(encoding="utf-8").splitlines() if line.strip()) \
        if target.exists() else 0


@dataclass
class Replayed:
    stored: int = 0
    quarantined: int = 0
    left: int = 0  # still in the spool: the database went away part way


def replay(path: Path, store: Callable[[Dict[str, Any]], None], refused: Callable[[Exception], bool]) -> Replayed:
    """Hand spooled records to `store` one at a time, in order.

    A record `store` refuses for itself (`refused(error)`: bad data, not an
    outage) goes to `<spool>.quarantine` and the next one is tried, so one bad
    record never holds up the leads after it. An outage stops the replay and
    keeps that record and the rest in the spool. A line that is not valid JSON
    (a write cut short by a crash) is moved to `<spool>.rejected`, never dropped.
    """
    result = Replayed()
    if not pending(path):
        return result
    with _locked(path):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        rejected: List[str] = []
        refusals: List[str] = []
        for index, line in enumerate(lines):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                rejected.append(line)
                continue
            try:
                store(record)
            except Exception as error:
                if not refused(error):
                    result.left = len(lines) - index
                    _set_aside(path.with_suffix(path.suffix + ".rejected"), rejected)
                    _set_aside(quarantine_file(path), refusals)
                    _rewrite(path, lines[index:])
                    if result.stored == 0 and not refusals and not rejected:
                        raise  # nothing moved: the caller sees the outage
                    return result
                refusals.append(json.dumps({"reason": type(error).__name__, "record": record}, ensure_ascii=False,
                                           sort_keys=True))
                result.quarantined += 1
                continue
            result.stored += 1
        _set_aside(path.with_suffix(path.suffix + ".rejected"), rejected)
        _set_aside(quarantine_file(path), refusals)
        _rewrite(path, [])
        return result
