"""The booking details a message carries, read from its words (bot.core.details), and the message frame."""
import pytest

from bot.core.details import IN_PERSON, ONLINE, read_details
from bot.core.frame import read_frame


@pytest.mark.parametrize("text, name", [
    ("my name is Linda Green", "Linda Green"),
    ("it's Pat", "Pat"),
    ("Pat Moreno here", "Pat Moreno"),
    ("Name: Pat", "Pat"),
    ("name: pat moreno", "Pat Moreno"),
    ("Hi, this is Harold Jenkins, could someone call me back", "Harold Jenkins"),
    ("I'm Margaret, 314 555 0123", "Margaret"),
    ("call me Bob please", "Bob"),
    ("Dr. Alan Brooks", "Dr. Alan Brooks"),
    ("My name is Mrs Agnes Pemberton-Hall, though my friends call me Aggie.", "Mrs Agnes Pemberton-Hall"),
    ("Pat Moreno 314 555 0123 mornings", "Pat Moreno"),
    ("Frank Oduya", "Frank Oduya"),
    ("Rosa Delgado, 617.555.0147, afternoons", "Rosa Delgado"),
    ("Hello, Sam Lee here, can someone ring me?", "Sam Lee"),
    ("please book me, Norma Fairweather, 314 555 0112, mornings", "Norma Fairweather"),
    ("I'd like to book: Ruth Adeyemi, 314 555 0194, evenings", "Ruth Adeyemi"),
    ("Booking for my dad. His name is Reg Holt and he is 84", "Reg Holt"),
    ("I'd like an appointment please, I live out of town. Beverly Lindqvist.", "Beverly Lindqvist"),
    ("appointment - Sunil Varma - 314 555 0190", "Sunil Varma"),
    ("hi need to be seen soon knees bad name is wanda price cell 314 555 0163", "Wanda Price"),  # no commas at all
    ("Please ring me, I'm his daughter Sue Marsh, 314 555 0187", "Sue Marsh"),
    ("I'm her husband Colin, she can't type with her wrist", "Colin"),
])
def test_a_name_given_in_the_forms_people_use_is_found(text, name):
    assert read_details(text).name == name


@pytest.mark.parametrize("text", [
    "yes", "thanks", "Thank You", "Yes Please", "ok", "no thanks",
    "I live on Elm Street", "Dr", "St. Louis", "I'm in St. Louis", "It's Tuesday",
    "I'm afraid not", "I'm 67 and my hip hurts", "this is ridiculous", "What Is TFL",
    "what name should I give", "Good Morning", "In Person", "Online Please",
    "I want to book, do you take Blue Cross?", "can I book? I'm on Medicare Part B", "Kansas City, please call me",
    "I'm his daughter and I worry about him", "what name is it on, the booking?",
])
def test_things_that_are_not_names_are_not_taken_for_one(text):
    assert read_details(text).name is None


@pytest.mark.parametrize("text", [
    "314-555-0123", "(314) 555-0123", "314.555.0123", "314 555 0123", "3145550123", "+1 314 555 0123",
    "1-314-555-0123", "my number is (314)555-0123", "call me on 314 555 0123 please",
    "three one four five five five zero one two three", "three one four, five five five, oh one two three",
])
def test_us_phone_numbers_in_many_formats_are_normalised(text):
    assert read_details(text).phone == "+13145550123"


@pytest.mark.parametrize("text", ["555-0123", "my hip has hurt for 3 years", "I'm 67", "call me at 9"])
def test_no_phone_number_is_made_up_from_other_numbers(text):
    assert read_details(text).phone is None


@pytest.mark.parametrize("text, email", [
    ("pat.moreno@example.com", "pat.moreno@example.com"),
    ("my email is Bob_Smith@Example.org thanks", "Bob_Smith@example.org"),
    ("email me at tom@example.com or ring 314-555-0123", "tom@example.com"),
])
def test_emails_are_found(text, email):
    assert read_details(text).email == email


@pytest.mark.parametrize("text, time", [
    ("Pat, 314 555 0123, weekday mornings", "weekday mornings"),
    ("my number is 314 555 0123, after 3pm is best", "after 3pm is best"),
    ("I am usually free after my lunch", "after my lunch"),
    ("any time in the afternoon would suit me", "any time in the afternoon would suit me"),
    ("I'd like an appointment, Tuesday or Thursday morning", "Tuesday or Thursday morning"),
    ("book me in please, evenings after 6", "evenings after 6"),
])
def test_a_best_time_is_kept_in_the_visitors_words(text, time):
    assert read_details(text).time == time


