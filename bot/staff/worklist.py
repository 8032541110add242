"""What the staff inbox reads and changes in the lead store, always within what one staff member may see.

Every function takes the clinic the caller may see (None: every clinic, for an
admin), so a lead of another clinic is simply not found.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any, Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import Case

from bot.core.days import query_choice, query_day
from bot.core.paths import DATA
from bot.core.settings import Settings
from bot.leads.store import as_record
from bot.staff.accounts import StaffError
from bot.store import audit
from bot.store.crypto import query_terms
from bot.store.db import session_scope
from bot.store.models import NOTE_REQUIRED, PRIORITY, STATUSES, URGENCIES, Lead, LeadNote, StatusChange, utcnow

LIST_LIMIT = 200
MAX_NOTE = 2000


@lru_cache(maxsize=1)
def words() -> Dict[str, Dict[str, str]]:
    """Labels for urgencies, statuses and screening answers (data/inbox.yml)."""
    document = yaml.safe_load((DATA / "inbox.yml").read_text(encoding="utf-8"))
    missing = (set(URGENCIES) - set(document["urgencies"])) | (set(STATUSES) - set(document["statuses"])) | \
        (set(audit.ACTIONS) - set(document.get("audit_actions") or {}))
    if missing:
        raise ValueError(f"data/inbox.yml: no label for {', '.join(sorted(missing))}")
    return document


@dataclass(frozen=True)
class LeadFilter:
    """The list's filters, as the query string gives them; an unknown choice or a malformed day is refused."""

    status: str = ""
    urgency: str = ""
    date_from: Optional[date] = None
    date_to: Optional[date] = None
    q: str = ""
    clinic: str = ""  # an admin's choice of clinic

    @classmethod
    def from_query(cls, query: Dict[str, str]) -> "LeadFilter":
        def day(name: str) -> Optional[date]:
            return query_day(name, query.get(name))

        return cls(status=query_choice("status", query.get("status"), STATUSES),
                   urgency=query_choice("urgency", query.get("urgency"), URGENCIES),
                   date_from=day("from"), date_to=day("to"), q=" ".join((query.get("q") or "").split())[:100],
                   clinic=(query.get("clinic") or "").strip()[:64])

    def as_query(self) -> Dict[str, str]:
        values = {"status": self.status, "urgency": self.urgency, "q": self.q, "clinic": self.clinic,
                  "from": self.date_from.isoformat() if self.date_from else "",
                  "to": self.date_to.isoformat() if self.date_to else ""}
        return {k: v for k, v in values.items() if v}


def _scope(query, scope: Optional[str], wanted: LeadFilter):
    if scope is not None:
        return query.where(Lead.clinic == scope)
    return query.where(Lead.clinic == wanted.clinic) if wanted.clinic else query


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(timezone.utc)


def _filtered(query, wanted: LeadFilter, zone: ZoneInfo):
    if wanted.status:
        query = query.where(Lead.status == wanted.status)
    if wanted.urgency:
        query = query.where(Lead.urgency == wanted.urgency)
    if wanted.date_from:
        query = query.where(Lead.created_at >= _day_start(wanted.date_from, zone))
    if wanted.date_to:
        query = query.where(Lead.created_at < _day_start(wanted.date_to + timedelta(days=1), zone))
    if wanted.q:  # names and phones are encrypted: found by the keyed hashes of their words and digits
        terms = query_terms(wanted.q)
        query = query.where(and_(*[Lead.search.like(f"%{term}%") for term in terms])) if terms else query
    return query


def _pinned():
    """Open priority leads first (emergency, urgent, nerve review, in that order), then the newest."""
    rank: Case[Any] = case(*[(Lead.urgency == u, i) for i, u in enumerate(reversed(URGENCIES)) if u in PRIORITY],
                           else_=9)
    return case((Lead.status.in_(("new", "contacted")), rank), else_=9)


def list_leads(settings: Settings, scope: Optional[str], wanted: LeadFilter,
               zone: ZoneInfo = ZoneInfo("UTC"), limit: Optional[int] = LIST_LIMIT) -> Tuple[List[Dict[str, Any]], int]:
    """The leads the filters select, pinned ones first, and how many there are in all."""
    with session_scope(settings.database_url) as session:
        base = _filtered(_scope(select(Lead), scope, wanted), wanted, zone)
        total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
        query = base.options(selectinload(Lead.status_changes), selectinload(Lead.notifications)).order_by(
            _pinned(), Lead.created_at.desc(), Lead.id.desc())
        if limit:
            query = query.limit(limit)
        return [as_record(lead) for lead in session.execute(query).scalars()], total


def status_counts(settings: Settings, scope: Optional[str], wanted: LeadFilter) -> Dict[str, int]:
    """Leads per status, within the clinic scope (the other filters do not apply: these are the clinic's totals)."""
    with session_scope(settings.database_url) as session:
        query = _scope(select(Lead.status, func.count()), scope, wanted).group_by(Lead.status)
        found: Dict[str, int] = {status: count for status, count in session.execute(query).all()}
    return {status: found.get(status, 0) for status in STATUSES}


