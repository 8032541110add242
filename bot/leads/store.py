"""Leads: saved once per conversation, never lost, announced to staff through the outbox."""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

import phonenumbers
from sqlalchemy import func, select
from sqlalchemy.exc import InterfaceError, OperationalError, TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from bot.core.clinics import ClinicDirectory
from bot.core.data import clinics_for
from bot.core.settings import Settings
from bot.core.spreadsheet import csv_text
from bot.leads import spool
from bot.leads.live_transcript import live_turns, with_live
from bot.leads.notify import delivery_status, drafts_for
from bot.store import audit
from bot.store.crypto import search_terms
from bot.store.db import session_scope
from bot.store.models import STATUSES, URGENCIES, Lead, LeadNote, Notification, StatusChange, utcnow

logger = logging.getLogger(__name__)

DEDUPE_WINDOW = timedelta(minutes=30)
# No sender id: it names the visitor's conversation, and an export travels further than the inbox.
EXPORT_FIELDS = ["id", "clinic", "created_at", "name", "phone", "email", "preferred_time", "mode", "consent",
                 "reason", "urgency", "screening", "status", "status_history", "transcript", "notification_status"]


FIELD_LIMITS = {"clinic": 64, "sender_id": 128, "name": 100, "phone": 32, "email": 254, "preferred_time": 200,
                "mode": 16, "reason": 5000}


@dataclass
class LeadInput:
    """What the booking form hands over; plain data so it can wait in the spool."""

    clinic: str
    sender_id: str
    name: str
    phone: Optional[str]
    email: Optional[str]
    preferred_time: Optional[str]
    mode: Optional[str]
    consent: bool
    reason: str
    urgency: str = "routine"
    screening: Optional[Dict[str, Any]] = None
    transcript: List[Dict[str, Any]] = field(default_factory=list)
    submitted_at: str = field(default_factory=lambda: utcnow().isoformat())

    def __post_init__(self) -> None:
        # What no database column takes: NUL characters (PostgreSQL refuses them) and text past a field's size.
        for name, limit in FIELD_LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, str):
                setattr(self, name, value.replace("\x00", "")[:limit])
        if self.urgency not in URGENCIES:
            raise ValueError(f"unknown urgency {self.urgency!r}")
        # An emergency is recorded even from an anonymous visitor: staff must know.
        if not (self.phone or self.email) and self.urgency != "emergency":
            raise ValueError("a lead needs a phone number or an email address")


@dataclass(frozen=True)
class SubmitResult:
    lead_id: Optional[int]
    updated: bool
    spooled: bool


