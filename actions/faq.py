"""FAQ answers and the context follow-ups that stay on the topic just discussed."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.cause_answers import explain_causes, mention_causes, story_mentions
from actions.context import accept_offer, answer, answer_in_context, describes_nerve_symptoms, last_utterance
from actions.gaps import note_gap
from bot.core import data
from bot.core.answers import is_question
from bot.core.causes import asks_cause, asks_why_weak, tips_for
from bot.core.knowledge import CAUSE_FINDER, CAUSE_TIPS, Topic, topic_payload

# The response selector's confidence at which a message that is mainly something else (a "no" to an
# offer, a question asked instead of a form's answer) is also answered with its FAQ topic.
SURE_TOPIC = 0.5

FOLLOWUP_INTENTS = {
    "followup_more": "more",
    "followup_why": "why",
    "followup_fix": "fix",
    "followup_exercise": "exercise",
}


def faq_selection(latest_message: Dict[Text, Any]) -> Dict[Text, Any]:
    """The response selector's output for FAQ topics: under "faq" with our config, under "default"
    with a ResponseSelector that names no retrieval intent (Rasa's stock config)."""
    selectors = latest_message.get("response_selector") or {}
    return selectors.get("faq") or selectors.get("default") or {}


def asked_topic(latest_message: Dict[Text, Any]) -> Optional[Topic]:
    """The FAQ topic of a message: a topic button's entity, else the response selector's pick."""
    knowledge = data.knowledge()
    for entity in latest_message.get("entities") or []:
        if entity.get("entity") == "faq_topic":
            topic = knowledge.topics.get(str(entity.get("value")))
            if topic is not None:
                return topic
    selector = faq_selection(latest_message)
    full_intent = (selector.get("response") or {}).get("intent_response_key")
    return knowledge.topic_for_intent(full_intent)


def topic_confidence(latest_message: Dict[Text, Any]) -> float:
    """How sure the response selector is of its FAQ topic for a message."""
    selector = faq_selection(latest_message)
    return float((selector.get("response") or {}).get("confidence") or 0)


def ask_which_topic(dispatcher: CollectingDispatcher, response: str) -> None:
    dispatcher.utter_message(response=response, buttons=data.knowledge().menu_buttons())


class ActionAnswerFaq(Action):
    def name(self) -> Text:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        in_context = answer_in_context(dispatcher, tracker)
        if in_context is not None:
            return in_context
        mentions, denied = story_mentions(tracker)
        topic = asked_topic(tracker.latest_message)
        text = tracker.latest_message.get("text") or ""
        story = mentions and (not is_question(text) or asks_cause(data.cause_finder(), text)
                              or (topic is not None and topic.key in data.cause_finder().general_topics))
        general = topic is None or topic.key in data.cause_finder().general_topics
        idle = not tracker.active_loop.get("name")
        if idle and not mentions and general and asks_why_weak(data.cause_finder(), text):
            return explain_causes(dispatcher, tracker, [])  # "why would it be weak at my age?": the common causes
        if not tracker.active_loop.get("name") and (len(mentions) >= 2 or (mentions and denied) or story):
            # A story of several causes ("I cross my legs and have flat feet"), one that rules the topic's
            # cause out, or one told without a question or with a general one: the causes that fit,
            # rather than one topic.
            return explain_causes(dispatcher, tracker, mentions)
        if topic is None:
            ask_which_topic(dispatcher, "utter_ask_rephrase")
            await note_gap(tracker, "fallback")
            return []
        selector = faq_selection(tracker.latest_message)
        if ask_two_readings(dispatcher, tracker, selector):
            return []
        events = answer(dispatcher, topic)
        told = [m for m in mentions if topic.key not in m.topics]
        if told and not tracker.active_loop.get("name"):
            # "I threw my back out in March; is that a thing?" read as another topic: that answer, then the
            # cause the story tells of, so the story is not lost.
            events += mention_causes(dispatcher, told)
        other = data.knowledge().runner_up(selector.get("ranking") or [], topic)
        if other is not None:  # a close call: the other reading, one tap away
            dispatcher.utter_message(text=data.knowledge().close_call_prompt,
                                     buttons=[{"title": other.label, "payload": topic_payload(other.key)}])
        if describes_nerve_symptoms(tracker) and not tracker.active_loop.get("name"):
            # A question that also describes nerve-like symptoms: offer the screening too.
            events.append(FollowupAction("utter_offer_nerve_screen"))
        return events


def ask_two_readings(dispatcher: CollectingDispatcher, tracker: Tracker, selector: Dict[Text, Any],
                     placed: bool = True) -> bool:
    """For a long message with an unclear reading: one short question, the two likeliest topics as buttons."""
    knowledge = data.knowledge()
    topics = knowledge.two_readings(selector.get("ranking") or [], tracker.latest_message.get("text") or "", placed)
    if topics is None or tracker.active_loop.get("name"):
        return False
    dispatcher.utter_message(text=knowledge.unsure_prompt,
                             buttons=[{"title": t.label, "payload": topic_payload(t.key)} for t in topics])
    return True


def follow_up(dispatcher: CollectingDispatcher, tracker: Tracker, kind: str) -> List[EventType]:
    """Answer a follow-up of this kind ("more", "why", "fix", "exercise") about the topic just discussed."""
    target = data.knowledge().followup(tracker.get_slot("topic"), kind)
    if target is None:
        ask_which_topic(dispatcher, "utter_which_topic")
        return []
    if target == CAUSE_FINDER and tracker.active_loop.get("name"):
        # Mid-form, no second offer of a check: the causes in brief, and the form asks again.
        dispatcher.utter_message(response="utter_weakness_causes")
        return []
    if target == CAUSE_FINDER and last_utterance(tracker) == "utter_offer_cause_finder":
        accepted = accept_offer(dispatcher, tracker)  # "go on then, run it"
        if accepted is not None:
            return accepted
        target = CAUSE_TIPS  # "tell me more" with the offer made: no second offer, the tips
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


def in_context_or_follow_up(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[EventType]]:
    """For a message the NLU could not place: a question about the last answer, a yes to the offer
    just made, or a follow-up in general words ("and after that?"); None when it is none of these."""
    in_context = answer_in_context(dispatcher, tracker)
    if in_context is not None:
        return in_context
    accepted = accept_offer(dispatcher, tracker)
    if accepted is not None:
        return accepted
    kind = data.knowledge().followup_kind(tracker.latest_message.get("text") or "")
    if kind and tracker.get_slot("topic"):
        return follow_up(dispatcher, tracker, kind)
    return None


class ActionAnswerFollowup(Action):
    def name(self) -> Text:
        return "action_answer_followup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        in_context = answer_in_context(dispatcher, tracker)
        if in_context is not None:
            return in_context
        kind = FOLLOWUP_INTENTS.get((tracker.latest_message.get("intent") or {}).get("name") or "", "more")
        return follow_up(dispatcher, tracker, kind)


class ActionAnswerCapabilities(Action):
    """"What can you do?" or a stray yes / no, unless it is a short follow-up ("so what's my next step?")
    or a yes to an offer the NLU did not see as one."""

    def name(self) -> Text:
        return "action_answer_capabilities"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        events = in_context_or_follow_up(dispatcher, tracker)
        if events is not None:
            return events
        if describes_nerve_symptoms(tracker) and not tracker.active_loop.get("name"):
            # "pain goes down the back of my thigh, below the knee" read as a stray answer to the
            # screening's where-question: the symptoms matter more than the wording.
            return [FollowupAction("utter_offer_nerve_screen")]
        dispatcher.utter_message(response="utter_capabilities")
        return []


class ActionDeclineOffer(Action):
    """No to an offered check, and maybe a question with it ("no thanks, just tell me about the pillow")."""

    def name(self) -> Text:
        return "action_decline_offer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        text = tracker.latest_message.get("text") or ""
        topic = asked_topic(tracker.latest_message)
        asked = topic_confidence(tracker.latest_message) >= SURE_TOPIC or data.knowledge().asks_for_a_topic(text)
        if topic is not None and asked and len(text.split()) >= 4:
            dispatcher.utter_message(response="utter_no_problem_short")
            return answer(dispatcher, topic)
        dispatcher.utter_message(response="utter_no_problem")
        return []