def _lead(session: Session, lead_id: int, scope: Optional[str]) -> Optional[Lead]:
    lead = session.get(Lead, lead_id)
    if lead is None or (scope is not None and lead.clinic != scope):
        return None
    return lead


def lead_detail(settings: Settings, lead_id: int, scope: Optional[str]) -> Optional[Dict[str, Any]]:
    """A lead with its notes and the history of who changed what and when."""
    with session_scope(settings.database_url) as session:
        lead = _lead(session, lead_id, scope)
        if lead is None:
            return None
        record = as_record(lead)
        history = [_change(c) for c in lead.status_changes]
        history += [{"at": _utc(n.at), "who": n.actor, "what": "note", "note": n.text} for n in lead.notes]
        record["history"] = sorted(history, key=lambda h: h["at"])
        record["notes"] = [{"at": _utc(n.at), "who": n.actor, "text": n.text} for n in lead.notes]
        record["transcript"] = [{**turn, "text": readable_turn(turn.get("text", "")) if turn.get("who") == "user"
                                 else turn.get("text", "")} for turn in record["transcript"]]
        return record


_PAYLOAD = re.compile(r"^/(\w+)(\{.*\})?$", re.S)


def readable_turn(text: str) -> str:
    """A visitor's button press reads as the choice it made, not as its payload."""
    found = _PAYLOAD.match(text or "")
    if not found:
        return text
    try:
        values = [str(v) for v in json.loads(found.group(2) or "{}").values()]
    except ValueError:
        values = []
    return "(button) " + (", ".join(v.replace("_", " ") for v in values) or found.group(1).replace("_", " "))


def _change(change: StatusChange) -> Dict[str, Any]:
    labels = words()["statuses"]
    if change.old_status is None:
        who, what = change.actor or "the assistant", "Lead created"
    else:
        who = change.actor or "the command line"
        what = f"Status {labels[change.old_status]} to {labels[change.new_status]}"
    return {"at": _utc(change.at), "who": who, "what": what, "note": change.note}


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def change_status(settings: Settings, lead_id: int, scope: Optional[str], actor: str, status: str,
                  note: str = "", address: Optional[str] = None) -> bool:
    """Change a lead's status, by whom; closing needs a note. False if the lead is not in scope."""
    note = (note or "").strip()[:MAX_NOTE]
    if status not in STATUSES:
        raise StaffError(f"Choose a status: {', '.join(STATUSES)}.")
    if status in NOTE_REQUIRED and not note:
        raise StaffError("Add a note saying why before closing the lead.")
    with session_scope(settings.database_url) as session:
        lead = _lead(session, lead_id, scope)
        if lead is None:
            return False
        if lead.status != status:
            lead.status_changes.append(StatusChange(at=utcnow(), old_status=lead.status, new_status=status,
                                                    note=note or None, actor=actor))
            audit.record(session, settings, audit.LEAD_STATUS, actor, lead_id=lead.id, clinic=lead.clinic,
                         address=address, detail=f"{lead.status} to {status}{' with a note' if note else ''}")
            lead.status, lead.updated_at = status, utcnow()
        elif note:
            lead.notes.append(LeadNote(actor=actor, text=note))
            audit.record(session, settings, audit.LEAD_NOTE, actor, lead_id=lead.id, clinic=lead.clinic,
                         address=address, detail=f"status stays {status}")
        return True


def add_note(settings: Settings, lead_id: int, scope: Optional[str], actor: str, text: str,
             address: Optional[str] = None) -> bool:
    text = (text or "").strip()[:MAX_NOTE]
    if not text:
        raise StaffError("The note is empty.")
    with session_scope(settings.database_url) as session:
        lead = _lead(session, lead_id, scope)
        if lead is None:
            return False
        lead.notes.append(LeadNote(actor=actor, text=text))
        audit.record(session, settings, audit.LEAD_NOTE, actor, lead_id=lead.id, clinic=lead.clinic, address=address)
        return True


def latest(settings: Settings, scope: Optional[str]) -> Tuple[int, str, bool]:
    """What changed last among the leads in scope: (newest id, last update, whether the newest is a priority lead).

    The live list compares this between polls; it works across processes because
    the action server writes leads to the same database.
    """
    with session_scope(settings.database_url) as session:
        query = select(func.max(Lead.id), func.max(Lead.updated_at))
        if scope is not None:
            query = query.where(Lead.clinic == scope)
        newest, updated = session.execute(query).one()
        priority = False
        if newest:
            priority = session.execute(select(Lead.urgency).where(Lead.id == newest)).scalar_one() in PRIORITY
        return newest or 0, str(updated or ""), priority
