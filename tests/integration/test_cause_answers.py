"""Why is my hip weak? answered from the visitor's own story, through the real servers."""
import pytest

from tests.support.helpers import Visitor

CHECK_OFFER = "Yes, let's check"
SCREEN_OFFER = "Yes, ask me"


@pytest.mark.parametrize("story, says, offer", [
    ("been a legs-crossed sitter at my sewing machine for decades and now the side of my hip feels feeble",
     "stretched", CHECK_OFFER),
    ("why would my outer hip be weak? I've had fallen arches since I was a kid", "arch", CHECK_OFFER),
    ("my knee caves in when I go up the stairs and my hip is weak, what's causing it", "TFL", CHECK_OFFER),
    ("Put my back out lifting the grandkids last year, and since then the outside of my hip is weak. Why?",
     "ligaments", SCREEN_OFFER),
    ("threw my back out shovelling snow in January. could that be behind the ache on the side of my hip?",
     "ligaments", SCREEN_OFFER),
    ("my feet have gone flat over the years and the outer hip is sore these days", "arch", CHECK_OFFER),
])
def test_the_causes_a_story_tells_of_are_explained_with_their_tips(assistant, story, says, offer):
    visitor = Visitor(assistant)
    reply = visitor.says(story)
    assert "From what you say" in reply and says in reply
    assert "Four things commonly weaken" not in reply
    assert offer in visitor.buttons


def test_two_causes_in_one_message_get_both(assistant):
    visitor = Visitor(assistant)
    reply = visitor.says("I sit with my legs crossed all evening and my ankles are really stiff, "
                         "is that why my hip is weak")
    assert "crossed" in reply and "arch" in reply and "Tip:" in reply


def test_a_cause_the_visitor_rules_out_is_not_given_as_theirs(assistant):
    visitor = Visitor(assistant)
    reply = visitor.says("I never cross my legs, but my knee rolls inward when I stand on one leg, why is my hip weak")
    assert "TFL" in reply and "Leg position" not in reply


def test_how_do_i_fix_that_after_a_story_gives_the_tips_for_its_causes(assistant):
    visitor = Visitor(assistant)
    visitor.says("my feet are flat as pancakes, could that be why my glute med is weak")
    reply = visitor.says("how do i fix that")
    assert "arch" in reply and "Tip: when you sit" not in reply


def test_without_a_story_the_four_common_causes_are_given(assistant):
    visitor = Visitor(assistant)
    assert "Four things commonly weaken" in visitor.says("what makes the glute med go weak")
    assert CHECK_OFFER in visitor.buttons
