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

from actions.faq import ask_which_topic, describes_nerve_symptoms


class ActionAskRephrase(Action):
    def name(self) -> Text:
        return "action_ask_rephrase"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        if describes_nerve_symptoms(tracker) and not tracker.active_loop.get("name"):
            return [FollowupAction("utter_offer_nerve_screen")]
        ask_which_topic(dispatcher, "utter_ask_rephrase")
        # Forget the misunderstood message so it does not steer the next prediction.
        return [UserUtteranceReverted()]
