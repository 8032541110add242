"""Whole conversations with the real Rasa server and action server over the widget chat channel."""
import uuid

import pytest
import requests

from tests.support.helpers import Visitor


def test_greeting_says_automated_not_medical_advice_for_the_pages_clinic(assistant):
    reply = Visitor(assistant).says("hi there")
    assert "automated" in reply and "not medical advice" in reply
    assert "More 4 Life" in reply


def test_another_clinic_speaks_with_its_own_name_and_contact(assistant):
    visitor = Visitor(assistant, clinic="boston")
    assert "Benjamin" in visitor.says("hello")
    reply = visitor.says("how much does a session cost")
    assert "through its website" in reply and "314" not in reply


def test_no_clinic_gets_the_default_clinic_and_an_unknown_one_is_refused(assistant):
    assert "More 4 Life" in Visitor(assistant, clinic=None).says("hello")
    # A wrong id is a broken embed: refusing it beats sending its leads to another clinic.
    with pytest.raises(requests.HTTPError):
        Visitor(assistant, clinic="no-such-clinic").says("hello")


def test_out_of_scope_says_what_it_can_do_and_gives_the_clinic_phone(assistant):
    reply = Visitor(assistant).says("my shoulder has been killing me for weeks")
    assert "only help with outer hip pain" in reply and "314-941-3970" in reply


def test_faq_answer_in_own_words_with_clinician_reminder(assistant):
    visitor = Visitor(assistant)
    reply = visitor.says("is there a way to test at home if my glute med is hurt")
    assert "8 inches" in reply and "10 times" in reply
    assert "check with your doctor or therapist" in reply


def test_follow_ups_stay_on_the_topic_just_discussed(assistant):
    visitor = Visitor(assistant)
    assert "cross" in visitor.says("is sitting with my legs crossed bad for my hip muscle")
    assert "pillow between your knees" in visitor.says("tell me more")
    visitor = Visitor(assistant)
    assert "TFL" in visitor.says("what is tfl dominance")
    reply = visitor.says("how do i fix that")
    assert "Stand on one leg" in reply and "check with your doctor" in reply


def test_follow_up_before_any_topic_asks_which_topic(assistant):
    visitor = Visitor(assistant)
    reply = visitor.says("how do i fix that")
    assert "Which topic" in reply or "another way" in reply
    assert len(visitor.buttons) >= 3


def walk_into_cause_finder(visitor: Visitor) -> None:
    reply = visitor.says("why is my gluteus medius so weak")
    assert "legs crossed" in reply and "pinched nerve" in reply
    assert "quick check" in reply
    assert "leg crossed" in visitor.says("yes")


def test_cause_finder_summarises_the_causes_that_fit_with_their_tips(assistant):
    visitor = Visitor(assistant)
    walk_into_cause_finder(visitor)
    assert "pillow" in visitor.says("yes all the time")
    assert "arches" in visitor.says("no")
    assert "numbness" in visitor.says("not sure")
    summary = visitor.says("no")
    assert "may play a part" in summary
    assert "knees rest apart" in summary  # the sitting tip, since they cross their legs
    assert "pillow between your knees" not in summary  # they said no to side-sleeping without one
    assert "feet and ankles" in summary  # unsure: a clinician can check
    assert "not a diagnosis" in summary


def test_cause_finder_nerve_sign_says_a_clinician_should_rule_it_out(assistant):
    visitor = Visitor(assistant)
    visitor.says("start the cause finder")
    for answer in ("no", "no", "no"):
        visitor.says(answer)
    summary = visitor.says("yes")
    assert "pinched nerve" in summary and "rule one out" in summary


def test_skip_moves_on_and_stop_ends_with_what_was_answered(assistant):
    visitor = Visitor(assistant)
    visitor.says("start the cause finder")
    assert "pillow" in visitor.says("skip")
    assert "arches" in visitor.says("yes")
    summary = visitor.says("stop")
    assert "pillow between your knees" in summary
    # The check is over: a plain question gets a plain answer, not the next question.
    assert "numbness" not in visitor.says("what is the gluteus medius")


