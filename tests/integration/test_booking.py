"""Booking through the real servers over the widget chat channel; the lead is found with the CLI."""
import dataclasses
import json
import os
import re
import subprocess
import sys

from sqlalchemy import select

from bot.core.paths import ROOT
from bot.core.settings import get_settings
from bot.leads.store import get_lead
from bot.store.db import session_scope
from bot.store.models import Lead
from tests.support.helpers import Visitor


def leads_in(lead_db, *extra):
    env = dict(os.environ, DATABASE_URL=lead_db)
    out = subprocess.run([sys.executable, "-m", "bot", "leads", "export", "--format", "json", *extra],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=120).stdout
    return json.loads(out)


def by_sender(lead_db, sender):
    """The leads of one conversation, read from the store: exports leave sender ids out."""
    with session_scope(lead_db) as session:
        ids = session.execute(select(Lead.id).where(Lead.sender_id == sender).order_by(Lead.id)).scalars().all()
    settings = dataclasses.replace(get_settings(), database_url=lead_db)
    return [get_lead(settings, lead_id) for lead_id in ids]


def book(visitor: Visitor, name="Mary Green", contact="314-555-0123", clinic="More 4 Life"):
    assert "what name" in visitor.says("I'd like to book an appointment").lower()
    assert "phone number or email" in visitor.says(name)
    assert "good time" in visitor.says(contact)
    assert "in person, or online" in visitor.says("weekday mornings")
    consent = visitor.says("/choose_mode{\"mode\": \"online\"}")
    # The read-back shows a US phone as "(314) 555-0142", however the visitor typed it.
    assert contact.split("@")[0] in re.sub(r"\((\d{3})\) (\d{3})-(\d{4})", r"\1-\2-\3", consent)
    assert f"OK for {clinic}" in consent
    return visitor.says("yes")


