"""FAQ answers and the context follow-ups that stay on the topic just discussed."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import data
from bot.causes import tips_for
from bot.knowledge import CAUSE_FINDER, CAUSE_TIPS, Topic, topic_payload

FOLLOWUP_INTENTS = {
    "followup_more": "more",
    "followup_why": "why",
    "followup_fix": "fix",
    "followup_exercise": "exercise",
}


def asked_topic(latest_message: Dict[Text, Any]) -> Optional[Topic]:
    """The FAQ topic of a message: a topic button's entity, else the response selector's pick."""
    knowledge = data.knowledge()
    for entity in latest_message.get("entities") or []:
        if entity.get("entity") == "faq_topic":
            topic = knowledge.topics.get(str(entity.get("value")))
            if topic is not None:
                return topic
    selector = (latest_message.get("response_selector") or {}).get("faq") or {}
    full_intent = (selector.get("response") or {}).get("intent_response_key")
    return knowledge.topic_for_intent(full_intent)


def describes_nerve_symptoms(tracker: Tracker) -> bool:
    """The rule layer found nerve-like symptoms (not denied) in the latest message."""
    return any(e.get("entity") == "nerve_sign" for e in tracker.latest_message.get("entities") or [])


def answer(dispatcher: CollectingDispatcher, topic: Topic) -> List[EventType]:
    """Say a topic's answer, its clinician reminder if it has one, and remember the topic."""
    dispatcher.utter_message(response=topic.response)
    if topic.clinician_reminder:
        dispatcher.utter_message(response="utter_check_with_clinician")
    return [SlotSet("topic", topic.key)]


def ask_which_topic(dispatcher: CollectingDispatcher, response: str) -> None:
    dispatcher.utter_message(response=response, buttons=data.knowledge().menu_buttons())


class ActionAnswerFaq(Action):
    def name(self) -> Text:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        topic = asked_topic(tracker.latest_message)
        if topic is None:
            ask_which_topic(dispatcher, "utter_ask_rephrase")
            return []
        events = answer(dispatcher, topic)
        selector = (tracker.latest_message.get("response_selector") or {}).get("faq") or {}
        other = data.knowledge().runner_up(selector.get("ranking") or [], topic)
        if other is not None:  # a close call: the other reading, one tap away
            dispatcher.utter_message(text=data.knowledge().close_call_prompt,
                                     buttons=[{"title": other.label, "payload": topic_payload(other.key)}])
        if describes_nerve_symptoms(tracker) and not tracker.active_loop.get("name"):
            # A question that also describes nerve-like symptoms: offer the screening too.
            events.append(FollowupAction("utter_offer_nerve_screen"))
        return events


class ActionAnswerFollowup(Action):
    def name(self) -> Text:
        return "action_answer_followup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        kind = FOLLOWUP_INTENTS.get((tracker.latest_message.get("intent") or {}).get("name"), "more")
        target = data.knowledge().followup(tracker.get_slot("topic"), kind)
        if target is None:
            ask_which_topic(dispatcher, "utter_which_topic")
            return []
        if target == CAUSE_FINDER:
            # As an action of its own, so the rules for answering the offer apply.
            return [FollowupAction("utter_offer_cause_finder")]
        if target == CAUSE_TIPS:  # "how do I fix that?" after the causes: their tips
            dispatcher.utter_message(response="utter_tips_intro")
            for tip in tips_for(data.cause_finder(), tracker.get_slot("causes_found")):
                dispatcher.utter_message(response=tip)
            dispatcher.utter_message(response="utter_check_with_clinician")
            return [SlotSet("topic", "tfl_exercise")]
        return answer(dispatcher, data.knowledge().topics[target])
