"""The clinic's practical questions: which profile field a question asks, answered from that clinic's profile."""
import pytest

from bot.core import data
from bot.core.practical import practical


@pytest.mark.parametrize("text, field", [
    ("do you take medicare?", "medicare"),
    ("is it covered by my insurance", "insurance"),
    ("are you in network with aetna", "insurance"),
    ("how much does a session cost", "prices"),
    ("what's the self pay rate", "prices"),
    ("is there parking near you", "parking"),
    ("is the entrance wheelchair accessible", "parking"),
    ("are you open on saturdays", "hours"),
    ("which problems do you treat", "services"),
    ("what kind of problems do you treat there", "services"),
    ("what services do you have", "services"),
    ("do you do acupuncture", "services"),
    ("does anyone there speak spanish", "languages"),
    ("what should I bring to my first appointment", "what_to_bring"),
    ("do you offer telehealth", "telehealth"),
    ("how long is a session by the way?", "visit_length"),
    ("how long does the first appointment take", "visit_length"),
])
def test_a_practical_question_names_its_profile_field(text, field):
    assert practical().asked(text) == field


@pytest.mark.parametrize("text", [
    "how much weight should I use", "how much should I hold the stretch", "what is the gluteus medius",
    "how is it treated", "can I be seen online", "I sleep on my side", "how long should I hold the stretch",
    "how long is the recovery after friction therapy", "what treatments actually break up the scar tissue",
])
def test_hip_questions_are_not_practical_ones(text):
    assert practical().asked(text) is None


def answer(clinic_id, text):
    clinic = data.clinics().resolve(clinic_id)
    return " ".join(practical().answer(clinic, practical().asked(text), text))


def test_each_clinic_answers_from_its_own_profile():
    assert "Medicare Part B" in answer("stl", "do you take medicare?")
    assert "clinic can tell you" in answer("boston", "do you take medicare?")
    assert "$120" in answer("stl", "how much is the first visit?")
    assert "ask us" in answer("boston", "how much is the first visit?")


def test_a_missing_field_gets_the_clinic_can_tell_you_with_its_contact_line():
    reply = answer("boston", "is there parking?")
    assert "the clinic can tell you" in reply and "Ben E. Benjamin" in reply


def test_which_problems_gets_the_services_not_the_treatment_answer():
    reply = answer("stl", "which problems do you treat?")
    assert "knee pain" in reply and "does not offer" in reply and "scar tissue" not in reply


def test_a_service_not_offered_is_said_so():
    assert "does not offer acupuncture" in answer("stl", "do you do acupuncture?")


def test_hours_come_from_the_profile():
    assert "Mon-Fri 8am-6pm" in answer("stl", "are you open on saturdays?")
    assert "By appointment" in answer("boston", "are you open on saturdays?")


def test_every_practical_question_in_one_message_is_answered_once_with_one_contact_line():
    text = "do you take my aetna plan? and my wife has medicare, also what do you charge without insurance"
    clinic = data.clinics().resolve("stl")
    lines = practical().answer_all(clinic, practical().asked_all(text), text)
    said = " ".join(lines)
    assert clinic.practical["medicare"] in said and clinic.practical["insurance"] in said
    assert clinic.practical["prices"] in said
    assert sum(clinic.phone in line for line in lines) == 1


def test_a_service_not_offered_beside_a_general_question_gets_both_answers():
    text = "what can you help with, only backs? and do you do acupuncture"
    clinic = data.clinics().resolve("stl")
    said = " ".join(practical().answer_all(clinic, practical().asked_all(text), text))
    assert "does not offer acupuncture" in said and clinic.services[0] in said
    alone = " ".join(practical().answer_all(clinic, ["services"], "do you do acupuncture"))
    assert "does not offer acupuncture" in alone and clinic.services[0] not in alone