def test_happy_path_books_a_lead_with_transcript_and_confirms_in_clinic_terms(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("how is a glute med injury treated")
    confirmation = book(visitor)
    assert "Thank you, Mary Green" in confirmation
    assert "by phone at (314) 555-0123 within one working day" in confirmation
    assert "314-941-3970" in confirmation
    [lead] = by_sender(lead_db, visitor.sender)
    assert (lead["name"], lead["phone"], lead["mode"], lead["preferred_time"]) == (
        "Mary Green", "+13145550123", "online", "weekday mornings")
    assert lead["clinic"] == "stl" and lead["consent"] is True and lead["urgency"] == "routine"
    assert "How it is treated" in lead["reason"]
    whos = [turn["who"] for turn in lead["transcript"]]
    assert "user" in whos and "bot" in whos
    assert any("how is a glute med injury treated" == t["text"] for t in lead["transcript"])


def test_booking_twice_in_one_conversation_updates_the_same_lead(assistant, lead_db):
    visitor = Visitor(assistant)
    book(visitor)
    book(visitor, contact="pat@example.com")
    [lead] = by_sender(lead_db, visitor.sender)
    assert lead["email"] == "pat@example.com"


def test_stop_in_the_middle_saves_nothing(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("can someone call me back")
    visitor.says("Bob")
    assert "nothing you gave for it was saved" in visitor.says("stop")
    assert by_sender(lead_db, visitor.sender) == []


def test_no_consent_saves_nothing(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("book me in please")
    visitor.says("Bob")
    visitor.says("bob@example.com")
    visitor.says("afternoons")
    visitor.says("/choose_mode{\"mode\": \"in_person\"}")
    assert "nothing you gave for it was saved" in visitor.says("no")
    assert by_sender(lead_db, visitor.sender) == []


def test_a_cancelled_booking_leaves_nothing_in_a_later_leads_transcript(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("can someone call me back")
    visitor.says("Quentin Vale")
    visitor.says("314-555-0142")
    assert "nothing you gave for it was saved" in visitor.says("cancel")
    assert by_sender(lead_db, visitor.sender) == []
    assert "911" in visitor.says("I've suddenly lost control of my bladder")
    [lead] = by_sender(lead_db, visitor.sender)  # the emergency is recorded for staff...
    everything = json.dumps(lead)
    assert "Quentin" not in everything and "0142" not in everything  # ...without the cancelled details
    assert any("lost control of my bladder" in turn["text"] for turn in lead["transcript"])


def test_a_question_in_the_middle_of_booking_stays_in_the_transcript_but_the_answers_do_not(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("I'd like to book an appointment")
    visitor.says("Wilma Farrow")
    visitor.says("what exercise should i do after the treatment")
    visitor.says("wilma.f@example.com")
    visitor.says("mornings")
    visitor.says("/choose_mode{\"mode\": \"online\"}")
    assert "Thank you, Wilma Farrow" in visitor.says("yes")
    [lead] = by_sender(lead_db, visitor.sender)
    assert lead["name"] == "Wilma Farrow" and lead["email"] == "wilma.f@example.com"
    texts = " ".join(turn["text"] for turn in lead["transcript"])
    assert "what exercise should i do after the treatment" in texts
    assert "Wilma" not in texts and "wilma.f@" not in texts


def test_invalid_contact_is_explained_and_the_second_miss_ends_with_the_clinic_phone(assistant):
    visitor = Visitor(assistant)
    visitor.says("i want to make an appointment")
    visitor.says("Ann")
    first = visitor.says("555 0123")
    assert "area code" in first and "314-941-3970" not in first
    assert "good time" in visitor.says("314 555 0199")
    other = Visitor(assistant)
    other.says("i want to make an appointment")
    other.says("Ann")
    other.says("555 0123")
    second = other.says("bob@")
    assert "email address doesn't look complete" in second and "314-941-3970" in second
    assert "nothing has been sent" in second and "best phone number" not in second


def test_refusing_explains_why_and_offers_the_phone(assistant):
    visitor = Visitor(assistant)
    visitor.says("i want to make an appointment")
    visitor.says("Ann")
    reply = visitor.says("i'd rather not give my number")
    assert "only way the clinic can get back to you" in reply and "314-941-3970" in reply
    assert "phone number or email" in reply  # asked again


def test_a_question_mid_form_is_answered_then_the_form_resumes(assistant):
    visitor = Visitor(assistant)
    visitor.says("i want to make an appointment")
    reply = visitor.says("wait, what exercise should i do after the treatment")
    assert "ankle weight" in reply and "what name" in reply.lower()


def test_changing_the_number_later_updates_it(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("I'd like to book an appointment")
    visitor.says("Carol")
    visitor.says("314-555-0123")
    updated = visitor.says("actually my number is 314 555 0177")
    assert "(314) 555-0177" in updated and "good time" in updated
    visitor.says("evenings")
    visitor.says("/choose_mode{\"mode\": \"in_person\"}")
    visitor.says("yes")
    [lead] = by_sender(lead_db, visitor.sender)
    assert lead["phone"] == "+13145550177"


def test_boston_visitors_are_booked_for_boston(assistant, lead_db):
    visitor = Visitor(assistant, clinic="boston")
    confirmation = book(visitor, name="Dan", contact="dan@example.com", clinic="Ben E. Benjamin")
    assert "within two working days" in confirmation
    [lead] = by_sender(lead_db, visitor.sender)
    assert lead["clinic"] == "boston"


def test_a_booked_lead_reaches_the_staff_mailbox_through_the_notifier(assistant, lead_db, smtp_sink):
    visitor = Visitor(assistant)
    book(visitor, name="Nora Quinn")
    env = dict(os.environ, DATABASE_URL=lead_db, SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_sink.port),
               SMTP_SECURITY="none")  # the local test sink speaks plain SMTP; test_smtp_tls.py covers TLS
    subprocess.run([sys.executable, "-m", "bot", "notify"], cwd=ROOT, env=env, check=True, timeout=120)
    [message] = [m for m in smtp_sink.messages if "Name: \u201cNora Quinn\u201d" in m["body"]]
    assert message["subject"].startswith("[ROUTINE] New lead for More 4 Life") and "Nora" not in message["subject"]
    assert "Contact: +13145550123" in message["body"]


def test_no_visitor_words_reach_any_process_log_even_at_debug(assistant):
    # The fixture runs every process with MEDIUS_LOG_LEVEL=DEBUG and Rasa's LOG_LEVEL=DEBUG.
    visitor = Visitor(assistant)
    visitor.says("my left hip clicks like a castanet when I climb stairs")
    book(visitor, name="Zelda Quartermain", contact="zelda.q@example.com")
    logs = "".join(path.read_text(errors="replace") for path in (ROOT / "var" / "test-logs").glob("*.log"))
    started = {"rasa": "Starting Rasa server", "web": "Uvicorn running on", "actions": "rasa_sdk.executor"}
    assert all(line in logs for line in started.values()), "a process wrote no log at all"
    for secret in ("Zelda", "Quartermain", "zelda.q@example.com", "314-555-0123", "3145550123", "castanet",
                   "weekday mornings"):
        assert secret not in logs, secret
