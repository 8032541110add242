"""Session start: pick the conversation's clinic from the message metadata."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import data


def clinic_id_from(metadata: Any) -> Any:
    """The clinic id a page sent as `{"clinic": "<id>"}`, or None."""
    return metadata.get("clinic") if isinstance(metadata, dict) else None


class ActionSessionStart(Action):
    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        metadata = tracker.get_slot("session_started_metadata")
        clinic = data.clinics().resolve(clinic_id_from(metadata))
        events: List[EventType] = [SessionStarted()]
        events += [SlotSet(name, value) for name, value in clinic.slots().items()]
        events.append(ActionExecuted("action_listen"))
        return events
