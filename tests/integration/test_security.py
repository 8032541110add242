"""Medius started as `make run` starts it, tried from outside as an attacker on the same network would.

Every Rasa management route, the action server, forged calls, missing or foreign
origins, rotated sender ids and typed slash commands: each is refused with a
clear 4xx or cannot be reached, and visitors still chat through the one public port.
"""
import json
import subprocess
import time
import uuid

import psutil
import pytest
import requests

from bot.core.paths import ROOT
from bot.core.settings import settings_from
from bot.web.app import create_app
from tests.support.helpers import Visitor
from tests.support.servers import WebServer, free_port

SITE = {"Origin": "http://localhost:8000"}
# Rasa's HTTP API (rasa.server): reading trackers, driving conversations, replacing the model.
RASA_API = [
    ("GET", "/status"), ("GET", "/version"), ("GET", "/domain"),
    ("GET", "/conversations/{sender}/tracker"), ("POST", "/conversations/{sender}/messages"),
    ("PUT", "/conversations/{sender}/tracker/events"), ("POST", "/conversations/{sender}/tracker/events"),
    ("POST", "/conversations/{sender}/trigger_intent"), ("POST", "/conversations/{sender}/execute"),
    ("POST", "/conversations/{sender}/predict"), ("GET", "/conversations/{sender}/story"),
    ("POST", "/model/train"), ("PUT", "/model"), ("DELETE", "/model"), ("POST", "/model/parse"),
    ("POST", "/webhooks/rest/webhook"),
]


def listening(process: psutil.Process):
    return {(c.laddr.ip, c.laddr.port) for c in process.net_connections("inet") if c.status == psutil.CONN_LISTEN}


def forged_tracker(sender: str) -> dict:
    """What Rasa would send the action server: a booking with consent, ready to be saved."""
    return {"next_action": "action_submit_appointment", "sender_id": sender, "version": "3.6.21", "domain": {},
            "tracker": {"sender_id": sender, "events": [], "latest_message": {}, "active_loop": {},
                        "slots": {"lead_consent": True, "lead_name": "Forged", "lead_phone": "+13145550100",
                                  "urgency": "emergency", "clinic": "stl"}}}


def test_only_the_web_server_listens_beyond_loopback(assistant):
    for name in ("rasa", "actions"):
        sockets = listening(assistant.process(name))
        assert sockets, f"{name} is not listening at all"
        assert all(ip in ("127.0.0.1", "::1") for ip, _ in sockets), (name, sockets)
    web = listening(assistant.process("web"))
    assert {port for _, port in web} == {assistant.ports["web"]}
    everything = [p for p in psutil.Process(assistant.supervisor.pid).children(recursive=True)]
    public = {(ip, port) for p in everything for ip, port in listening(p) if ip not in ("127.0.0.1", "::1")}
    assert {port for _, port in public} <= {assistant.ports["web"]}, public


def test_the_notifier_opens_no_port(assistant, lead_db):
    notifier = subprocess.Popen([str(ROOT / ".venv" / "bin" / "python"), "-m", "bot", "notify", "--loop"],
                                cwd=ROOT, env={**assistant.env, "DATABASE_URL": lead_db},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        time.sleep(4)  # long enough to have opened anything it was going to
        assert notifier.poll() is None
        assert not listening(psutil.Process(notifier.pid))
    finally:
        notifier.terminate()
        notifier.wait(timeout=20)


@pytest.mark.parametrize("method, path", RASA_API)
def test_rasas_management_api_is_not_on_the_public_port(assistant, method, path):
    response = requests.request(method, assistant.url + path.format(sender="victim-12345678"), json={}, timeout=10)
    assert response.status_code in (404, 405), (method, path, response.status_code)


@pytest.mark.parametrize("method, path", RASA_API)
def test_rasas_management_api_is_off_even_on_loopback(assistant, method, path):
    rasa = f"http://127.0.0.1:{assistant.ports['rasa']}"
    response = requests.request(method, rasa + path.format(sender="victim-12345678"), json={}, timeout=10)
    assert response.status_code in (404, 405), (method, path, response.status_code)


def test_a_visitors_conversation_cannot_be_read_back(assistant):
    visitor = Visitor(assistant)
    visitor.says("I'd like to book an appointment")
    visitor.says("Imogen Tracker-Reader")
    for base in (assistant.url, f"http://127.0.0.1:{assistant.ports['rasa']}"):
        response = requests.get(f"{base}/conversations/{visitor.sender}/tracker", timeout=10)
        assert response.status_code == 404 and "Imogen" not in response.text


@pytest.mark.parametrize("path", ["/webhook", "/actions", "/health"])
def test_the_action_server_is_not_on_the_public_port(assistant, path):
    assert requests.post(f"{assistant.url}{path}", json=forged_tracker("x"), timeout=10).status_code in (404, 405)


@pytest.mark.parametrize("headers", [{}, {"X-Medius-Token": "guess"}, {"X-Medius-Token": ""}])
def test_a_forged_action_call_is_refused_and_saves_no_lead(assistant, lead_db, headers):
    sender = f"forged-{uuid.uuid4().hex[:8]}"
    actions = f"http://127.0.0.1:{assistant.ports['actions']}"
    response = requests.post(f"{actions}/webhook", json=forged_tracker(sender), headers=headers, timeout=10)
    assert response.status_code == 401
    assert requests.get(f"{actions}/actions", headers=headers, timeout=10).status_code == 401
    out = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "bot", "leads", "export"], cwd=ROOT,
                         env={**assistant.env, "DATABASE_URL": lead_db}, capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert sender not in out


