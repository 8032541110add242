"""The public chat endpoint (POST /chat on the web server) in front of the real Rasa server: what it refuses, and
CORS."""
import json
import uuid

import pytest
import requests

from bot.web.conversations import CONVERSATION_HEADER

SITE = {"Origin": "http://localhost:8000"}


def sender():
    return f"chan-{uuid.uuid4().hex[:12]}"


def chat(text, **extra):
    return {"sender": sender(), "message": text, "metadata": {"clinic": "stl"}, **extra}


@pytest.mark.parametrize(
    "body, status, code",
    [
        (chat(""), 400, "empty"),
        (chat("   "), 400, "empty"),
        (chat("x" * 1001), 413, "too_long"),
        ("{this is not json", 400, "malformed"),
        (b"\xff\xfe\xfa", 400, "malformed"),
        ("[]", 400, "malformed"),
        (json.dumps({"sender": "x", "message": "hi"}), 400, "bad_sender"),
        (chat("hi", metadata={"clinic": "atlantis"}), 400, "unknown_clinic"),
        ("x" * 2_000_000, 413, "too_large"),
        (chat("/"), 400, "empty"),
    ],
)
def test_bad_messages_get_a_clear_error_not_a_500(assistant, body, status, code):
    response = assistant.post(body, headers=SITE)
    assert response.status_code == status
    assert response.json()["error"] == code and response.json()["message"]
    assert assistant.alive()


def test_after_bad_input_the_server_still_answers(assistant):
    for body in ("{", "[]", chat("")):
        assistant.post(body, headers=SITE)
    assert any("gluteus medius" in r.get("text", "").lower()
               for r in assistant.send(sender(), "what is the gluteus medius", {"clinic": "stl"}))


def test_a_visitor_sending_too_fast_is_slowed_politely_and_others_are_not(assistant):
    # One visitor is one widget: the conversation token the first reply hands out, sent with every message.
    first = assistant.post({"message": "hi", "metadata": {"clinic": "stl"}}, headers=SITE)
    body = {"conversation": first.headers[CONVERSATION_HEADER], "message": "hi", "metadata": {"clinic": "stl"}}
    statuses = [first.status_code] + [assistant.post(body, headers=SITE).status_code for _ in range(19)]
    assert statuses == [200] * 20
    slowed = assistant.post(body, headers=SITE)
    assert slowed.status_code == 429
    assert "Please wait" in slowed.json()["message"] and int(slowed.headers["Retry-After"]) >= 1
    assert assistant.post(chat("hi"), headers=SITE).status_code == 200


def test_cors_lets_the_clinics_websites_in_and_no_one_else(assistant):
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = requests.options(assistant.chat_url, headers={**SITE, **preflight}, timeout=10)
    assert allowed.headers.get("Access-Control-Allow-Origin") == "http://localhost:8000"
    other = requests.options(assistant.chat_url, headers={"Origin": "https://evil.example", **preflight}, timeout=10)
    assert "Access-Control-Allow-Origin" not in other.headers
    assert allowed.headers.get("Access-Control-Allow-Origin") != "*"


def test_a_page_on_another_website_cannot_chat_as_the_clinic(assistant):
    response = assistant.post(chat("hi"), headers={"Origin": "https://evil.example"})
    assert response.status_code == 403 and response.json()["error"] == "origin_not_allowed"
    ok = assistant.post(chat("hi"), headers=SITE)
    assert ok.status_code == 200 and ok.headers["Access-Control-Allow-Origin"] == "http://localhost:8000"


def test_a_request_without_origin_needs_the_server_token(assistant):
    bare = assistant.post(chat("hi"))
    assert bare.status_code == 403 and bare.json()["error"] == "origin_required"
    forged = assistant.post(chat("hi"), headers={"Authorization": "Bearer not-the-token"})
    assert forged.status_code == 403
    server = assistant.post(chat("hi"), headers={"Authorization": f"Bearer {assistant.api_token}"})
    assert server.status_code == 200 and server.json()


def test_refused_messages_stay_out_of_the_logs(assistant, root):
    secret = f"my phone is 314 555 {uuid.uuid4().int % 10000:04d}"
    assistant.post(chat(secret + " " + "x" * 1000), headers=SITE)
    assistant.post(chat(secret), headers={"Origin": "https://evil.example"})
    log = (root / "var" / "test-logs" / "medius.log").read_text(errors="replace")
    assert secret not in log and "Chat request refused: too_long" in log


def test_each_server_freezes_its_start_up_objects_for_the_garbage_collector(assistant, root):
    import re

    assert assistant.post(chat("hi"), headers=SITE).status_code == 200  # every process is up and has served
    log = (root / "var" / "test-logs" / "medius.log").read_text(errors="replace")
    frozen = {process: int(count) for process, count in
              re.findall(r"Start-up objects frozen for the garbage collector \((\w+)\): (\d+)", log)}
    # The Rasa process with its model, each action worker and the web server, TensorFlow loaded in each.
    assert set(frozen) == {"rasa", "actions", "web"} and min(frozen.values()) > 100_000
