"""The production topology (`make run-prod`) with real processes: two Rasa processes behind the web server,
two action-server workers, the notifier, PostgreSQL for conversations and leads, Redis for Rasa's locks.
"""
from __future__ import annotations

import time
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from sqlalchemy import text

from bot.ops.topology import local_redis
from bot.store.db import engine_for
from tests.conftest import MODEL, ROOT
from tests.integration.test_booking import book, by_sender
from tests.support.helpers import Visitor
from tests.support.servers import running_assistant

pytestmark = pytest.mark.slow  # about 3 minutes: the production topology of its own, processes killed


@pytest.fixture(scope="module")
def prod(clinics_file):
    log_dir = ROOT / "var" / "test-logs" / f"production-{uuid.uuid4().hex[:6]}"
    env = {"MEDIUS_CLINICS_FILE": str(clinics_file), "CHAT_ADDRESS_RATE_LIMIT": "1000000",
           "MEDIUS_SPOOL_FILE": str(log_dir / "spool.jsonl")}
    # Two Rasa processes load the model at once on two cores: give them the time.
    with running_assistant(MODEL, log_dir, env=env, notifier=True, topology="production",
                           rasa_workers=2, action_workers=2, startup_timeout=600) as running:
        running.services = log_dir / "services"  # where its own PostgreSQL and Redis keep their data
        yield running


def tracker_events(url: str, sender: str):
    with engine_for(url).connect() as connection:
        return [row[0] for row in connection.execute(
            text("SELECT type_name FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender})]


def test_every_process_of_the_topology_runs_and_only_the_web_server_is_public(prod):
    assert len(prod.processes("rasa")) == 2
    assert len(prod.processes("actions")) >= 2  # the Sanic workers (and their parent)
    assert prod.processes("notifier")
    assert prod.env["DATABASE_URL"].startswith("postgresql") and prod.env["REDIS_URL"].startswith("redis://")
    assert prod.env["CONVERSATIONS_DATABASE_URL"] == prod.env["DATABASE_URL"]
    for name in ("rasa", "actions", "notifier"):
        for process in prod.processes(name):
            for connection in process.net_connections(kind="inet"):
                if connection.status == "LISTEN":
                    assert connection.laddr.ip in ("127.0.0.1", "::1"), (name, connection.laddr)


def test_bookings_from_many_visitors_at_once_each_give_one_lead_with_their_own_details(prod):
    visitors = [Visitor(prod) for _ in range(6)]
    names = ["Ada Byron", "Grace Hopper", "Mary Seacole", "Edith Cavell", "Rosalind Franklin", "Dorothy Hodgkin"]
    emails = [f"{name.split()[0].lower()}.{n}@example.org" for n, name in enumerate(names)]
    with ThreadPoolExecutor(len(visitors)) as pool:
        confirmations = list(pool.map(lambda args: book(*args, clinic="More 4 Life"),
                                      zip(visitors, names, emails)))
    for visitor, name, email, confirmation in zip(visitors, names, emails, confirmations):
        assert f"Thank you, {name}" in confirmation
        [lead] = by_sender(prod.env["DATABASE_URL"], visitor.sender)
        assert (lead["name"], lead["email"]) == (name, email)
    # Conversations live in PostgreSQL too: a restart of any process loses none.
    assert "user" in tracker_events(prod.env["CONVERSATIONS_DATABASE_URL"], visitors[0].sender)


def serving_process(prod, sender: str):
    """The Rasa process the web server sends this visitor to first (bot.web.forwarder.ChatForwarder.route)."""
    port = prod.ports["rasa"] + zlib.crc32(sender.encode("utf-8")) % len(prod.processes("rasa"))
    [process] = [p for p in prod.processes("rasa")
                 if any(c.laddr.port == port and c.status == "LISTEN" for c in p.net_connections(kind="inet"))]
    return process


def test_the_rasa_process_of_a_visitor_killed_mid_form_the_conversation_goes_on_at_the_same_question(prod):
    visitor = Visitor(prod)
    visitor.says("I'd like to book an appointment")
    assert "phone number or email" in visitor.says("Clara Barton")
    victim = serving_process(prod, visitor.sender)
    victim.kill()
    victim.wait(timeout=30)
    # At once, while it reloads: the other process takes the turn from the shared conversation store.
    assert "good time" in visitor.says("314-555-0177")
    visitor.says("mornings")
    visitor.says('/choose_mode{"mode": "online"}')
    assert "Thank you, Clara Barton" in visitor.says("yes")
    assert len(by_sender(prod.env["DATABASE_URL"], visitor.sender)) == 1
    wait_until_all_up(prod)


def wait_until_all_up(prod, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not prod.all_up():
        assert time.monotonic() < deadline, "a Rasa process did not come back"
        time.sleep(1)


def test_a_visitor_mid_form_is_answered_after_every_rasa_process_restarts(prod):
    visitor = Visitor(prod)
    visitor.says("I'd like to book an appointment")
    for process in prod.processes("rasa"):
        process.kill()
    wait_until_all_up(prod)
    assert "phone number or email" in visitor.says("Mary Mahoney")


def test_redis_down_gives_a_clear_error_and_no_turn_runs_twice(prod):
    visitor = Visitor(prod)
    visitor.says("I'd like to book an appointment")
    url = prod.env["REDIS_URL"]
    redis.StrictRedis.from_url(url).shutdown(nosave=True)
    try:
        refused = prod.post({"sender": visitor.sender, "message": "Florence Nightingale",
                             "metadata": {"clinic": "stl"}},
                            headers={"Authorization": f"Bearer {prod.api_token}"})
        assert refused.status_code == 503
        assert "could not answer just now" in refused.json()["message"]
        assert tracker_events(prod.env["CONVERSATIONS_DATABASE_URL"], visitor.sender).count("user") == 1
    finally:
        local_redis(prod.services / "redis", int(prod.env["LOCAL_REDIS_PORT"]))
    assert "phone number or email" in visitor.says("Florence Nightingale")  # the same question, once
    events = tracker_events(prod.env["CONVERSATIONS_DATABASE_URL"], visitor.sender)
    assert events.count("user") == 2


def test_the_notifier_killed_is_restarted_and_the_others_stay_up(prod):
    others = {name: sorted(p.pid for p in prod.processes(name)) for name in ("web", "rasa", "actions")}
    prod.kill("notifier")
    time.sleep(2)
    assert prod.processes("notifier")
    assert {name: sorted(p.pid for p in prod.processes(name)) for name in others} == others