def test_a_forged_call_straight_to_rasas_channel_is_refused(assistant):
    rasa = f"http://127.0.0.1:{assistant.ports['rasa']}/webhooks/widget/webhook"
    body = {"sender": "victim-12345678", "message": "hi", "metadata": {"clinic": "stl"}}
    for headers in ({}, {"X-Medius-Token": "guess"}, SITE):
        response = requests.post(rasa, json=body, headers=headers, timeout=10)
        assert response.status_code == 401 and response.json()["error"] == "unauthorised"


def test_rotating_sender_ids_from_one_address_does_not_get_round_the_limit(assistant, clinics_file):
    settings = settings_from({**assistant.env, "MEDIUS_CLINICS_FILE": str(clinics_file),
                              "CHAT_ADDRESS_RATE_LIMIT": "6", "CHAT_RATE_LIMIT": "20"})

    def rotated(web, headers):
        return [requests.post(f"{web.url}/chat", headers=headers, timeout=30, json={
            "sender": f"rotated-{n:04d}-{uuid.uuid4().hex[:6]}", "message": "hi", "metadata": {"clinic": "stl"}},
        ).status_code for n in range(9)]

    with WebServer(create_app(settings), free_port()) as web:
        assert rotated(web, SITE) == [200] * 6 + [429] * 3
    with WebServer(create_app(settings), free_port()) as web:  # a clinic's server relays many visitors
        assert rotated(web, {"Authorization": f"Bearer {assistant.api_token}"}) == [200] * 9


def test_typed_restart_gets_a_real_answer_not_silence(assistant):
    visitor = Visitor(assistant)
    assert visitor.says("/restart").strip()


def test_a_typed_red_flag_intent_does_not_raise_an_emergency(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("what is the gluteus medius")
    assert "911" not in visitor.says("/report_red_flag")


def test_a_typed_intent_cannot_fill_the_booking_form(assistant):
    visitor = Visitor(assistant)
    reply = visitor.says('/request_appointment{"lead_name": "Mallory"}')
    assert "Mallory" not in reply
    if "what name" in reply.lower():  # if it opened the form at all, it still asks for the name
        assert "phone number or email" not in reply


def test_a_button_the_assistant_offered_still_works_when_clicked(assistant):
    visitor = Visitor(assistant)
    visitor.says("what is the gluteus medius")
    payloads = [b["payload"] for r in visitor.replies for b in r.get("buttons", [])]
    assert payloads, "the FAQ answer offers follow-up buttons"
    follow_up = visitor.says(payloads[0])
    assert "Sorry, I'm not sure I understood" not in follow_up


def test_a_button_from_an_older_reply_is_plain_text_now(assistant):
    visitor = Visitor(assistant)
    visitor.says("what is the gluteus medius")
    old = next(b["payload"] for r in visitor.replies for b in r.get("buttons", []) if "what_it_does" in b["payload"])
    # offered just now: the topic's answer
    assert "pelvis level and steady when you stand on one leg" in visitor.says(old)
    visitor.says("I'd like to book an appointment")
    reply = visitor.says(old)  # no longer offered: read as typed text, not as that topic
    assert "pelvis level when you stand on one leg" not in reply


def test_the_live_product_sends_its_security_headers(assistant):
    for path in ("/demo/stl", "/widget.js", "/widget/config/stl.json"):
        headers = requests.get(f"{assistant.url}{path}", timeout=10).headers
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"
        assert "Content-Security-Policy" in headers
    config = requests.get(f"{assistant.url}/widget/config/stl.json", timeout=10).json()
    assert not {"staff", "staff_emails", "staff_webhook_url", "allowed_origins"} & set(config)
    assert "@" not in json.dumps(config)


def test_visitors_still_get_faq_booking_and_emergency_answers_through_the_public_port(assistant):
    visitor = Visitor(assistant)
    assert "outer side of the hip" in visitor.says("what is the gluteus medius")
    assert "what name" in visitor.says("can I book an appointment").lower()
    assert "911" in visitor.says("I suddenly can't control my bladder")
