"""Follow-ups resolve against what was just said, through the real servers."""
from tests.support.helpers import Visitor

TIPS = "Here is what tends to help"
OFFER = "Yes, let's check"


def test_how_do_i_fix_that_after_the_cause_finder_gives_the_tips_for_the_causes_found(assistant):
    visitor = Visitor(assistant)
    visitor.says("start the cause finder")
    for answer in ("yes", "no", "no", "no"):
        summary = visitor.says(answer)
    assert "cross" in summary.lower()
    reply = visitor.says("how do I fix that?")
    assert TIPS in reply and OFFER not in visitor.buttons


def test_a_chain_of_follow_ups_never_offers_the_cause_finder_for_a_fix(assistant):
    visitor = Visitor(assistant)
    visitor.says("what is the gluteus medius")
    visitor.says("why?")
    reply = visitor.says("how do I fix that?")
    assert TIPS in reply and OFFER not in visitor.buttons


def test_what_can_i_do_about_it_after_the_cause_explanation_gives_tips(assistant):
    visitor = Visitor(assistant)
    visitor.says("why is my hip weak?")
    reply = visitor.says("what can i do about it")
    assert TIPS in reply and OFFER not in visitor.buttons


def test_short_questions_about_the_exercise_are_answered_from_it(assistant):
    visitor = Visitor(assistant)
    visitor.says("what exercise strengthens the glute med after treatment")
    assert "pound" in visitor.says("what weight should i use").lower()
    assert "3 sets of 10" in visitor.says("how many reps?")
    assert "never hurt" in visitor.says("is it meant to be painful?")
    assert "video" in visitor.says("can i watch it being done somewhere").lower()


def test_a_balance_worry_during_the_single_leg_exercise_is_about_that_exercise(assistant):
    visitor = Visitor(assistant)
    visitor.says("how do I do the standing on one leg exercise for TFL")
    reply = visitor.says("im wobbly on my feet, what if i fall over doing that")
    assert "Hold on to something steady" in reply and OFFER not in visitor.buttons


def test_and_after_that_goes_one_step_on_from_the_topic(assistant):
    visitor = Visitor(assistant)
    visitor.says("how is a glute med tear treated")
    reply = visitor.says("ok and then what?")
    assert "ankle weight" in reply


def test_why_after_crossing_legs_explains_the_stretched_muscle(assistant):
    visitor = Visitor(assistant)
    visitor.says("is sitting with my legs crossed bad for my hip")
    assert "stretched" in visitor.says("why's that?")


def test_which_leg_in_the_self_test_is_answered_from_it(assistant):
    visitor = Visitor(assistant)
    visitor.says("how can I test my glute med at home")
    assert "bottom leg" in visitor.says("sorry which leg do I bend?")
