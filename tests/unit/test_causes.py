import pytest

from bot.core.causes import asks_cause, asks_why_weak, load_cause_finder, mentioned_causes, summarise
from bot.core.paths import DATA

FINDER = load_cause_finder(DATA / "causes.yml")


def answers(crosses=None, sleeps=None, ankles=None, nerve=None):
    return {
        "crosses_legs": crosses,
        "side_sleeps_without_pillow": sleeps,
        "stiff_ankles_or_flat_arches": ankles,
        "nerve_signs": nerve,
    }


def test_the_questions_are_the_four_from_the_data_file_in_order():
    assert FINDER.slots == list(answers())


@pytest.mark.parametrize(
    "given, causes, tips",
    [
        (answers("yes", "no", "no", "no"), ["crossed_legs"], ["utter_tip/sit_uncrossed"]),
        (answers("no", "yes", "no", "no"), ["crossed_legs"], ["utter_tip/pillow_between_knees"]),
        (answers("yes", "yes", "no", "no"), ["crossed_legs"],
         ["utter_tip/sit_uncrossed", "utter_tip/pillow_between_knees"]),
        (answers("no", "no", "yes", "no"), ["foot_ankle"], ["utter_tip/foot_and_ankle"]),
        (answers("no", "no", "no", "yes"), ["pinched_nerve"], ["utter_tip/rule_out_nerve"]),
        (answers("no", "no", "no", "no"), [], []),
        (answers("yes", "no", "yes", "yes"), ["crossed_legs", "foot_ankle", "pinched_nerve"],
         ["utter_tip/sit_uncrossed", "utter_tip/foot_and_ankle", "utter_tip/rule_out_nerve"]),
    ],
)
def test_each_yes_brings_its_cause_and_tip(given, causes, tips):
    summary = summarise(FINDER, given)
    assert summary.causes == causes
    assert summary.tips == tips
    assert summary.answered == 4


def test_a_nerve_sign_is_flagged_for_a_clinician():
    assert summarise(FINDER, answers(nerve="yes")).nerve_sign
    assert not summarise(FINDER, answers(nerve="no")).nerve_sign


def test_not_sure_keeps_a_cause_open_without_claiming_it_fits():
    summary = summarise(FINDER, answers("no", "no", "unsure", "unsure"))
    assert summary.causes == []
    assert summary.unsure_causes == ["foot_ankle", "pinched_nerve"]
    assert not summary.nerve_sign


def test_unsure_about_one_question_but_yes_to_another_of_the_same_cause_means_it_fits():
    summary = summarise(FINDER, answers("unsure", "yes", None, None))
    assert summary.causes == ["crossed_legs"]
    assert summary.unsure_causes == []


def test_skipped_and_unanswered_questions_count_as_not_answered():
    summary = summarise(FINDER, answers("skipped", None, "yes", "skipped"))
    assert summary.answered == 1
    assert summary.causes == ["foot_ankle"]


def test_stopping_before_any_answer_yields_nothing():
    summary = summarise(FINDER, answers())
    assert summary.answered == 0 and summary.causes == [] and summary.tips == []


def test_unknown_answer_values_are_ignored():
    assert summarise(FINDER, answers("YES!!", 3, [], {"x": 1})).answered == 0


def found(text):
    mentions, denied = mentioned_causes(FINDER, text)
    return sorted(m.cause for m in mentions), sorted(denied)


