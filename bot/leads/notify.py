"""Staff notifications: the texts, the outbox, and delivery by email or webhook with retries."""
from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from typing import List, Optional, Tuple, cast

import requests
from sqlalchemy import or_, select, update
from sqlalchemy.engine import CursorResult

from bot.core.clinics import Clinic
from bot.core.settings import Settings
from bot.store.db import session_scope
from bot.store.models import PRIORITY, DeliveryAttempt, Lead, Notification, utcnow

logger = logging.getLogger(__name__)

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


_LINKISH = re.compile(r"(?i)\b(https?|ftp|file|javascript|data|mailto|tel|sms)\s*:|\bwww\.|(\w)\.(?=\w)")


def quoted(text: Optional[str]) -> str:
    """A visitor's words as a quotation no mail client links and no reader takes for ours: one line, in quotes,
    with every scheme and dot of a would-be address broken ("http[:]//evil[.]example")."""
    flat = " ".join(str(text or "").split())
    defanged = _LINKISH.sub(lambda m: f"{m.group(2)}[.]" if m.group(2) else
                            m.group(1) + "[:]" if m.group(1) else "www[.]", flat)
    return "\u201c" + defanged.replace("\u201c", '"').replace("\u201d", '"') + "\u201d"


def lead_text(lead: Lead, clinic: Clinic, inbox_base_url: str, updated: bool) -> Tuple[str, str]:
    """Email subject and body: enough to call the visitor back, without reason, screening or transcript.

    The visitor's own words (name, preferred time) come last, under a label and in
    quotes, so a "Lead: http://evil.example" typed as a preferred time reads as
    what it is and cannot be clicked.
    """
    contact = ", ".join(part for part in (lead.phone, lead.email) if part) or "no contact given"
    lines = _header_lines(lead, clinic) + [
        f"Contact: {contact}",
        f"Mode: {lead.mode or 'not asked'}",
        f"Open the lead in the inbox: {lead_link(lead, inbox_base_url)}",
        "The reason, any screening answers and the conversation are in the lead.",
        "",
        "Typed by the visitor (not checked by Medius; links disabled):",
        f"  Name: {quoted(lead.name)}",
        f"  Preferred time: {quoted(lead.preferred_time) if lead.preferred_time else 'not given'}",
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


CLAIM_BATCH = 50


def claim_due(settings: Settings, now: datetime, me: str) -> List[Notification]:
    """Claim the due notifications no other notifier holds, and return them (detached copies).

    PostgreSQL skips rows another notifier has locked (FOR UPDATE SKIP LOCKED);
    on every database the claim itself is a conditional UPDATE, so of two
    notifiers racing for a row exactly one gets it. A claim lasts long enough
    to send; if its notifier dies, the row is due again when the claim runs out.
    """
    until = now + timedelta(seconds=max(60.0, 3 * settings.notify_timeout_seconds))
    with session_scope(settings.database_url) as session:
        query = (select(Notification.id)
                 .where(Notification.sent_at.is_(None), Notification.failed_for_good == 0,
                        Notification.next_attempt_at <= now,
                        or_(Notification.claimed_until.is_(None), Notification.claimed_until < now))
                 .order_by(Notification.id).limit(CLAIM_BATCH))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claimed = []
        for notification_id in session.execute(query).scalars().all():
            won = session.execute(
                update(Notification).where(
                    Notification.id == notification_id, Notification.sent_at.is_(None),
                    or_(Notification.claimed_until.is_(None), Notification.claimed_until < now))
                .values(claimed_by=me, claimed_until=until).execution_options(synchronize_session=False))
            if cast(CursorResult, won).rowcount == 1:  # an UPDATE's result: the stubs know it only as a Result
                claimed.append(notification_id)
        session.flush()
        rows = session.execute(select(Notification, Lead.urgency).join(Lead, Lead.id == Notification.lead_id)
                               .where(Notification.id.in_(claimed)).order_by(Notification.id)).all()
        for notification, urgency in rows:
            notification.lead_urgency = urgency
            session.expunge(notification)
        return [notification for notification, _ in rows]


def deliver_due(settings: Settings, now: Optional[datetime] = None) -> dict:
    """Send every due notification this notifier can claim, once; record each attempt. Returns counts.

    An emergency notification that runs out of attempts is logged at ERROR as
    an alert and shows as failed in `python -m bot leads list` and the inbox.
    """
    now = now or utcnow()
    me = f"{os.uname().nodename}:{os.getpid()}"[:64]
    counts = {"sent": 0, "failed": 0, "given_up": 0}
    for row in claim_due(settings, now, me):
        error = None
        try:
            sender = send_email if row.channel == "email" else send_webhook
            sender(settings, row.target, row.subject, row.body)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried, never raised at a visitor
            error = f"{type(exc).__name__}: {exc}"[:500]
        with session_scope(settings.database_url) as session:
            notification = session.get(Notification, row.id)
            assert notification is not None  # claimed by this notifier just now
            notification.attempts += 1
            notification.claimed_by, notification.claimed_until = None, None
            session.add(DeliveryAttempt(notification_id=row.id, at=now, ok=int(error is None), error=error))
            if error is None:
                notification.sent_at = now
                counts["sent"] += 1
            elif notification.attempts >= settings.notify_max_attempts:
                notification.failed_for_good = 1
                counts["given_up"] += 1
                if row.lead_urgency == "emergency":
                    logger.error("ALERT: the %s notice of EMERGENCY lead %s could not be delivered after %s "
                                 "attempts; tell the clinic by phone now", row.channel, row.lead_id,
                                 notification.attempts)
                else:
                    logger.error("Notification %s gave up after %s attempts (%s)", row.id, notification.attempts,
                                 row.channel)
            else:
                notification.next_attempt_at = now + backoff(settings, notification.attempts)
                counts["failed"] += 1
                logger.warning("Notification %s attempt %s failed (%s); retrying later",
                               row.id, notification.attempts, row.channel)
    return counts


def delivery_status(notifications: List[Notification]) -> str:
    """A lead's notices in one word: failed (any gave up), pending, sent, or none."""
    if any(n.failed_for_good for n in notifications):
        return "failed"
    if any(n.sent_at is None for n in notifications):
        return "pending"
    return "sent" if notifications else "none"
