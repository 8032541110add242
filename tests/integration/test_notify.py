"""Staff notifications through a real local SMTP server and a real local HTTP receiver."""
import dataclasses
from datetime import timedelta

from sqlalchemy import select

from bot.core.clinics import ClinicDirectory, load_clinics
from bot.core.paths import DATA
from bot.leads.notify import deliver_due
from bot.leads.store import submit
from bot.store.db import session_scope
from bot.store.models import DeliveryAttempt, Notification, utcnow
from tests.unit.test_leads import lead

CLINICS = ClinicDirectory(load_clinics(DATA / "clinics.yml"), "stl")


def with_webhook(url):
    clinics = load_clinics(DATA / "clinics.yml")
    clinics["stl"] = dataclasses.replace(clinics["stl"], staff_webhook_url=url)
    return ClinicDirectory(clinics, "stl")


def outbox(settings):
    with session_scope(settings.database_url) as session:
        rows = session.execute(select(Notification)).scalars().all()
        return [(n.channel, n.attempts, n.sent_at is not None, n.failed_for_good, n.next_attempt_at) for n in rows]


def attempts(settings):
    with session_scope(settings.database_url) as session:
        return [(a.ok, a.error) for a in session.execute(select(DeliveryAttempt)).scalars()]


def plain(settings, port):
    """Settings for the plain local SMTP sink: no TLS, no credentials."""
    return dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")


def test_a_new_lead_is_emailed_to_the_clinic_staff_urgency_first(settings, smtp_sink):
    settings = plain(settings, smtp_sink.port)
    lead_id = submit(settings, CLINICS, lead(urgency="nerve_review", screening={"numbness": "yes"})).lead_id
    assert deliver_due(settings) == {"sent": 1, "failed": 0, "given_up": 0}
    [message] = smtp_sink.messages
    assert message["to"] == ["frontdesk@stl-clinic.example.com"]
    assert message["subject"] == f"[PRIORITY NERVE_REVIEW] New lead for More 4 Life Physical Therapy (#{lead_id})"
    body = message["body"]
    # Medius's own fields first; the visitor's words after them, quoted, so they cannot pass for the product's.
    assert body.index("Urgency") < body.index("Clinic") < body.index("Contact") < body.index("Name")
    assert "\u201cMary Green\u201d" in body and "+13145550123" in body and "\u201cweekday mornings\u201d" in body
    assert f"/inbox/leads/{lead_id}" in body
    assert deliver_due(settings) == {"sent": 0, "failed": 0, "given_up": 0}  # sent once only


def test_the_email_leaves_health_details_behind_the_link(settings, smtp_sink):
    settings = plain(settings, smtp_sink.port)
    submit(settings, CLINICS, lead(screening={"numbness": "yes"}))
    deliver_due(settings)
    [message] = smtp_sink.messages
    assert "Mary" not in message["subject"]
    text = message["subject"] + "\n" + message["body"]
    assert "Last topic discussed" not in text and "How it is treated" not in text  # the reason
    assert "numbness" not in text                                                 # screening answers
    assert "can i book" not in text                                               # the transcript
    assert "reason, any screening answers and the conversation are in the lead" in message["body"]


def test_the_webhook_carries_no_personal_data(settings, http_receiver):
    receiver = http_receiver()
    lead_id = submit(settings, with_webhook(receiver.url),
                     lead(email="mary@example.com", screening={"numbness": "yes"})).lead_id
    assert deliver_due(dataclasses.replace(settings, smtp_host=""))["sent"] == 1  # the webhook; email waits
    [post] = receiver.posts
    assert list(post) == ["text"]
    text = post["text"]
    assert text.startswith(f"*[ROUTINE] New lead for More 4 Life Physical Therapy (#{lead_id})*")
    assert f"/inbox/leads/{lead_id}" in text and "Urgency: ROUTINE" in text
    for personal in ("Mary", "Green", "3145550123", "mary@example.com", "weekday mornings", "in_person",
                     "Last topic discussed", "numbness", "can i book"):
        assert personal not in text


def test_a_failing_webhook_is_retried_with_backoff_and_every_attempt_is_recorded(settings, smtp_sink, http_receiver):
    receiver = http_receiver([500, 503])
    settings = plain(settings, smtp_sink.port)
    submit(settings, with_webhook(receiver.url), lead())
    now = utcnow()
    assert deliver_due(settings, now) == {"sent": 1, "failed": 1, "given_up": 0}  # email fine, webhook 500
    assert deliver_due(settings, now) == {"sent": 0, "failed": 0, "given_up": 0}  # not due yet: backing off
    assert deliver_due(settings, now + timedelta(seconds=1.5))["failed"] == 1     # 503
    assert deliver_due(settings, now + timedelta(seconds=2))["sent"] == 0         # backoff doubled to 2 s
    assert deliver_due(settings, now + timedelta(seconds=4))["sent"] == 1
    assert len(receiver.posts) == 3 and receiver.posts[-1]["text"].startswith("*[ROUTINE] New lead")
    assert [ok for ok, _ in attempts(settings)] == [1, 0, 0, 1]
    assert "HTTP 500" in attempts(settings)[1][1]


def test_smtp_down_never_blocks_the_visitor_and_gives_up_only_after_max_attempts(settings):
    from tests.support.servers import free_port
    settings = dataclasses.replace(settings, smtp_host="127.0.0.1", smtp_port=free_port(), notify_max_attempts=3)
    result = submit(settings, CLINICS, lead())
    assert result.lead_id  # the lead is saved whatever the mail server does
    now = utcnow()
    for step in range(3):
        deliver_due(settings, now + timedelta(hours=step * 2))
    [(channel, tries, sent, given_up, _)] = outbox(settings)
    assert (channel, tries, sent, given_up) == ("email", 3, False, 1)
    assert all(ok == 0 and "Connection" in error for ok, error in attempts(settings))


def test_without_smtp_settings_email_waits_in_the_outbox(settings):
    submit(settings, CLINICS, lead())
    assert deliver_due(dataclasses.replace(settings, smtp_host=""))["failed"] == 1
    assert "SMTP_HOST is not set" in attempts(settings)[0][1]
