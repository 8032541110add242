"""Low NLU confidence: ask to rephrase and offer the main topics as buttons."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.faq import ask_which_topic


class ActionAskRephrase(Action):
    def name(self) -> Text:
        return "action_ask_rephrase"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        ask_which_topic(dispatcher, "utter_ask_rephrase")
        # Forget the misunderstood message so it does not steer the next prediction.
        return [UserUtteranceReverted()]
