"""The lead store on a real (SQLite) database migrated by Alembic."""
import dataclasses
import json
import logging
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.core.clinics import ClinicDirectory, load_clinics
from bot.core.paths import DATA
from bot.leads.store import LeadInput, export, get_lead, list_leads, purge, replay_spool, set_status, submit
from bot.store.db import migrate, session_scope
from bot.store.models import Notification

CLINICS = ClinicDirectory(load_clinics(DATA / "clinics.yml"), "stl")
T0 = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)


def lead(**changes) -> LeadInput:
    values = dict(clinic="stl", sender_id="visitor-1", name="Mary Green", phone="+13145550123", email=None,
                  preferred_time="weekday mornings", mode="in_person", consent=True,
                  reason="Last topic discussed: How it is treated",
                  transcript=[{"who": "user", "text": "can i book", "at": T0.isoformat()}],
                  submitted_at=T0.isoformat())
    values.update(changes)
    return LeadInput(**values)


def notifications(settings):
    with session_scope(settings.database_url) as session:
        return session.execute(select(Notification.lead_id, Notification.channel, Notification.subject)).all()


def test_a_submitted_lead_is_stored_with_history_and_a_staff_notification(settings):
    result = submit(settings, CLINICS, lead())
    assert result.lead_id and not result.spooled and not result.updated
    record = get_lead(settings, result.lead_id)
    assert record["name"] == "Mary Green" and record["phone"] == "+13145550123"
    assert record["status"] == "new" and record["urgency"] == "routine" and record["consent"] is True
    assert record["status_history"][0]["to"] == "new"
    assert record["transcript"] == [{"who": "user", "text": "can i book", "at": T0.isoformat()}]
    assert record["created_at"].startswith("2026-11-23T15:00:00")
    [(lead_id, channel, subject)] = notifications(settings)
    assert lead_id == result.lead_id and channel == "email"
    assert subject.startswith("[ROUTINE] New lead for More 4 Life")


def test_the_same_conversation_within_30_minutes_updates_its_lead(settings):
    first = submit(settings, CLINICS, lead())
    second = submit(settings, CLINICS,
                    lead(phone="+13145550199", submitted_at=(T0 + timedelta(minutes=29)).isoformat()))
    assert second.lead_id == first.lead_id and second.updated
    assert len(list_leads(settings)) == 1
    assert get_lead(settings, first.lead_id)["phone"] == "+13145550199"
    subjects = [n.subject for n in notifications(settings)]
    assert len(subjects) == 2 and subjects[1].startswith("[ROUTINE] Updated lead")


def test_after_30_minutes_or_from_another_conversation_it_is_a_new_lead(settings):
    submit(settings, CLINICS, lead())
    submit(settings, CLINICS, lead(submitted_at=(T0 + timedelta(minutes=31)).isoformat()))
    submit(settings, CLINICS, lead(sender_id="visitor-2"))
    assert len(list_leads(settings)) == 3


def test_the_very_same_request_twice_is_announced_once(settings):
    submit(settings, CLINICS, lead())
    submit(settings, CLINICS, lead())
    assert len(notifications(settings)) == 1


def test_urgency_never_drops_within_a_conversation(settings):
    first = submit(settings, CLINICS, lead(urgency="nerve_review"))
    submit(settings, CLINICS, lead(urgency="routine", preferred_time="evenings"))
    assert get_lead(settings, first.lead_id)["urgency"] == "nerve_review"


def test_a_lead_needs_a_way_to_contact_the_visitor():
    with pytest.raises(ValueError):
        lead(phone=None, email=None)
    with pytest.raises(ValueError):
        lead(urgency="whenever")


def test_database_down_spools_the_lead_and_replays_it_when_it_is_back(tmp_path, settings, caplog):
    blocked = tmp_path / "db-dir"
    blocked.write_text("a file where the database folder should be")
    down = dataclasses.replace(settings, database_url=f"sqlite:///{blocked / 'leads.db'}")
    with caplog.at_level(logging.INFO):
        result = submit(down, CLINICS, lead())
    assert result.spooled and result.lead_id is None
    assert "Mary" in settings.spool_file.read_text()  # on disk, durable
    assert "Mary" not in caplog.text and "3145550123" not in caplog.text  # never in the logs

    blocked.unlink()  # the database comes back
    migrate(down.database_url)
    second = submit(down, CLINICS, lead(sender_id="visitor-2", name="Nora Second"))  # the next submit replays first
    records = list_leads(down)
    assert {r["name"] for r in records} == {"Mary Green", "Nora Second"}
    assert second.lead_id and not settings.spool_file.read_text()
    assert len(notifications(down)) == 2


