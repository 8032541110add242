"""The red-flag rules and the nerve screening's outcome, case by case."""

import pytest
import yaml

from bot.core.paths import DATA, ROOT
from bot.core.triage import EMERGENCY, NERVE_REVIEW, ROUTINE, URGENT, load_triage, screening_outcome, worst

TRIAGE = load_triage(DATA / "triage.yml")


def rules_for(text):
    return {finding.rule for finding in TRIAGE.red_flags(text)}


@pytest.mark.parametrize("text, rule", [
    ("I can't control my bladder since yesterday", "bladder_bowel"),
    ("i cant pee properly since last night", "bladder_bowel"),
    ("I wet myself this morning without noticing", "bladder_bowel"),
    ("my bowels just went and i didnt know", "bladder_bowel"),
    ("my groin feels numb", "saddle_numbness"),
    ("down below has gone numb since this morning", "saddle_numbness"),
    ("numbness in both buttocks and my inner thighs", "saddle_numbness"),
    ("I can't feel the toilet paper when I wipe", "saddle_numbness_when_wiping"),
    ("my foot keeps slapping the floor when I walk", "foot_drop_or_fast_weakness"),
    ("I can't lift my foot up properly today", "foot_drop_or_fast_weakness"),
    ("my leg is getting weaker by the hour", "leg_weakness_getting_worse_fast"),
    ("my back hurts and I've got a fever", "back_pain_with_fever"),
    ("backache with chills and I feel really unwell", "back_pain_with_fever"),
    ("my hip is hot red and swollen and I'm feverish", "hot_swollen_hip_with_fever"),
    ("I fell today and can't put weight on my leg", "fall_cannot_bear_weight"),
    ("after the fall my leg is turned out", "fall_cannot_bear_weight"),
    ("since the car crash last week my hip hurts", "major_accident"),
    ("I fell off a ladder on sunday and my back is sore", "major_accident"),
    ("I had breast cancer and now there's new pain in my hip", "cancer_history_with_new_pain"),
    ("I've lost weight without trying", "unexplained_weight_loss"),
    ("the pain is terrible at night and wakes me", "severe_night_or_rest_pain"),
    ("both my legs feel weak", "weakness_both_legs"),
    ("went numb between the legs sat on the loo this morning", "saddle_numbness_on_the_toilet"),
    ("since friday the sciatica is in both legs", "sciatica_both_legs"),
    ("shooting pain down one leg and now the other since the weekend", "sciatica_both_legs"),
    ("honestly some days I just want to end it all", "suicidal_thoughts"),
    ("do you do massage? i dont want to live with this anymore", "suicidal_thoughts"),
    ("my family would be better off without me", "suicidal_thoughts"),
])
def test_each_red_flag_is_caught(text, rule):
    assert rule in rules_for(text)


@pytest.mark.parametrize("text, outcome", [
    ("I can't control my bladder", EMERGENCY),
    ("history of prostate cancer and my back aches lately", URGENT),
    ("both legs are weak and I wet myself", EMERGENCY),  # mixed: the worst wins
])
def test_the_worst_outcome_wins(text, outcome):
    assert worst(TRIAGE.red_flags(text)) == outcome


@pytest.mark.parametrize("text", [
    "no numbness, no bladder problems",
    "I don't have a fever",
    "no fever and no chills, my back is just stiff",
    "I have never lost control of my bladder",
    "without any numbness in the groin",
    "my bladder is fine",
])
def test_negations_are_not_red_flags(text):
    assert rules_for(text) == set()


@pytest.mark.parametrize("text", [
    "I had numbness in my groin years ago after surgery",
    "I had a fall two years ago but it's fine now",
    "I had a car accident 20 years ago",
    "I used to have bladder problems after my pregnancy",
])
def test_the_past_is_not_a_red_flag(text):
    assert rules_for(text) == set()


