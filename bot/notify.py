"""Staff notifications: the texts, the outbox, and delivery by email or webhook with retries."""
from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from typing import List, Optional

import requests
from sqlalchemy import select

from bot.clinics import Clinic
from bot.db import session_scope
from bot.models import DeliveryAttempt, Lead, Notification, utcnow
from bot.settings import Settings

logger = logging.getLogger(__name__)

PRIORITY = {"emergency", "urgent", "nerve_review"}
MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class Draft:
    channel: str
    target: str
    subject: str
    body: str


def lead_text(lead: Lead, clinic: Clinic, inbox_base_url: str, updated: bool) -> tuple:
    """Subject and body: urgency first, then clinic, name, how to contact, reason, link."""
    urgency = (lead.urgency or "routine").upper()
    flag = "PRIORITY " if lead.urgency in PRIORITY else ""
    what = "Updated lead" if updated else "New lead"
    subject = f"[{flag}{urgency}] {what} for {clinic.name}: {lead.name}"
    contact = ", ".join(part for part in (lead.phone, lead.email) if part) or "no contact given"
    lines = [
        f"Urgency: {urgency}{' (priority)' if flag else ''}",
        f"Clinic: {clinic.name} ({clinic.id})",
        f"Name: {lead.name}",
        f"Contact: {contact}",
        f"Preferred time: {lead.preferred_time or 'not given'}",
        f"Mode: {lead.mode or 'not asked'}",
        f"Reason: {lead.reason or 'not given'}",
    ]
    if lead.screening:
        lines.append("Screening answers:")
        lines += [f"  - {question}: {answer}" for question, answer in lead.screening.items()]
    lines.append(f"Lead: {inbox_base_url}/leads/{lead.id}")
    return subject, "\n".join(lines)


def drafts_for(lead: Lead, clinic: Clinic, inbox_base_url: str, updated: bool = False) -> List[Draft]:
    subject, body = lead_text(lead, clinic, inbox_base_url, updated)
    drafts = [Draft("email", address, subject, body) for address in clinic.staff_emails]
    if clinic.staff_webhook_url:
        drafts.append(Draft("webhook", clinic.staff_webhook_url, subject, body))
    return drafts


def send_email(settings: Settings, to: str, subject: str, body: str) -> None:
    if not settings.smtp_host:
        raise RuntimeError("SMTP_HOST is not set")
    # No folding below the RFC 5322 limit, so the urgency stays the first thing in the subject.
    message = EmailMessage(policy=policy.SMTP.clone(max_line_length=998))
    message["From"], message["To"], message["Subject"] = settings.smtp_from, to, subject
    message.set_content(body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.notify_timeout_seconds) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(message)


def send_webhook(settings: Settings, url: str, subject: str, body: str) -> None:
    """POST a Slack incoming-webhook payload (`text`), which other receivers accept too."""
    response = requests.post(url, json={"text": f"*{subject}*\n{body}"}, timeout=settings.notify_timeout_seconds)
    if not 200 <= response.status_code < 300:
        raise RuntimeError(f"webhook answered HTTP {response.status_code}")


def backoff(settings: Settings, attempts: int) -> timedelta:
    """Wait before the next try: doubling from NOTIFY_BACKOFF_SECONDS, at most an hour."""
    return min(timedelta(seconds=settings.notify_backoff_seconds * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def deliver_due(settings: Settings, now: Optional[datetime] = None) -> dict:
    """Try every notification that is due once; record each attempt. Returns counts."""
    now = now or utcnow()
    with session_scope(settings.database_url) as session:
        due = session.execute(
            select(Notification.id, Notification.channel, Notification.target, Notification.subject,
                   Notification.body, Notification.attempts)
            .where(Notification.sent_at.is_(None), Notification.failed_for_good == 0,
                   Notification.next_attempt_at <= now)
            .order_by(Notification.id)
        ).all()
    counts = {"sent": 0, "failed": 0, "given_up": 0}
    for row in due:
        error = None
        try:
            sender = send_email if row.channel == "email" else send_webhook
            sender(settings, row.target, row.subject, row.body)
        except Exception as exc:  # any failure is recorded and retried, never raised at a visitor
            error = f"{type(exc).__name__}: {exc}"[:500]
        with session_scope(settings.database_url) as session:
            notification = session.get(Notification, row.id)
            notification.attempts += 1
            session.add(DeliveryAttempt(notification_id=row.id, at=now, ok=int(error is None), error=error))
            if error is None:
                notification.sent_at = now
                counts["sent"] += 1
            elif notification.attempts >= settings.notify_max_attempts:
                notification.failed_for_good = 1
                counts["given_up"] += 1
                logger.error("Notification %s gave up after %s attempts (%s)", row.id, notification.attempts, row.channel)
            else:
                notification.next_attempt_at = now + backoff(settings, notification.attempts)
                counts["failed"] += 1
                logger.warning("Notification %s attempt %s failed (%s); retrying later", row.id, notification.attempts, row.channel)
    return counts
