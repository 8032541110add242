"""The lead store's tables. Alembic migrations in migrations/ create and change them."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, List

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, declarative_base, relationship

from bot.store.crypto import EncryptedJSON, EncryptedText

# NOT NULL columns say their Python type (Mapped[...]) for mypy: SQLAlchemy 1.4's mypy plugin takes an
# unannotated column as Optional, which is right for the nullable ones. SQLAlchemy itself reads only the Column.
Base = declarative_base()

URGENCIES = ("routine", "nerve_review", "urgent", "emergency")
PRIORITY = frozenset({"nerve_review", "urgent", "emergency"})  # pinned on top of the staff inbox
STATUSES = ("new", "contacted", "booked", "closed")
NOTE_REQUIRED = frozenset({"closed"})  # a lead is closed only with a note saying why


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Lead(Base):
    __tablename__ = "leads"

    id: Mapped[int] = Column(Integer, primary_key=True)
    clinic: Mapped[str] = Column(String(64), nullable=False, index=True)
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    updated_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    # Health data, encrypted field by field (bot/store/crypto.py); `search` holds keyed hashes to find a lead by.
    name: Mapped[str] = Column(EncryptedText("leads.name"), nullable=False)
    phone = Column(EncryptedText("leads.phone"))
    email = Column(EncryptedText("leads.email"))
    preferred_time = Column(EncryptedText("leads.preferred_time"))
    mode = Column(String(16))
    consent: Mapped[str] = Column(String(8), nullable=False)
    reason = Column(EncryptedText("leads.reason"))
    urgency: Mapped[str] = Column(String(16), nullable=False, default="routine")
    screening = Column(EncryptedJSON("leads.screening"))
    status: Mapped[str] = Column(String(16), nullable=False, default="new")
    sender_id: Mapped[str] = Column(String(128), nullable=False, index=True)
    transcript: Mapped[List[Dict[str, Any]]] = Column(EncryptedJSON("leads.transcript"), nullable=False, default=list)
    search = Column(Text)

    status_changes: Mapped[List[StatusChange]] = relationship("StatusChange", order_by="StatusChange.id",
                                                              cascade="all, delete-orphan")
    notes: Mapped[List[LeadNote]] = relationship("LeadNote", order_by="LeadNote.id", cascade="all, delete-orphan")
    notifications: Mapped[List[Notification]] = relationship("Notification", order_by="Notification.id",
                                                             cascade="all, delete-orphan")


class StatusChange(Base):
    __tablename__ = "lead_status_changes"

    id: Mapped[int] = Column(Integer, primary_key=True)
    lead_id: Mapped[int] = Column(Integer, ForeignKey("leads.id", ondelete="CASCADE"), nullable=False, index=True)
    at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    old_status = Column(String(16))
    new_status: Mapped[str] = Column(String(16), nullable=False)
    note = Column(EncryptedText("lead_status_changes.note"))
    actor = Column(String(254))  # the staff account's email, or None for the assistant and the command line


class LeadNote(Base):
    """Staff's internal notes on a lead; never shown to the visitor."""

    __tablename__ = "lead_notes"

    id: Mapped[int] = Column(Integer, primary_key=True)
    lead_id: Mapped[int] = Column(Integer, ForeignKey("leads.id", ondelete="CASCADE"), nullable=False, index=True)
    at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    actor: Mapped[str] = Column(String(254), nullable=False)
    text: Mapped[str] = Column(EncryptedText("lead_notes.text"), nullable=False)


class Notification(Base):
    """The outbox: one row per staff target per lead event, sent by `python -m bot notify`."""

    __tablename__ = "notifications"

    id: Mapped[int] = Column(Integer, primary_key=True)
    lead_id: Mapped[int] = Column(Integer, ForeignKey("leads.id", ondelete="CASCADE"), nullable=False, index=True)
    channel: Mapped[str] = Column(String(16), nullable=False)  # "email" or "webhook"
    target: Mapped[str] = Column(String(500), nullable=False)
    subject: Mapped[str] = Column(String(300), nullable=False)
    body: Mapped[str] = Column(EncryptedText("notifications.body"), nullable=False)  # an email's carries a name
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    next_attempt_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    sent_at = Column(DateTime(timezone=True))
    attempts: Mapped[int] = Column(Integer, nullable=False, default=0)
    failed_for_good: Mapped[int] = Column(Integer, nullable=False, default=0)
    # A notifier claims a row before sending it, so two notifiers never send it twice; a claim
    # left by a notifier that died expires and the row is tried again.
    claimed_by = Column(String(64))
    claimed_until = Column(DateTime(timezone=True))

    # Not a column: claim_due() sets it on the rows it hands out, from the lead's urgency.
    lead_urgency: str

    attempt_log: Mapped[List[DeliveryAttempt]] = relationship("DeliveryAttempt", order_by="DeliveryAttempt.id",
                                                              cascade="all, delete-orphan")


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = Column(Integer, primary_key=True)
    notification_id: Mapped[int] = Column(Integer, ForeignKey("notifications.id", ondelete="CASCADE"), nullable=False,
                                          index=True)
    at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    ok: Mapped[int] = Column(Integer, nullable=False)
    error = Column(String(500))