@pytest.mark.parametrize(
    "text, causes",
    [
        ("been sitting cross legged on the couch most of my life, now my hip's giving out", ["crossed_legs"]),
        ("my husband always has one leg over the other at the table, could that be why his hip is weak",
         ["crossed_legs"]),
        ("I'm a side sleeper and never use a pillow between my knees", ["crossed_legs"]),
        ("podiatrist says I've got fallen arches. hip weak too. connected?", ["foot_ankle"]),
        ("ankles are so stiff in the morning and my outer hip aches", ["foot_ankle"]),
        ("when i walk my knee caves in and my hip drops", ["tfl_dominance"]),
        ("my physio mentioned TFL being overactive", ["tfl_dominance"]),
        ("pins and needles down my shin and the hip feels weak", ["pinched_nerve"]),
        ("my calf went weak last year and my hip now too", ["pinched_nerve"]),
        ("Strained my lower back gardening in spring and the side of my hip has hurt since", ["low_back"]),
        ("I cross my legs all day at work and I have flat feet", ["crossed_legs", "foot_ankle"]),
        ("every night she watches telly with her left leg slung over the right", ["crossed_legs"]),
        ("at my desk I sit with one ankle across the other for hours", ["crossed_legs"]),
        ("went over on my ankle playing tennis years back and it's been stiff since", ["foot_ankle"]),
        ("had ankle surgery in 2015, now the hip on that side is weak", ["foot_ankle"]),
        ("my back gave out lifting a bag of compost and now the outer hip hurts", ["low_back"]),
        ("they found a bulging disc on my scan last year", ["low_back"]),
        ("why is my hip weak?", []),
        ("please book me, my number is 314 555 0176 and mornings suit", []),  # a "number" is no numbness
        ("my foot goes numb when I sit and the hip is weak", ["pinched_nerve"]),
        ("the calf on my bad side tires out before the other one does", ["pinched_nerve"]),
        ("years back I had a disc issue, now the side of my hip is weak", ["low_back"]),
        ("lower back problems for a decade and now this hip", ["low_back"]),
        ("slipped on the ice in January and landed on my side, the hip's been weak since", ["injury"]),
        ("I think I pulled a glute muscle at pilates", ["injury"]),
        ("I can't fall asleep on my side, the hip aches too much", []),
    ],
)
def test_a_visitors_story_points_to_the_causes_it_tells_of(text, causes):
    assert found(text)[0] == causes


@pytest.mark.parametrize(
    "text, causes, denied",
    [
        ("I never cross my legs, but my arches have collapsed", ["foot_ankle"], ["crossed_legs"]),
        ("no numbness at all, I just sit cross-legged a lot", ["crossed_legs"], ["pinched_nerve"]),
        ("I don't cross my legs and I don't have flat feet", [], ["crossed_legs", "foot_ankle"]),
        ("flat feet? not me. but my knee does roll in", ["tfl_dominance"], ["foot_ankle"]),
    ],
)
def test_a_cause_the_story_rules_out_is_not_offered(text, causes, denied):
    assert found(text) == (causes, denied)


def test_every_mention_says_responses_of_the_domain():
    domain = (DATA.parent / "domain.yml").read_text(encoding="utf-8")
    for mention in FINDER.mentions:
        assert mention.say, mention.cause
        for response in mention.say:
            assert f"  {response}:" in domain, response


@pytest.mark.parametrize("text, asks", [
    ("how come my hip went weak? been flat-footed all my life", True),
    ("the side of my hip aches. why would that be, I sit with my legs crossed", True),
    ("what's causing this, I do a lot of gardening on my knees", True),
    ("could this be behind my sore hip? I hurt my back in the spring", True),
    ("how do I keep my arch domed during the exercise?", False),
    ("how many times a week should I do the TFL exercise", False),
])
def test_a_question_about_what_lies_behind_the_weakness_is_told_from_any_other(text, asks):
    assert asks_cause(FINDER, text) is asks


@pytest.mark.parametrize("text, why_weak", [
    ("how come my glute med is so feeble at 71? I keep fit", True),
    ("why is the muscle on the side of my hip weaker than it used to be", True),
    ("what could be causing weakness in my outer hip", True),
    ("why does the outside of my hip hurt at night", False),  # the pain, not the weakness: its own answer
    ("how do I strengthen a weak gluteus medius", False),  # no question of cause
])
def test_a_question_about_why_the_muscle_is_weak_is_told_from_one_about_pain(text, why_weak):
    assert asks_why_weak(FINDER, text) is why_weak
