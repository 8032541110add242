from bot.core.handoff import contact_method, mode_from_text, reason, summary, transcript


def test_transcript_keeps_user_and_bot_texts_with_utc_times():
    events = [
        {"event": "action", "name": "action_listen", "timestamp": 1.0},
        {"event": "user", "text": "can i book", "timestamp": 1763910000.5},
        {"event": "bot", "text": "Sure", "timestamp": 1763910001.0},
        {"event": "bot", "text": None, "timestamp": 1763910001.0},
        {"event": "slot", "name": "x", "value": 1},
    ]
    turns = transcript(events)
    assert [(t["who"], t["text"]) for t in turns] == [("user", "can i book"), ("bot", "Sure")]
    assert turns[0]["at"].endswith("+00:00")


def test_booking_answers_and_the_lines_that_repeat_them_stay_out_of_the_transcript():
    events = [
        {"event": "user", "text": "can i book", "timestamp": 1.0},
        {"event": "bot", "text": "What name?", "timestamp": 2.0},
        {"event": "user", "text": "Ann Smith", "timestamp": 3.0},
        {"event": "slot", "name": "lead_name", "value": "Ann Smith"},
        {"event": "bot", "text": "Phone or email?", "timestamp": 4.0},
        {"event": "user", "text": "wait, what exercise helps?", "timestamp": 5.0},
        {"event": "bot", "text": "The side-lying leg lift.", "timestamp": 6.0},
        {"event": "user", "text": "555 01", "timestamp": 7.0},
        {"event": "slot", "name": "lead_invalid_answers", "value": {"lead_contact": 1}},
        {"event": "user", "text": "314 555 0123", "timestamp": 8.0},
        {"event": "slot", "name": "lead_phone", "value": "+13145550123"},
        {"event": "bot", "text": "Here is what I'll send: name Ann Smith", "timestamp": 9.0,
         "metadata": {"utter_action": "utter_ask_lead_consent"}},
        {"event": "user", "text": "stop", "timestamp": 10.0},
    ]
    texts = [t["text"] for t in transcript(events)]
    assert texts == ["can i book", "What name?", "Phone or email?", "wait, what exercise helps?",
                     "The side-lying leg lift.", "stop"]


def test_transcript_is_capped():
    events = [{"event": "user", "text": "x" * 5000, "timestamp": i} for i in range(500)]
    turns = transcript(events)
    assert len(turns) == 200 and len(turns[0]["text"]) == 1000


def test_reason_comes_from_the_conversation():
    assert reason("How it is treated", "how you sit or sleep") == (
        "Last topic discussed: How it is treated. Cause finder: how you sit or sleep")
    assert reason(None, None) == "Asked to be contacted"


def test_mode_from_typed_answers():
    assert mode_from_text("online by video please") == "online"
    assert mode_from_text("I'll come in person") == "in_person"
    assert mode_from_text("either") is None
    assert mode_from_text("in person or online") is None
    assert mode_from_text("video, I can't get to the clinic these days") == "online"
    assert mode_from_text("online - it's too far for me to come in") == "online"


def test_contact_method_and_summary_read_naturally():
    assert contact_method("+13145550123", None) == "by phone at (314) 555-0123"
    assert contact_method(None, "a@example.com") == "by email at a@example.com"
    assert summary("Mary", "+13145550123", None, "mornings", "online") == (
        "name Mary, phone (314) 555-0123, best time mornings, online")


def test_the_summary_says_a_skipped_mode_as_it_is():
    from bot.core.handoff import summary

    assert summary("(not given)", None, "a@example.com", "(not given)", "no preference").endswith("no preference")
    assert summary("Ann", None, "a@example.com", None, "in_person").endswith("in person")