def test_a_recent_event_is_not_the_past():
    assert "fall_cannot_bear_weight" in rules_for("I fell an hour ago and can't stand up")
    assert "saddle_numbness" in rules_for("years ago I had sciatica, but now my groin is numb")


@pytest.mark.parametrize("text", [
    "I don't think so", "not sure", "my outer hip aches after a long walk",
    "my hip hurts at night when I lie on it", "my leg sometimes gives way on long walks",
    "months of outer hip ache, worse on the stairs and when I lie on that side at night",
    "burning in my buttock going down the back of the leg", "my buttock hurts and my foot tingles",
    "what is the gluteus medius", "", "   ", "x" * 20000,
])
def test_ordinary_messages_and_hedges_raise_no_alarm(text):
    assert rules_for(text) == set()


@pytest.mark.parametrize("text", [
    "pins and needles in my foot", "tingling down my shin", "shooting pain below my knee",
    "my calf feels weak", "I struggle to stand on my toes", "my leg gives way sometimes",
])
def test_nerve_signs_are_found(text):
    assert TRIAGE.nerve_signs(text)
    assert worst(TRIAGE.red_flags(text)) != EMERGENCY


def test_denied_nerve_signs_are_not_found():
    assert TRIAGE.nerve_signs("no tingling and no numbness") == []


@pytest.mark.parametrize("answers, outcome", [
    ({"red_flags": "yes"}, EMERGENCY),
    ({"red_flags": "unsure", "weakness": "no"}, URGENT),
    ({"weakness": "yes", "red_flags": "no"}, NERVE_REVIEW),
    ({"weakness": "unsure", "red_flags": "no"}, NERVE_REVIEW),  # a maybe is not reassured away
    ({"numbness": "yes", "red_flags": "no"}, NERVE_REVIEW),
    ({"where": "below_knee", "numbness": "no", "weakness": "no"}, NERVE_REVIEW),
    ({"where": "hip", "numbness": "no", "weakness": "no", "back_pain": "yes", "red_flags": "no"}, ROUTINE),
    ({}, ROUTINE),
])
def test_screening_outcome(answers, outcome):
    assert screening_outcome(answers) == outcome


def test_a_red_flag_found_in_words_decides_the_screening():
    assert screening_outcome({"weakness": "no"}, red_flag_outcome=EMERGENCY) == EMERGENCY


def test_every_rule_is_documented_with_its_outcome_and_source():
    table = yaml.safe_load((DATA / "triage.yml").read_text())
    docs = (ROOT / "docs" / "triage.md").read_text()
    for rule in table["red_flags"]:
        row = next((line for line in docs.splitlines() if line.startswith(f"| `{rule['id']}`")), "")
        assert rule["outcome"] in row and rule["source"].split(":")[0].split(" and ")[0] in row, rule["id"]


def test_the_safety_set_against_the_rule_layer_alone():
    """The rule layer by itself; the full check through the trained model is test_safety_set.py."""
    messages = yaml.safe_load((ROOT / "tests" / "safety_messages.yml").read_text())
    missed = [m for m in messages["emergency"] if worst(TRIAGE.red_flags(m)) != EMERGENCY]
    alarms = [m for m in messages["benign"] if TRIAGE.red_flags(m)]
    assert missed == [] and alarms == []


FLAG, NONE = {"bladder_bowel": 0.9, "none": 0.1}, {"bladder_bowel": 0.05, "none": 0.95}


