"""The appointment hand-off: the booking form's checks, and saving the lead."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import answer
from actions.faq import SURE_TOPIC, asked_topic, topic_confidence
from bot.core import data, handoff
from bot.core.answers import booking_answers, is_question
from bot.core.contact import MAX_TEXT, clean_name, find_contact
from bot.core.settings import get_settings
from bot.leads.store import LeadInput, submit

FORM_SLOTS = ["lead_name", "lead_contact", "lead_phone", "lead_email", "lead_contact_time", "lead_mode",
              "lead_consent", "lead_invalid_answers"]
# What a lead says for a question the visitor skipped or could not answer: staff ask it.
NOT_GIVEN = {"lead_name": "(not given)", "lead_contact_time": "(not given)", "lead_mode": "no preference"}
GAVE_UP = "(none)"  # no usable phone or email after two tries: no lead, the clinic's phone instead
SKIP_BUTTON = {"title": "Skip", "payload": "/skip"}


def is_clinic_number(tracker: Tracker, phone: Optional[str]) -> bool:
    """The clinic's own phone number: never taken as the visitor's."""
    own = data.clinics().resolve(tracker.get_slot("clinic")).phone
    return bool(phone and own and find_contact(own).phone == phone)


def reset_form() -> List[EventType]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS]


class ValidateAppointmentForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_appointment_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        if tracker.get_slot("lead_contact") == GAVE_UP:
            return []  # no way to reach the visitor: the booking ends (action_submit_appointment says so)
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
        if found.problem or is_clinic_number(tracker, found.phone):
            return []  # "can I just call you at <the clinic's number>?" is not a new number
        phone = found.phone or tracker.get_slot("lead_phone")
        email = found.email or tracker.get_slot("lead_email")
        dispatcher.utter_message(response="utter_contact_updated", contact=handoff.contact_method(phone, email))
        return [SlotSet("lead_phone", phone), SlotSet("lead_email", email)]

    def _invalid(self, slot: str, response: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
        """Say what was wrong, without letting a question loop.

        A question is asked again once: with a Skip button where the clinic can
        do without the answer (name, time, mode), which after a second miss is
        left for staff to ask; the contact details the clinic cannot do without
        end the booking after a second miss, with the clinic's phone instead.
        """
        text = tracker.latest_message.get("text") or ""
        topic = asked_topic(tracker.latest_message)
        if is_question(text) and topic is not None and topic_confidence(tracker.latest_message) >= SURE_TOPIC:
            # A question asked instead of an answer ("are the exercises meant to hurt?"): answered, and
            # the question asked again without counting a miss.
            answer(dispatcher, topic)
            return {slot: None}
        if is_question(text):  # one it cannot place: said so, rather than "that is no phone number"
            response = "utter_question_for_staff"
        counts = dict(tracker.get_slot("lead_invalid_answers") or {})
        counts[slot] = misses = counts.get(slot, 0) + 1
        if slot in NOT_GIVEN:
            if misses >= 2:
                dispatcher.utter_message(response="utter_question_left_for_staff")
                return {slot: NOT_GIVEN[slot], "lead_invalid_answers": counts}
            dispatcher.utter_message(response=response)
            dispatcher.utter_message(response="utter_offer_skip", buttons=[SKIP_BUTTON])
            return {slot: None, "lead_invalid_answers": counts}
        dispatcher.utter_message(response=response)
        if misses >= 2:
            dispatcher.utter_message(response="utter_booking_needs_contact")
            return {slot: GAVE_UP, "lead_invalid_answers": counts}
        return {slot: None, "lead_invalid_answers": counts}

    def _skipped(self, slot: str, value: Any) -> Optional[Dict[Text, Any]]:
        return {slot: NOT_GIVEN[slot]} if value == "skipped" and slot in NOT_GIVEN else None

    def _carries_contact(self, value: Any) -> bool:
        return not find_contact(str(value or "")).problem

    def validate_lead_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> Dict[Text, Any]:
        skipped = self._skipped("lead_name", value)
        if skipped:
            return skipped
        found = find_contact(str(value or ""))
        if not found.problem and not is_clinic_number(tracker, found.phone):
            # Contact details given early: kept for their question. The name with them ("I'm Linda Cho,
            # linda@...") is taken; without one it is asked again, unless it already was (then it is
            # left for staff: no question three times).
            missed = (tracker.get_slot("lead_invalid_answers") or {}).get("lead_name")
            name = booking_answers().name(str(value))
            return {"lead_name": name or (NOT_GIVEN["lead_name"] if missed else None),
                    "lead_contact": handoff.contact_method(found.phone, found.email),
                    "lead_phone": found.phone, "lead_email": found.email}
        name = clean_name(str(value or ""))
        if name is None or booking_answers().time(str(value)):  # "evenings" answers another question
            return self._invalid("lead_name", "utter_invalid_name", dispatcher, tracker)
        return {"lead_name": name}

    def validate_lead_contact(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> Dict[Text, Any]:
        found = find_contact(str(value or ""))
        if is_clinic_number(tracker, found.phone):
            return self._invalid("lead_contact", "utter_invalid_contact/clinic_number", dispatcher, tracker)
        if found.problem:
            return self._invalid("lead_contact", f"utter_invalid_contact/{found.problem}", dispatcher, tracker)
        return {"lead_contact": handoff.contact_method(found.phone, found.email),
                "lead_phone": found.phone, "lead_email": found.email}

    def validate_lead_contact_time(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Dict[Text, Any]:
        skipped = self._skipped("lead_contact_time", value)
        if skipped:
            return skipped
        text = " ".join(str(value or "").split())
        if self._carries_contact(text):
            return {"lead_contact_time": None}  # a contact change, handled in run()
        if not text or len(text) > MAX_TEXT:
            return self._invalid("lead_contact_time", "utter_invalid_contact_time", dispatcher, tracker)
        return {"lead_contact_time": text}

    def _typed(self, tracker: Tracker, slot: str) -> Optional[str]:
        """The latest message, when it may answer `slot`, the question just asked: not a question
        itself, and never a red flag (the safety rules answer those, whatever the form asked)."""
        text = tracker.latest_message.get("text") or ""
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        red_flag = intent == "report_red_flag" or any(
            e.get("entity") == "red_flag_level" for e in tracker.latest_message.get("entities") or [])
        if tracker.get_slot("requested_slot") != slot or red_flag or is_question(text) or text.startswith("/"):
            return None
        return text

    # Typed answers, whatever the NLU made of them: "Jean Hollis" is no FAQ question,
    # "ok go ahead" no fallback. Each reads only an answer to the question just asked.
    async def extract_lead_name(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> Dict[Text, Any]:
        text = self._typed(tracker, "lead_name")
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if text is None or intent in ("skip", "refuse") or booking_answers().name(text) is None:
            return {}
        # The whole answer: its validation keeps contact details given with the name.
        return {"lead_name": text}

    async def extract_lead_contact(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Dict[Text, Any]:
        text = self._typed(tracker, "lead_contact")
        return {"lead_contact": text} if text is not None and not find_contact(text).problem else {}

    async def extract_lead_contact_time(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                        domain: DomainDict) -> Dict[Text, Any]:
        text = self._typed(tracker, "lead_contact_time")
        time = booking_answers().time(text) if text is not None else None
        return {"lead_contact_time": time} if time else {}

    async def extract_lead_consent(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Dict[Text, Any]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        text = self._typed(tracker, "lead_consent")
        if text is None or intent in ("affirm", "deny"):  # the slot mappings read those
            return {}
        consent = booking_answers().consent(text)
        return {} if consent is None else {"lead_consent": consent}

    async def extract_lead_mode(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> Dict[Text, Any]:
        """A typed "in person please" or "online is fine" answers the question, whatever the intent."""
        if tracker.get_slot("requested_slot") != "lead_mode":
            return {}
        mode = handoff.mode_from_text(tracker.latest_message.get("text") or "")
        return {"lead_mode": mode} if mode else {}

    def validate_lead_consent(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> Dict[Text, Any]:
        """Only an explicit yes sends a lead: the Yes button or a typed yes, never what the NLU read as one.

        "online please" was classified as affirm and stored as consent (issue 28):
        an affirm whose words say no yes is asked again.
        """
        if value is not True:
            return {"lead_consent": value}
        text = (tracker.latest_message.get("text") or "").strip()
        if text.startswith("/") or booking_answers().consent(text) is True:
            return {"lead_consent": True}
        return {"lead_consent": None}

    def validate_lead_mode(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> Dict[Text, Any]:
        skipped = self._skipped("lead_mode", value)
        if skipped:
            return skipped
        mode = value if value in ("online", "in_person") else handoff.mode_from_text(str(value or ""))
        if self._carries_contact(value):
            return {"lead_mode": None}
        if mode is None:
            return self._invalid("lead_mode", "utter_invalid_mode", dispatcher, tracker)
        return {"lead_mode": mode}


class ActionAskLeadName(Action):
    """The name question: with the hand-off's introduction the first time only."""

    def name(self) -> Text:
        return "action_ask_lead_name"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        asked = False
        for event in reversed(tracker.events):  # since this booking began
            if event.get("event") == "active_loop" and event.get("name") == "appointment_form":
                break
            asked = asked or (event.get("event") == "bot"
                              and (event.get("metadata") or {}).get("utter_action") == "utter_ask_lead_name")
        dispatcher.utter_message(response="utter_ask_lead_name_again" if asked else "utter_ask_lead_name")
        return []


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
        counts = dict(tracker.get_slot("lead_invalid_answers") or {})
        counts[slot] = counts.get(slot, 0) + 1
        if counts[slot] >= 2 and slot in NOT_GIVEN:  # refused again: not asked a third time
            dispatcher.utter_message(response="utter_question_left_for_staff")
            return [SlotSet(slot, NOT_GIVEN[slot]), SlotSet("lead_invalid_answers", counts)]
        if counts[slot] >= 2 and slot == "lead_contact":
            dispatcher.utter_message(response="utter_booking_needs_contact")
            return [SlotSet(slot, GAVE_UP), SlotSet("lead_invalid_answers", counts)]
        dispatcher.utter_message(response=f"utter_why/{slot}")
        return [SlotSet("lead_invalid_answers", counts)]


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
        if tracker.get_slot("lead_contact") == GAVE_UP:
            return reset_form()  # utter_booking_needs_contact has said what to do instead
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
        # Spools if the database is away: never lost. In a thread: a slow database holds up no other visitor.
        await asyncio.to_thread(submit, get_settings(), data.clinics(), lead)
        dispatcher.utter_message(response="utter_appointment_submitted",
                                 contact_method=handoff.contact_method(phone, email))
        return reset_form()
