"""A message sent twice with the same message_id (the widget's retry) runs one turn, through the real servers."""
import json
import threading
import uuid

import requests
from sqlalchemy import create_engine, text

from tests.integration.test_booking import by_sender
from tests.support.helpers import Visitor


def user_turns(assistant, sender):
    """What the visitor said, as Rasa's tracker store kept it."""
    engine = create_engine(assistant.env["CONVERSATIONS_DATABASE_URL"])
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT data FROM events WHERE sender_id = :s AND type_name = 'user' "
                                       "ORDER BY id"), {"s": sender}).scalars().all()
    engine.dispose()
    return [json.loads(row)["text"] for row in rows]


def post(assistant, sender, message, message_id=None):
    body = {"sender": sender, "message": message, "metadata": {"clinic": "stl"}}
    if message_id:
        body["message_id"] = message_id
    return requests.post(assistant.chat_url, json=body, timeout=60,
                         headers={"Authorization": f"Bearer {assistant.api_token}"})


def test_a_retried_consent_books_one_lead_and_gets_the_same_answer(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("I'd like to book an appointment")
    visitor.says("Rose Tyler")
    visitor.says("314-555-0177")
    visitor.says("mornings")
    visitor.says('/choose_mode{"mode": "online"}')
    key = uuid.uuid4().hex
    first, retry = post(assistant, visitor.sender, "yes", key), post(assistant, visitor.sender, "yes", key)
    assert first.status_code == retry.status_code == 200
    assert "Thank you, Rose Tyler" in first.json()[0]["text"] and retry.json() == first.json()
    again = post(assistant, visitor.sender, "what is the gluteus medius", uuid.uuid4().hex)  # a new message runs
    assert "outer side of the hip" in " ".join(r.get("text", "") for r in again.json())
    assert len(by_sender(lead_db, visitor.sender)) == 1
    assert user_turns(assistant, visitor.sender).count("yes") == 1


def test_two_copies_at_once_run_one_turn(assistant):
    sender, key = f"test-{uuid.uuid4().hex[:12]}", uuid.uuid4().hex
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(post(assistant, sender, "what is the gluteus medius",
                                                                   key).json())) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 2 and answers[0] == answers[1]
    assert "outer side of the hip" in answers[0][0]["text"]
    assert user_turns(assistant, sender) == ["what is the gluteus medius"]


def test_a_malformed_message_id_is_refused_clearly(assistant):
    answer = post(assistant, f"test-{uuid.uuid4().hex[:12]}", "hello", "bad id with spaces")
    assert answer.status_code == 400 and answer.json()["message"]


def test_a_new_visitors_conversation_is_stored_from_one_session_start_with_the_clinics_details(assistant):
    sender = f"first-{uuid.uuid4().hex[:12]}"
    assert post(assistant, sender, "what is the gluteus medius").status_code == 200
    assert post(assistant, sender, "how do I test it at home").status_code == 200
    engine = create_engine(assistant.env["CONVERSATIONS_DATABASE_URL"])
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT type_name, data FROM events WHERE sender_id = :s ORDER BY id"),
                                  {"s": sender}).all()
    engine.dispose()
    kinds = [kind for kind, _ in rows]
    assert kinds[:2] == ["action", "session_started"] and kinds.count("session_started") == 1
    slots = {json.loads(data)["name"]: json.loads(data)["value"] for kind, data in rows if kind == "slot"}
    assert slots.get("clinic") == "stl" and slots.get("clinic_name")  # set before the first message, by the channel
    assert kinds.count("user") == 2 and kinds.index("session_started") < kinds.index("user")
