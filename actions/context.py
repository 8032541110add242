"""Answers that depend on what was just said: the topic answer that is remembered, short questions about it."""
from __future__ import annotations

from typing import List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.core import data
from bot.core.answers import YES, typed_answers
from bot.core.knowledge import CAUSE_FINDER, CAUSE_TIPS, Topic

# An offer the visitor may accept in words the NLU does not place: its opening line (if any) and its form.
OFFERS = {
    "utter_offer_cause_finder": ("utter_cause_finder_start", "cause_finder_form"),
    "utter_offer_nerve_screen": ("utter_nerve_screen_start", "nerve_screen_form"),
    "utter_causes_closing": (None, "appointment_form"),
    "utter_screening/nerve_review": (None, "appointment_form"),
    "utter_screening/routine": (None, "appointment_form"),
    # The menu ends with the short check of causes: a yes to it is a yes to that, not a cue for the menu again.
    "utter_capabilities": ("utter_cause_finder_start", "cause_finder_form"),
}


def topic_of(tracker: Tracker) -> Optional[str]:
    """The topic a short question is about: after the causes a story told, when it told of one, that cause's
    own topic ("what stretches for that?" after the feet and ankles is about their stretches). General
    follow-ups ("how do I fix that?") keep the causes' topic: their tips."""
    topic = tracker.get_slot("topic")
    found = tracker.get_slot("causes_found") or []
    if topic == "found_causes" and len(found) == 1:
        return next((m.topics[0] for m in data.cause_finder().mentions if m.cause == found[0] and m.topics), topic)
    return topic


def last_utterance(tracker: Tracker) -> Optional[str]:
    """The response the bot last said, e.g. "utter_offer_cause_finder"."""
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return (event.get("metadata") or {}).get("utter_action")
    return None


def start_offered(dispatcher: CollectingDispatcher, tracker: Tracker, offer: str) -> List[EventType]:
    """Start what an offer ("utter_offer_cause_finder") offered: its opening line, then its form.

    The cause finder's questions that the accepting words already answer ("yes, usually right over
    left") are not asked.
    """
    opening, form = OFFERS[offer]
    if opening:
        dispatcher.utter_message(response=opening)
    answered: List[EventType] = []
    if form == "cause_finder_form":
        text = tracker.latest_message.get("text") or ""
        found = typed_answers().also_answered(text, data.cause_finder().slots)
        answered = [SlotSet(slot, value) for slot, value in found.items()]
    return answered + [FollowupAction(form)]


def accept_offer(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[EventType]]:
    """A yes in any words ("go on then, do it") to the offer just made starts it; None otherwise."""
    offer = last_utterance(tracker)
    if offer in OFFERS and typed_answers().answer(tracker.latest_message.get("text") or "") == YES:
        return start_offered(dispatcher, tracker, offer)
    return None


def describes_nerve_symptoms(tracker: Tracker) -> bool:
    """The rule layer found nerve-like symptoms (not denied) in the latest message."""
    return any(e.get("entity") == "nerve_sign" for e in tracker.latest_message.get("entities") or [])


def answer(dispatcher: CollectingDispatcher, topic: Topic) -> List[EventType]:
    """Say a topic's answer, its clinician reminder if it has one, and remember the topic."""
    dispatcher.utter_message(response=topic.response)
    if topic.clinician_reminder:
        dispatcher.utter_message(response="utter_check_with_clinician")
    return [SlotSet("topic", topic.key)]


def answer_in_context(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[EventType]]:
    """A short question about the answer just given ("how heavy?", "and after that?"), or None."""
    if any(e.get("entity") == "faq_topic" for e in tracker.latest_message.get("entities") or []):
        return None  # a topic button names its topic
    knowledge = data.knowledge()
    target = knowledge.in_context(topic_of(tracker), tracker.latest_message.get("text") or "")
    if target is None or target in (CAUSE_FINDER, CAUSE_TIPS):
        return None
    if target in knowledge.topics:
        return answer(dispatcher, knowledge.topics[target])
    dispatcher.utter_message(response=target)
    return []  # the topic stays: the next short question is about it too
