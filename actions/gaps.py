"""Questions the assistant could not answer, noted for the clinic's content gaps page (bot/leads/content_gaps.py)."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.core.safety_net import VERDICT_KEY, carried_keeps_private
from bot.core.settings import get_settings
from bot.core.triage import cached_triage
from bot.leads import content_gaps as gaps

logger = logging.getLogger(__name__)


def may_hold_symptoms(tracker: Tracker, triage_file: str) -> bool:
    """Whether the whole safety net saw, or may have seen, a red flag in the latest message.

    The net's verdict (rules and red-flag model, `Triage.assess`) comes with the
    parsed message from Rasa's NLU (components.red_flags); the model's view
    counts from `keep_out_of_gaps`, below any tier, so a red flag only the
    model half-sees is not stored either. The rules run here too, in case the
    message came without a verdict.
    """
    message = tracker.latest_message
    triage = cached_triage(triage_file)
    carried = message.get(VERDICT_KEY)
    if isinstance(carried, dict) and carried_keeps_private(carried, triage):
        return True
    if ((message.get("intent") or {}).get("name")) == "report_red_flag":
        return True
    return bool(triage.read(message.get("text") or "").findings)


async def note_gap(tracker: Tracker, kind: str) -> None:
    """Store the visitor's last message as a content gap, redacted; never fails the visitor's turn.

    A message that may report a red flag is not a content gap: symptoms are kept with a lead, where staff
    need them.
    """
    text = tracker.latest_message.get("text") or ""
    settings = get_settings()
    if not text or may_hold_symptoms(tracker, str(settings.triage_file)):
        return
    clinic = str(tracker.get_slot("clinic") or settings.default_clinic)
    try:
        await asyncio.to_thread(gaps.record, settings, clinic, text, kind)
    except Exception as error:  # noqa: BLE001 - the lead store may be away: the answer matters more than the gap
        logger.warning("Content gap not recorded: %s", type(error).__name__)


class ActionAnswerOutOfScope(Action):
    """Say what the assistant can help with, and note the question for the clinic."""

    def name(self) -> Text:
        return "action_answer_out_of_scope"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(response="utter_out_of_scope")
        await note_gap(tracker, "out_of_scope")
        return []
