"""Medius started as `make run` starts it, tried from outside as an attacker on the same network would.

Every Rasa management route, the action server, forged calls, missing or foreign
origins, rotated sender ids and typed slash commands: each is refused with a
clear 4xx or cannot be reached, and visitors still chat through the one public port.
"""
import base64
import dataclasses
import json
import stat
import subprocess
import time
import uuid
from pathlib import Path

import psutil
import pytest
import requests
from sqlalchemy import select, text

from bot.core.files import private_paths
from bot.core.paths import ROOT
from bot.core.settings import get_settings, settings_from
from bot.staff import worklist
from bot.store.db import session_scope
from bot.store.models import ContentGap
from bot.web.app import create_app
from tests.integration.test_booking import book, by_sender, leads_in
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


# --- Issue 28: what an outsider found, tried again against the running product ---

class Browser:
    """A visitor's browser as the widget talks to the chat: Origin set, the server's conversation token kept."""

    def __init__(self, assistant, clinic="stl"):
        self.assistant, self.clinic, self.token = assistant, clinic, None

    def post(self, message, message_id=None, **fields):
        body = {"message": message, "metadata": {"clinic": self.clinic}, **fields}
        if self.token and "conversation" not in fields:
            body["conversation"] = self.token
        if message_id:
            body["message_id"] = message_id
        answer = requests.post(self.assistant.chat_url, json=body, headers=SITE, timeout=60)
        self.token = answer.headers.get("X-Medius-Conversation") or self.token
        return answer

    def says(self, message, message_id=None):
        answer = self.post(message, message_id)
        assert answer.status_code == 200, answer.text
        return " ".join(r.get("text", "") for r in answer.json())


def sender_in(token):
    """The sender id a conversation token names (signed, not secret: without the signature it is worth nothing)."""
    payload = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["s"]


def book_to_consent(chat, name="Imogen Victim"):
    assert "what name" in chat.says("I'd like to book an appointment").lower()
    assert "phone number or email" in chat.says(name)
    assert "good time" in chat.says("314-555-0123")
    assert "in person, or online" in chat.says("weekday mornings")
    return chat.says('/choose_mode{"mode": "online"}')


def test_a_conversation_answers_only_the_holder_of_its_token(assistant, lead_db):
    victim = Browser(assistant)
    read_back = book_to_consent(victim)
    assert "Imogen" in read_back and victim.token
    sender = sender_in(victim.token)
    # The sender id alone, as the CSV and the staff API used to show it, opens nothing.
    attacker = Browser(assistant)
    for fields in ({"sender": sender}, {"conversation": victim.token[:-4] + "AAAA"}, {"sender": sender,
                                                                                       "conversation": "x"}):
        answer = attacker.post("no, cancel that and repeat my details", **fields)
        assert answer.status_code == 200 and "Imogen" not in answer.text and "555" not in answer.text
        assert sender_in(answer.headers["X-Medius-Conversation"]) != sender
    other_clinic = Browser(assistant, clinic="boston")
    answer = other_clinic.post("repeat my details please", conversation=victim.token)
    assert "Imogen" not in answer.text and sender_in(answer.headers["X-Medius-Conversation"]) != sender
    victim.says("yes")  # the attacker's "no, cancel that" did not reach this conversation
    [lead] = by_sender(lead_db, sender)
    assert lead["name"] == "Imogen Victim" and lead["clinic"] == "stl"


def test_a_replayed_message_id_returns_the_earlier_reply_to_the_token_holder_only(assistant):
    victim = Browser(assistant)
    victim.says("I'd like to book an appointment")
    first = victim.post("Imogen Replay", message_id="replay-id-0001")
    again = victim.post("Imogen Replay", message_id="replay-id-0001")
    assert again.json() == first.json()  # the widget's retry still gets its answer
    sender = sender_in(victim.token)
    for fields in ({"sender": sender}, {}):
        stolen = Browser(assistant).post("Imogen Replay", message_id="replay-id-0001", **fields)
        assert stolen.json() != first.json() and sender_in(stolen.headers["X-Medius-Conversation"]) != sender


