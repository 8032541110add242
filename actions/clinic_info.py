"""The clinic's practical questions (insurance, prices, parking, ...), answered from its profile at run time."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.core import data
from bot.core.practical import practical


def answer_clinic_question(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """Answer the practical questions of the latest message from the clinic's profile; False if it asks none."""
    text = tracker.latest_message.get("text") or ""
    named = next(tracker.get_latest_entity_values("clinic_info"), None)
    fields = practical().asked_all(text) or ([str(named)] if named else [])
    if not fields:
        return False
    clinic = data.clinics().resolve(tracker.get_slot("clinic"))
    for line in practical().answer_all(clinic, fields, text):
        dispatcher.utter_message(text=line)
    return True


class ActionAnswerClinicQuestion(Action):
    def name(self) -> Text:
        return "action_answer_clinic_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        if not answer_clinic_question(dispatcher, tracker):
            # The classifier's reading with no field named: where and how to reach the clinic.
            dispatcher.utter_message(response="utter_clinic_contact")
        return []
