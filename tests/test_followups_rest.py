"""Follow-ups resolve against what was just said, through the real servers."""
from tests.helpers import Visitor

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
