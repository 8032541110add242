"""The appointment hand-off: the booking form's checks, and saving the lead."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.clinic_info import answer_clinic_question
from actions.context import answer
from actions.faq import SURE_TOPIC, asked_topic, topic_confidence
from bot.core import data, handoff
from bot.core.answers import booking_answers, is_question
from bot.core.contact import MAX_TEXT, clean_name, find_contact
from bot.core.details import answer_name, first_sentence, read_details
from bot.core.settings import get_settings
from bot.leads.store import LeadInput, submit

FORM_SLOTS = ["lead_name", "lead_contact", "lead_phone", "lead_email", "lead_contact_time", "lead_mode",
              "lead_consent", "lead_invalid_answers"]
# What a lead says for a question the visitor skipped or could not answer: staff ask it.
NOT_GIVEN = {"lead_name": "(not given)", "lead_contact_time": "(not given)", "lead_mode": "no preference"}
UNCLEAR = "unclear"  # an answer to the consent question that is neither yes nor no
GAVE_UP = "(none)"  # no usable phone or email after two tries: no lead, the clinic's phone instead
SKIP_BUTTON = {"title": "Skip", "payload": "/skip"}


def is_clinic_number(tracker: Tracker, phone: Optional[str]) -> bool:
    """The clinic's own phone number: never taken as the visitor's."""
    own = data.clinics().resolve(tracker.get_slot("clinic")).phone
    return bool(phone and own and find_contact(own).phone == phone)


def has_entity(tracker: Tracker, name: str) -> bool:
    return any(e.get("entity") == name for e in tracker.latest_message.get("entities") or [])


def consent_events_change_details(tracker: Tracker) -> bool:
    """Whether the latest message gives a booking detail that differs from the one held: a correction."""
    held = {"visitor_name": tracker.get_slot("lead_name"), "contact_time": tracker.get_slot("lead_contact_time"),
            "mode": tracker.get_slot("lead_mode")}
    for entity in tracker.latest_message.get("entities") or []:
        name, value = entity.get("entity"), entity.get("value")
        if name in held and value and value != held[name]:
            return True
        if name == "contact" and value:
            found = find_contact(str(value))
            if (found.phone and found.phone != tracker.get_slot("lead_phone")
                    or found.email and found.email != tracker.get_slot("lead_email")):
                return True
    return False


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

    def _invalid(self, slot: str, response: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
        """Say what was wrong, without letting a question loop.

        A question is asked again once: with a Skip button where the clinic can
        do without the answer (name, time, mode), which after a second miss is
        left for staff to ask; the contact details the clinic cannot do without
        end the booking after a second miss, with the clinic's phone instead.
        """
        text = tracker.latest_message.get("text") or ""
        if has_entity(tracker, "clinic_info") and answer_clinic_question(dispatcher, tracker):
            return {slot: None}  # "do you take Medicare?": answered from the profile, and the question asked again
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
            name = answer_name(str(value))
            return {"lead_name": name or (NOT_GIVEN["lead_name"] if missed else None),
                    "lead_contact": handoff.contact_method(found.phone, found.email),
                    "lead_phone": found.phone, "lead_email": found.email}
        name = clean_name(answer_name(str(value or "")) or "")
        if name is None:  # "evenings" or "online please" answers another question
            return self._invalid("lead_name", "utter_invalid_name", dispatcher, tracker)
        return {"lead_name": name}

    def validate_lead_contact(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> Dict[Text, Any]:
        """A phone or email, at its question or anywhere else; a new one replaces the old ("sorry, the number
        is ..."), and the other kind already given is kept."""
        found = find_contact(str(value or ""))
        old_phone, old_email = tracker.get_slot("lead_phone"), tracker.get_slot("lead_email")
        asked = tracker.get_slot("requested_slot") == "lead_contact"
        if is_clinic_number(tracker, found.phone) or found.problem:
            if not asked:  # "can I just ring you on <the clinic's number>?": not the visitor's number
                return {"lead_contact": handoff.contact_method(old_phone, old_email) if old_phone or old_email
                        else None}
            problem = "clinic_number" if not found.problem else found.problem
            return self._invalid("lead_contact", f"utter_invalid_contact/{problem}", dispatcher, tracker)
        phone, email = found.phone or old_phone, found.email or old_email
        method = handoff.contact_method(phone, email)
        if (old_phone or old_email) and (phone, email) != (old_phone, old_email):
            dispatcher.utter_message(response="utter_contact_updated", contact=method)
        return {"lead_contact": method, "lead_phone": phone, "lead_email": email}

    def validate_lead_contact_time(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Dict[Text, Any]:
        skipped = self._skipped("lead_contact_time", value)
        if skipped:
            return skipped
        text = " ".join(str(value or "").split())
        if self._carries_contact(text):
            return {"lead_contact_time": None}  # a contact change, handled in run()
        said = tracker.latest_message.get("text") or ""
        if text == " ".join(said.split()) and is_question(said) and not has_entity(tracker, "contact_time"):
            # "is it true crossing my legs makes it worse?" asks; it names no time to call
            return self._invalid("lead_contact_time", "utter_invalid_contact_time", dispatcher, tracker)
        if not text or len(text) > MAX_TEXT:
            return self._invalid("lead_contact_time", "utter_invalid_contact_time", dispatcher, tracker)
        return {"lead_contact_time": text}

    def _typed(self, tracker: Tracker, slot: str, question_after: bool = False) -> Optional[str]:
        """The latest message, when it may answer `slot`, the question just asked: not a question
        itself, and never a red flag (the safety rules answer those, whatever the form asked).
        `question_after`: an answer followed by a question of its own ("Carol Jenkins. do you take
        medicare?") is still an answer; the question is answered too."""
        text = tracker.latest_message.get("text") or ""
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        red_flag = intent == "report_red_flag" or any(
            e.get("entity") == "red_flag_level" for e in tracker.latest_message.get("entities") or [])
        asks = is_question(text) and not (question_after and not is_question(first_sentence(text)))
        if tracker.get_slot("requested_slot") != slot or red_flag or asks or text.startswith("/"):
            return None
        return text

    def _volunteered(self, tracker: Tracker, slot: str, entity: str) -> Optional[str]:
        """A detail for `slot` given in answer to another of the booking's questions ("in person, afternoons
        if poss" to the time question), which the message frame, not knowing a booking is under way, left."""
        text = tracker.latest_message.get("text") or ""
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if (tracker.get_slot("requested_slot") in (slot, None) or has_entity(tracker, entity)
                or intent in ("report_red_flag", "stop", "refuse") or is_question(text) or text.startswith("/")):
            return None
        details = read_details(text, booking=True)
        return details.mode if entity == "mode" else details.time

    # Typed answers, whatever the NLU made of them: "Jean Hollis" is no FAQ question,
    # "ok go ahead" no fallback. Each reads only an answer to the question just asked.
    async def extract_lead_name(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> Dict[Text, Any]:
        text = self._typed(tracker, "lead_name", question_after=True)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if has_entity(tracker, "visitor_name"):
            return {}  # the message frame found the name: its slot mapping took it
        if text is None or intent in ("skip", "refuse") or answer_name(text) is None:
            return {}
        if is_question(text) and has_entity(tracker, "clinic_info"):
            answer_clinic_question(dispatcher, tracker)  # "Carol Jenkins. do you take medicare?": both
        # The whole answer: its validation keeps contact details given with the name.
        return {"lead_name": text}

    async def extract_lead_contact(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Dict[Text, Any]:
        text = self._typed(tracker, "lead_contact")
        return {"lead_contact": text} if text is not None and not find_contact(text).problem else {}

    async def extract_lead_contact_time(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                        domain: DomainDict) -> Dict[Text, Any]:
        text = self._typed(tracker, "lead_contact_time")  # the whole answer to the question, over the frame's part
        time = booking_answers().time(text) if text is not None else None
        time = time or self._volunteered(tracker, "lead_contact_time", "contact_time")
        return {"lead_contact_time": time} if time else {}

    async def extract_lead_consent(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Dict[Text, Any]:
        """Consent is a plain yes or no. A correction of a detail is read back again; anything else is
        UNCLEAR, which validate_lead_consent counts (asked once more, then the request ends)."""
        text = self._typed(tracker, "lead_consent")
        if text is None:
            return {}  # a question: the rules answer it and the form asks again
        if consent_events_change_details(tracker):
            return {}  # "actually make it online": the details change, and the summary is read back
        consent = booking_answers().consent(text)
        return {"lead_consent": UNCLEAR if consent is None else consent}

    def validate_lead_consent(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> Dict[Text, Any]:
        """Only an explicit yes sends a lead: the Yes button or a typed yes, never what the NLU read as one
        ("online please" was once stored as consent)."""
        text = tracker.latest_message.get("text") or ""
        if text.startswith("/") and isinstance(value, bool):
            return {"lead_consent": value}  # the Yes / No buttons
        if consent_events_change_details(tracker):
            # "online please", "ok, in person then": a correction, read back again before any yes counts.
            return {"lead_consent": None}
        consent = booking_answers().consent(text)
        if isinstance(value, bool) and consent == value:
            return {"lead_consent": value}
        counts = dict(tracker.get_slot("lead_invalid_answers") or {})
        counts["lead_consent"] = misses = counts.get("lead_consent", 0) + 1
        if misses >= 2:  # not asked a third time: the request ends, nothing saved
            return {"lead_consent": False, "lead_invalid_answers": counts}
        dispatcher.utter_message(response="utter_why/lead_consent")
        return {"lead_consent": None, "lead_invalid_answers": counts}

    async def extract_lead_mode(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> Dict[Text, Any]:
        """A typed "in person please" or "online is fine" answers the question, whatever the intent."""
        if tracker.get_slot("requested_slot") != "lead_mode":
            mode = self._volunteered(tracker, "lead_mode", "mode")
            return {"lead_mode": mode} if mode else {}
        mode = handoff.mode_from_text(tracker.latest_message.get("text") or "")
        return {"lead_mode": mode} if mode else {}

    def validate_lead_mode(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> Dict[Text, Any]:
        skipped = self._skipped("lead_mode", value)
        if skipped:
            return skipped
        chosen = value in ("online", "in_person")  # a button or the message frame's reading
        if not chosen and is_question(tracker.latest_message.get("text") or ""):
            # "what happens in an online one?" asks about the choice: answered, and the question asked again.
            return self._invalid("lead_mode", "utter_invalid_mode", dispatcher, tracker)
        mode = value if chosen else handoff.mode_from_text(str(value or ""))
        if self._carries_contact(value):
            return {"lead_mode": None}
        if mode is None:
            return self._invalid("lead_mode", "utter_invalid_mode", dispatcher, tracker)
        return {"lead_mode": mode}


def booking_intro_said(tracker: Tracker) -> bool:
    """Whether this booking has already said whom the details go to (its first question does)."""
    for event in reversed(tracker.events):  # since this booking began
        if event.get("event") == "active_loop" and event.get("name") == "appointment_form":
            return False
        if event.get("event") == "bot" and (event.get("metadata") or {}).get("utter_action") in (
                "utter_ask_lead_name", "utter_booking_intro"):
            return True
    return False


def held_details(tracker: Tracker) -> str:
    """The booking details held so far, as the read-back words them ("" for none)."""
    name = tracker.get_slot("lead_name")
    return handoff.summary(name if name and name != NOT_GIVEN["lead_name"] else "", tracker.get_slot("lead_phone"),
                           tracker.get_slot("lead_email"), tracker.get_slot("lead_contact_time"),
                           tracker.get_slot("lead_mode"))


class ActionAskLeadName(Action):
    """The name question: with the hand-off's introduction the first time only."""

    def name(self) -> Text:
        return "action_ask_lead_name"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response="utter_ask_lead_name_again" if booking_intro_said(tracker)
                                 else "utter_ask_lead_name")
        return []


class ActionAskBookingQuestion(Action):
    """A booking question, after the hand-off's introduction when the details given so far skipped the name
    question that carries it ("Pat Moreno here, can someone call me?")."""

    slot = "lead_contact"

    def name(self) -> Text:
        return f"action_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if not booking_intro_said(tracker):
            dispatcher.utter_message(response="utter_booking_intro")
            noted = held_details(tracker)
            if noted:
                dispatcher.utter_message(response="utter_booking_noted", summary=noted)
        dispatcher.utter_message(response=f"utter_ask_{self.slot}")
        return []


class ActionAskLeadContactTime(ActionAskBookingQuestion):
    slot = "lead_contact_time"


class ActionAskLeadMode(ActionAskBookingQuestion):
    slot = "lead_mode"


class ActionAskLeadConsent(Action):
    """The consent question, with a summary of what will be sent so it can be corrected."""

    def name(self) -> Text:
        return "action_ask_lead_consent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if not booking_intro_said(tracker):
            dispatcher.utter_message(response="utter_booking_intro")
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
            unclear = (tracker.get_slot("lead_invalid_answers") or {}).get("lead_consent", 0) >= 2
            dispatcher.utter_message(response="utter_appointment_consent_unclear" if unclear
                                     else "utter_appointment_no_consent")
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