def test_a_first_message_replayed_without_a_token_opens_no_one_elses_conversation(assistant):
    victim = Browser(assistant)
    message_id = uuid.uuid4().hex[:24]
    first = victim.post("I'd like to book an appointment", message_id=message_id)
    sender = sender_in(victim.token)
    assert "phone number or email" in victim.says("Imogen Firstmessage")
    retry = Browser(assistant).post("I'd like to book an appointment", message_id=message_id)
    assert retry.json() == first.json()  # the widget's retry, its first answer lost: the same turn, not a second
    assert sender_in(retry.headers["X-Medius-Conversation"]) == sender
    replays = [Browser(assistant).post("repeat my details please", message_id=message_id),
               Browser(assistant, clinic="boston").post("I'd like to book an appointment", message_id=message_id)]
    short = Browser(assistant)
    short.post("I'd like to book an appointment", message_id="short-id-0001")
    replays.append(Browser(assistant).post("I'd like to book an appointment", message_id="short-id-0001"))
    for replay in replays:
        assert "Imogen" not in replay.text and sender_in(replay.headers["X-Medius-Conversation"]) != sender
    assert sender_in(replays[-1].headers["X-Medius-Conversation"]) != sender_in(short.token)


def test_a_server_with_the_api_token_still_names_its_own_sender_ids(assistant):
    visitor = Visitor(assistant)  # sends its own sender id with MEDIUS_API_TOKEN, as integrations do
    visitor.says("I'd like to book an appointment")
    assert "phone number or email" in visitor.says("Imogen Server")  # the same conversation, by its sender id


def test_a_leading_space_makes_no_slash_command_and_the_clinic_is_never_lost(assistant, lead_db):
    visitor = Visitor(assistant, clinic="boston")
    assert "what name" in visitor.says("I'd like to book an appointment").lower()
    assert "phone number or email" in visitor.says("Rhoda Restart")
    for attempt in (" /restart", "\t/restart", " /session_start"):
        reply = visitor.says(attempt)
        assert "None" not in reply, (attempt, reply)
    replies = [visitor.says(text) for text in ("I'd like to book an appointment", "Rhoda Restart", "314-555-0123",
                                               "weekday mornings", '/choose_mode{"mode": "online"}', "yes")]
    assert not [r for r in replies if "None" in r], replies
    [lead] = by_sender(lead_db, visitor.sender)
    assert lead["clinic"] == "boston"


@pytest.mark.parametrize("answer", ["online please", "evenings please", "in person", "maybe later",
                                    "what will you send?"])
def test_a_lead_is_never_stored_without_an_explicit_yes(assistant, lead_db, answer):
    visitor = Visitor(assistant)
    assert "OK for" in book_to_consent(visitor, name="Connie Sent")
    visitor.says(answer)
    assert by_sender(lead_db, visitor.sender) == [], answer


def test_a_name_in_an_unanswered_question_never_reaches_the_gaps_page(assistant, lead_db):
    before = _gaps(lead_db)
    # Questions nothing answers (the clinic's practical ones, parking and the like, now are answered).
    for question in ("Zelda Quartermain", "my name is zelda quartermain, can you recommend a dog groomer?",
                     "Mrs Quartermain wants to know what the weather will be like tomorrow",
                     "Quartermain here, what will the weather be like tomorrow?",
                     "zelda quartermain"):
        Visitor(assistant).says(question)
    stored = _gaps(lead_db)[len(before):]
    assert stored, "the questions were noted as content gaps"
    assert not [text for text in stored if "zelda" in text.lower() or "quartermain" in text.lower()], stored


def _gaps(lead_db):
    with session_scope(lead_db) as session:
        return session.execute(select(ContentGap.text).order_by(ContentGap.id)).scalars().all()