def test_a_question_in_the_middle_of_the_check_is_answered_then_the_check_goes_on(assistant):
    visitor = Visitor(assistant)
    visitor.says("start the cause finder")
    reply = visitor.says("wait what is the TFL muscle exactly")
    assert "TFL" in reply and "leg crossed" in reply


def test_declining_the_check_is_fine(assistant):
    visitor = Visitor(assistant)
    visitor.says("why does the outside of my hip hurt")
    assert "No problem" in visitor.says("no thanks")


@pytest.mark.parametrize(
    "text",
    ["?", "\U0001F600", "<img src=x onerror=alert(1)>", "x" * 1000, "'; DROP TABLE leads; --",
     "asdkjh qwpoeiru zxcmnv", "{\"json\": true}", "/restart_everything"],
)
def test_every_message_gets_a_reply(assistant, text):
    replies = assistant.send(f"odd-{uuid.uuid4().hex[:8]}", text, {"clinic": "stl"})
    assert replies and any(r.get("text") for r in replies)


def test_more_after_the_causes_gives_their_tips_rather_than_a_second_offer(assistant):
    visitor = Visitor(assistant)
    visitor.says("why is my glute med weak")
    reply = visitor.says("tell me more")
    assert "Here is what tends to help" in reply and "quick check" not in reply


@pytest.mark.parametrize("accept", ["yes", "go on then", "ok, let's do it", "yeah go for it"])
def test_the_offer_of_the_check_is_taken_up_in_any_words(assistant, accept):
    visitor = Visitor(assistant)
    visitor.says("why is my glute med weak")
    assert "leg crossed" in visitor.says(accept)


def test_no_to_the_offer_with_a_question_answers_the_question(assistant):
    visitor = Visitor(assistant)
    visitor.says("what makes the glute med weak")
    reply = visitor.says("no thanks, but what was that about a pillow when I sleep on my side")
    assert "pillow between your knees" in reply and "quick check" not in reply


def test_every_night_no_pillow_is_a_yes_to_the_pillow_question(assistant):
    visitor = Visitor(assistant)
    visitor.says("start the cause finder")
    visitor.says("no")
    assert "arches" in visitor.says("every night, no pillow")
    visitor.says("no")
    assert "pillow between your knees" in visitor.says("no")


def test_an_answer_that_settles_a_later_question_skips_it(assistant):
    visitor = Visitor(assistant)
    visitor.says("start the cause finder")
    reply = visitor.says("nope, and my feet and ankles are fine too")
    assert "pillow" in reply
    reply = visitor.says("no")
    assert "arches" not in reply and "numbness" in reply


def test_an_answer_to_a_later_question_is_kept_and_the_question_asked_again(assistant):
    visitor = Visitor(assistant)
    visitor.says("start the cause finder")
    visitor.says("yes")
    reply = visitor.says("my arches are flat though")
    assert "pillow" in reply  # the side-sleeping question again
    assert "numbness" in visitor.says("no")  # the arches question is not asked
    assert "Feet and ankles" in visitor.says("no")


def test_yes_after_the_summary_starts_the_appointment_hand_off(assistant):
    visitor = Visitor(assistant)
    visitor.says("start the cause finder")
    visitor.says("yes")
    assert "may play a part" in visitor.says("stop")
    assert "what name should they use" in visitor.says("yes")


def test_taking_up_the_check_with_an_answer_skips_that_question(assistant):
    visitor = Visitor(assistant)
    visitor.says("why is my glute med weak")
    reply = visitor.says("sure, and I sit with one leg over the other most evenings")
    assert "pillow" in reply and "leg crossed over" not in reply


def test_the_offer_of_help_after_the_summary_is_taken_up_in_any_words(assistant):
    visitor = Visitor(assistant)
    visitor.says("start the cause finder")
    for answer in ("no", "no", "no", "no"):
        summary = visitor.says(answer)
    assert "Would you like help" in summary
    assert "what name" in visitor.says("ok that would be good actually").lower()
