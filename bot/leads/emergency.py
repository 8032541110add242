"""Emergency advice given in a conversation, read from its events, so each is recorded once as a lead.

The advice is a domain response said by a rule before any custom action, so it
reaches the visitor with the action server down; the lead and staff alert then
follow from the next call that reaches the action server. The events say what
was advised and when; the slot `emergency_recorded_at` says up to when leads
were made.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from bot.core import data, handoff
from bot.core.settings import Settings, get_settings
from bot.leads.store import LeadInput, submit
from bot.store.conversations import conversation_events

logger = logging.getLogger(__name__)

ADVICE = "utter_emergency"
CONFIRMING_QUESTION = "utter_confirm_red_flag"
RECORDED_SLOT = "emergency_recorded_at"
CONFIRMING_ANSWERS = ("affirm", "unsure")
SCREENING_QUESTION = "utter_ask_screen_red_flags"


@dataclass(frozen=True)
class Advice:
    at: float  # when the advice was given (event timestamp)
    trigger: str  # the visitor's words that raised it
    rules: Tuple[str, ...]  # the red-flag rules that fired, if any
    confirmed: bool  # raised by a confirming question answered yes


def _rules(user_event: Mapping[str, Any]) -> Tuple[str, ...]:
    entities = (user_event.get("parse_data") or {}).get("entities") or []
    return tuple(str(e.get("value")) for e in entities if e.get("entity") == "red_flag")


def advice_given(events: Iterable[Mapping[str, Any]]) -> List[Advice]:
    """Every emergency advice said by a response, with the visitor's message that raised it."""
    found: List[Advice] = []
    user: Optional[Mapping[str, Any]] = None
    source: Optional[Mapping[str, Any]] = None  # the message the next advice answers
    asked_about: Optional[Mapping[str, Any]] = None  # the message a confirming question was about
    confirmed = screening_asked = False
    for event in events:
        kind = event.get("event")
        if kind == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            confirmed = asked_about is not None and intent in CONFIRMING_ANSWERS
            source, user, asked_about = (asked_about if confirmed else event), event, None
            if screening_asked and intent in CONFIRMING_ANSWERS:
                source = {**event, "text": "Answered yes or not sure to the screening's red-flag question"}
            screening_asked = False
        elif kind == "bot":
            action = (event.get("metadata") or {}).get("utter_action")
            screening_asked = action == SCREENING_QUESTION
            if action == CONFIRMING_QUESTION:
                asked_about = user
            elif action == ADVICE and source is not None:
                found.append(Advice(float(event.get("timestamp") or 0.0), str(source.get("text") or "")[:1000],
                                    _rules(source), confirmed))
                source = None
    return found


def unrecorded(events: Iterable[Mapping[str, Any]], recorded_at: Optional[float]) -> List[Advice]:
    """The advice given after the last one recorded as a lead."""
    return [advice for advice in advice_given(events) if recorded_at is None or advice.at > recorded_at]


def describe(advice: Advice) -> Dict[str, str]:
    """The lead's reason and screening fields for one advice."""
    rules = ", ".join(advice.rules) or ("confirmed by the visitor" if advice.confirmed else "reported")
    how = " The visitor answered yes to the confirming question." if advice.confirmed else ""
    return {"reason": f"Emergency red flag reported ({rules}).{how} Visitor's message: {advice.trigger}",
            "trigger_message": advice.trigger, "red_flags": rules}


def record_pending(sender_id: str, events: List[Mapping[str, Any]], slots: Mapping[str, Any]) -> Optional[float]:
    """Save a lead (and queue the staff alert) for each advice not yet recorded; the time of the last.

    The lead carries the advice's own time, so recording it again (a retry, a
    spool replay) updates the same lead instead of alerting staff twice.
    """
    pending = unrecorded(events, slots.get(RECORDED_SLOT))
    if not pending:
        return None
    clinic = data.clinics().resolve(slots.get("clinic"))
    history = handoff.transcript(events)
    for advice in pending:
        _submit(get_settings(), clinic.id, sender_id, advice, history, name=slots.get("lead_name"),
                phone=slots.get("lead_phone"), email=slots.get("lead_email"))
        logger.warning("Emergency red flag recorded for a visitor of clinic %s", clinic.id)
    return pending[-1].at


def record_live(settings: Settings, clinic_id: str, sender_id: str, message: str, rules: Tuple[str, ...]) -> None:
    """An emergency raised during a live chat with staff: the web server's safety net advised at once, and
    the lead and staff alert follow as for any emergency (Rasa never sees a live chat's messages)."""
    advice = Advice(datetime.now(timezone.utc).timestamp(), message[:1000], tuple(rules), False)
    # What the visitor told the assistant before; the live chat's words, the trigger among them, are added on
    # saving (bot/leads/live_transcript.py), as for every lead of a visitor who chatted with staff.
    _submit(settings, clinic_id, sender_id, advice, _conversation_before(settings, sender_id),
            note=" (during a live chat)")
    logger.warning("Emergency red flag in a live chat recorded for a visitor of clinic %s", clinic_id)


def _conversation_before(settings: Settings, sender_id: str) -> List[Dict[str, Any]]:
    """The conversation with the assistant, or none if its store cannot be read: the lead matters more."""
    try:
        return handoff.transcript(conversation_events(settings, sender_id))
    except Exception as error:  # noqa: BLE001 - an emergency lead is made whatever else fails
        logger.warning("Conversation before a live chat emergency unreadable: %s", type(error).__name__)
        return []


def _submit(settings: Settings, clinic_id: str, sender_id: str, advice: Advice, transcript: List[Dict[str, Any]],
            name: Optional[str] = None, phone: Optional[str] = None, email: Optional[str] = None,
            note: str = "") -> None:
    """One emergency lead for one advice, dated by the advice, so recording it again updates the same lead."""
    fields = describe(advice)
    submit(settings, data.clinics_for(settings), LeadInput(
        clinic=clinic_id, sender_id=sender_id, name=name or "Unknown visitor", phone=phone, email=email,
        preferred_time=None, mode=None, consent=False, urgency="emergency", reason=fields["reason"] + note,
        screening={"trigger_message": fields["trigger_message"], "red_flags": fields["red_flags"]},
        transcript=transcript, submitted_at=datetime.fromtimestamp(advice.at, timezone.utc).isoformat()))
