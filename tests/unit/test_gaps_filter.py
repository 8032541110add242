"""The content-gaps filter asks the whole safety net: the verdict the NLU left on the message, then the rules."""
from __future__ import annotations

from typing import Any, Dict

import pytest

from actions.gaps import may_hold_symptoms
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
