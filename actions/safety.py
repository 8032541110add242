"""The safety net: red flags answered first in any state, and the nerve screening."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.appointment import reset_form
from actions.cause_answers import explain
from actions.faq import answer, ask_which_topic, asked_topic
from actions.typed_answers import TypedYesNo
from bot.core import data
from bot.core.causes import mentioned_causes
from bot.core.triage import EMERGENCY, SEVERITY, URGENT, screening_outcome

SCREEN_SLOTS = {"screen_where": "where", "screen_numbness": "numbness", "screen_weakness": "weakness",
                "screen_back_pain": "back_pain", "screen_how_long": "how_long", "screen_tried": "tried",
                "screen_red_flags": "red_flags"}
LOCATIONS = {"hip": ("hip", "buttock", "bum", "side"), "thigh": ("thigh",),
             "below_knee": ("knee", "calf", "shin", "lower leg", "ankle"), "foot": ("foot", "feet", "toe", "heel")}


def raised(current: Any, new: str) -> str:
    """Urgency only rises within a conversation."""
    current = current if current in SEVERITY else "routine"
    return max(current, new, key=SEVERITY.index)


class ActionHandleRedFlag(Action):
    """After the advice a rule has said: latch an emergency, or raise the urgency.

    The emergency's lead and staff alert are made by the action server before
    this action runs (bot.ops.action_server, bot.leads.emergency), as they are on any
    later call if the action server was down when the advice was given.
    """

    def name(self) -> Text:
        return "action_handle_red_flag"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if last_bot_response(tracker) == "utter_urgent":
            return [SlotSet("urgency", raised(tracker.get_slot("urgency"), URGENT)), SlotSet("red_flag_level", None)]
        dispatcher.utter_message(response="utter_emergency_staff_told")
        return [SlotSet("urgency", EMERGENCY), SlotSet("emergency_reported", True),
                SlotSet("red_flag_level", None)] + reset_form()


def last_bot_response(tracker: Tracker) -> Optional[str]:
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return (event.get("metadata") or {}).get("utter_action")
    return None


class ActionResumeAfterConfirm(Action):
    """A possible red flag the visitor says is not so: lift the latch, go back to what they were doing."""

    def name(self) -> Text:
        return "action_resume_after_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        events: List[EventType] = [SlotSet("emergency_reported", None), SlotSet("red_flag_level", None)]
        if tracker.get_slot("urgency") == EMERGENCY:
            events.append(SlotSet("urgency", None))
        dispatcher.utter_message(response="utter_red_flag_not_confirmed")
        raised_by = red_flag_message(tracker.events)
        if raised_by is None:
            return events
        form = raised_by.get("active_loop")
        if form:
            return events + [FollowupAction(form)]
        return events + answer_instead(dispatcher, raised_by.get("parse_data") or {})


def red_flag_message(events: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The visitor's last red-flag message, with the form that was active when it came."""
    found, active = None, None
    for event in events:
        if event.get("event") == "active_loop":
            active = event.get("name")
        elif event.get("event") == "user" and \
                ((event.get("parse_data") or {}).get("intent") or {}).get("name") == "report_red_flag":
            found = {**event, "active_loop": active}
    return found


def answer_instead(dispatcher: CollectingDispatcher, parse_data: Dict[str, Any]) -> List[EventType]:
    """Answer the message as if no red flag had been seen: the NLU's next guess."""
    ranking = [r for r in parse_data.get("intent_ranking") or []
               if r.get("name") not in ("report_red_flag", "nlu_fallback")]
    intent = ranking[0].get("name") if ranking else None
    nerve = any(e.get("entity") == "nerve_sign" for e in parse_data.get("entities") or [])
    if intent == "explain_weakness_causes":
        mentions = mentioned_causes(data.cause_finder(), parse_data.get("text") or "")[0]
        return explain(dispatcher, mentions, nerve, said_last=None)
    if intent == "faq" or "?" in (parse_data.get("text") or ""):  # a question asked: its answer first
        topic = asked_topic(parse_data)
        if topic is not None:
            events = answer(dispatcher, topic)
            return events + ([FollowupAction("utter_offer_nerve_screen")] if nerve else [])
    if nerve or intent == "report_nerve_symptoms":
        return [FollowupAction("utter_offer_nerve_screen")]
    ask_which_topic(dispatcher, "utter_what_else")
    return []


class ValidateNerveScreenForm(TypedYesNo, FormValidationAction):
    yes_no_slots = frozenset({"screen_numbness", "screen_weakness", "screen_back_pain", "screen_red_flags"})

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
        text = f"{value or ''} {tracker.latest_message.get('text') or ''}".lower()  # the words, not a partial entity
        for place, words in reversed(list(LOCATIONS.items())):  # the lowest place named wins
            if any(word in text for word in words):
                return {"screen_where": place}
        dispatcher.utter_message(response="utter_invalid_location")
        return {"screen_where": None}

    def _free_text(self, slot: str, value: Any) -> Dict[Text, Any]:
        text = " ".join(str(value or "").split())[:300]
        return {slot: text or None}

    def validate_screen_how_long(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[Text, Any]:
        return self._free_text("screen_how_long", value)

    def validate_screen_tried(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> Dict[Text, Any]:
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
        if outcome == EMERGENCY:  # said as a response, so its lead is made like any other's
            return events + [FollowupAction("utter_emergency")]
        if outcome == URGENT:
            dispatcher.utter_message(response="utter_urgent")
            return events + [SlotSet("urgency", raised(tracker.get_slot("urgency"), URGENT))]
        dispatcher.utter_message(response=f"utter_screening/{outcome}")
        return events + [SlotSet("urgency", raised(tracker.get_slot("urgency"), outcome))]
