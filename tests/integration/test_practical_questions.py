"""The clinic's practical questions, answered from each clinic's profile through the real servers."""
import pytest

from bot.core import data
from tests.support.helpers import Visitor


@pytest.mark.parametrize("question, stl, boston", [
    ("do you take medicare?", "Medicare Part B", "clinic can tell you"),
    ("how much does a first visit cost?", "$120", "ask us"),
    ("is there parking?", "Free parking", "clinic can tell you"),
    ("what languages do you speak?", "Spanish", "English."),
    ("does my insurance cover it?", "in network", "receipt"),
])
def test_stl_and_boston_answer_from_their_own_profiles(assistant, question, stl, boston):
    assert stl in Visitor(assistant, "stl").says(question)
    assert boston in Visitor(assistant, "boston").says(question)


def test_which_problems_do_you_treat_gets_the_services(assistant):
    reply = Visitor(assistant, "stl").says("which problems do you treat?")
    assert "knee pain" in reply and "scar tissue" not in reply


def test_two_practical_questions_in_one_message_get_both_answers(assistant):
    profile = data.clinics().resolve("stl").practical
    reply = Visitor(assistant, "stl").says("is there parking, and what languages do your therapists speak")
    assert profile["parking"] in reply and profile["languages"] in reply