class StaffAccount(Base):
    """A clinic's staff member (or, with is_admin, an operator who sees every clinic)."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = Column(Integer, primary_key=True)
    email: Mapped[str] = Column(String(254), nullable=False, unique=True)
    clinic = Column(String(64))  # None only for an admin
    is_admin: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    password_hash: Mapped[str] = Column(String(200), nullable=False)  # argon2id
    disabled: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    failed_logins: Mapped[int] = Column(Integer, nullable=False, default=0)
    locked_until = Column(DateTime(timezone=True))
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    last_login_at = Column(DateTime(timezone=True))
    # Two-step login (bot/staff/mfa.py): the TOTP secret, encrypted; on once enrolment is confirmed with a code.
    mfa_secret = Column(EncryptedText("staff_accounts.mfa_secret"))
    mfa_enabled_at = Column(DateTime(timezone=True))
    mfa_last_step = Column(Integer)  # the 30-second step of the last code accepted: no code works twice
    display_name = Column(String(64))  # what a visitor in a live chat reads; None: a name from the email

    recovery_codes: Mapped[List[RecoveryCode]] = relationship("RecoveryCode", cascade="all, delete-orphan")


class RecoveryCode(Base):
    """One-time codes for a lost authenticator, shown once at enrolment and stored as SHA-256."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = Column(Integer, primary_key=True)
    account_id: Mapped[int] = Column(Integer, ForeignKey("staff_accounts.id", ondelete="CASCADE"), nullable=False,
                                     index=True)
    code_hash: Mapped[str] = Column(String(64), nullable=False)
    used_at = Column(DateTime(timezone=True))


class LoginThrottle(Base):
    """Failed logins of one client address, email or device (keyed hashes, never the values): bot/staff/throttle.py."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = Column(String(64), primary_key=True)
    failures: Mapped[int] = Column(Integer, nullable=False, default=0)
    last_failure_at = Column(DateTime(timezone=True))
    next_at = Column(DateTime(timezone=True))  # no password is checked for this key before then
    alerted_at = Column(DateTime(timezone=True))  # when the account's owner was last told


class StaffSession(Base):
    """A logged-in browser: the cookie holds the token, the table only its SHA-256."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = Column(Integer, primary_key=True)
    token_hash: Mapped[str] = Column(String(64), nullable=False, unique=True)
    account_id: Mapped[int] = Column(Integer, ForeignKey("staff_accounts.id", ondelete="CASCADE"), nullable=False,
                                     index=True)
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, index=True)
    # "full"; or, between the password and the second step, "code" (enter a code) or "enrol" (set it up first):
    # such a session opens no page but that step's, and lasts minutes.
    stage: Mapped[str] = Column(String(8), nullable=False, default="full", server_default="full")


