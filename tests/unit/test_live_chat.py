"""Live chat: which messages ask for a person, and the chats in the lead store (one accept, expiry, scope)."""
import dataclasses
from datetime import timedelta
from threading import Barrier, Thread

import pytest
from sqlalchemy import select

from bot.core.live_chat import first_name, live_chat_words, wait_words
from bot.leads.live_transcript import with_live
from bot.staff import accounts as staff, live_chat as live
from bot.store.db import session_scope
from bot.store.models import AuditEntry, LiveMessage, utcnow

PASSWORD = "correct horse battery"


@pytest.mark.parametrize("message", [
    "can I talk to a real person", "a human please", "Human!", "I want to speak with someone at the clinic",
    "can i chat to a person", "I need a real human", "connect me to a person please", "put me through to a human",
])
def test_asking_for_a_person_is_a_request(message):
    assert live_chat_words().asks_for_a_person(message)


@pytest.mark.parametrize("message", [
    "are you a real person", "are you a bot", "what number do I call to talk to someone", "my hip hurts",
    "can i talk to someone on the phone for free before booking", "what is the gluteus medius",
])
def test_other_messages_are_not(message):
    assert not live_chat_words().asks_for_a_person(message)


def test_names_and_waits_read_naturally():
    assert first_name("ann.smith@stl.example") == "Ann"
    assert first_name("front-1a2b@stl.example") == "Front"
    assert wait_words(120) == "2 minutes" and wait_words(60) == "a minute" and wait_words(45) == "45 seconds"
    text = live_chat_words().say("joined", staff_name="Ann", clinic_name="Clinic")
    assert text == "Ann from Clinic has joined the chat."


@pytest.fixture
def people(settings):
    settings = dataclasses.replace(settings, handoff_wait_seconds=60)
    made = {}
    for email, clinic in (("ann@stl.example", "stl"), ("al@stl.example", "stl"), ("bea@boston.example", "boston")):
        staff.add_account(settings, email, PASSWORD, clinic)
        made[email.split("@")[0]] = staff.Staff(id=len(made) + 1, email=email, clinic=clinic, is_admin=False)
    return settings, made


def test_availability_is_off_by_default_and_per_clinic(people):
    settings, who = people
    assert not live.anyone_available(settings, "stl")
    live.set_available(settings, who["ann"], True)
    assert live.anyone_available(settings, "stl") and not live.anyone_available(settings, "boston")
    assert live.is_available(settings, who["ann"]) and not live.is_available(settings, who["al"])
    live.set_available(settings, who["ann"], False)
    assert not live.anyone_available(settings, "stl")


def test_availability_lapses_after_the_idle_minutes(people):
    settings, who = people
    live.set_available(settings, who["ann"], True)
    later = utcnow() + timedelta(minutes=settings.live_chat_idle_minutes + 1)
    assert not live.anyone_available(settings, "stl", later)
    assert not live.is_available(settings, who["ann"], later)


def test_request_accept_messages_end(people):
    settings, who = people
    chat_id = live.request(settings, "visitor-1", "stl", "can I talk to a person")
    assert [q["question"] for q in live.queue(settings, "stl")] == ["can I talk to a person"]
    assert live.queue(settings, "boston") == []
    assert not live.accept(settings, chat_id, who["bea"])  # another clinic's request is not found
    assert live.accept(settings, chat_id, who["ann"])
    assert live.queue(settings, "stl") == []
    assert live.open_chat(settings, "visitor-1").status == "active"
    assert live.staff_says(settings, chat_id, who["al"], "not mine") is None  # only who accepted speaks
    first = live.staff_says(settings, chat_id, who["ann"], "<b>Hello</b>, I'm Ann")
    live.add_visitor_message(settings, chat_id, "hi Ann", None)
    state, seen = live.for_visitor(settings, "visitor-1", 0)
    assert [(m["kind"], m["text"]) for m in seen] == [("joined", None), ("text", "<b>Hello</b>, I'm Ann")]
    assert live.for_visitor(settings, "visitor-1", first)[1] == []  # nothing after the last one seen
    assert live.end(settings, chat_id, who["ann"])
    state, seen = live.for_visitor(settings, "visitor-1", first)
    assert state is None and [m["kind"] for m in seen] == ["ended"]
    view = live.for_staff(settings, chat_id, "stl")
    assert view.status == "ended"
    assert [r["who"] for r in view.messages] == ["visitor", "system", "staff", "visitor", "system"]
    assert live.for_staff(settings, chat_id, "boston") is None
    with session_scope(settings.database_url) as session:
        actions = session.execute(select(AuditEntry.action).where(AuditEntry.action.like("live.%"))
                                  .order_by(AuditEntry.id)).scalars().all()
        stored = session.execute(select(LiveMessage.text).where(LiveMessage.who == "staff")).scalar_one()
    assert actions == ["live.accept", "live.end"]
    assert stored == "<b>Hello</b>, I'm Ann"


