"""The whole safety net through the real servers: with Rasa up, with Rasa down, and in the content-gaps filter."""
from __future__ import annotations

import dataclasses
import uuid
from typing import Any, Dict

import pytest
import requests

from bot.core.paths import DATA
from bot.core.safety_net import VERDICT_KEY, SafetyNet, model_from_archive
from bot.core.settings import settings_from
from bot.core.triage import cached_triage, load_triage
from bot.leads import content_gaps as gaps
from bot.web.app import create_app
from tests.conftest import MODEL
from tests.support.helpers import Visitor
from tests.support.servers import WebServer, free_port

CHEST_PAIN = "what exercises help a sore outer hip? also I've had a crushing pain in my chest going into my left arm " \
             "for half an hour and I'm sweating"
SURROGATE = "my hip hurts \ud83d and I have a question"  # a lone high surrogate, as a broken client sends it
# Symptoms the rules have no words for and the red-flag model half-sees: no tier, so an ordinary answer
# (or "not sure I understood"), and never a content gap.
ONLY_THE_MODEL = "toilet trips feel numb and strange down there since yesterday, back aches too"


def test_chest_pain_beside_a_hip_question_gets_emergency_advice_with_rasa_up(assistant):
    visitor = Visitor(assistant)
    reply = visitor.says(CHEST_PAIN)
    if visitor.triage and visitor.triage[0] == "confirm":
        reply = visitor.says("yes")
    assert visitor.triage[0] == "emergency" and "911" in reply


def test_a_lone_surrogate_gets_an_answer_with_rasa_up(assistant):
    visitor = Visitor(assistant)
    assert visitor.says(SURROGATE)  # not a 503: the surrogate is replaced at the door


@pytest.fixture(scope="module")
def rasa_down(tmp_path_factory):
    """The web server alone, its Rasa on a port nobody listens on, the red-flag model from the trained model."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train`")
    settings = dataclasses.replace(settings_from({}), rasa_url=f"http://127.0.0.1:{free_port()}", rasa_model=MODEL)
    cached_triage(str(settings.triage_file))  # spaCy's import takes longer than WebServer waits for a start
    model_from_archive(MODEL)  # read once per process, so the first message is judged by the whole net
    with WebServer(create_app(settings), free_port()) as server:
        yield server


def chat(server: Any, message: str) -> requests.Response:
    return requests.post(f"{server.url}/chat", json={"sender": f"visitor-{uuid.uuid4().hex[:10]}",
                                                     "message": message, "metadata": {"clinic": "stl"}},
                         headers={"Origin": "http://localhost:8000"}, timeout=20)


def test_chest_pain_beside_a_hip_question_gets_emergency_advice_with_rasa_down(rasa_down):
    response = chat(rasa_down, CHEST_PAIN)
    assert response.status_code == 200
    [advice] = response.json()
    assert advice["custom"] == {"triage": "emergency"} and "911" in advice["text"]
    assert "heart attack" in advice["text"]  # worded for the topic


def test_a_lone_surrogate_with_rasa_down_gets_the_clinics_phone_not_a_crash(rasa_down):
    response = chat(rasa_down, SURROGATE)
    assert response.status_code == 503
    assert "314-941-3970" in response.json()["message"]


def test_a_lone_surrogate_beside_an_emergency_still_gets_the_advice_with_rasa_down(rasa_down):
    response = chat(rasa_down, "I can't control my bladder since this morning \udc00")
    assert response.status_code == 200 and response.json()[0]["custom"] == {"triage": "emergency"}


def _out_of_scope_call(text: str, parse_extra: Dict[str, Any]) -> Dict[str, Any]:
    sender = f"gaps-{uuid.uuid4().hex[:10]}"
    latest = {"text": text, "intent": {"name": "out_of_scope", "confidence": 0.9}, "entities": [],
              "intent_ranking": [], **parse_extra}
    tracker = {"sender_id": sender, "slots": {"clinic": "stl"}, "latest_message": latest,
               "events": [{"event": "user", "text": text, "parse_data": latest}], "paused": False,
               "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen"}
    return {"next_action": "action_answer_out_of_scope", "sender_id": sender, "tracker": tracker,
            "domain": {}, "version": "3.6.21"}


def gap_texts(lead_db: str) -> list:
    settings = dataclasses.replace(settings_from({}), database_url=lead_db)
    return [w for g in gaps.grouped(settings, "stl") for w in [g.example, *g.wordings]]


def test_the_gaps_filter_refuses_a_red_flag_only_the_model_catches(assistant, lead_db):
    net = SafetyNet(load_triage(DATA / "triage.yml"), model_from_archive(MODEL))
    verdict = net.judge(ONLY_THE_MODEL)
    assert not verdict.reading.findings  # the rules alone would have stored it
    assert verdict.flag_probability >= net.triage.model_policy["keep_out_of_gaps"]
    url = f"http://127.0.0.1:{assistant.ports['actions']}/webhook"
    headers = {"X-Medius-Token": assistant.env["MEDIUS_INTERNAL_TOKEN"]}
    for text, extra in [(ONLY_THE_MODEL, {VERDICT_KEY: verdict.as_output()}),
                        ("do you sell gift vouchers for massages", {VERDICT_KEY: net.judge(
                            "do you sell gift vouchers for massages").as_output()})]:
        response = requests.post(url, json=_out_of_scope_call(text, extra), headers=headers, timeout=20)
        assert response.status_code == 200, response.text
    texts = gap_texts(lead_db)
    assert any("gift vouchers" in t for t in texts)  # the filter lets ordinary questions through
    assert not any("toilet trips" in t for t in texts)
