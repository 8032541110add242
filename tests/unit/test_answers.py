"""Typed answers to the forms' questions, read from their words (bot/core/answers.py)."""
import pytest

from bot.core.answers import booking_answers, typed_answers
from bot.core.details import answer_name

FINDER_SLOTS = ["crosses_legs", "side_sleeps_without_pillow", "stiff_ankles_or_flat_arches", "nerve_signs"]


@pytest.mark.parametrize("text, slot, answer", [
    ("yeah most nights", "crosses_legs", "yes"),
    ("nope, never", "crosses_legs", "no"),
    ("hmm hard to say", "nerve_signs", "unsure"),
    ("left side, nothing between my knees, no pillow", "side_sleeps_without_pillow", "yes"),
    ("always with a pillow, no", "side_sleeps_without_pillow", "no"),
    ("my arches have dropped a bit", "stiff_ankles_or_flat_arches", "yes"),
    ("the weather", "crosses_legs", None),
])
def test_a_typed_answer_to_a_yes_no_question(text, slot, answer):
    assert typed_answers().answer(text, slot) == answer


def test_an_answer_that_names_a_later_question_settles_it_too():
    also = typed_answers().also_answered("nah, and my feet are fine, but I get tingling", FINDER_SLOTS[2:])
    assert also == {"stiff_ankles_or_flat_arches": "no", "nerve_signs": "yes"}
    assert typed_answers().also_answered("yes", FINDER_SLOTS[1:]) == {}


@pytest.mark.parametrize("text, name", [
    ("Margaret Oduya", "Margaret Oduya"),
    ("ken o'brien", "Ken O'Brien"),
    ("name - bernadette o'malley", "Bernadette O'Malley"),
    ("Lorraine Huxtable. and late afternoon is best", "Lorraine Huxtable"),
    ("lorraine huxtable", "Lorraine Huxtable"),
    ("hello, my name is Priya Shah", "Priya Shah"),
    ("Im Joe and my number is 314 555 0100", "Joe"),
    ("Carol-Ann Pierce, carol@example.net", "Carol-Ann Pierce"),
    ("Rosalind Achebe. is there parking by the way?", "Rosalind Achebe"),  # the name, then a question
])
def test_a_name_given_as_an_answer(text, name):
    assert answer_name(text) == name


@pytest.mark.parametrize("text", [
    "what's this for?", "my hip hurts", "book me in", "mornings after 9", "ok thanks", "stop", "no",
    "I want to know about the exercise", "/affirm", "online would suit me", "mornings please", "ok go ahead",
    "it's for my mother", "in person", "anytime", "not sure", "is this where I give my name? Rosalind",
])
def test_messages_that_are_not_a_name(text):
    assert answer_name(text) is None


@pytest.mark.parametrize("text, time", [
    ("mornings after 9", "mornings after 9"),
    ("Fridays", "Fridays"),
    ("  any time  after lunch ", "any time after lunch"),
    ("when is best for you?", None),
    ("Mary Green", None),
    ("314-555-0123 in the morning", None),  # a contact change, handled elsewhere
])
def test_a_time_given_as_an_answer(text, time):
    assert booking_answers().time(text) == time


@pytest.mark.parametrize("text, consent", [
    ("go ahead", True), ("yes please do", True), ("fine by me", True),
    ("no don't", False), ("I've changed my mind", False), ("please don't, not yet", False),
    ("what happens to my details?", None), ("hmm", None),
])
def test_consent_given_or_refused_by_typing(text, consent):
    assert booking_answers().consent(text) == consent
