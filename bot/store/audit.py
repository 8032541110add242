"""The access audit log: who viewed, exported or changed which lead, logins, API token use and admin actions.

One function writes it (`record`), in the caller's transaction where there is
one, so a change and its entry are saved together or not at all. An entry
holds who, when, the action, the clinic and lead id it concerns, a detail the
code composes (statuses, counts, ids; never a visitor's or staff member's own
words; for a clinic setting, its old and new value: the clinic's profile) and a
keyed hash of the client address. Nothing in the application
changes or deletes an entry: the mapper refuses it and the database's trigger
refuses an UPDATE (migration 0006); only `purge` deletes entries older than
AUDIT_RETENTION_DAYS (six years by default).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session

from bot.core.days import query_choice, query_day, query_id
from bot.core.settings import Settings
from bot.core.spreadsheet import csv_text
from bot.store.crypto import keyed
from bot.store.db import session_scope
from bot.store.models import AuditEntry, Lead, utcnow

# Every action an entry may name; the inbox shows them with data/inbox.yml's `audit_actions` words.
LEAD_VIEW = "lead.view"
LEADS_EXPORT = "leads.export"
LEAD_STATUS = "lead.status"
LEAD_NOTE = "lead.note"
LOGIN = "login"
LOGIN_FAILED = "login.failed"
LOGOUT = "logout"
TOKEN_USE = "token.use"
ACCOUNT_ADD = "account.add"
ACCOUNT_DISABLE = "account.disable"
ACCOUNT_PASSWORD = "account.password"
MFA_ENROL = "mfa.enrol"
MFA_RESET = "mfa.reset"
TOKEN_ADD = "token.add"
TOKEN_REVOKE = "token.revoke"
KEYS_ROTATE = "keys.rotate"
LEADS_PURGE = "leads.purge"
AUDIT_VIEW = "audit.view"
AUDIT_EXPORT = "audit.export"
AUDIT_PURGE = "audit.purge"
LIVE_ACCEPT = "live.accept"
LIVE_VIEW = "live.view"
LIVE_READ = "live.read"
LIVE_END = "live.end"
# A clinic's profile (bot/store/clinic_profiles.py): the detail is JSON {"field", "old", "new"}, one entry a field.
# Its values are the clinic's public profile and staff addresses, never a visitor's words.
CLINIC_ADD = "clinic.add"
CLINIC_CHANGE = "clinic.change"
ACTIONS = (LEAD_VIEW, LEADS_EXPORT, LEAD_STATUS, LEAD_NOTE, LOGIN, LOGIN_FAILED, LOGOUT, TOKEN_USE, ACCOUNT_ADD,
           ACCOUNT_DISABLE, ACCOUNT_PASSWORD, MFA_ENROL, MFA_RESET, TOKEN_ADD, TOKEN_REVOKE, KEYS_ROTATE, LEADS_PURGE,
           AUDIT_VIEW, AUDIT_EXPORT, AUDIT_PURGE, LIVE_ACCEPT, LIVE_VIEW, LIVE_READ, LIVE_END, CLINIC_ADD,
           CLINIC_CHANGE)

COMMAND_LINE = "command line"
RETENTION_JOB = "retention job"
MAX_DETAIL = 20000
PAGE = 200
EXPORT_FIELDS = ["id", "at", "actor", "action", "clinic", "lead_id", "detail", "address"]


class AuditChangeRefused(RuntimeError):
    """Something tried to change or delete an audit entry through the application."""


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse(_mapper: Any, _connection: Any, _entry: AuditEntry) -> None:
    raise AuditChangeRefused("the audit log is append-only")


def address_hash(settings: Settings, address: Optional[str]) -> Optional[str]:
    """The client address as the audit log and the login throttle keep it: a keyed hash, never the address."""
    return keyed(settings, "address", address) if address else None


def record(session: Session, settings: Settings, action: str, actor: str, *, lead_id: Optional[int] = None,
           clinic: Optional[str] = None, detail: str = "", address: Optional[str] = None,
           at: Optional[datetime] = None) -> None:
    """Add one entry to the audit log in this transaction; the clinic defaults to the lead's."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if clinic is None and lead_id is not None:
        clinic = session.execute(select(Lead.clinic).where(Lead.id == lead_id)).scalar_one_or_none()
    session.add(AuditEntry(at=at or utcnow(), actor=(actor or "unknown")[:254], action=action, clinic=clinic,
                           lead_id=lead_id, detail=(detail or None) and detail[:MAX_DETAIL],
                           address=address_hash(settings, address)))