@pytest.mark.parametrize("text, scores, classifier, level", [
    ("I can't control my bladder", FLAG, False, EMERGENCY),        # rule and model agree: clear
    ("I can't control my bladder", NONE, False, "confirm"),        # they disagree: ask
    ("I can't control my bladder", {}, False, EMERGENCY),          # no model: the rule alone decides
    ("my outer hip aches", FLAG, False, "confirm"),                 # the model alone: ask
    ("my outer hip aches", {"bladder_bowel": 0.4, "none": 0.6}, False, None),
    ("my outer hip aches", {"bladder_bowel": 0.4, "none": 0.6}, True, "confirm"),  # with the classifier
    ("my outer hip aches", NONE, True, None),                       # the classifier alone: nothing
    ("I've lost weight without trying", {"weight_loss": 0.8, "none": 0.2}, False, URGENT),
    ("I've lost weight without trying", {"weight_loss": 0.1, "none": 0.9}, False, None),  # urgent only when clear
    ("I've lost weight without trying", {"weight_loss": 0.99, "none": 0.01}, False, URGENT),
    ("my outer hip aches", {"weight_loss": 0.99, "none": 0.01}, False, None),  # no confirming q. for urgent topics
    ("some days I want to kill myself", NONE, False, EMERGENCY),   # a sure rule: no question, whatever the model
])
def test_the_tiers(text, scores, classifier, level):
    assert TRIAGE.assess(TRIAGE.red_flags(text), scores, classifier).level == level


def test_a_confirming_question_is_about_the_topic_seen():
    assert TRIAGE.assess(TRIAGE.red_flags("my butt is numb"), NONE).topic == "saddle_numbness"
    assert TRIAGE.assess([], {"hip_fracture": 0.9, "none": 0.1}).topic == "hip_fracture"


@pytest.mark.parametrize("text, rule", [
    ("I had breast cancer 5 years ago. Now I have new hip pain.", "cancer_history_with_new_pain"),
    ("I had my hip replaced 3 months ago and now it's swollen, red and hot, and I'm feverish",
     "hot_swollen_hip_with_fever"),
    ("Not much pain just numbness in my groin", "saddle_numbness"),
    ("I wasnt able to hold my pee this morning", "bladder_bowel"),
])
def test_the_past_and_negation_are_judged_per_concept(text, rule):
    assert rule in rules_for(text)


@pytest.mark.parametrize("text", [
    "I watched a car crash on tv and now my hip hurts",
    "I had a car accident years ago and now my hip hurts",
    "i spend hours in my recliner with my legs crossed watching tv, could that be why my hip is weak",
    "why does crossing your legs make the gluteus medius weak",
    "what if I lose control of my bladder one day?",
    "my bottom goes numb if I sit on the toilet for ages with my phone",
    "had sciatica in both legs decades ago, now just an achy outer hip",
    "sciatica down my left leg since tuesday",
    "this hip is killing me on the stairs", "I could murder a cup of tea after those exercises",
    "I don't want to die from a fall, so I do the balance work", "I hurt myself lifting the shopping",
])
def test_unreal_and_old_events_and_ordinary_weakness_fire_no_rule(text):
    assert rules_for(text) == set()


def test_a_one_word_answer_never_raises_a_confirming_question_from_the_model_alone():
    assert TRIAGE.assess([], {"fast_weakness": 0.9, "none": 0.1}, words=1).level is None
    assert TRIAGE.assess([], {"fast_weakness": 0.9, "none": 0.1}, words=6).level == "confirm"


@pytest.mark.parametrize("text", ["standing on tiptoe is harder on my left side",
                                  "the physio exercises have not helped at all after two months",
                                  "burning in my bum that goes down the leg", "a dull pain below my knee",
                                  "my left leg has slowly been getting weaker since the summer"])
def test_everyday_nerve_signs_are_found(text):
    assert TRIAGE.nerve_signs(text)


@pytest.mark.parametrize("text", ["exercises help my hip a lot", "which exercises help?", "whats your phone number",
                                  "my hip is getting weaker", "why is my glute getting weaker"])
def test_ordinary_words_are_not_nerve_signs(text):
    assert TRIAGE.nerve_signs(text) == []


def test_one_reading_gives_the_findings_the_discounted_topics_and_the_nerve_signs():
    reading = TRIAGE.read("I watched a car crash on tv, and now my foot tingles")
    assert reading.findings == [] and "major_trauma" in reading.discounted and reading.nerve_signs == ["tingles"]
