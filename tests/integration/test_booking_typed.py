"""The booking form answered by typing, as visitors do, through the real servers: it never loops."""
import pytest

from tests.integration.test_booking import by_sender
from tests.support.helpers import Visitor

pytestmark = pytest.mark.slow  # about 2 minutes: 40 typed conversations through the servers

MODE_QUESTION = "in person, or online"


def to_mode_question(visitor: Visitor) -> None:
    assert "what name" in visitor.says("I'd like to book an appointment").lower()
    assert "phone number or email" in visitor.says("Mary Green")
    assert "good time" in visitor.says("314-555-0123")
    assert MODE_QUESTION in visitor.says("weekday mornings")


@pytest.mark.parametrize("typed, mode", [
    ("in person please", "in_person"),
    ("online please", "online"),
    ("video is fine for me", "online"),
    ("I'd rather come in to the clinic", "in_person"),
    ("face-to-face", "in_person"),
    ("ONLINE", "online"),
])
def test_the_mode_question_takes_typed_answers(assistant, lead_db, typed, mode):
    visitor = Visitor(assistant)
    to_mode_question(visitor)
    consent = visitor.says(typed)
    assert MODE_QUESTION not in consent and "OK for More 4 Life" in consent
    visitor.says("yes")
    [lead] = by_sender(lead_db, visitor.sender)
    assert lead["mode"] == mode


def test_a_question_is_never_asked_a_third_time(assistant, lead_db):
    visitor = Visitor(assistant)
    to_mode_question(visitor)
    visitor.says("hmm")
    assert {"In person", "Online", "Skip"} <= set(visitor.buttons)  # asked again once, with a way out
    third = visitor.says("what do you mean")
    assert "clinic will ask you" in third and MODE_QUESTION not in third and "OK for More 4 Life" in third
    visitor.says("yes")
    [lead] = by_sender(lead_db, visitor.sender)
    assert lead["mode"] == "no preference"


def test_skip_leaves_a_question_for_staff(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("I'd like to book an appointment")
    assert "phone number or email" in visitor.says("skip")
    visitor.says("mary@example.com")
    assert MODE_QUESTION in visitor.says("skip")
    visitor.says("online")
    visitor.says("yes")
    [lead] = by_sender(lead_db, visitor.sender)
    assert (lead["name"], lead["preferred_time"], lead["email"]) == ("(not given)", "(not given)", "mary@example.com")


def test_contact_details_that_never_come_end_the_booking_with_the_clinics_phone(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("I'd like to book an appointment")
    visitor.says("Mary Green")
    visitor.says("555")
    last = visitor.says("dunno")
    assert "nothing has been sent" in last and "314-941-3970" in last and "best phone number" not in last
    assert "what name" not in visitor.says("what is the gluteus medius").lower()  # the form is over
    assert by_sender(lead_db, visitor.sender) == []


@pytest.mark.parametrize("not_a_name", ["ok", "thanks", "hello", "yes", "no thanks"])
def test_a_greeting_thanks_or_yes_no_is_not_taken_as_a_name(assistant, not_a_name):
    visitor = Visitor(assistant)
    visitor.says("I'd like to book an appointment")
    reply = visitor.says(not_a_name)
    assert "phone number or email" not in reply


def test_the_clinics_own_number_is_never_taken_as_the_visitors(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("I'd like to book an appointment")
    visitor.says("Mary Green")
    assert "clinic's own number" in visitor.says("314-941-3970")
    assert "good time" in visitor.says("314-555-0123")
    reply = visitor.says("can I just call you at 314-941-3970 instead?")
    assert "updated" not in reply
    visitor.says("weekday mornings")
    visitor.says("online")
    visitor.says("yes")
    [lead] = by_sender(lead_db, visitor.sender)
    assert lead["phone"] == "+13145550123"


@pytest.mark.parametrize("name", [
    "Agnes McAllister", "winifred stone", "Tomás Ruiz", "it's Yvonne Clarke-Baker", "Dr. Raj Patel", "Bartholomew",
])
def test_names_are_taken_whatever_the_nlu_makes_of_them(assistant, lead_db, name):
    # Some names read as an FAQ question or as "stop" to the NLU; at the name question they are names.
    visitor = Visitor(assistant)
    visitor.says("I'd like to book an appointment")
    assert "phone number or email" in visitor.says(name)
    assert "good time" in visitor.says("314-555-0188")
    visitor.says("weekday mornings")
    visitor.says("online")
    visitor.says("yes")
    [lead] = by_sender(lead_db, visitor.sender)
    assert lead["name"] == name.replace("it's ", "")


def test_a_name_and_an_email_in_one_answer_are_both_kept(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("I want to book in")
    reply = visitor.says("I'm Gerald Moss, email gerald.moss@example.org")
    assert "good time" in reply and "what name" not in reply.lower()
    visitor.says("after 4pm")
    visitor.says("in person")
    visitor.says("yes")
    [lead] = by_sender(lead_db, visitor.sender)
    assert (lead["name"], lead["email"]) == ("Gerald Moss", "gerald.moss@example.org")


@pytest.mark.parametrize("time", [
    "tuesdays after lunch", "any time before noon", "evenings, after 7 ideally", "weekend mornings UK time",
    "whenever suits, I'm home all day",
])
def test_the_time_question_takes_typed_answers(assistant, lead_db, time):
    visitor = Visitor(assistant)
    visitor.says("I'd like to book an appointment")
    visitor.says("Mary Green")
    assert "good time" in visitor.says("314-555-0123")
    assert MODE_QUESTION in visitor.says(time)
    visitor.says("online")
    visitor.says("yes")
    [lead] = by_sender(lead_db, visitor.sender)
    assert lead["preferred_time"] == time


@pytest.mark.parametrize("typed, saved", [
    ("ok go on then", True), ("sure thing", True), ("that's fine by me", True), ("please do", True),
    ("alright, you can", True),
    ("actually no, don't", False), ("I'd rather not now", False), ("changed my mind sorry", False),
    ("nah leave it", False), ("no, nobody needs to call me", False),
])
def test_the_consent_question_takes_typed_answers(assistant, lead_db, typed, saved):
    visitor = Visitor(assistant)
    to_mode_question(visitor)
    assert "OK for More 4 Life" in visitor.says("in person")
    reply = visitor.says(typed)
    assert "OK for More 4 Life" not in reply  # answered, not asked again
    assert len(by_sender(lead_db, visitor.sender)) == (1 if saved else 0)
    assert ("will contact you" in reply) == saved


def test_a_question_at_the_contact_step_is_answered_then_the_question_asked_again(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("I'd like to book an appointment")
    visitor.says("Mary Green")
    reply = visitor.says("wait, what's the clinic's address?")
    assert "couldn't find a phone number" not in reply
    assert "314-941-3970" in reply and "phone number or email" in reply
    assert "good time" in visitor.says("mary.green@example.com")


def test_a_question_instead_of_contact_details_is_answered_without_counting_a_miss(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("I'd like to book an appointment")
    visitor.says("Mary Green")
    reply = visitor.says("hold on, is the strengthening exercise meant to hurt?")
    assert "never hurt" in reply and "phone number or email" in reply
    assert "couldn't find a phone number" not in reply
    assert "good time" in visitor.says("314-555-0123")


def test_a_question_it_cannot_place_mid_form_is_not_called_a_wrong_answer(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("I'd like to book an appointment")
    visitor.says("Mary Green")
    reply = visitor.says("sorry, what do you need that for?")
    assert "couldn't find a phone number" not in reply and "phone number or email" in reply
    assert "good time" in visitor.says("314-555-0123")