def write(settings: Settings, action: str, actor: str, **details: Any) -> None:
    """`record` in a transaction of its own, for an action that changed nothing (a view, an export, a login)."""
    with session_scope(settings.database_url) as session:
        record(session, settings, action, actor, **details)


def export_detail(lead_ids: List[int], what: str) -> str:
    """An export's detail: how many leads and which, so a lost file's reach is known; never their content."""
    return f"{len(lead_ids)} leads as {what}; lead ids {','.join(str(i) for i in lead_ids) or 'none'}"


@dataclass(frozen=True)
class AuditFilter:
    """The audit page's filters, from its query string; an unknown choice, a bad id or a malformed day is refused."""

    action: str = ""
    clinic: str = ""  # an operator's choice of clinic
    lead_id: Optional[int] = None
    date_from: Optional[date] = None
    date_to: Optional[date] = None

    @classmethod
    def from_query(cls, query: Dict[str, str]) -> "AuditFilter":
        def day(name: str) -> Optional[date]:
            return query_day(name, query.get(name))

        return cls(action=query_choice("action", query.get("action"), ACTIONS),
                   clinic=(query.get("clinic") or "").strip()[:64],
                   lead_id=query_id("lead", query.get("lead")), date_from=day("from"), date_to=day("to"))

    def as_query(self) -> Dict[str, str]:
        values = {"action": self.action, "clinic": self.clinic, "lead": str(self.lead_id or ""),
                  "from": self.date_from.isoformat() if self.date_from else "",
                  "to": self.date_to.isoformat() if self.date_to else ""}
        return {key: value for key, value in values.items() if value}


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def entries(settings: Settings, scope: Optional[str], wanted: AuditFilter,
            limit: Optional[int] = PAGE) -> Tuple[List[Dict[str, Any]], int]:
    """The entries a reader may see (one clinic's; every one for scope None), newest first, and how many in all."""
    query = select(AuditEntry)
    if scope is not None:
        query = query.where(AuditEntry.clinic == scope)
    elif wanted.clinic:
        query = query.where(AuditEntry.clinic == wanted.clinic)
    if wanted.action:
        query = query.where(AuditEntry.action == wanted.action)
    if wanted.lead_id is not None:
        query = query.where(AuditEntry.lead_id == wanted.lead_id)
    if wanted.date_from:
        query = query.where(AuditEntry.at >= _day_start(wanted.date_from))
    if wanted.date_to:
        query = query.where(AuditEntry.at < _day_start(wanted.date_to + timedelta(days=1)))
    with session_scope(settings.database_url) as session:
        total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        query = query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        if limit:
            query = query.limit(limit)
        return [as_row(entry) for entry in session.execute(query).scalars()], total


def as_row(entry: AuditEntry) -> Dict[str, Any]:
    at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=timezone.utc)
    return {"id": entry.id, "at": at.isoformat(timespec="seconds"), "actor": entry.actor, "action": entry.action,
            "clinic": entry.clinic or "", "lead_id": entry.lead_id, "detail": entry.detail or "",
            "address": entry.address or ""}


def export(rows: List[Dict[str, Any]]) -> str:
    """Entries as CSV, every cell escaped as the lead export's are."""
    return csv_text(rows, EXPORT_FIELDS)


def purge(settings: Settings, now: Optional[datetime] = None) -> int:
    """Delete entries older than AUDIT_RETENTION_DAYS: the one way an entry ever leaves the log."""
    now = now or utcnow()
    cutoff = now - timedelta(days=settings.audit_retention_days)
    with session_scope(settings.database_url) as session:
        result: Any = session.execute(delete(AuditEntry).where(AuditEntry.at < cutoff)
                                      .execution_options(synchronize_session=False))
        deleted = int(result.rowcount or 0)  # a CursorResult; SQLAlchemy 1.4's stubs type it as Result
        if deleted:
            record(session, settings, AUDIT_PURGE, RETENTION_JOB, at=now,
                   detail=f"{deleted} entries older than {settings.audit_retention_days} days")
        return deleted
