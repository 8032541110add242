"""Typed answers to a form's yes / no / not sure questions, whatever the NLU made of them."""
from __future__ import annotations

from typing import Any, Dict, FrozenSet, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.core.answers import UNSURE, is_question, typed_answers

# Intents the slot mappings or the rules already handle.
HANDLED = {"affirm", "deny", "unsure", "skip", "stop", "report_red_flag"}


class TypedYesNo:
    """Mixed into a FormValidationAction: "my arches are flat" or "yeah a bit" answers the question asked."""

    yes_no_slots: FrozenSet[str] = frozenset()

    async def get_extraction_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: Dict[Text, Any]) -> List[EventType]:
        events = await super().get_extraction_events(dispatcher, tracker, domain)  # type: ignore[misc]  # a mixin: the FormValidationAction after it in the MRO has this
        slot = tracker.get_slot("requested_slot")
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        text = tracker.latest_message.get("text") or ""
        if slot not in self.yes_no_slots or text.startswith("/") or is_question(text):
            return events  # a question mid-form is answered, not taken
        answer = typed_answers().answer(text, slot)
        # "no, my feet are fine" also answers the feet question still to come: it is not asked. "my
        # arches are flat" to another question answers the arches one, and that question is asked again.
        later = [s for s in self.yes_no_slots if s != slot and tracker.get_slot(s) is None]
        also = [SlotSet(s, value) for s, value in typed_answers().also_answered(text, later).items()]
        if intent in ("affirm", "deny"):
            # The mappings took the intent; the words win where they say more: "dunno, never thought
            # about it" is not sure, "every night, no pillow" is a yes to the pillow question.
            if answer != UNSURE and not typed_answers().negated_subject(text, slot):
                return events + also
        elif intent in HANDLED or slot in tracker.slots_to_validate():
            return events
        answered = [SlotSet(slot, answer)] if answer else []
        return events + answered + also
