"""Turning a conversation into a lead: the reason, the transcript, the visitor's choices."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from bot.core.contact import display_phone
from bot.core.details import detail_reader

TRANSCRIPT_LIMIT = 200  # turns kept, the latest ones
TEXT_LIMIT = 1000       # characters kept of each turn
# The booking form's slots, and the bot lines that repeat what the visitor gave in them.
BOOKING_SLOTS = frozenset({"lead_name", "lead_contact", "lead_phone", "lead_email", "lead_contact_time", "lead_mode",
                           "lead_invalid_answers"})
BOOKING_ECHOES = frozenset({"utter_ask_lead_consent", "utter_contact_updated", "utter_appointment_submitted"})

def _answers_a_booking_question(events: Sequence[Mapping[str, Any]], index: int) -> bool:
    """Whether the user turn at `index` was read as a booking answer (a booking slot set before the next turn)."""
    for event in events[index + 1:]:
        if event.get("event") == "user":
            return False
        if event.get("event") == "slot" and event.get("name") in BOOKING_SLOTS:
            return True
    return False


def transcript(events: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """User and bot texts with their times (UTC, ISO 8601), from Rasa tracker events.

    Answers to the booking questions, and the bot's lines that repeat them, are
    left out: a lead keeps them as its fields, and a booking the visitor
    cancelled must leave nothing behind, even in a later lead's transcript.
    """
    events = list(events)
    turns = []
    for index, event in enumerate(events):
        kind, text = event.get("event"), event.get("text")
        if kind not in ("user", "bot") or not text:
            continue
        if kind == "user" and _answers_a_booking_question(events, index):
            continue
        if kind == "bot" and (event.get("metadata") or {}).get("utter_action") in BOOKING_ECHOES:
            continue
        at = datetime.fromtimestamp(float(event.get("timestamp") or 0), tz=timezone.utc).isoformat()
        turns.append({"who": kind, "text": str(text)[:TEXT_LIMIT], "at": at})
    return turns[-TRANSCRIPT_LIMIT:]


def reason(topic_label: Optional[str], cause_finder_result: Optional[str]) -> str:
    """Why the visitor wants help, from what was discussed; never a diagnosis."""
    parts = []
    if topic_label:
        parts.append(f"Last topic discussed: {topic_label}")
    if cause_finder_result:
        parts.append(f"Cause finder: {cause_finder_result}")
    return ". ".join(parts) or "Asked to be contacted"


def mode_from_text(text: str) -> Optional[str]:
    """'online' or 'in_person' from a typed answer, or None if it says neither (or both)."""
    return detail_reader().mode(text or "")


def contact_method(phone: Optional[str], email: Optional[str]) -> str:
    """How staff will reach the visitor, in words that follow 'will contact you'."""
    if phone and email:
        return f"by phone at {display_phone(phone)} or by email at {email}"
    if phone:
        return f"by phone at {display_phone(phone)}"
    return f"by email at {email}"


def summary(name: str, phone: Optional[str], email: Optional[str], time: Optional[str], mode: Optional[str]) -> str:
    parts = [f"name {name}"] if name else []
    if phone:
        parts.append(f"phone {display_phone(phone)}")
    if email:
        parts.append(f"email {email}")
    if time:
        parts.append(f"best time {time}")
    if mode:
        parts.append({"online": "online", "in_person": "in person"}.get(mode, mode))
    return ", ".join(parts)
