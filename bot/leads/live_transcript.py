"""A live chat's words in the transcript of the visitor's leads, so staff read them wherever they read a lead.

Rasa never sees a live chat (the web server answers it), so the transcript the
assistant hands over with a lead stops where the live chat starts. The live
exchange is copied into the lead's own transcript (encrypted at rest like the
rest of it, kept as long as the lead): when a lead is saved, and whenever a
message of the chat is written. Each copy is rebuilt from the chat's messages,
never appended to, so writing it twice changes nothing. Live turns carry
`"live": true`; a staff member's carry `"who": "staff"` and their name and email.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.handoff import TEXT_LIMIT, TRANSCRIPT_LIMIT
from bot.store.models import Lead, LiveChat, LiveMessage


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)  # SQLite gives naive UTC back


def live_turns(session: Session, sender_id: str, clinic: str) -> List[Dict[str, Any]]:
    """The words of every live chat of this visitor with this clinic, as transcript turns, oldest first."""
    rows = session.execute(
        select(LiveMessage, LiveChat.staff_name, LiveChat.staff_email)
        .join(LiveChat, LiveChat.id == LiveMessage.chat_id)
        .where(LiveChat.sender_id == sender_id, LiveChat.clinic == clinic, LiveMessage.kind == "text",
               LiveMessage.who.in_(("visitor", "staff")))
        .order_by(LiveMessage.id)).all()
    turns = []
    for message, staff_name, staff_email in rows:
        turn: Dict[str, Any] = {"who": "user" if message.who == "visitor" else "staff",
                                "text": (message.text or "")[:TEXT_LIMIT], "at": _aware(message.at).isoformat(),
                                "live": True}
        if message.who == "staff":
            turn.update(staff=staff_name or "", staff_email=staff_email or "")
        if message.triage:
            turn["triage"] = message.triage
        turns.append(turn)
    return turns


def _when(turn: Mapping[str, Any]) -> datetime:
    try:
        return _aware(datetime.fromisoformat(str(turn.get("at"))))
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)


def with_live(transcript: Sequence[Mapping[str, Any]], live: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """The assistant's part of a transcript with the live turns put back in time order (stable: ties keep theirs)."""
    merged = [dict(t) for t in transcript if not t.get("live")] + [dict(t) for t in live]
    return sorted(merged, key=_when)[-TRANSCRIPT_LIMIT:]


def refresh(session: Session, sender_id: str, clinic: str) -> int:
    """Bring the live part of this visitor's leads (with this clinic) up to date; how many changed."""
    # Locked first, read second: a message committed meanwhile by another process is then seen, not overwritten.
    leads = session.execute(select(Lead).where(Lead.sender_id == sender_id, Lead.clinic == clinic)
                            .with_for_update()).scalars().all()
    if not leads:
        return 0
    live = live_turns(session, sender_id, clinic)
    changed = 0
    for lead in leads:
        merged = with_live(lead.transcript or [], live)
        if merged != (lead.transcript or []):
            lead.transcript = merged
            changed += 1
    return changed