def _as_utc(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def save(session: Session, data: LeadInput, clinics: ClinicDirectory, inbox_base_url: str) -> tuple:
    """Insert the lead, or update this conversation's lead from the last 30 minutes; queue notifications."""
    at = _as_utc(data.submitted_at)
    lead = session.execute(
        select(Lead).where(Lead.sender_id == data.sender_id, Lead.clinic == data.clinic,
                           Lead.created_at >= at - DEDUPE_WINDOW, Lead.created_at <= at + DEDUPE_WINDOW)
        .order_by(Lead.created_at.desc()).limit(1)
    ).scalar_one_or_none()
    updated = lead is not None
    if lead is None:
        lead = Lead(clinic=data.clinic, sender_id=data.sender_id, created_at=at, status="new")
        session.add(lead)
        lead.status_changes.append(StatusChange(at=at, old_status=None, new_status="new"))
    elif (lead.name, lead.phone, lead.email, lead.preferred_time, lead.mode, lead.reason, lead.urgency) == (
            data.name, data.phone, data.email, data.preferred_time, data.mode, data.reason, data.urgency):
        live = live_turns(session, data.sender_id, data.clinic)
        lead.transcript = with_live(data.transcript or lead.transcript, live)
        return lead.id, True  # the same request again (e.g. a spool replay): nothing new to announce
    lead.updated_at = at
    lead.name, lead.phone, lead.email = data.name, data.phone, data.email
    lead.search = search_terms(data.name, data.phone)
    lead.preferred_time, lead.mode, lead.reason = data.preferred_time, data.mode, data.reason
    lead.consent = "yes" if data.consent else "no"
    # Urgency only ever rises within a conversation: a later routine booking keeps a priority flag.
    if URGENCIES.index(data.urgency) >= URGENCIES.index(lead.urgency or "routine"):
        lead.urgency = data.urgency
    lead.screening = data.screening or lead.screening
    # The assistant's transcript ends where a live chat began: the chat's words are added from its own table.
    lead.transcript = with_live(data.transcript, live_turns(session, data.sender_id, data.clinic))
    session.flush()
    clinic = clinics.resolve(data.clinic)
    for draft in drafts_for(lead, clinic, inbox_base_url, updated=updated):
        lead.notifications.append(Notification(channel=draft.channel, target=draft.target, subject=draft.subject,
                                               body=draft.body, created_at=at, next_attempt_at=at))
    session.flush()
    return lead.id, updated


def unavailable(error: BaseException) -> bool:
    """An outage (the database cannot be reached or is busy), as opposed to a refusal of this record's data."""
    return isinstance(error, (OperationalError, InterfaceError, PoolTimeout, OSError))


def _store(settings: Settings, clinics: ClinicDirectory, record: Dict[str, Any]) -> None:
    with session_scope(settings.database_url) as session:
        save(session, LeadInput(**record), clinics, settings.inbox_base_url)


def replay_spool(settings: Settings, clinics: ClinicDirectory) -> int:
    """Move spooled leads into the database; raises (and keeps them) if it is still away.

    A lead the database refuses is quarantined with a log line that names only the kind of refusal.
    """
    result = spool.replay(settings.spool_file, lambda record: _store(settings, clinics, record),
                          refused=lambda error: not unavailable(error))
    if result.stored:
        logger.info("Replayed %s spooled lead(s) into the database", result.stored)
    if result.quarantined:
        logger.error("%s spooled lead(s) refused by the database, quarantined in %s for a person to check",
                     result.quarantined, spool.quarantine_file(settings.spool_file))
    if result.left:
        logger.warning("Database went away during the replay; %s lead(s) stay spooled", result.left)
    return result.stored


def submit(settings: Settings, clinics: ClinicDirectory, data: LeadInput) -> SubmitResult:
    """Save a lead; if the database is away, spool it durably instead. Never raises for a visitor.

    A lead the database refuses for its own data (not an outage) is quarantined,
    not spooled: in the spool it would hold up every lead after it.
    """
    try:
        if spool.pending(settings.spool_file):
            replay_spool(settings, clinics)
        with session_scope(settings.database_url) as session:
            lead_id, updated = save(session, data, clinics, settings.inbox_base_url)
        return SubmitResult(lead_id=lead_id, updated=updated, spooled=False)
    except Exception as error:  # noqa: BLE001 - whatever it is, the lead is kept
        if unavailable(error):
            logger.error("Lead store unavailable (%s); spooling the lead", type(error).__name__)
            spool.append(settings.spool_file, asdict(data))
        else:
            logger.error("Lead refused by the database (%s); quarantined in %s for a person to check",
                         type(error).__name__, spool.quarantine_file(settings.spool_file))
            spool.quarantine(settings.spool_file, asdict(data), type(error).__name__)
        return SubmitResult(lead_id=None, updated=False, spooled=True)


def as_record(lead: Lead) -> Dict[str, Any]:
    """A lead as plain data with the export field names."""
    return {
        "id": lead.id, "clinic": lead.clinic, "created_at": _as_utc(lead.created_at.isoformat()).isoformat(),
        "name": lead.name, "phone": lead.phone, "email": lead.email, "preferred_time": lead.preferred_time,
        "mode": lead.mode, "consent": lead.consent == "yes", "reason": lead.reason, "urgency": lead.urgency,
        "screening": lead.screening, "status": lead.status,
        "status_history": [{"at": _as_utc(c.at.isoformat()).isoformat(), "from": c.old_status, "to": c.new_status,
                            "note": c.note} for c in lead.status_changes],
        "transcript": lead.transcript or [],
        "notification_status": delivery_status(lead.notifications),
    }


def list_leads(settings: Settings, clinic: Optional[str] = None) -> List[Dict[str, Any]]:
    with session_scope(settings.database_url) as session:
        query = select(Lead).order_by(Lead.created_at.desc(), Lead.id.desc())
        if clinic:
            query = query.where(Lead.clinic == clinic)
        return [as_record(lead) for lead in session.execute(query).scalars()]


def get_lead(settings: Settings, lead_id: int) -> Optional[Dict[str, Any]]:
    with session_scope(settings.database_url) as session:
        lead = session.get(Lead, lead_id)
        return as_record(lead) if lead else None


def set_status(settings: Settings, lead_id: int, status: str, note: Optional[str] = None,
               actor: str = audit.COMMAND_LINE) -> bool:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    with session_scope(settings.database_url) as session:
        lead = session.get(Lead, lead_id)
        if lead is None:
            return False
        if lead.status != status:
            lead.status_changes.append(StatusChange(at=utcnow(), old_status=lead.status, new_status=status, note=note))
            audit.record(session, settings, audit.LEAD_STATUS, actor, lead_id=lead.id, clinic=lead.clinic,
                         detail=f"{lead.status} to {status}{' with a note' if note else ''}")
            lead.status = status
        return True


def purge(settings: Settings, now: Optional[datetime] = None, clinics: Optional[ClinicDirectory] = None) -> int:
    """Delete every clinic's leads older than its retention, with their notes, history and notifications.

    Each clinic keeps leads for its profile's lead_retention_days (LEAD_RETENTION_DAYS
    when it sets none, or when it is no longer in the profiles). The audit log records
    what went: per clinic, the count of leads and notes and the leads' ids, no content.
    """
    now = now or utcnow()
    directory = clinics or clinics_for(settings)
    deleted = 0
    with session_scope(settings.database_url) as session:
        for clinic_id in session.execute(select(Lead.clinic).distinct()).scalars().all():
            clinic = directory.get(clinic_id)
            days = clinic.keeps_leads_for(settings.lead_retention_days) if clinic else settings.lead_retention_days
            ids = session.execute(select(Lead.id).where(Lead.clinic == clinic_id, Lead.created_at < now - timedelta(
                days=days)).order_by(Lead.id)).scalars().all()
            if not ids:
                continue
            notes = session.execute(select(func.count()).select_from(LeadNote).where(LeadNote.lead_id.in_(ids))
                                    ).scalar_one()
            for lead in session.execute(select(Lead).where(Lead.id.in_(ids))).scalars():
                session.delete(lead)
            audit.record(session, settings, audit.LEADS_PURGE, audit.RETENTION_JOB, clinic=clinic_id, at=now,
                         detail=f"{len(ids)} leads older than {days} days and their {notes} notes; "
                                f"lead ids {','.join(str(i) for i in ids)}")
            deleted += len(ids)
    return deleted


def _phone_cell(phone: Optional[str]) -> Optional[str]:
    """A phone number as a tel: URI ("tel:+1-314-555-0123"): readable, dialable, and no spreadsheet evaluates it."""
    if not phone:
        return phone
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return phone
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.RFC3966)


def export(records: List[Dict[str, Any]], fmt: str) -> str:
    """JSON array or CSV (nested fields as JSON text) of lead records."""
    if fmt == "json":
        return json.dumps(records, indent=2, ensure_ascii=False)
    if fmt == "csv":
        return csv_text(({k: json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v
                          for k, v in {**record, "phone": _phone_cell(record.get("phone"))}.items()}
                         for record in records), EXPORT_FIELDS)
    raise ValueError("format must be json or csv")
