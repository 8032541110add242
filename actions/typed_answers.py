"""Typed answers to a form's yes / no / not sure questions, whatever the NLU made of them."""
from __future__ import annotations

import re
from typing import Any, Dict, FrozenSet, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.answers import typed_answers

# Intents the slot mappings or the rules already handle.
HANDLED = {"affirm", "deny", "unsure", "skip", "stop", "report_red_flag"}
QUESTION = re.compile(r"\?|^\s*(what|why|how|does|do|is|are|can|could|should|would|when|where|which|who)\b", re.I)


class TypedYesNo:
    """Mixed into a FormValidationAction: "my arches are flat" or "yeah a bit" answers the question asked."""

    yes_no_slots: FrozenSet[str] = frozenset()

    async def get_extraction_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: Dict[Text, Any]) -> List[EventType]:
        events = await super().get_extraction_events(dispatcher, tracker, domain)  # type: ignore[misc]
        slot = tracker.get_slot("requested_slot")
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        text = tracker.latest_message.get("text") or ""
        if slot not in self.yes_no_slots or intent in HANDLED or slot in tracker.slots_to_validate():
            return events
        if text.startswith("/") or QUESTION.search(text):  # a question mid-form is answered, not taken
            return events
        answer = typed_answers().answer(text, slot)
        return events + [SlotSet(slot, answer)] if answer else events
