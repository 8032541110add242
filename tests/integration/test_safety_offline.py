"""Emergency advice with the action server out of reach, and its lead once it is back.

Rasa reaches the action server here through a forwarder the test opens only
later: until then every custom action fails as it does with the action server
down, while Rasa and the web server run as in production.
"""
import pytest

from tests.conftest import MODEL, ROOT
from tests.integration.test_booking import by_sender
from tests.support.helpers import TcpForwarder, Visitor
from tests.support.servers import free_port, running_assistant

pytestmark = pytest.mark.slow  # about 40 s: a Medius of its own, without its action server


@pytest.fixture(scope="module")
def cut_off(lead_db, clinics_file, tmp_path_factory):
    proxy_port = free_port()
    env = {"DATABASE_URL": lead_db, "MEDIUS_CLINICS_FILE": str(clinics_file),
           "MEDIUS_SPOOL_FILE": str(tmp_path_factory.mktemp("spool") / "spool.jsonl"),
           "ACTION_SERVER_URL": f"http://127.0.0.1:{proxy_port}/webhook", "CHAT_ADDRESS_RATE_LIMIT": "1000000"}
    with running_assistant(MODEL, ROOT / "var" / "test-logs" / "offline", env=env) as running:
        yield running, proxy_port


def test_without_the_action_server_a_question_gets_the_clinics_phone_and_the_talk_goes_on_after(cut_off):
    assistant, proxy_port = cut_off
    visitor = Visitor(assistant)
    reply = visitor.says("what is the gluteus medius")
    assert "314-941-3970" in reply and "lost track" not in reply
    boston = Visitor(assistant, clinic="boston")  # no phone in its profile: its website instead
    assert "through its website" in boston.says("what exercises help my hip")
    forwarder = TcpForwarder(proxy_port, assistant.ports["actions"])
    try:
        assert "outer side of the hip" in visitor.says("what is the gluteus medius")
        assert "what name" in visitor.says("I'd like to book an appointment").lower()
    finally:
        forwarder.close()


def test_an_emergency_gets_the_advice_without_the_action_server_and_its_lead_follows(cut_off, lead_db):
    assistant, proxy_port = cut_off
    visitor = Visitor(assistant)
    reply = visitor.says("I can't control my bladder since this morning and my back is agony")
    assert visitor.triage[0] == "emergency"
    assert reply.startswith("Please stop here") and "911" in reply and "lost track" not in reply
    assert by_sender(lead_db, visitor.sender) == []  # nothing could record it yet

    confirm = Visitor(assistant)
    question = confirm.says("my bum feels a bit numb")
    if confirm.triage == ["confirm"]:  # the confirming question is a response too
        assert "911" in question
        confirm.says("yes")
        assert confirm.triage[0] == "emergency"

    forwarder = TcpForwarder(proxy_port, assistant.ports["actions"])
    try:
        visitor.says("what is the gluteus medius")  # any custom action call records what was missed
        [lead] = by_sender(lead_db, visitor.sender)
        assert lead["urgency"] == "emergency" and "bladder" in lead["reason"]
        visitor.says("what exercises help")
        assert len(by_sender(lead_db, visitor.sender)) == 1
    finally:
        forwarder.close()
