"""The appointment hand-off: the booking form's checks, and saving the lead."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import data, handoff
from bot.contact import MAX_TEXT, clean_name, find_contact
from bot.leads import LeadInput, submit
from bot.settings import get_settings

FORM_SLOTS = ["lead_name", "lead_contact", "lead_phone", "lead_email", "lead_contact_time", "lead_mode",
              "lead_consent", "lead_invalid_answers"]
MAX_TRIES_BEFORE_PHONE = 2


def reset_form() -> List[EventType]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS]


class ValidateAppointmentForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_appointment_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        # Ask in person or online only where the clinic offers both.
        if tracker.get_slot("clinic_offers_remote"):
            return domain_slots
        return [slot for slot in domain_slots if slot != "lead_mode"]

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        events = self._contact_change(dispatcher, tracker)
        tracker.add_slots(events)
        return events + await super().run(dispatcher, tracker, domain)

    def _contact_change(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        """'Actually my number is ...' at any later question updates the contact details."""
        if not tracker.get_slot("lead_contact") or tracker.get_slot("requested_slot") == "lead_contact":
            return []
        found = find_contact(tracker.latest_message.get("text") or "")
        if found.problem:
            return []
        phone = found.phone or tracker.get_slot("lead_phone")
        email = found.email or tracker.get_slot("lead_email")
        dispatcher.utter_message(response="utter_contact_updated", contact=handoff.contact_method(phone, email))
        return [SlotSet("lead_phone", phone), SlotSet("lead_email", email)]

    def _invalid(self, slot: str, response: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
        """Say what was wrong; from the second miss on, offer the clinic's phone too."""
        counts = dict(tracker.get_slot("lead_invalid_answers") or {})
        counts[slot] = counts.get(slot, 0) + 1
        dispatcher.utter_message(response=response)
        if counts[slot] >= MAX_TRIES_BEFORE_PHONE:
            dispatcher.utter_message(response="utter_offer_clinic_phone")
        return {slot: None, "lead_invalid_answers": counts}

    def _carries_contact(self, value: Any) -> bool:
        return not find_contact(str(value or "")).problem

    def validate_lead_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> Dict[Text, Any]:
        name = clean_name(str(value or ""))
        if name is None:
            return self._invalid("lead_name", "utter_invalid_name", dispatcher, tracker)
        return {"lead_name": name}

    def validate_lead_contact(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> Dict[Text, Any]:
        found = find_contact(str(value or ""))
        if found.problem:
            return self._invalid("lead_contact", f"utter_invalid_contact/{found.problem}", dispatcher, tracker)
        return {"lead_contact": handoff.contact_method(found.phone, found.email),
                "lead_phone": found.phone, "lead_email": found.email}

    def validate_lead_contact_time(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Dict[Text, Any]:
        text = " ".join(str(value or "").split())
        if self._carries_contact(text):
            return {"lead_contact_time": None}  # a contact change, handled in run()
        if not text or len(text) > MAX_TEXT:
            return self._invalid("lead_contact_time", "utter_invalid_contact_time", dispatcher, tracker)
        return {"lead_contact_time": text}

    def validate_lead_mode(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> Dict[Text, Any]:
        mode = value if value in ("online", "in_person") else handoff.mode_from_text(str(value or ""))
        if self._carries_contact(value):
            return {"lead_mode": None}
        if mode is None:
            return self._invalid("lead_mode", "utter_invalid_mode", dispatcher, tracker)
        return {"lead_mode": mode}


class ActionAskLeadConsent(Action):
    """The consent question, with a summary of what will be sent so it can be corrected."""

    def name(self) -> Text:
        return "action_ask_lead_consent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response="utter_ask_lead_consent", summary=handoff.summary(
            tracker.get_slot("lead_name") or "", tracker.get_slot("lead_phone"), tracker.get_slot("lead_email"),
            tracker.get_slot("lead_contact_time"), tracker.get_slot("lead_mode")))
        return []


class ActionExplainField(Action):
    """A visitor who won't answer hears why the question helps and how else to reach the clinic."""

    def name(self) -> Text:
        return "action_explain_field"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        slot = tracker.get_slot("requested_slot") or "lead_contact"
        dispatcher.utter_message(response=f"utter_why/{slot}")
        return []


class ActionCancelAppointment(Action):
    def name(self) -> Text:
        return "action_cancel_appointment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response="utter_appointment_cancelled")
        return reset_form()


def _topic_label(tracker: Tracker) -> Optional[str]:
    topic = data.knowledge().topics.get(tracker.get_slot("topic") or "")
    return topic.label if topic else None


class ActionSubmitAppointment(Action):
    def name(self) -> Text:
        return "action_submit_appointment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if tracker.get_slot("lead_consent") is not True:
            dispatcher.utter_message(response="utter_appointment_no_consent")
            return reset_form()
        phone, email = tracker.get_slot("lead_phone"), tracker.get_slot("lead_email")
        clinic = data.clinics().resolve(tracker.get_slot("clinic"))
        lead = LeadInput(
            clinic=clinic.id, sender_id=tracker.sender_id, name=tracker.get_slot("lead_name"),
            phone=phone, email=email, preferred_time=tracker.get_slot("lead_contact_time"),
            mode=tracker.get_slot("lead_mode"), consent=True,
            reason=handoff.reason(_topic_label(tracker), tracker.get_slot("cause_finder_result")),
            urgency=tracker.get_slot("urgency") or "routine",
            screening=tracker.get_slot("screening_answers"),
            transcript=handoff.transcript(tracker.events),
        )
        submit(get_settings(), data.clinics(), lead)  # spools if the database is away: never lost
        dispatcher.utter_message(response="utter_appointment_submitted",
                                 contact_method=handoff.contact_method(phone, email))
        return reset_form()