class ApiToken(Base):
    """A clinic's token for its own integrations (read-only lead API); stored as SHA-256."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = Column(Integer, primary_key=True)
    clinic: Mapped[str] = Column(String(64), nullable=False, index=True)
    label: Mapped[str] = Column(String(100), nullable=False)
    token_hash: Mapped[str] = Column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    last_used_at = Column(DateTime(timezone=True))
    revoked_at = Column(DateTime(timezone=True))


class ContentGap(Base):
    """A visitor question the assistant could not answer, with names, phones and emails already removed."""

    __tablename__ = "content_gaps"

    id: Mapped[int] = Column(Integer, primary_key=True)
    clinic: Mapped[str] = Column(String(64), nullable=False, index=True)
    at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    kind: Mapped[str] = Column(String(16), nullable=False)  # "fallback" or "out_of_scope"
    text: Mapped[str] = Column(String(500), nullable=False)


class AuditEntry(Base):
    """Who did what to which lead, and from which (hashed) address: bot/store/audit.py writes it, nothing changes it.

    No foreign key to the lead: the entry outlives the lead it names (retention deletes leads long before their
    access log), and it never holds the lead's content, only its id.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = Column(Integer, primary_key=True)
    at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    actor: Mapped[str] = Column(String(254), nullable=False)  # a staff email, "api token 3", "command line", ...
    action: Mapped[str] = Column(String(32), nullable=False, index=True)
    clinic = Column(String(64), index=True)  # the clinic concerned; None for what concerns no one clinic
    lead_id = Column(Integer, index=True)
    detail = Column(Text)  # words and numbers the code chose: ids, counts, statuses; never a visitor's or staff's text
    address = Column(String(40))  # keyed hash of the client address


LIVE_STATES = ("waiting", "active", "ended", "missed", "cancelled")
LIVE_OPEN = ("waiting", "active")


class LiveChat(Base):
    """A visitor's request to chat with a person, and the chat if a staff member accepts it (bot/staff/live_chat.py).

    Only one staff member can accept: accepting is one conditional UPDATE (status 'waiting' to 'active').
    """

    __tablename__ = "live_chats"

    id: Mapped[int] = Column(Integer, primary_key=True)
    clinic: Mapped[str] = Column(String(64), nullable=False, index=True)
    sender_id: Mapped[str] = Column(String(128), nullable=False, index=True)
    status: Mapped[str] = Column(String(16), nullable=False, default="waiting", index=True)
    requested_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    question = Column(EncryptedText("live_chats.question"))  # what the visitor asked, shown in the queue
    accepted_at = Column(DateTime(timezone=True))
    ended_at = Column(DateTime(timezone=True))
    staff_id = Column(Integer, ForeignKey("staff_accounts.id", ondelete="SET NULL"))
    staff_email = Column(String(254))
    staff_name = Column(String(64))
    # The last "is typing" of each side: shown to the other while recent (bot/staff/live_chat.py TYPING_SECONDS).
    visitor_typing_at = Column(DateTime(timezone=True))
    staff_typing_at = Column(DateTime(timezone=True))


class LiveMessage(Base):
    """One message of a live chat; its id orders the chat and is what a reconnecting widget says it has seen.

    `kind` is 'text' for words (the visitor's or the staff member's), or the event a visitor is told of
    ('joined', 'ended', 'missed'): their wording comes from data/live_chat.yml when read.
    """

    __tablename__ = "live_messages"

    id: Mapped[int] = Column(Integer, primary_key=True)
    chat_id: Mapped[int] = Column(Integer, ForeignKey("live_chats.id", ondelete="CASCADE"), nullable=False,
                                  index=True)
    at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    who: Mapped[str] = Column(String(8), nullable=False)  # "visitor", "staff" or "system"
    kind: Mapped[str] = Column(String(8), nullable=False, default="text")
    text = Column(EncryptedText("live_messages.text"))
    triage = Column(String(16))  # the safety net's tier for a visitor's message, when it flagged one


class LivePresence(Base):
    """A staff member 'Available for live chat': a row while on, gone at logout; stale after minutes idle."""

    __tablename__ = "live_presence"

    account_id: Mapped[int] = Column(Integer, ForeignKey("staff_accounts.id", ondelete="CASCADE"),
                                     primary_key=True)
    clinic: Mapped[str] = Column(String(64), nullable=False, index=True)
    since: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    active_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class ClinicProfile(Base):
    """A clinic's profile as clinics.yml holds it, in JSON; bot/store/clinic_profiles.py validates every write with
    bot/core/clinics.py, the same check the file gets."""

    __tablename__ = "clinics"

    id: Mapped[str] = Column(String(64), primary_key=True)
    profile: Mapped[str] = Column(Text, nullable=False)
    updated_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_by = Column(String(254))  # a staff email, or "command line (user)"


class SettingsVersion(Base):
    """One row, moved on by every change of a clinic profile: each process reloads the profiles when it moved."""

    __tablename__ = "settings_version"

    id: Mapped[int] = Column(Integer, primary_key=True)
    version: Mapped[int] = Column(Integer, nullable=False, default=0)
