"""Questions the assistant cannot answer reach the clinic's content gaps, redacted, through the real servers."""
import dataclasses

from bot.core.settings import settings_from
from bot.leads import content_gaps as gaps
from tests.support.helpers import Visitor


def gap_texts(lead_db, clinic):
    settings = dataclasses.replace(settings_from({}), database_url=lead_db)
    return [g.example for g in gaps.grouped(settings, clinic)] + [
        w for g in gaps.grouped(settings, clinic) for w in g.wordings]


def test_an_out_of_scope_question_is_answered_and_noted_for_its_clinic_without_the_name(assistant, lead_db):
    visitor = Visitor(assistant, clinic="boston")
    reply = visitor.says("I'm Harriet Oakes, my wrist hurts from typing all day what can I do")
    assert "hip" in reply.lower()  # what the assistant can help with
    texts = gap_texts(lead_db, "boston")
    noted = [t for t in texts if "wrist hurts from typing" in t]
    assert noted and all("Harriet" not in t and "Oakes" not in t for t in texts)
    assert not any("wrist hurts from typing" in t for t in gap_texts(lead_db, "stl"))


def test_a_message_the_assistant_cannot_place_is_noted(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("qwv zxp blorf trelk")
    assert any("blorf" in t for t in gap_texts(lead_db, "stl"))


def test_an_unreadable_answer_inside_the_booking_form_is_not_a_content_gap(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("I'd like to book an appointment")
    visitor.says("Mary Green")
    visitor.says("zzkq vrrp wexl")  # at the contact question: not a question the clinic should answer
    assert not any("wexl" in t for t in gap_texts(lead_db, "stl"))
