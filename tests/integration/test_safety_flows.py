"""Red flags in every state, and the nerve screening, through the real servers."""
from tests.integration.test_booking import by_sender
from tests.support.helpers import Visitor

EMERGENCY = "Call 911 or go to the nearest emergency room"


def test_red_flag_in_the_middle_of_the_booking_form_stops_it_and_is_recorded(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("I'd like to book an appointment")
    visitor.says("Mary Green")
    reply = visitor.says("sorry I just wet myself and can't feel anything down below")
    assert reply.startswith("Please stop here") and EMERGENCY in reply
    assert "passed your message" in reply
    assert "What's the best phone number" not in reply  # the form does not go on
    [lead] = by_sender(lead_db, visitor.sender)
    assert lead["urgency"] == "emergency" and "wet myself" in lead["reason"]
    assert lead["screening"]["trigger_message"].startswith("sorry I just wet myself")


def test_red_flag_during_the_cause_finder_ends_the_questions(assistant):
    visitor = Visitor(assistant)
    visitor.says("start the cause finder")
    reply = visitor.says("yes, and my foot has started dragging since this morning")
    assert EMERGENCY in reply and "pillow" not in reply
    assert ("emergency care first" in visitor.says("start the cause finder")
            or "numbness" not in visitor.replies[-1]["text"])


def nerve_screen(visitor: Visitor, answers):
    assert "few quick questions" in visitor.says("I get pins and needles down into my foot")
    assert "Where do you feel" in visitor.says("yes")
    replies = [visitor.says(answer) for answer in answers]
    return replies[-1]


def test_nerve_screening_with_weakness_recommends_a_check_and_a_priority_call_back(assistant, lead_db):
    visitor = Visitor(assistant)
    outcome = nerve_screen(visitor, ['/choose_location{"location": "foot"}', "yes", "yes, one side is weaker",
                                     "no", "about six weeks", "stretches and the exercises", "no"])
    assert "clinician check whether a nerve" in outcome and "priority" in outcome
    assert "diagnos" in outcome and "nerve_review" not in outcome
    visitor.says("yes please")
    visitor.says("Tom Baker")
    visitor.says("314-555-0111")
    visitor.says("mornings")
    visitor.says('/choose_mode{"mode": "in_person"}')
    visitor.says("yes")
    [lead] = by_sender(lead_db, visitor.sender)
    assert lead["urgency"] == "nerve_review"
    assert lead["screening"]["weakness"] == "yes" and lead["screening"]["where"] == "foot"


def test_the_weakness_question_asks_to_hold_on_to_something(assistant):
    visitor = Visitor(assistant)
    nerve_screen(visitor, ['/choose_location{"location": "hip"}'])
    assert "holding on to a counter or a sturdy chair" in visitor.says("no")


def test_yes_to_the_screenings_red_flag_question_is_an_emergency(assistant):
    visitor = Visitor(assistant)
    outcome = nerve_screen(visitor, ["thigh", "no", "no", "no", "a month", "nothing yet", "yes"])
    assert EMERGENCY in outcome


def test_a_red_flag_typed_during_the_screening_stops_it(assistant):
    visitor = Visitor(assistant)
    nerve_screen(visitor, ["below the knee"])
    reply = visitor.says("my groin has gone numb since this morning")
    assert reply.startswith("Please stop here")
    assert "back pain" not in reply


def test_declining_the_screening_is_fine(assistant):
    visitor = Visitor(assistant)
    visitor.says("tingling in my calf every evening")
    assert "No problem" in visitor.says("no thanks")


def test_stopping_the_screening_keeps_what_was_answered(assistant):
    visitor = Visitor(assistant)
    nerve_screen(visitor, ["foot", "yes"])
    reply = visitor.says("stop")
    assert "clinician check whether a nerve" in reply  # numbness yes: escalated, not dropped


def test_a_cause_finder_nerve_sign_hands_over_to_the_screening(assistant):
    visitor = Visitor(assistant)
    visitor.says("start the cause finder")
    for answer in ("no", "no", "no"):
        visitor.says(answer)
    assert "few quick questions" in visitor.says("yes")
    assert "Where do you feel" in visitor.says("yes")
