import dataclasses
from pathlib import Path

import pytest

from bot.core.knowledge import CAUSE_FINDER, CAUSE_TIPS, FOLLOWUP_KINDS, TopicDataError, load_knowledge, topic_payload
from bot.core.paths import DATA

KNOWLEDGE = load_knowledge(DATA / "topics.yml")


def test_every_topic_has_a_target_for_every_follow_up_kind():
    for topic in KNOWLEDGE.topics.values():
        for kind in FOLLOWUP_KINDS:
            target = KNOWLEDGE.followup(topic.key, kind)
            assert target in KNOWLEDGE.topics or target in (CAUSE_FINDER, CAUSE_TIPS), (topic.key, kind)


def test_follow_ups_lead_somewhere_new_for_more():
    # "tell me more" must never repeat the answer just given.
    for topic in KNOWLEDGE.topics.values():
        assert topic.followups["more"] != topic.key, topic.key


def test_follow_up_without_a_topic_has_no_target():
    assert KNOWLEDGE.followup(None, "why") is None
    assert KNOWLEDGE.followup("no_such_topic", "fix") is None


def test_topic_for_intent_reads_the_retrieval_key():
    assert KNOWLEDGE.topic_for_intent("faq/self_test").key == "self_test"
    assert KNOWLEDGE.topic_for_intent("faq/unknown") is None
    assert KNOWLEDGE.topic_for_intent("greet") is None
    assert KNOWLEDGE.topic_for_intent(None) is None


def test_treatment_and_exercise_topics_carry_the_clinician_reminder():
    reminded = {key for key, topic in KNOWLEDGE.topics.items() if topic.clinician_reminder}
    assert {"treatment", "after_treatment_exercise", "tfl_exercise", "foot_arch_exercise",
            "calf_ankle_stretches", "self_test"} <= reminded
    assert "what_is_gluteus_medius" not in reminded


def test_a_broken_link_in_the_topics_file_is_refused(tmp_path: Path):
    path = tmp_path / "topics.yml"
    path.write_text("topics:\n  a:\n    label: A\n    followups: {more: b, why: a, fix: a, exercise: a}\n")
    with pytest.raises(TopicDataError, match="topics.a.followups.more: unknown target 'b'"):
        load_knowledge(path)


def test_a_missing_follow_up_kind_is_refused(tmp_path: Path):
    path = tmp_path / "topics.yml"
    path.write_text("topics:\n  a:\n    label: A\n    followups: {more: a}\n")
    with pytest.raises(TopicDataError, match="missing why, fix, exercise"):
        load_knowledge(path)


def test_topic_buttons_parse_as_the_faq_intent_with_the_topic_entity():
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.nlu.training_data.message import Message

    domain = Domain.load(str(DATA.parent / "domain.yml"))
    for button in KNOWLEDGE.menu_buttons():
        parsed = YAMLStoryReader.unpack_regex_message(Message({"text": button["payload"]}), domain)
        assert parsed.get("intent")["name"] == "faq"
        assert parsed.get("entities")[0]["entity"] == "faq_topic"
        assert parsed.get("entities")[0]["value"] in KNOWLEDGE.topics
    assert topic_payload("self_test") == '/faq{"faq_topic": "self_test"}'


@pytest.mark.parametrize("topic, text, says", [
    ("after_treatment_exercise", "how heavy??", "utter_detail/exercise_weight"),
    ("after_treatment_exercise", "and how many sets", "utter_detail/exercise_sets"),
    ("after_treatment_exercise", "is it supposed to ache", "utter_detail/exercise_pain"),
    ("tfl_exercise", "I'm worried I'll topple over", "utter_detail/single_leg_balance"),
    ("self_test", "which leg goes on top", "utter_detail/self_test_legs"),
    ("pinched_nerve", "how would I know if I have one", "nerve_early_signs"),
    ("tfl_exercise", "anything i need to be careful of", "utter_detail/single_leg_balance"),
    ("after_treatment_exercise", "how will i know its the right one", "utter_detail/exercise_weight"),
    ("pinched_nerve", "even if my back is not sore?", "pinched_nerve"),
    ("pinched_nerve", "what would i notice first", "nerve_early_signs"),
    ("what_is_gluteus_medius", "and going up stairs?", "what_it_does"),
    ("see_doctor_first", "what might it be then", "outer_hip_pain_causes"),
    ("after_treatment_exercise", "is that safe for me, i'm 72 with a replaced knee", "utter_detail/exercise_safe"),
    ("tfl_exercise", "ok for me with arthritis?", "utter_detail/exercise_safe"),
    ("foot_arch_exercise", "would it be ok for me? I had both hips replaced a few years back and still feel stiff",
     "utter_detail/exercise_safe"),
    ("foot_ankle", "and what should i stretch", "calf_ankle_stretches"),
    ("foot_arch_exercise", "any stretches to go with it?", "calf_ankle_stretches"),
    ("foot_arch_exercise", "and for how long do i keep that up", "utter_detail/stretch_hold"),
    ("self_test", "how far do i take the leg back", "utter_detail/self_test_legs"),
    ("treatment", "how heavy", None),  # a question about an answer not given
    ("after_treatment_exercise", "I have been doing the exercise every day for three weeks and it is hard to say "
                                 "whether it helps, what do you think", None),  # no short question
])
def test_a_short_question_is_read_against_the_answer_just_given(topic, text, says):
    assert KNOWLEDGE.in_context(topic, text) == says


@pytest.mark.parametrize("text, kind", [
    ("and after that?", "more"), ("what next", "more"), ("how do i sort that out", "fix"),
    ("how come?", "why"), ("what is the gluteus medius", None), ("like what?", "more"), ("such as?", "more"),
    ("ok, mine does that. what about for it?", "fix"), ("what can i do for that", "fix"),
])
def test_follow_ups_in_general_words(text, kind):
    assert KNOWLEDGE.followup_kind(text) == kind


def test_every_detail_answer_is_a_response_or_a_topic():
    domain = (DATA.parent / "domain.yml").read_text(encoding="utf-8")
    for details in KNOWLEDGE.details.values():
        for detail in details:
            assert detail.say in KNOWLEDGE.topics or f"  {detail.say}:" in domain, detail.say


def _ranking(first, second, c1, c2):
    return [{"intent_response_key": f"faq/{first}", "confidence": c1},
            {"intent_response_key": f"faq/{second}", "confidence": c2}]


LONG = ("I have been reading all about this and my sister says one thing and my doctor another so "
        "which is it really")


def test_a_long_message_with_two_close_readings_asks_which_is_meant_when_a_margin_is_set():
    knowledge = dataclasses.replace(KNOWLEDGE, unsure_margin=0.1)
    topics = knowledge.two_readings(_ranking("treatment", "self_test", 0.41, 0.38), LONG)
    assert [t.key for t in topics] == ["treatment", "self_test"]


def test_a_clear_or_short_message_is_answered_without_asking():
    knowledge = dataclasses.replace(KNOWLEDGE, unsure_margin=0.1)
    assert knowledge.two_readings(_ranking("treatment", "self_test", 0.8, 0.1), LONG) is None
    assert knowledge.two_readings(_ranking("treatment", "self_test", 0.41, 0.38), "how is it treated") is None


def test_a_long_message_the_nlu_could_not_place_gets_its_two_likeliest_readings():
    knowledge = KNOWLEDGE
    assert knowledge.two_readings(_ranking("treatment", "self_test", 0.8, 0.1), LONG, placed=False)