def test_message_text_is_encrypted_at_rest(people):
    settings, _ = people
    chat_id = live.request(settings, "visitor-2", "stl", "a human please")
    live.add_visitor_message(settings, chat_id, "my hip hurts", None)
    from bot.store.db import engine_for
    with engine_for(settings.database_url).connect() as connection:
        raw = connection.exec_driver_sql("SELECT text FROM live_messages").scalars().all()
        question = connection.exec_driver_sql("SELECT question FROM live_chats").scalar_one()
    assert all(value.startswith("enc1:") for value in raw) and question.startswith("enc1:")


def test_only_one_of_two_racing_staff_accepts(people):
    settings, who = people
    chat_id = live.request(settings, "visitor-3", "stl", "a person please")
    start, results = Barrier(2), []

    def take(member):
        start.wait()
        results.append(live.accept(settings, chat_id, member))

    threads = [Thread(target=take, args=(who[name],)) for name in ("ann", "al")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    with session_scope(settings.database_url) as session:
        joined = session.execute(select(LiveMessage).where(LiveMessage.kind == "joined")).scalars().all()
    assert len(joined) == 1


def test_a_request_nobody_accepts_leaves_the_queue_and_the_visitor_is_told_once(people):
    settings, who = people
    chat_id = live.request(settings, "visitor-4", "stl", "talk to a person")
    later = utcnow() + timedelta(seconds=settings.handoff_wait_seconds + 1)
    assert live.queue(settings, "stl", later) == []
    assert live.signature(settings, "stl", later) == (0, 0)
    assert live.open_chat(settings, "visitor-4", later) is None
    assert live.open_chat(settings, "visitor-4", later) is None
    state, seen = live.for_visitor(settings, "visitor-4", 0, later)
    assert state is None and [m["kind"] for m in seen] == ["missed"]
    assert not live.accept(settings, chat_id, who["ann"])


def test_the_visitor_cancels_a_waiting_request(people):
    settings, who = people
    chat_id = live.request(settings, "visitor-5", "stl", "a human")
    assert live.cancel(settings, "visitor-5")
    assert live.open_chat(settings, "visitor-5") is None and live.queue(settings, "stl") == []
    assert not live.accept(settings, chat_id, who["ann"])


def test_the_queue_shows_the_gravest_red_flag(people):
    settings, _ = people
    chat_id = live.request(settings, "visitor-6", "stl", "a human")
    live.add_visitor_message(settings, chat_id, "x", "urgent")
    live.add_visitor_message(settings, chat_id, "y", "emergency")
    assert live.queue(settings, "stl")[0]["triage"] == "emergency"


def test_closed_chats_go_with_the_conversations_retention(people):
    settings, who = people
    ended = live.request(settings, "visitor-7", "stl", "a human")
    live.accept(settings, ended, who["ann"])
    live.end(settings, ended, who["ann"])
    waiting = live.request(settings, "visitor-8", "stl", "a person")
    later = utcnow() + timedelta(days=settings.conversation_retention_days + 1)
    assert live.purge(settings) == 0
    assert live.purge(settings, later) == 1
    assert live.for_staff(settings, ended, None) is None and live.for_staff(settings, waiting, None) is not None


def test_live_turns_go_back_in_time_order_and_a_second_merge_changes_nothing():
    bot = [{"who": "user", "text": "hi", "at": "2027-01-10T09:00:00+00:00"},
           {"who": "bot", "text": "hello", "at": "2027-01-10T09:00:01.500000+00:00"},
           {"who": "user", "text": "later, to the assistant", "at": "2027-01-10T09:30:00+00:00"}]
    chat = [{"who": "user", "text": "a human please", "at": "2027-01-10T09:10:00+00:00", "live": True},
            {"who": "staff", "text": "Ann here", "at": "2027-01-10T09:11:00+00:00", "live": True, "staff": "Ann"}]
    merged = with_live(bot, chat)
    assert [t["text"] for t in merged] == ["hi", "hello", "a human please", "Ann here", "later, to the assistant"]
    assert with_live(merged, chat) == merged  # rebuilt, never appended
    assert with_live(merged, []) == bot  # the live part is replaced as a whole
