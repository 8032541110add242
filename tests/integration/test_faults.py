"""Faults with real processes under supervisord, as `make run` runs them: a process killed, a database stopped.

Every process that exits is started again by supervisord while the others stay
up; conversations live in the SQL tracker store, so a restart loses no visitor's
place; leads wait in the spool while the database is away.
"""
import time

import pytest

from bot.store.db import migrate
from tests.conftest import MODEL, ROOT
from tests.integration.test_booking import by_sender
from tests.support.helpers import Visitor
from tests.support.postgres import postgres_cluster
from tests.support.servers import running_assistant

pytestmark = pytest.mark.slow  # about 2 minutes: processes killed and restarted, PostgreSQL stopped


def others_unchanged(assistant, killed):
    return {name: assistant.process(name).pid for name in ("web", "rasa", "actions") if name != killed}


def test_rasa_killed_mid_form_comes_back_and_asks_the_same_question_again(assistant, lead_db):
    visitor = Visitor(assistant)
    visitor.says("I'd like to book an appointment")
    assert "phone number or email" in visitor.says("Martha Jones")
    others = others_unchanged(assistant, "rasa")
    assistant.kill("rasa")
    assert others_unchanged(assistant, "rasa") == others  # only Rasa was restarted
    assert "good time" in visitor.says("314-555-0166")  # the next question: the form went on where it was
    visitor.says("mornings")
    visitor.says('/choose_mode{"mode": "online"}')
    assert "Thank you, Martha Jones" in visitor.says("yes")
    [lead] = by_sender(lead_db, visitor.sender)
    assert lead["phone"] == "+13145550166"


def test_the_action_server_killed_is_restarted_and_the_conversation_goes_on(assistant):
    visitor = Visitor(assistant)
    visitor.says("I'd like to book an appointment")
    others = others_unchanged(assistant, "actions")
    assistant.kill("actions")
    assert others_unchanged(assistant, "actions") == others
    assert "phone number or email" in visitor.says("Donna Noble")


def test_the_web_server_killed_is_restarted(assistant):
    assistant.kill("web")
    deadline = time.monotonic() + 60
    while not assistant.up() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "outer side of the hip" in Visitor(assistant).says("what is the gluteus medius")


@pytest.fixture(scope="module")
def on_postgres(clinics_file, tmp_path_factory):
    """Medius with its leads and conversations on PostgreSQL, the notifier running."""
    with postgres_cluster() as cluster:
        migrate(cluster.url)
        env = {"DATABASE_URL": cluster.url, "CONVERSATIONS_DATABASE_URL": cluster.url,
               "MEDIUS_CLINICS_FILE": str(clinics_file), "CHAT_ADDRESS_RATE_LIMIT": "1000000",
               "MEDIUS_SPOOL_FILE": str(tmp_path_factory.mktemp("spool") / "spool.jsonl")}
        with running_assistant(MODEL, ROOT / "var" / "test-logs" / "postgres", env=env, notifier=True) as running:
            yield running, cluster


def test_postgresql_stopped_during_a_booking_spools_the_lead_and_it_appears_when_back(on_postgres):
    assistant, cluster = on_postgres
    visitor = Visitor(assistant)
    visitor.says("I'd like to book an appointment")
    visitor.says("Amy Pond")
    visitor.says("amy@pond.example")
    visitor.says("evenings")
    assert "OK for" in visitor.says('/choose_mode{"mode": "in_person"}')
    pids = {name: assistant.process(name).pid for name in ("web", "rasa", "actions", "notifier")}
    cluster.stop()
    try:
        confirmation = visitor.says("yes")  # the tracker store is away too: Rasa answers from what it holds
        assert "Thank you, Amy Pond" in confirmation or "can't" in confirmation
        time.sleep(3)
        assert {name: assistant.process(name).pid for name in pids} == pids  # nothing went down with it
        spool = assistant.env["MEDIUS_SPOOL_FILE"]
        assert "Amy Pond" in open(spool, encoding="utf-8").read()
    finally:
        cluster.start()
    deadline = time.monotonic() + 60
    found = []
    while time.monotonic() < deadline and not found:
        found = by_sender(cluster.url, visitor.sender)
        time.sleep(1)
    assert [lead["name"] for lead in found] == ["Amy Pond"]  # replayed by the notifier: zero lost
    assert "outer side of the hip" in visitor.says("what is the gluteus medius")  # and the talk goes on
