"""Bookings the way people write them, through the real servers: details given anywhere are kept, the form
asks only for what is missing, a read-back can be corrected in words, and consent is a plain yes or no."""
from tests.integration.test_booking import by_sender
from tests.support.helpers import Visitor

CONSENT = "OK for More 4 Life"


def test_a_first_message_with_everything_goes_straight_to_the_read_back(assistant, lead_db):
    visitor = Visitor(assistant)
    reply = visitor.says("Good morning. I'd like an appointment for my hip please. My name is Harriet Vance, "
                         "phone 314 555 0161, mornings are best and I'd rather come in person.")
    assert CONSENT in reply and "Harriet Vance" in reply and "(314) 555-0161" in reply
    assert "mornings" in reply and "in person" in reply
    assert "Thank you, Harriet Vance" in visitor.says("yes")
    [lead] = by_sender(lead_db, visitor.sender)
    assert (lead["name"], lead["phone"], lead["mode"], lead["consent"]) == (
        "Harriet Vance", "+13145550161", "in_person", True)
    assert "mornings" in lead["preferred_time"]


def test_labelled_details_after_a_request_are_all_kept(assistant, lead_db):
    visitor = Visitor(assistant)
    reply = visitor.says("Appointment please.\nName: Walter Brandt\nPhone: (314) 555-0172\nBest time: afternoons")
    assert "what name" not in reply.lower() and "phone number or email" not in reply
    assert "in person, or online" in reply  # the one thing still missing
    assert CONSENT in visitor.says("online")
    visitor.says("yes please")
    [lead] = by_sender(lead_db, visitor.sender)
    assert (lead["name"], lead["phone"], lead["mode"]) == ("Walter Brandt", "+13145550172", "online")


def test_details_given_in_answer_to_the_name_question_are_not_asked_again(assistant, lead_db):
    visitor = Visitor(assistant)
    assert "what name" in visitor.says("can someone call me back about my hip").lower()
    reply = visitor.says("It's Nora Quill, 314-555-0183, any time after 2pm, video is fine")
    assert CONSENT in reply and "Nora Quill" in reply and "online" in reply


def test_a_correction_at_the_read_back_replaces_the_value(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("I'd like to book: Pat Osei, 314 555 0194, evenings, in person")
    reply = visitor.says("actually make it online")
    assert CONSENT in reply and "online" in reply and "in person" not in reply
    reply = visitor.says("sorry, the number is 314.555.0195")
    assert CONSENT in reply and "(314) 555-0195" in reply
    visitor.says("yes")
    [lead] = by_sender(lead_db, visitor.sender)
    assert (lead["phone"], lead["mode"]) == ("+13145550195", "online")


def test_a_correction_mid_form_replaces_the_value(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("book me in please")
    visitor.says("Carla Mendez")
    visitor.says("314-555-0106")
    assert "updated" in visitor.says("sorry, the number is 314-555-0107")
    visitor.says("weekday mornings")
    assert CONSENT in visitor.says("in person")
    visitor.says("yes")
    [lead] = by_sender(lead_db, visitor.sender)
    assert lead["phone"] == "+13145550107"


def test_consent_by_a_non_answer_is_asked_once_more_then_ends_with_nothing_saved(assistant, lead_db):
    visitor = Visitor(assistant)
    assert CONSENT in visitor.says("Can I book? Ida Lorne, 314 555 0118, mornings, in person")
    reply = visitor.says("Ida Lorne")  # a repeated detail is no consent
    assert "plain yes or no" in reply and CONSENT in reply
    reply = visitor.says("hmm well")
    assert "didn't get a clear yes" in reply and "314-941-3970" in reply and CONSENT not in reply
    assert by_sender(lead_db, visitor.sender) == []


def test_a_mode_given_at_the_consent_question_is_a_correction_not_a_yes(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("please book me: Otto Reyes, otto@example.com, afternoons, in person")
    reply = visitor.says("online please")
    assert CONSENT in reply and "online" in reply
    assert by_sender(lead_db, visitor.sender) == []


def test_a_question_mid_form_is_answered_and_the_question_asked_again(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("please have someone ring me")
    visitor.says("Sheila Barton")
    visitor.says("314-555-0129")
    visitor.says("late mornings")
    reply = visitor.says("what's the difference? what happens in an online one?")
    assert "in person, or online" in reply and CONSENT not in reply
    assert CONSENT in visitor.says("ok in person then")


def test_a_practical_question_mid_form_is_answered_from_the_profile(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("I want to book an appointment")
    reply = visitor.says("do you take medicare?")
    assert "Medicare Part B" in reply and "what name" in reply.lower()


def test_a_red_flag_given_with_a_detail_mid_form_gets_the_emergency_advice_first(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("can I have an appointment for my sore hip")
    visitor.says("Gwen Mallory")
    reply = visitor.says("314-555-0150. since last night I can't hold my water at all and it's numb between my legs")
    assert "911" in reply and "in person, or online" not in reply


def test_a_booking_for_someone_else_keeps_their_name_and_says_what_it_understood(assistant, lead_db):
    visitor = Visitor(assistant)
    reply = visitor.says("My mother needs her hip looked at and she doesn't use computers. Her name is "
                         "Edith Marlow and her number is 314 555 0133, she would come in person.")
    assert "From your message I have" in reply and "Edith Marlow" in reply and "(314) 555-0133" in reply
    assert "what name" not in reply.lower()
    assert CONSENT in visitor.says("after lunch any weekday")
    visitor.says("yes")
    [lead] = by_sender(lead_db, visitor.sender)
    assert (lead["name"], lead["phone"], lead["mode"]) == ("Edith Marlow", "+13145550133", "in_person")


def test_a_mode_given_with_the_time_is_not_asked_for_again(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("could i book an appointment")
    visitor.says("harold pike")
    visitor.says("314 555 0144")
    reply = visitor.says("video please, late mornings")
    assert CONSENT in reply and "online" in reply and "in person, or online" not in reply


def test_a_price_question_at_the_time_question_is_answered_not_stored_as_the_time(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("I'd like to be seen, Mabel Frost here, 314-555-0155")
    reply = visitor.says("how much would it be without insurance?")
    assert "$120" in reply and "good time" in reply
    assert "in person" in visitor.says("tuesday afternoons")
    reply = visitor.says("in person")
    assert CONSENT in reply and "tuesday afternoons" in reply.lower() and "how much" not in reply.lower()


def test_a_name_with_a_question_after_it_is_kept_and_the_question_answered(assistant, lead_db):
    visitor = Visitor(assistant)
    assert "what name" in visitor.says("I'd like an appointment for my hip please").lower()
    reply = visitor.says("Rosalind Achebe. do you take medicare by the way?")
    assert "Medicare" in reply and "phone number or email" in reply and "what name" not in reply.lower()


def test_a_detail_with_never_mind_words_is_an_answer_and_a_number_from_abroad_is_kept(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("I'd like an appointment for my hip please")
    visitor.says("Ottilie Brenner")
    reply = visitor.says("my mobile is 020 7946 0958, I'm on London time, mind")
    assert "cancelled" not in reply and "good time" in reply
    visitor.says("your mornings")
    assert "+44 20 7946 0958" in visitor.says("in person")


def test_a_surname_that_is_also_a_place_word_is_a_name_not_a_parking_question(assistant, lead_db):
    visitor = Visitor(assistant)
    reply = visitor.says("Please book me in. Glenys Park, glenys@example.org, evenings, online")
    assert CONSENT in reply and "Glenys Park" in reply and "parking" not in reply.lower()
