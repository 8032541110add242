"""The safety net's two tiers through the real servers, on the messages that once failed.

A clear red flag gets emergency advice at once; a possible one gets one
confirming question that carries the advice (Yes: emergency; No: back to what
the visitor asked). Replies are read by their `{"triage": ...}` tags, as the
widget reads them.
"""
import pytest

from tests.integration.test_booking import by_sender
from tests.integration.test_gaps_noted import gap_texts
from tests.support.helpers import Visitor

ALARMS = {"emergency", "urgent"}
NERVE_OFFER = "Yes, ask me"


def caught(visitor: Visitor, text: str) -> bool:
    """Emergency advice at once, or after the confirming question is answered yes."""
    visitor.says(text)
    if "confirm" in visitor.triage and "emergency" not in visitor.triage:
        visitor.says("yes")
    return "emergency" in visitor.triage


@pytest.mark.parametrize("text", [
    "I am not able to control my bladder",
    "I wasnt able to hold my pee this morning",
    "my butt is numb",
    "I can't feel my groin",
    "Not much pain just numbness in my groin",
])
def test_emergencies_once_missed_are_caught(assistant, text):
    assert caught(Visitor(assistant), text)


@pytest.mark.parametrize("text", [
    "i spend hours in my recliner with my legs crossed watching tv, could that be why my hip is weak",
    "I watched a car crash on tv and now my hip hurts",
    "my legs arent weak at all, i walk 5k every morning",
    "had a nasty cold with a temperature last week, all better now",
    "my hip drops when I walk and I cross my legs a lot, why is my glute med weak?",
    "why does crossing your legs make the gluteus medius weak",
])
def test_ordinary_messages_once_sent_to_emergency_care_are_not(assistant, lead_db, text):
    visitor = Visitor(assistant)
    visitor.says(text)
    assert not ALARMS & set(visitor.triage), visitor.replies
    if "confirm" in visitor.triage:  # at worst a question; "no" must then answer without an alarm
        visitor.says("no")
        assert not ALARMS & set(visitor.triage)
    assert by_sender(lead_db, visitor.sender) == []  # no emergency lead raised for staff


def test_a_cancer_history_with_new_pain_is_urgent_not_an_emergency(assistant):
    visitor = Visitor(assistant)
    reply = visitor.says("I had breast cancer 5 years ago. Now I have new hip pain.")
    assert visitor.triage == ["urgent"] and "within a day" in reply and "911 or go" not in reply


def test_a_clear_emergency_is_advised_at_once_and_alerts_staff(assistant, lead_db):
    visitor = Visitor(assistant)
    reply = visitor.says("my bladder control went overnight, I keep wetting myself and my lower back is agony")
    assert visitor.triage[0] == "emergency" and "confirm" not in visitor.triage
    assert reply.startswith("Please stop here") and "911" in reply
    [lead] = by_sender(lead_db, visitor.sender)
    assert lead["urgency"] == "emergency"


def test_a_possible_red_flag_asks_once_with_the_advice_in_the_question(assistant, lead_db):
    visitor = Visitor(assistant)
    reply = visitor.says("my bum goes a bit numb, is that a problem?")
    assert visitor.triage == ["confirm"], visitor.replies
    assert "911" in reply and set(visitor.buttons) >= {"No"}
    assert by_sender(lead_db, visitor.sender) == []  # no alert for a question
    visitor.says("yes")
    assert visitor.triage[0] == "emergency"
    [lead] = by_sender(lead_db, visitor.sender)
    assert lead["urgency"] == "emergency" and "bum goes a bit numb" in lead["reason"]
    assert "confirming question" in lead["reason"]


def test_no_to_the_confirming_question_answers_what_was_asked(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("my bum goes a bit numb, what is the gluteus medius?")
    assert visitor.triage == ["confirm"]  # a rule fires, the model disagrees: possible
    reply = visitor.says("no")
    assert not ALARMS & set(visitor.triage)
    assert "hip" in reply.lower() and "muscle" in reply.lower()  # the FAQ answer asked for
    assert by_sender(lead_db, visitor.sender) == []


def test_no_during_a_form_resumes_the_same_question(assistant):
    visitor = Visitor(assistant)
    visitor.says("I'd like to book an appointment")
    visitor.says("Mary Green")
    asked = visitor.replies[-1]["text"]
    visitor.says("by the way my bum goes a bit numb, is that a problem?")
    assert visitor.triage == ["confirm"]
    visitor.says("no")
    assert visitor.replies[-1]["text"] == asked


def test_urgent_advice_is_tagged_and_offers_a_call(assistant):
    visitor = Visitor(assistant)
    reply = visitor.says("I've lost a lot of weight without trying and my back aches constantly")
    assert "urgent" in visitor.triage and "within a day" in reply
    assert "Ask the clinic to call me" in visitor.buttons


def test_a_denied_false_alarm_lifts_the_latch(assistant):
    visitor = Visitor(assistant)
    visitor.says("my hip is hot and red and swollen and I have a fever")
    assert "emergency" in visitor.triage
    visitor.says("no, sorry, that was my friend last year, I'm fine")
    assert not ALARMS & set(visitor.triage)
    reply = visitor.says("start the cause finder")
    assert "emergency care first" not in reply and "?" in reply


def test_a_typed_red_flag_answers_the_screenings_last_question_as_an_emergency(assistant):
    visitor = Visitor(assistant)
    assert "few quick questions" in visitor.says("I get pins and needles down into my foot")
    visitor.says("yes")
    for answer in ("thigh", "no", "no", "no", "a month", "nothing yet"):
        visitor.says(answer)
    assert "Last question" in visitor.replies[-1]["text"]
    assert caught(visitor, "I am not able to control my bladder")


@pytest.mark.parametrize("story", [
    "pain goes from my bum down past the knee and into the foot, a month or so now",
    "I can't lift the front of my foot like I used to, it has crept up on me over a few weeks",
])
def test_nerve_signs_told_in_any_words_are_offered_the_screening_not_911(assistant, story):
    # Read as a stray answer to the screening's where-question, or asked once whether it came on quickly:
    # either way the visitor with nerve signs and no emergency ends at the offer of the screening.
    visitor = Visitor(assistant)
    visitor.says(story)
    if visitor.triage == ["confirm"]:
        visitor.says("no")
    assert NERVE_OFFER in visitor.buttons and not ALARMS & set(visitor.triage)


def test_thoughts_of_suicide_beside_any_question_get_crisis_help_and_no_gap(assistant, lead_db):
    visitor = Visitor(assistant)
    reply = visitor.says("do you sell gift vouchers? honestly i want to kill myself most days")
    assert "988" in reply and "911" in reply
    assert "kill myself" not in " ".join(gap_texts(lead_db, "stl"))  # other tests' gaps share this database
