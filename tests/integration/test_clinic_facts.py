"""Clinic facts from the clinic's profile, and where the information comes from, through the real servers."""
import pytest

from tests.support.helpers import Visitor


@pytest.mark.parametrize("question", ["where are you located?", "what's the address of the clinic",
                                      "which town is your office in"])
def test_where_the_clinic_is_comes_from_its_profile(assistant, question):
    stl = Visitor(assistant, "stl").says(question)
    boston = Visitor(assistant, "boston").says(question)
    assert "St. Louis, MO" in stl and "314-941-3970" in stl and "Mon-Fri" in stl
    assert "Boston, MA" in boston and "St. Louis" not in boston


def test_a_free_phone_consultation_is_mentioned_only_where_offered(assistant):
    question = "do you offer a free phone consultation before booking?"
    assert "free short phone consultation" in Visitor(assistant, "boston").says(question)
    assert "free" not in Visitor(assistant, "stl").says(question)


@pytest.mark.parametrize("question", ["who is dr ben benjamin", "who wrote all this?", "who is Dave Candy"])
def test_who_wrote_this_is_answered_from_the_sources(assistant, question):
    reply = Visitor(assistant).says(question)
    assert "Benjamin" in reply and "Candy" in reply and "not either of them" in reply
