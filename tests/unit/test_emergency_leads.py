"""Which emergency advice a conversation holds, and which of it still needs a lead."""
from bot.leads.emergency import advice_given, describe, unrecorded


def user(text, intent, at, rules=()):
    entities = [{"entity": "red_flag", "value": rule} for rule in rules]
    return {"event": "user", "text": text, "timestamp": at,
            "parse_data": {"intent": {"name": intent}, "entities": entities}}


def bot(action, at):
    return {"event": "bot", "text": "...", "timestamp": at, "metadata": {"utter_action": action}}


def test_a_clear_emergency_is_traced_to_the_message_that_raised_it():
    events = [user("hello", "greet", 1), bot("utter_greet", 2),
              user("I wet myself today", "report_red_flag", 3, ["bladder_bowel"]), bot("utter_emergency", 4)]
    [advice] = advice_given(events)
    assert (advice.at, advice.trigger, advice.rules, advice.confirmed) == (4, "I wet myself today",
                                                                         ("bladder_bowel",), False)
    assert "bladder_bowel" in describe(advice)["reason"]


def test_a_confirmed_red_flag_is_traced_to_the_message_before_the_question():
    events = [user("my bum is a bit numb", "report_red_flag", 1), bot("utter_confirm_red_flag", 2),
              user("yes", "affirm", 3), bot("utter_emergency", 4)]
    [advice] = advice_given(events)
    assert advice.trigger == "my bum is a bit numb" and advice.confirmed
    assert "confirming question" in describe(advice)["reason"]


def test_a_confirming_question_answered_no_is_no_advice():
    events = [user("my bum is a bit numb", "report_red_flag", 1), bot("utter_confirm_red_flag", 2),
              user("no", "deny", 3), bot("utter_red_flag_not_confirmed", 4)]
    assert advice_given(events) == []


def test_a_yes_to_the_screenings_last_question_is_described_as_such():
    events = [bot("utter_ask_screen_red_flags", 1), user("yes", "affirm", 2), bot("utter_emergency", 3)]
    [advice] = advice_given(events)
    assert "screening" in advice.trigger


def test_only_advice_after_the_last_recorded_one_is_pending():
    events = [user("I wet myself", "report_red_flag", 1), bot("utter_emergency", 2),
              user("and my groin is numb now", "report_red_flag", 3), bot("utter_emergency", 4)]
    assert [a.at for a in unrecorded(events, None)] == [2, 4]
    assert [a.at for a in unrecorded(events, 2)] == [4]
    assert unrecorded(events, 4) == []
