"""Why is my hip weak? Answered from what the visitor told: the causes their story points to, with tips."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import accept_offer, answer_in_context, describes_nerve_symptoms, last_utterance
from bot.core import data
from bot.core.causes import Mention, mentioned_causes


def story_mentions(tracker: Tracker) -> "tuple[List[Mention], List[str]]":
    return mentioned_causes(data.cause_finder(), tracker.latest_message.get("text") or "")


def explain_causes(dispatcher: CollectingDispatcher, tracker: Tracker, mentions: List[Mention]) -> List[EventType]:
    """The causes the visitor's story points to, each with its tip, or the four common ones; then an offer."""
    return explain(dispatcher, mentions, describes_nerve_symptoms(tracker), last_utterance(tracker))


def explain(dispatcher: CollectingDispatcher, mentions: List[Mention], nerve_signs: bool,
            said_last: Optional[str]) -> List[EventType]:
    """explain_causes from its parts, for a message other than the latest one (a denied red flag's).

    The offer is the nerve screening where the story or the rule layer points
    to a nerve, else the cause finder's check of the rest.
    """
    screen = nerve_signs or any(m.screen for m in mentions)
    offer_response = "utter_offer_nerve_screen" if screen else "utter_offer_cause_finder"
    # The same offer twice in a row is a repeated question: not made again just after it was made.
    offer = FollowupAction("action_listen" if said_last == offer_response else offer_response)
    if not mentions:
        dispatcher.utter_message(response="utter_weakness_causes")
        return [SlotSet("topic", "weakness_causes"), offer]
    dispatcher.utter_message(response="utter_causes_from_story")
    for response in dict.fromkeys(r for m in mentions for r in m.say):
        dispatcher.utter_message(response=response)
    return [SlotSet("topic", "found_causes"), SlotSet("causes_found", [m.cause for m in mentions]), offer]


def mention_causes(dispatcher: CollectingDispatcher, mentions: List[Mention]) -> List[EventType]:
    """After another answer: the causes a story told of, one line each, with no offer."""
    dispatcher.utter_message(response="utter_causes_from_story")
    for response in dict.fromkeys(m.say[0] for m in mentions):
        dispatcher.utter_message(response=response)
    return [SlotSet("causes_found", [m.cause for m in mentions])]


class ActionExplainCauses(Action):
    def name(self) -> Text:
        return "action_explain_causes"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        # "what if I lose my balance?" after the exercise reads as a cause question to the NLU.
        in_context = answer_in_context(dispatcher, tracker)
        if in_context is not None:
            return in_context + [FollowupAction("action_listen")]  # no cause-finder offer after it
        accepted = accept_offer(dispatcher, tracker)  # "I do, constantly" to the offer of the check
        if accepted is not None:
            return accepted
        return explain_causes(dispatcher, tracker, story_mentions(tracker)[0])
