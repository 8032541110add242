"""Follow-ups read against the last answer's topic and the last offer, through the real servers."""
from tests.support.helpers import Visitor


def test_and_at_night_after_crossed_legs_gets_the_pillow(assistant):
    visitor = Visitor(assistant)
    visitor.says("is sitting with my legs crossed bad for my hip?")
    assert "pillow" in visitor.says("and at night?")


def test_a_worry_about_that_one_after_the_single_leg_exercise_is_about_balance(assistant):
    visitor = Visitor(assistant)
    visitor.says("what is TFL dominance")
    visitor.says("which exercise?")
    reply = visitor.says("I'm not too steady on my feet these days, is there anything to mind with that one?")
    assert "Hold on to something steady" in reply


def test_tell_me_more_after_referred_pain_stays_on_referred_pain(assistant):
    visitor = Visitor(assistant)
    visitor.says("can a glute med problem cause pain further down my leg?")
    assert "referred pain" in visitor.says("tell me more").lower()


def test_after_that_after_the_treatment_is_how_it_heals(assistant):
    visitor = Visitor(assistant)
    visitor.says("how is a gluteus medius injury treated?")
    reply = visitor.says("and after that?")
    assert "line up" in reply and "exercise" in reply


def test_what_am_i_looking_for_after_the_self_test(assistant):
    visitor = Visitor(assistant)
    visitor.says("how can I test my glute med at home?")
    assert "weaker than the other" in visitor.says("what am I looking for?")


def test_the_foot_one_after_the_causes_is_the_feet_and_ankles(assistant):
    visitor = Visitor(assistant)
    visitor.says("why is my gluteus medius weak?")
    assert "arch" in visitor.says("tell me more about the foot one")


def test_a_firm_never_answers_the_cause_finders_first_question(assistant):
    visitor = Visitor(assistant)
    visitor.says("help me find which cause fits me")
    reply = visitor.says("no, never")
    assert "sleep on your side" in reply


def test_is_that_safe_for_me_after_an_exercise_sends_to_a_clinician(assistant):
    visitor = Visitor(assistant)
    visitor.says("which exercise helps after the treatment?")
    reply = visitor.says("is that safe for me, I had a new knee put in last year")
    assert "doctor or physical therapist" in reply and "not sure I understood" not in reply