def test_databases_spool_and_secrets_are_for_their_owner_only_after_start(assistant, lead_db):
    Visitor(assistant).says("what is the gluteus medius")  # the conversations database and its WAL exist
    modes = {path: stat.S_IMODE(path.stat().st_mode) for path in private_paths(
        [lead_db, assistant.env["CONVERSATIONS_DATABASE_URL"]],
        [ROOT / ".env", ROOT / "var" / "internal-token", Path(assistant.env["MEDIUS_SPOOL_FILE"])]) if path.exists()}
    assert len(modes) >= 3 and all(mode == 0o600 for mode in modes.values()), modes
    assert stat.S_IMODE((ROOT / "var").stat().st_mode) == 0o700


def test_every_file_under_var_and_the_run_folder_is_the_owners_only_after_start(assistant):
    Visitor(assistant).says("what is the gluteus medius")  # the conversations database and its WAL exist
    run_dir = Path(assistant.env["MEDIUS_RUN_DIR"])
    files, folders = {}, {}
    for root in (ROOT / "var", run_dir):
        for path in [root, *root.rglob("*")]:
            mode = path.lstat().st_mode
            if stat.S_ISDIR(mode):
                folders[path] = stat.S_IMODE(mode)
            elif stat.S_ISREG(mode):
                files[path] = stat.S_IMODE(mode)
    assert run_dir / "supervisord.pid" in files and ROOT / "var" / "test-logs" / "medius.log" in files
    assert {path: oct(mode) for path, mode in files.items() if mode != 0o600} == {}
    assert {path: oct(mode) for path, mode in folders.items() if mode & 0o077} == {}
    assert stat.S_IMODE((run_dir / "supervisor.sock").stat().st_mode) == 0o700  # supervisorctl's, its owner's only


def _stored_bytes(lead_db):
    database = Path(lead_db.split("///", 1)[1])
    return b"".join(p.read_bytes() for p in (database, database.with_name(database.name + "-wal"),
                                              database.with_name(database.name + "-journal")) if p.exists())


def test_a_leads_name_and_phone_never_appear_in_the_database_files_bytes(assistant, lead_db):
    visitor = Visitor(assistant)
    book(visitor, name="Ottilie Cipherstone", contact="314-555-0142")
    [lead] = by_sender(lead_db, visitor.sender)
    assert lead["name"] == "Ottilie Cipherstone" and lead["phone"] == "+13145550142"  # readable through the store
    stored = _stored_bytes(lead_db)
    for secret in (b"Ottilie", b"Cipherstone", b"5550142", b"555-0142", b"weekday mornings"):
        assert secret not in stored, secret
    settings = dataclasses.replace(get_settings(), database_url=lead_db)
    for query in ("cipherstone", "Ottilie", "555-0142", "(314) 555-0142"):  # staff still find the lead
        assert [r["name"] for r in worklist.list_leads(settings, "stl", worklist.LeadFilter(q=query))[0]] == \
               ["Ottilie Cipherstone"], query


def test_rotating_the_key_keeps_every_lead_readable_and_moves_them_to_it(assistant, lead_db):
    visitor = Visitor(assistant)
    book(visitor, name="Rotha Keyturner", contact="314-555-0143")
    rotated = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "bot", "keys", "rotate"], cwd=ROOT,
                             env={**assistant.env, "DATABASE_URL": lead_db}, capture_output=True, text=True,
                             timeout=120)
    assert rotated.returncode == 0, rotated.stderr
    new_key = rotated.stdout.split("new data key ", 1)[1].split()[0]
    later = Visitor(assistant)  # written by the running action server after the rotation, without a restart
    book(later, name="Lena Afterward", contact="314-555-0144")
    settings = dataclasses.replace(get_settings(), database_url=lead_db)
    every = leads_in(lead_db)
    assert {"Rotha Keyturner", "Lena Afterward"} <= {lead["name"] for lead in every}
    assert all(lead["name"] and (lead["phone"] or lead["email"] or lead["urgency"] == "emergency") for lead in every)
    with session_scope(lead_db) as session:
        stored = session.execute(text("SELECT name, phone, transcript FROM leads")).all()
    assert all(value is None or value.startswith(f"enc1:{new_key}:") for row in stored for value in row)
    assert [r["name"] for r in worklist.list_leads(settings, "stl", worklist.LeadFilter(q="keyturner"))[0]] == \
           ["Rotha Keyturner"]