@pytest.mark.parametrize("text", [
    "my hip hurts at night", "yes, most evenings", "Good morning", "I sleep on my side every night",
    "I am always tired", "Evening. Could I book in please",
])
def test_symptoms_and_greetings_are_no_time_to_call(text):
    assert read_details(text).time is None


@pytest.mark.parametrize("text, mode", [
    ("in person please", IN_PERSON), ("online", ONLINE), ("video is fine", ONLINE), ("zoom would be good", ONLINE),
    ("I'd rather come in", IN_PERSON), ("face to face", IN_PERSON), ("actually make it online", ONLINE),
    ("online, it's too far to come in", ONLINE),
    ("I would prefer to come to the clinic, I don't get on with computers", IN_PERSON),
])
def test_visit_mode_words(text, mode):
    assert read_details(text).mode == mode


@pytest.mark.parametrize("text", [
    "what happens in an online one?", "can I do it online?", "I read about online consultations on your page",
])
def test_a_question_or_story_about_a_mode_chooses_none(text):
    assert read_details(text).mode is None


def test_a_whole_booking_in_one_breath():
    found = read_details("Good morning! I'd like to book an appointment for my hip. My name is Pat Moreno, "
                         "my number is 314 555 0123, mornings are best and I'd like to come in person.")
    assert (found.name, found.phone, found.time, found.mode, found.request) == (
        "Pat Moreno", "+13145550123", "mornings are best", IN_PERSON, True)


def test_labelled_details_after_a_request():
    found = read_details("Appointment please.\nName: Joan Price\nPhone: 314-555-0188\nEmail: joan@example.com")
    assert (found.name, found.phone, found.email, found.request) == (
        "Joan Price", "+13145550188", "joan@example.com", True)


@pytest.mark.parametrize("text, intent, expected", [
    ("Hi! Can I book an appointment? Pat Moreno, 314 555 0123", "greet", "request_appointment"),
    ("Pat Moreno 314 555 0123 mornings", "inform", "request_appointment"),
    ("book me a table for two tonight", "out_of_scope", None),
    ("do you take medicare?", "out_of_scope", "ask_clinic_info"),
    ("which problems do you treat?", "faq", "ask_clinic_info"),
    ("no, never", "stop", "deny"),
    ("my number is 314 555 0123 - I'm on central time, mind", "stop", "inform"),
    ("evenings, never mind the mornings", "stop", None),
    ("stop, never mind", "stop", None),
    ("no don't ring me, I'll call them myself", "deny", "stop"),
    ("I've changed my mind about the appointment", "request_appointment", "stop"),
    ("I'm booking on behalf of my husband, Frank Dunn", "faq", "request_appointment"),
    ("I live out in Joplin. is there a video option? I'd like to set one up", "faq", "request_appointment"),
    ("how do I set up the side-lying exercise", "faq", None),
    ("my leg went numb and I can't feel the saddle area, can I book?", "report_red_flag", None),
])
def test_the_frame_settles_the_intent_the_words_say(text, intent, expected):
    assert read_frame(text, intent).intent == expected


def test_the_frame_carries_every_detail_as_an_entity():
    frame = read_frame("Name: Pat Moreno, pat@example.com, 314-555-0123, evenings are best, online please")
    assert frame.entities == {"visitor_name": "Pat Moreno", "contact": "+13145550123 pat@example.com",
                              "contact_time": "evenings are best", "mode": "online"}


def test_a_run_on_request_without_punctuation_is_read_whole():
    found = read_details("need appointment soon both hips bad name is ida kerr number 3145550158 afternoons thanks")
    assert (found.name, found.phone, found.request) == ("Ida Kerr", "+13145550158", True)


@pytest.mark.parametrize("text, intent", [
    ("could you help me figure out why my hip muscle has gone weak?", "explain_weakness_causes"),
    ("what sort of things can you help me with?", None),  # the menu it asks for
])
def test_a_why_question_read_as_a_request_for_the_menu_is_answered_as_one(text, intent):
    assert read_frame(text, "ask_capabilities").intent == intent


@pytest.mark.parametrize("text, intent, settled", [
    ("hang on, before the number: is there parking?", "refuse", "ask_clinic_info"),  # a question, no refusal
    ("I'd rather not say", "refuse", None),
    ("actually don't bother, I'll ring you myself next week", None, "stop"),
    ("I don't bother with painkillers, my hip is worse on stairs", None, None),
    ("yes please, and if I can't make it I'll call you", None, None),
    ("I'll call you if they don't, but here's my number 314 555 0170", None, None),  # a number given goes on
])
def test_what_a_booking_answer_settles(text, intent, settled):
    assert read_frame(text, intent).intent == settled
