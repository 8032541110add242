"""Content gaps: visitor questions the assistant could not answer, so a clinic knows what to add.

A question is stored only after anything that may be a name, phone number or
email is replaced (`redact`; names by bot/core/names.py), kept as long as
conversations are (CONVERSATION_RETENTION_DAYS), and shown grouped by similar wording.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Dict, FrozenSet, List, Optional, cast

import yaml
from sqlalchemy import delete, select
from sqlalchemy.engine import CursorResult

from bot.core import logs
from bot.core.names import NameFinder
from bot.core.paths import DATA
from bot.core.settings import Settings
from bot.store.db import session_scope
from bot.store.models import ContentGap, utcnow

logger = logging.getLogger(__name__)

KINDS = ("fallback", "out_of_scope")
MAX_TEXT = 300
SIMILAR = 0.5       # share of content words two questions need in common to be one gap
SHOWN = 2000        # the newest gaps read for the page


@dataclass(frozen=True)
class Vocabulary:
    ignored: FrozenSet[str]
    same: Dict[str, str]  # a word -> the word it is grouped as
    names: NameFinder


def _assistant_words() -> FrozenSet[str]:
    """Words of the assistant's own topics and causes ("medius", "piriformis"): never taken for names."""
    found: set = set()
    for path in (DATA / "topics.yml", DATA / "causes.yml"):
        found |= {w.lower() for w in re.findall(r"[^\W\d_]{3,}", path.read_text(encoding="utf-8"))}
    return frozenset(found)


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    document = yaml.safe_load((DATA / "inbox.yml").read_text(encoding="utf-8"))
    same = {word: key for key, words_ in document["gap_same_words"].items() for word in words_}
    finder = NameFinder(extra_words=_assistant_words(), introducers=tuple(document["name_introducers"]))
    return Vocabulary(frozenset(document["gap_words_ignored"]), same, finder)


def redact(text: str) -> str:
    """The question without emails, phone numbers or anything that may be a name ([email], [phone], [name])."""
    text = " ".join(str(text or "").split())[:MAX_TEXT]
    return vocabulary().names.redact(logs.redact(text))


def record(settings: Settings, clinic: str, text: str, kind: str) -> None:
    """Store one unanswered question, redacted; a slash command or an empty message is not a question."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    cleaned = redact(text)
    # Nothing left but what was removed ("[name]", "[phone]"): no question to learn from.
    if not cleaned or cleaned.startswith("/") or not re.search(r"[^\W\d_]{2}", re.sub(r"\[\w+\]", "", cleaned)):
        return
    with session_scope(settings.database_url) as session:
        session.add(ContentGap(clinic=clinic, kind=kind, text=cleaned))


def words(text: str) -> FrozenSet[str]:
    """Content words, lower case, a plural 's' dropped: what two questions are compared by."""
    vocab = vocabulary()
    found = (w.strip("'") for w in re.findall(r"[a-z][a-z']*", text.lower().replace("[name]", "")))
    found = (vocab.same.get(w, w) for w in found if w and w not in vocab.ignored)
    return frozenset(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in found)


def similar(a: FrozenSet[str], b: FrozenSet[str]) -> bool:
    if not a or not b:
        return a == b
    return len(a & b) / len(a | b) >= SIMILAR


@dataclass
class GapGroup:
    example: str                 # the newest wording
    count: int
    last_at: datetime
    kinds: set = field(default_factory=set)
    wordings: List[str] = field(default_factory=list)  # up to three other wordings
    _members: List[FrozenSet[str]] = field(default_factory=list)  # each question's words


def grouped(settings: Settings, clinic: Optional[str]) -> List[GapGroup]:
    """The clinic's gaps (every clinic's for None), similar questions together, newest group first."""
    with session_scope(settings.database_url) as session:
        query = select(ContentGap.text, ContentGap.at, ContentGap.kind).order_by(ContentGap.at.desc(),
                                                                                  ContentGap.id.desc()).limit(SHOWN)
        if clinic:
            query = query.where(ContentGap.clinic == clinic)
        rows = session.execute(query).all()
    groups: List[GapGroup] = []
    for text, at, kind in rows:
        key = words(text)
        group = next((g for g in groups if any(similar(member, key) for member in g._members)), None)  # noqa: SLF001 - this function's own bookkeeping
        if group is None:
            at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
            groups.append(GapGroup(example=text, count=1, last_at=at, kinds={kind}, _members=[key]))
            continue
        group.count += 1
        group._members.append(key)  # noqa: SLF001 - this function's own bookkeeping
        group.kinds.add(kind)
        if text.lower() != group.example.lower() and len(group.wordings) < 3 \
                and text.lower() not in (w.lower() for w in group.wordings):
            group.wordings.append(text)
    return groups


def purge(settings: Settings, now: Optional[datetime] = None) -> int:
    """Delete gaps older than the conversations they came from are kept."""
    cutoff = (now or utcnow()) - timedelta(days=settings.conversation_retention_days)
    with session_scope(settings.database_url) as session:
        result = session.execute(delete(ContentGap).where(ContentGap.at < cutoff))
        return cast(CursorResult, result).rowcount or 0  # a DELETE's result: the stubs know it only as a Result
