"""The safety net: red flags answered first in any state, and the nerve screening."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.appointment import reset_form
from bot import data, handoff
from bot.leads import LeadInput, submit
from bot.settings import get_settings
from bot.triage import EMERGENCY, SEVERITY, URGENT, screening_outcome

logger = logging.getLogger(__name__)

SCREEN_SLOTS = {"screen_where": "where", "screen_numbness": "numbness", "screen_weakness": "weakness",
                "screen_back_pain": "back_pain", "screen_how_long": "how_long", "screen_tried": "tried",
                "screen_red_flags": "red_flags"}
LOCATIONS = {"hip": ("hip", "buttock", "bum", "side"), "thigh": ("thigh",),
             "below_knee": ("knee", "calf", "shin", "lower leg", "ankle"), "foot": ("foot", "feet", "toe", "heel")}


def entity_values(tracker: Tracker, name: str) -> List[str]:
    return [e.get("value") for e in tracker.latest_message.get("entities") or [] if e.get("entity") == name]


def raised(current: Any, new: str) -> str:
    """Urgency only rises within a conversation."""
    current = current if current in SEVERITY else "routine"
    return max(current, new, key=SEVERITY.index)


def record_emergency(tracker: Tracker, trigger: str, rules: List[str]) -> None:
    """Save an emergency lead (contact details if the visitor gave any) and queue the staff alert."""
    clinic = data.clinics().resolve(tracker.get_slot("clinic"))
    lead = LeadInput(
        clinic=clinic.id, sender_id=tracker.sender_id, name=tracker.get_slot("lead_name") or "Unknown visitor",
        phone=tracker.get_slot("lead_phone"), email=tracker.get_slot("lead_email"),
        preferred_time=None, mode=None, consent=False, urgency=EMERGENCY,
        reason=f"Emergency red flag reported ({', '.join(rules) or 'reported in the screening'}). "
               f"Visitor's message: {trigger}",
        screening={"trigger_message": trigger, "red_flags": ", ".join(rules) or "screening answer"},
        transcript=handoff.transcript(tracker.events),
    )
    submit(get_settings(), data.clinics(), lead)
    logger.warning("Emergency red flag recorded for a visitor of clinic %s", clinic.id)


def answer_red_flag(dispatcher: CollectingDispatcher, tracker: Tracker, level: str, trigger: str,
                    rules: List[str]) -> List[EventType]:
    if level == EMERGENCY:
        dispatcher.utter_message(response="utter_emergency")
        record_emergency(tracker, trigger, rules)
        dispatcher.utter_message(response="utter_emergency_staff_told")
        return [SlotSet("urgency", EMERGENCY), SlotSet("emergency_reported", True)] + reset_form()
    dispatcher.utter_message(response="utter_urgent")
    return [SlotSet("urgency", raised(tracker.get_slot("urgency"), URGENT))]


class ActionHandleRedFlag(Action):
    """Emergency advice first; the rule layer's level decides, the classifier alone means emergency."""

    def name(self) -> Text:
        return "action_handle_red_flag"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        levels = entity_values(tracker, "red_flag_level")
        # When only the classifier saw a red flag, err on the side of emergency.
        level = max(levels, key=SEVERITY.index) if levels else EMERGENCY
        trigger = (tracker.latest_message.get("text") or "")[:1000]
        return answer_red_flag(dispatcher, tracker, level, trigger, entity_values(tracker, "red_flag"))


class ValidateNerveScreenForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_nerve_screen_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        # No interview continues past an emergency.
        return [] if tracker.get_slot("emergency_reported") else domain_slots

    def validate_screen_where(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> Dict[Text, Any]:
        if value in LOCATIONS or value == "skipped":
            return {"screen_where": value}
        text = str(value or "").lower()
        for place, words in reversed(list(LOCATIONS.items())):  # the lowest place named wins
            if any(word in text for word in words):
                return {"screen_where": place}
        dispatcher.utter_message(response="utter_invalid_location")
        return {"screen_where": None}

    def _free_text(self, slot: str, value: Any) -> Dict[Text, Any]:
        text = " ".join(str(value or "").split())[:300]
        return {slot: text or None}

    def validate_screen_how_long(self, value, dispatcher, tracker, domain):  # noqa: ANN001
        return self._free_text("screen_how_long", value)

    def validate_screen_tried(self, value, dispatcher, tracker, domain):  # noqa: ANN001
        return self._free_text("screen_tried", value)


def screening_answers(tracker: Tracker) -> Dict[str, str]:
    return {name: tracker.get_slot(slot) for slot, name in SCREEN_SLOTS.items() if tracker.get_slot(slot)}


class ActionScreeningOutcome(Action):
    """Explain the outcome in plain words (never as a diagnosis) and offer the next step."""

    def name(self) -> Text:
        return "action_screening_outcome"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        clear = [SlotSet(slot, None) for slot in SCREEN_SLOTS]
        if tracker.get_slot("emergency_reported"):
            dispatcher.utter_message(response="utter_emergency_reminder")
            return clear
        answers = screening_answers(tracker)
        if not answers:
            dispatcher.utter_message(response="utter_screening_stopped")
            return clear
        outcome = screening_outcome(answers)
        events: List[EventType] = [SlotSet("screening_answers", answers)] + clear
        if outcome in (EMERGENCY, URGENT):
            return events + answer_red_flag(dispatcher, tracker, outcome, "Answered yes or not sure to the "
                                            "screening's emergency question", [])
        dispatcher.utter_message(response=f"utter_screening/{outcome}")
        return events + [SlotSet("urgency", raised(tracker.get_slot("urgency"), outcome))]