def test_replay_keeps_the_spool_while_the_database_is_still_away(tmp_path, settings):
    blocked = tmp_path / "db-dir"
    blocked.write_text("x")
    down = dataclasses.replace(settings, database_url=f"sqlite:///{blocked / 'leads.db'}")
    submit(down, CLINICS, lead())
    with pytest.raises(Exception):  # noqa: B017 - whatever the database raises, the spool stays
        replay_spool(down, CLINICS)
    assert "Mary" in settings.spool_file.read_text()


def test_a_torn_spool_line_is_set_aside_not_dropped(settings):
    settings.spool_file.write_text(json.dumps(dataclasses.asdict(lead())) + "\n{\"clinic\": \"stl\", \"na\n")
    assert replay_spool(settings, CLINICS) == 1
    assert len(list_leads(settings)) == 1
    rejected = settings.spool_file.with_suffix(".jsonl.rejected").read_text()
    assert '"na' in rejected


def test_status_changes_are_recorded_in_order(settings):
    lead_id = submit(settings, CLINICS, lead()).lead_id
    assert set_status(settings, lead_id, "contacted", note="left a voicemail")
    assert set_status(settings, lead_id, "booked")
    assert not set_status(settings, 9999, "booked")
    with pytest.raises(ValueError):
        set_status(settings, lead_id, "lost")
    history = get_lead(settings, lead_id)["status_history"]
    assert [(h["from"], h["to"]) for h in history] == [(None, "new"), ("new", "contacted"), ("contacted", "booked")]
    assert history[1]["note"] == "left a voicemail"


def test_purge_deletes_only_leads_past_retention(settings):
    old = submit(settings, CLINICS, lead(submitted_at=(T0 - timedelta(days=400)).isoformat())).lead_id
    new = submit(settings, CLINICS, lead(sender_id="visitor-2")).lead_id
    assert purge(settings, now=T0) == 1
    assert get_lead(settings, old) is None and get_lead(settings, new) is not None
    assert all(n.lead_id == new for n in notifications(settings))


def test_export_json_has_the_documented_fields_and_csv_has_a_row_per_lead(settings):
    submit(settings, CLINICS, lead())
    submit(settings, CLINICS, lead(sender_id="visitor-2", name="Bob, \"the builder\"", email="bob@example.com"))
    records = json.loads(export(list_leads(settings), "json"))
    assert set(records[0]) == {"id", "clinic", "created_at", "name", "phone", "email", "preferred_time", "mode",
                               "consent", "reason", "urgency", "screening", "status", "status_history",
                               "transcript", "notification_status"}  # never the sender id: it opens the chat
    assert records[0]["transcript"][0].keys() == {"who", "text", "at"}
    csv_text = export(list_leads(settings), "csv")
    import csv
    import io
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert len(rows) == 2 and {r["name"] for r in rows} == {"Mary Green", "Bob, \"the builder\""}


def test_a_record_the_database_refuses_is_quarantined_and_does_not_hold_up_the_next(settings, caplog):
    good = dataclasses.asdict(lead())
    bad = dict(dataclasses.asdict(lead(sender_id="visitor-bad", name="Bad Record")), urgency="bogus")
    later = dataclasses.asdict(lead(sender_id="visitor-3", name="Nora Later"))
    settings.spool_file.write_text("".join(json.dumps(r) + "\n" for r in (good, bad, later)))
    with caplog.at_level(logging.INFO):
        assert replay_spool(settings, CLINICS) == 2
    assert {r["name"] for r in list_leads(settings)} == {"Mary Green", "Nora Later"}
    assert settings.spool_file.read_text() == ""
    [kept] = [json.loads(line) for line in settings.spool_file.with_suffix(".jsonl.quarantine").read_text()
              .splitlines()]
    assert kept["record"]["name"] == "Bad Record" and kept["reason"] == "ValueError"
    assert "quarantined" in caplog.text and "Bad Record" not in caplog.text and "Mary" not in caplog.text
    assert submit(settings, CLINICS, lead(sender_id="visitor-4", name="Next One")).lead_id  # nothing blocks


def test_text_no_column_takes_is_cleaned_before_saving(settings):
    lead_id = submit(settings, CLINICS, lead(name="Ann\x00 Lee" + "e" * 200, preferred_time="x" * 500)).lead_id
    record = get_lead(settings, lead_id)
    assert record["name"].startswith("Ann Lee") and len(record["name"]) == 100 and "\x00" not in record["name"]
    assert len(record["preferred_time"]) == 200
