"""Custom actions run with rasa-sdk's own Tracker and dispatcher."""
import asyncio
from typing import Any, Dict, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.cause_finder import ActionSummariseCauses
from actions.fallback import ActionAskRephrase
from actions.faq import ActionAnswerFaq, ActionAnswerFollowup


def tracker(intent: str = "faq", slots: Optional[Dict[str, Any]] = None, **message: Any) -> Tracker:
    latest = {"intent": {"name": intent, "confidence": 0.9}, "entities": [], "text": "..."}
    latest.update(message)
    return Tracker("visitor", slots or {}, latest, [], False, None, {}, "action_listen")


def run(action, t: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    return [m.get("response") for m in dispatcher.messages], dispatcher.messages, events


def selected(topic: str) -> Dict[str, Any]:
    return {"faq": {"response": {"intent_response_key": f"faq/{topic}"}}}


def test_faq_answer_comes_from_the_response_selector_and_sets_the_topic():
    said, _, events = run(ActionAnswerFaq(), tracker(response_selector=selected("three_parts")))
    assert said == ["utter_faq/three_parts"]
    assert SlotSet("topic", "three_parts") in events


def test_a_question_describing_nerve_symptoms_also_offers_the_screening():
    t = tracker(response_selector=selected("pinched_nerve"),
                entities=[{"entity": "nerve_sign", "value": "pins and needles"}])
    said, _, events = run(ActionAnswerFaq(), t)
    assert said == ["utter_faq/pinched_nerve"]
    assert events[-1] == FollowupAction("utter_offer_nerve_screen")


def test_a_story_told_with_a_question_on_another_topic_gets_both():
    t = tracker(response_selector=selected("self_test"), text="Threw my back out in March. Is that a thing?")
    said, _, events = run(ActionAnswerFaq(), t)
    assert said == ["utter_faq/self_test", "utter_check_with_clinician", "utter_causes_from_story",
                    "utter_cause/low_back"]
    assert SlotSet("causes_found", ["low_back"]) in events
    t = tracker(response_selector=selected("crossing_legs"), text="I cross my legs all day, is that bad?")
    assert run(ActionAnswerFaq(), t)[0] == ["utter_faq/crossing_legs"]  # the answer already covers the story


def test_why_it_is_weak_with_no_story_gets_the_common_causes_not_a_general_topic():
    t = tracker(response_selector=selected("what_it_does"), text="is it just age? my glute med is weak at 66")
    said, _, events = run(ActionAnswerFaq(), t)
    assert said == ["utter_weakness_causes"] and SlotSet("topic", "weakness_causes") in events
    t = tracker(response_selector=selected("outer_hip_pain_causes"), text="why does the outside of my hip hurt?")
    assert run(ActionAnswerFaq(), t)[0] == ["utter_faq/outer_hip_pain_causes"]  # pain keeps its own answer


def test_treatment_answers_end_with_the_clinician_reminder():
    said, _, _ = run(ActionAnswerFaq(), tracker(response_selector=selected("treatment")))
    assert said == ["utter_faq/treatment", "utter_check_with_clinician"]


def test_a_topic_button_wins_over_the_response_selector():
    t = tracker(entities=[{"entity": "faq_topic", "value": "self_test"}], response_selector=selected("treatment"))
    said, _, events = run(ActionAnswerFaq(), t)
    assert said[0] == "utter_faq/self_test"
    assert SlotSet("topic", "self_test") in events


def test_a_forged_topic_entity_is_ignored():
    t = tracker(entities=[{"entity": "faq_topic", "value": "<script>"}], response_selector=selected("referred_pain"))
    said, _, _ = run(ActionAnswerFaq(), t)
    assert said == ["utter_faq/referred_pain"]


def test_faq_without_any_topic_asks_to_rephrase_with_buttons():
    said, messages, events = run(ActionAnswerFaq(), tracker())
    assert said == ["utter_ask_rephrase"]
    assert messages[0]["buttons"] and events == []


@pytest.mark.parametrize(
    "topic, intent, expected",
    [
        ("crossing_legs", "followup_more", ["utter_faq/side_sleeping"]),
        ("tfl_dominance", "followup_fix", ["utter_faq/tfl_exercise", "utter_check_with_clinician"]),
        ("scar_tissue", "followup_exercise", ["utter_faq/after_treatment_exercise", "utter_check_with_clinician"]),
        ("referred_pain", "followup_why", ["utter_faq/referred_pain"]),
    ],
)
def test_follow_ups_answer_about_the_topic_just_discussed(topic, intent, expected):
    said, _, _ = run(ActionAnswerFollowup(), tracker(intent, {"topic": topic}))
    assert said == expected


def test_a_follow_up_that_leads_to_the_cause_finder_offers_it_as_the_next_action():
    said, _, events = run(ActionAnswerFollowup(), tracker("followup_more", {"topic": "weakness_causes"}))
    assert said == []
    assert events == [FollowupAction("utter_offer_cause_finder")]


def test_how_do_i_fix_that_after_the_causes_gives_the_tips_for_the_causes_found():
    said, _, _ = run(ActionAnswerFollowup(), tracker("followup_fix", {"topic": "found_causes",
                                                                     "causes_found": ["foot_ankle"]}))
    assert said == ["utter_tips_intro", "utter_tip/foot_and_ankle", "utter_faq/tfl_exercise",
                    "utter_check_with_clinician"]


def test_how_do_i_fix_that_with_no_cause_found_gives_the_tips_for_all_four():
    said, _, _ = run(ActionAnswerFollowup(), tracker("followup_fix", {"topic": "weakness_causes"}))
    assert said[0] == "utter_tips_intro" and said[-2:] == ["utter_faq/tfl_exercise", "utter_check_with_clinician"]
    assert {"utter_tip/sit_uncrossed", "utter_tip/pillow_between_knees", "utter_tip/foot_and_ankle",
            "utter_tip/rule_out_nerve"} <= set(said)


def test_a_follow_up_moves_the_topic_on():
    _, _, events = run(ActionAnswerFollowup(), tracker("followup_more", {"topic": "crossing_legs"}))
    assert SlotSet("topic", "side_sleeping") in events


def test_a_follow_up_with_no_topic_yet_asks_which_topic():
    said, messages, _ = run(ActionAnswerFollowup(), tracker("followup_why", {"topic": None}))
    assert said == ["utter_which_topic"]
    assert len(messages[0]["buttons"]) >= 3


def test_rephrase_offers_topic_buttons_and_forgets_the_message():
    said, messages, events = run(ActionAskRephrase(), tracker("nlu_fallback"))
    assert said == ["utter_ask_rephrase"]
    assert all(b["payload"].startswith("/faq{") for b in messages[0]["buttons"])
    assert events[0]["event"] == "rewind"


def finder_slots(crosses=None, sleeps=None, ankles=None, nerve=None) -> Dict[str, Any]:
    return {"crosses_legs": crosses, "side_sleeps_without_pillow": sleeps,
            "stiff_ankles_or_flat_arches": ankles, "nerve_signs": nerve}


def test_summary_lists_fitting_causes_with_tips_and_clears_the_answers():
    said, _, events = run(ActionSummariseCauses(), tracker("deny", finder_slots("yes", "no", "yes", "no")))
    assert said == [
        "utter_causes_intro", "utter_cause/crossed_legs", "utter_cause/foot_ankle",
        "utter_tip/sit_uncrossed", "utter_tip/foot_and_ankle",
        "utter_cause/tfl_dominance", "utter_causes_closing",
    ]
    assert SlotSet("crosses_legs", None) in events and SlotSet("nerve_signs", None) in events


def test_summary_with_a_nerve_sign_hands_over_to_the_nerve_screening():
    said, _, events = run(ActionSummariseCauses(), tracker("affirm", finder_slots("no", "no", "no", "yes")))
    assert "utter_cause/pinched_nerve" in said and "utter_tip/rule_out_nerve" in said
    assert "utter_causes_closing" not in said
    assert events[-1] == FollowupAction("utter_offer_nerve_screen")


def test_no_cause_finder_summary_after_an_emergency():
    slots = dict(finder_slots("yes", "no", "no", "no"), emergency_reported=True)
    said, _, _ = run(ActionSummariseCauses(), tracker("affirm", slots))
    assert said == ["utter_emergency_reminder"]


def test_summary_when_nothing_fits_and_some_answers_were_unsure():
    said, messages, _ = run(ActionSummariseCauses(), tracker("deny", finder_slots("no", "no", "unsure", "no")))
    assert said[0] == "utter_causes_none_fit"
    unsure = [m for m in messages if m["response"] == "utter_causes_unsure"][0]
    assert unsure["unsure_causes"] == "your feet and ankles"


def test_stopping_before_any_answer_just_says_so():
    said, _, _ = run(ActionSummariseCauses(), tracker("stop", finder_slots()))
    assert said == ["utter_causes_nothing_answered"]


def test_an_unplaced_message_describing_nerve_symptoms_gets_the_screening_offer():
    t = tracker("nlu_fallback", entities=[{"entity": "nerve_sign", "value": "buckles"}])
    said, _, events = run(ActionAskRephrase(), t)
    assert said == [] and events == [FollowupAction("utter_offer_nerve_screen")]


def test_a_question_refused_twice_is_not_asked_a_third_time():
    from actions.appointment import ActionExplainField

    said, _, events = run(ActionExplainField(), tracker("refuse", {"requested_slot": "lead_name"}))
    assert said == ["utter_why/lead_name"]
    counts = events[-1]["value"]
    said, _, events = run(ActionExplainField(), tracker("refuse", {"requested_slot": "lead_name",
                                                                  "lead_invalid_answers": counts}))
    assert said == ["utter_question_left_for_staff"] and SlotSet("lead_name", "(not given)") in events
    said, _, events = run(ActionExplainField(), tracker("refuse", {"requested_slot": "lead_contact",
                                                                  "lead_invalid_answers": {"lead_contact": 1}}))
    assert said == ["utter_booking_needs_contact"] and SlotSet("lead_contact", "(none)") in events


def ranking(*pairs):
    return {"faq": {"response": {"intent_response_key": f"faq/{pairs[0][0]}"},
                    "ranking": [{"intent_response_key": f"faq/{t}", "confidence": c} for t, c in pairs]}}


def test_a_close_call_between_two_topics_offers_the_other_as_a_button():
    said, messages, _ = run(ActionAnswerFaq(), tracker(response_selector=ranking(("scar_tissue", 0.5),
                                                                                  ("why_injured", 0.4))))
    assert said[0] == "utter_faq/scar_tissue"
    [offer] = [m for m in messages if m.get("text") == "Or did you mean:"]
    assert offer["buttons"] == [{"title": "Why it gets injured", "payload": '/faq{"faq_topic": "why_injured"}'}]


def test_a_clear_answer_comes_without_the_other_reading():
    _, messages, _ = run(ActionAnswerFaq(), tracker(response_selector=ranking(("scar_tissue", 0.9),
                                                                             ("why_injured", 0.05))))
    assert not [m for m in messages if m.get("text") == "Or did you mean:"]


def test_a_short_question_after_one_cause_is_about_that_cause():
    said, _, events = run(ActionAnswerFaq(), tracker(text="which stretches help with that?", slots={
        "topic": "found_causes", "causes_found": ["foot_ankle"]}))
    assert said[0] == "utter_faq/calf_ankle_stretches" and SlotSet("topic", "calf_ankle_stretches") in events


def test_a_no_that_also_settles_a_later_question_skips_it_whatever_the_intent():
    """The NLU may read "nope, and my feet are fine" as deny (the mapping takes the no) or as something else:
    either way the feet question to come is answered."""
    from actions.cause_finder import ValidateCauseFinderForm

    for intent in ("deny", "inform"):
        latest = {"intent": {"name": intent, "confidence": 0.9}, "entities": [],
                  "text": "nope, and my feet and ankles are fine too"}
        t = Tracker("visitor", {"requested_slot": "crosses_legs"}, latest, [], False, None,
                    {"name": "cause_finder_form"}, "action_listen")
        events = asyncio.run(ValidateCauseFinderForm().get_extraction_events(CollectingDispatcher(), t, {
            "slots": {}, "forms": {"cause_finder_form": {"required_slots": []}}}))
        assert SlotSet("stiff_ankles_or_flat_arches", "no") in events, (intent, events)
