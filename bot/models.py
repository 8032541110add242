"""The lead store's tables. Alembic migrations in migrations/ create and change them."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()

URGENCIES = ("routine", "nerve_review", "urgent", "emergency")
STATUSES = ("new", "contacted", "booked", "closed")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Lead(Base):
    __tablename__ = "leads"

    id = Column(Integer, primary_key=True)
    clinic = Column(String(64), nullable=False, index=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    name = Column(String(100), nullable=False)
    phone = Column(String(32))
    email = Column(String(254))
    preferred_time = Column(String(200))
    mode = Column(String(16))
    consent = Column(String(8), nullable=False)
    reason = Column(Text)
    urgency = Column(String(16), nullable=False, default="routine")
    screening = Column(JSON)
    status = Column(String(16), nullable=False, default="new")
    sender_id = Column(String(128), nullable=False, index=True)
    transcript = Column(JSON, nullable=False, default=list)

    status_changes = relationship("StatusChange", order_by="StatusChange.id", cascade="all, delete-orphan")
    notifications = relationship("Notification", order_by="Notification.id", cascade="all, delete-orphan")


class StatusChange(Base):
    __tablename__ = "lead_status_changes"

    id = Column(Integer, primary_key=True)
    lead_id = Column(Integer, ForeignKey("leads.id", ondelete="CASCADE"), nullable=False, index=True)
    at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    old_status = Column(String(16))
    new_status = Column(String(16), nullable=False)
    note = Column(Text)


class Notification(Base):
    """The outbox: one row per staff target per lead event, sent by `python -m bot notify`."""

    __tablename__ = "notifications"

    id = Column(Integer, primary_key=True)
    lead_id = Column(Integer, ForeignKey("leads.id", ondelete="CASCADE"), nullable=False, index=True)
    channel = Column(String(16), nullable=False)  # "email" or "webhook"
    target = Column(String(500), nullable=False)
    subject = Column(String(300), nullable=False)
    body = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    next_attempt_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    sent_at = Column(DateTime(timezone=True))
    attempts = Column(Integer, nullable=False, default=0)
    failed_for_good = Column(Integer, nullable=False, default=0)

    attempt_log = relationship("DeliveryAttempt", order_by="DeliveryAttempt.id", cascade="all, delete-orphan")


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id = Column(Integer, primary_key=True)
    notification_id = Column(Integer, ForeignKey("notifications.id", ondelete="CASCADE"), nullable=False, index=True)
    at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    ok = Column(Integer, nullable=False)
    error = Column(String(500))
