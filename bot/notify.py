"""Staff notifications: the texts, the outbox, and delivery by email or webhook with retries."""
from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from typing import List, Optional, Tuple

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
    """One staff message waiting to be put in the outbox."""

    channel: str
    target: str
    subject: str
    body: str


def lead_link(lead: Lead, inbox_base_url: str) -> str:
    """Where staff read the whole lead; health details stay behind it, not in messages."""
    return f"{inbox_base_url}/leads/{lead.id}"


def _urgency(lead: Lead) -> Tuple[str, bool]:
    """The urgency as staff see it, and whether it jumps the queue."""
    return (lead.urgency or "routine").upper(), lead.urgency in PRIORITY


def lead_subject(lead: Lead, clinic: Clinic, updated: bool) -> str:
    """Urgency first so staff can triage from a list; no name, as subjects show on lock screens and in logs."""
    urgency, priority = _urgency(lead)
    what = "Updated lead" if updated else "New lead"
    return f"[{'PRIORITY ' if priority else ''}{urgency}] {what} for {clinic.name} (#{lead.id})"


def _header_lines(lead: Lead, clinic: Clinic) -> List[str]:
    """The lines every staff message starts with: how urgent, and for which clinic."""
    urgency, priority = _urgency(lead)
    return [f"Urgency: {urgency}{' (priority)' if priority else ''}",
            f"Clinic: {clinic.name} ({clinic.id})"]


def lead_text(lead: Lead, clinic: Clinic, inbox_base_url: str, updated: bool) -> Tuple[str, str]:
    """Email subject and body: enough to call the visitor back, without reason, screening or transcript."""
    contact = ", ".join(part for part in (lead.phone, lead.email) if part) or "no contact given"
    lines = _header_lines(lead, clinic) + [
        f"Name: {lead.name}",
        f"Contact: {contact}",
        f"Preferred time: {lead.preferred_time or 'not given'}",
        f"Mode: {lead.mode or 'not asked'}",
        "The reason, any screening answers and the conversation are in the lead (link below).",
        f"Lead: {lead_link(lead, inbox_base_url)}",
    ]
    return lead_subject(lead, clinic, updated), "\n".join(lines)


def webhook_text(lead: Lead, clinic: Clinic, inbox_base_url: str) -> str:
    """Chat body with no personal data at all: chat channels reach more people and keep messages longer."""
    return "\n".join(_header_lines(lead, clinic) + [f"Lead #{lead.id}: {lead_link(lead, inbox_base_url)}"])


def drafts_for(lead: Lead, clinic: Clinic, inbox_base_url: str, updated: bool = False) -> List[Draft]:
    """One email per staff address and one webhook post, as the clinic's profile asks."""
    subject, body = lead_text(lead, clinic, inbox_base_url, updated)
    drafts = [Draft("email", address, subject, body) for address in clinic.staff_emails]
    if clinic.staff_webhook_url:
        drafts.append(Draft("webhook", clinic.staff_webhook_url, subject, webhook_text(lead, clinic, inbox_base_url)))
    return drafts


def smtp_problem(settings: Settings) -> Optional[str]:
    """A configuration the notifier refuses to send with, in words, so it can be said at start."""
    if settings.smtp_security == "none" and settings.smtp_user:
        return ("SMTP_SECURITY=none with SMTP_USER set: refusing to send the SMTP password in clear text; "
                "use SMTP_SECURITY=starttls or tls, or drop SMTP_USER for a local relay.")
    return None


def smtp_ssl_context(settings: Settings) -> ssl.SSLContext:
    """Verify the server's certificate and host name, against SMTP_CA_FILE or else the system CAs."""
    return ssl.create_default_context(cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None)


def smtp_connect(settings: Settings) -> smtplib.SMTP:
    """An SMTP connection secured as SMTP_SECURITY says; STARTTLS that is not offered fails, never falls back."""
    problem = smtp_problem(settings)
    if problem:
        raise RuntimeError(problem)
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.notify_timeout_seconds
    if settings.smtp_security == "tls":
        return smtplib.SMTP_SSL(host, port, timeout=timeout, context=smtp_ssl_context(settings))
    if settings.smtp_security not in ("starttls", "none"):
        raise RuntimeError(f"SMTP_SECURITY: unknown value {settings.smtp_security!r}")
    smtp = smtplib.SMTP(host, port, timeout=timeout)
    if settings.smtp_security == "starttls":
        try:
            smtp.starttls(context=smtp_ssl_context(settings))  # SMTPNotSupportedError if not offered
        except BaseException:
            smtp.close()
            raise
    return smtp


def send_email(settings: Settings, to: str, subject: str, body: str) -> None:
    """Send one notification email; any failure raises, for the outbox to record and retry."""
    if not settings.smtp_host:
        raise RuntimeError("SMTP_HOST is not set")
    # No folding below the RFC 5322 limit, so the urgency stays the first thing in the subject.
    message = EmailMessage(policy=policy.SMTP.clone(max_line_length=998))
    message["From"], message["To"], message["Subject"] = settings.smtp_from, to, subject
    message.set_content(body)
    with smtp_connect(settings) as smtp:
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
