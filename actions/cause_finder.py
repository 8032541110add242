"""The cause finder's summary: the causes that fit this visitor, each with its tip."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.typed_answers import TypedYesNo
from bot.core import data
from bot.core.causes import summarise

CAUSE_NAMES = {
    "crossed_legs": "how you sit or sleep",
    "foot_ankle": "your feet and ankles",
    "pinched_nerve": "nerve signs",
}


class ValidateCauseFinderForm(TypedYesNo, FormValidationAction):
    yes_no_slots = frozenset(data.cause_finder().slots)

    def name(self) -> Text:
        return "validate_cause_finder_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: Dict[Text, Any]) -> List[Text]:
        # No interview continues past an emergency.
        return [] if tracker.get_slot("emergency_reported") else domain_slots


class ActionSummariseCauses(Action):
    def name(self) -> Text:
        return "action_summarise_causes"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        finder = data.cause_finder()
        if tracker.get_slot("emergency_reported"):
            dispatcher.utter_message(response="utter_emergency_reminder")
            return [SlotSet(slot, None) for slot in finder.slots]
        answers = {slot: tracker.get_slot(slot) for slot in finder.slots}
        summary = summarise(finder, answers)
        if summary.answered == 0:
            dispatcher.utter_message(response="utter_causes_nothing_answered")
        else:
            if summary.causes:
                dispatcher.utter_message(response="utter_causes_intro")
                for cause in summary.causes:
                    dispatcher.utter_message(response=finder.causes[cause])
                for tip in summary.tips:
                    dispatcher.utter_message(response=tip)
            else:
                dispatcher.utter_message(response="utter_causes_none_fit")
            dispatcher.utter_message(response=finder.always_mention)
            if summary.unsure_causes:
                dispatcher.utter_message(
                    response="utter_causes_unsure",
                    unsure_causes=", ".join(CAUSE_NAMES.get(c, c) for c in summary.unsure_causes),
                )
            if not summary.nerve_sign:
                dispatcher.utter_message(response="utter_causes_closing")
        result = ", ".join(CAUSE_NAMES.get(cause, cause) for cause in summary.causes) or "no common cause fitted"
        # Clear the answers so the check can be taken again from the start.
        events = [SlotSet(slot, None) for slot in finder.slots] + [
            SlotSet("topic", "found_causes" if summary.answered else "weakness_causes"),
            SlotSet("causes_found", summary.causes if summary.answered else None),
            SlotSet("cause_finder_result", result if summary.answered else None),
        ]
        if summary.nerve_sign:
            # A nerve sign hands over to the nerve screening, as an action of its own
            # so the rules for answering the offer apply.
            events.append(FollowupAction("utter_offer_nerve_screen"))
        return events
