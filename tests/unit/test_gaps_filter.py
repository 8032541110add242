"""The content-gaps filter asks the whole safety net: the verdict the NLU left on the message, then the rules."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, Optional

import pytest
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.gaps import ActionAnswerOutOfScope, may_hold_symptoms
from bot.core.paths import DATA
from bot.core.safety_net import VERDICT_KEY


class Tracker:
    def __init__(self, latest_message: Dict[str, Any]) -> None:
        self.latest_message = latest_message


TRIAGE = str(DATA / "triage.yml")


@pytest.mark.parametrize("message, held", [
    ({"text": "toilet feels odd", VERDICT_KEY: {"level": None, "rules": [], "flag_probability": 0.45}}, True),
    ({"text": "toilet feels odd", VERDICT_KEY: {"level": "confirm", "rules": [], "flag_probability": 0.7}}, True),
    ({"text": "do you sell vouchers", VERDICT_KEY: {"level": None, "rules": [], "flag_probability": 0.02}}, False),
    ({"text": "I can't control my bladder since today"}, True),  # no verdict: the rules still run
    ({"text": "anything", "intent": {"name": "report_red_flag"}}, True),
    ({"text": "do you sell vouchers"}, False),
])
def test_a_message_the_net_may_see_a_red_flag_in_is_not_a_gap(message, held):
    assert may_hold_symptoms(Tracker(message), TRIAGE) is held


class FormTracker(Tracker):
    def __init__(self, latest_message: Dict[str, Any], form: Optional[str] = None) -> None:
        super().__init__(latest_message)
        self.active_loop = {"name": form} if form else {}


NERVE_MESSAGE = {"text": "a prickly, fizzing feeling on top of my foot", "intent": {"name": "out_of_scope"},
                 "entities": [{"entity": "nerve_sign", "value": "fizzing feeling"}]}


def test_nerve_signs_read_as_out_of_scope_get_the_screening_offer_and_are_no_gap():
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionAnswerOutOfScope().run(dispatcher, FormTracker(NERVE_MESSAGE), {}))
    assert events == [FollowupAction("utter_offer_nerve_screen")] and dispatcher.messages == []


def test_mid_form_nerve_signs_read_as_out_of_scope_get_the_usual_answer(monkeypatch):
    noted = []

    async def note(tracker, kind):
        noted.append(kind)

    monkeypatch.setattr("actions.gaps.note_gap", note)
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionAnswerOutOfScope().run(dispatcher, FormTracker(NERVE_MESSAGE, "cause_finder_form"), {}))
    assert events == [] and [m["response"] for m in dispatcher.messages] == ["utter_out_of_scope"]
