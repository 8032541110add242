"""Low NLU confidence: ask to rephrase and offer the main topics as buttons.

A message the NLU could not place that still describes nerve-like symptoms gets
the offer of the nerve screening instead: the symptoms matter more than the
wording.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.cause_answers import explain_causes, story_mentions
from actions.context import describes_nerve_symptoms
from actions.faq import ask_two_readings, ask_which_topic, faq_selection, in_context_or_follow_up
from actions.gaps import note_gap


class ActionAskRephrase(Action):
    def name(self) -> Text:
        return "action_ask_rephrase"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        in_context = in_context_or_follow_up(dispatcher, tracker)  # "should it hurt?" about the last answer
        if in_context is not None:
            return in_context
        mentions = story_mentions(tracker)[0]
        if mentions and not tracker.active_loop.get("name"):
            return explain_causes(dispatcher, tracker, mentions)  # a story the NLU could not place
        if describes_nerve_symptoms(tracker) and not tracker.active_loop.get("name"):
            return [FollowupAction("utter_offer_nerve_screen")]
        if ask_two_readings(dispatcher, tracker, faq_selection(tracker.latest_message), placed=False):
            return [UserUtteranceReverted()]  # a long message: its two likeliest readings, not the menu
        ask_which_topic(dispatcher, "utter_ask_rephrase")
        if not tracker.active_loop.get("name"):  # mid-form, an answer the form could not read is no content gap
            await note_gap(tracker, "fallback")
        # Forget the misunderstood message so it does not steer the next prediction.
        return [UserUtteranceReverted()]
