"""A message frame: what one message carries besides its intent, and the intent its words settle.

Plain rules over the words (no Rasa here): the booking details it gives
(bot.core.details), a practical question about the clinic (bot.core.practical),
and three intents the classifier misses in long or mixed messages.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional

from bot.core.answers import is_question, typed_answers
from bot.core.causes import asks_why_weak
from bot.core.data import cause_finder
from bot.core.details import read_details
from bot.core.practical import practical

REQUEST, CLINIC_INFO, DENY, STOP, INFORM = "request_appointment", "ask_clinic_info", "deny", "stop", "inform"
WHY_WEAK, CAPABILITIES = "explain_weakness_causes", "ask_capabilities"
# Intents the words never override: the safety net's, and a visitor's "stop" or refusal in so many words.
KEEP = {"report_red_flag", "report_nerve_symptoms", "refuse"}
# A practical question inside a long story is still one; past this many words it is a story that mentions it.
PRACTICAL_MAX_WORDS = 40


@dataclass(frozen=True)
class Frame:
    entities: Dict[str, str] = field(default_factory=dict)
    intent: Optional[str] = None


def read_frame(text: str, intent: Optional[str] = None) -> Frame:
    """The entities a message carries and the intent its words settle (None: the classifier's stands)."""
    if not text:
        return Frame()
    details = read_details(text)
    entities: Dict[str, str] = {}
    for name, value in (("visitor_name", details.name), ("contact", details.contact),
                        ("contact_time", details.time), ("mode", details.mode)):
        if value:
            entities[name] = value
    asked = practical().asked(text)
    if asked:
        entities["clinic_info"] = asked
    if intent == "refuse" and asked and is_question(text):
        return Frame(entities, CLINIC_INFO)  # "before I give you my number, do you take medicare?": a question
    if intent in KEEP:
        return Frame(entities)
    if intent == "stop" and typed_answers().answer(text) == "no" and not typed_answers().says_stop(text):
        return Frame(entities, DENY)  # "no, never": an answer, not the end of the questions
    if details.withdraw and not details.contact:
        # (one that gives a phone or email with it goes on: "I'll call you, or it's 314 ...", "email me instead")
        return Frame(entities, STOP)  # "no, don't call me": the request ends, whatever the classifier saw
    if intent == "stop" and (details.contact or details.time or details.mode) and not typed_answers().says_stop(text):
        # "my mobile is 07700 900461 - I'm on UK time, mind": a detail given is no "never mind"
        return Frame(entities, INFORM)
    if asked and (is_question(text) or len(text.split()) <= 6) and len(text.split()) <= PRACTICAL_MAX_WORDS:
        return Frame(entities, CLINIC_INFO)
    if details.name and details.contact or details.count() >= 3 or details.request and intent != "out_of_scope":
        # "book me a table for two" stays out of scope; one with a name and a number is for the clinic.
        return Frame(entities, REQUEST)
    if intent == CAPABILITIES and asks_why_weak(cause_finder(), text):
        return Frame(entities, WHY_WEAK)  # "can you help me work out why my glute med is weak?": that, not a menu
    return Frame(entities)
