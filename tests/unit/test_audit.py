"""The access audit log, and retention of leads per clinic that writes to it."""
import csv
import dataclasses
import io
from datetime import timedelta

import pytest
import yaml
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from bot.core.clinics import ClinicProfileError, load_clinics
from bot.core.data import clinics_for
from bot.core.days import BadFilter
from bot.core.paths import ROOT
from bot.leads.store import get_lead, purge, submit
from bot.staff import worklist
from bot.store import audit
from bot.store.db import session_scope
from bot.store.models import AuditEntry, LeadNote
from tests.unit.test_leads import T0, lead


def entries(settings, action=None):
    with session_scope(settings.database_url) as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        return [audit.as_row(entry) for entry in session.execute(query).scalars()]


def test_an_entry_holds_who_what_and_a_hashed_address_never_the_address(settings):
    audit.write(settings, audit.LEAD_VIEW, "ann@stl.example", lead_id=7, clinic="stl", address="203.0.113.9")
    [entry] = entries(settings)
    assert (entry["actor"], entry["action"], entry["lead_id"], entry["clinic"]) == (
        "ann@stl.example", "lead.view", 7, "stl")
    assert entry["address"] and "203.0.113" not in entry["address"]
    assert entry["address"] == audit.address_hash(settings, "203.0.113.9")  # the same address, the same hash


def test_the_clinic_of_an_entry_is_its_leads_when_not_given(settings):
    lead_id = submit(settings, clinics_for(settings), lead(clinic="boston")).lead_id
    audit.write(settings, audit.LEAD_VIEW, "op@medius.example", lead_id=lead_id)
    assert entries(settings)[-1]["clinic"] == "boston"


def test_an_unknown_action_is_refused(settings):
    with pytest.raises(ValueError):
        audit.write(settings, "lead.peek", "ann@stl.example")


def test_the_application_can_neither_change_nor_delete_an_entry(settings):
    audit.write(settings, audit.LOGIN, "ann@stl.example", clinic="stl")
    with pytest.raises(audit.AuditChangeRefused), session_scope(settings.database_url) as session:
        session.execute(select(AuditEntry)).scalar_one().actor = "someone else"
    with pytest.raises(audit.AuditChangeRefused), session_scope(settings.database_url) as session:
        session.delete(session.execute(select(AuditEntry)).scalar_one())
    with pytest.raises(DatabaseError, match="append-only"), session_scope(settings.database_url) as session:
        session.execute(text("UPDATE audit_log SET actor = 'someone else'"))  # the database refuses it too
    assert [e["actor"] for e in entries(settings)] == ["ann@stl.example"]


def test_retention_of_the_audit_log_deletes_only_entries_past_it_and_says_so(settings):
    audit.write(settings, audit.LOGIN, "old@stl.example", at=T0 - timedelta(days=2193))
    audit.write(settings, audit.LOGIN, "kept@stl.example", at=T0 - timedelta(days=2000))
    assert audit.purge(settings, now=T0) == 1
    assert [(e["actor"], e["action"]) for e in entries(settings)] == [
        ("kept@stl.example", "login"), ("retention job", "audit.purge")]
    assert audit.purge(dataclasses.replace(settings, audit_retention_days=10), now=T0) == 1  # configurable


def test_the_audit_csv_defuses_spreadsheet_formulas(settings):
    audit.write(settings, audit.ACCOUNT_ADD, "=HYPERLINK(\"http://evil.example\")", detail="-1+1 as staff")
    rows = list(csv.DictReader(io.StringIO(audit.export(entries(settings)))))
    assert rows[0]["actor"] == "'=HYPERLINK(\"http://evil.example\")" and rows[0]["detail"] == "'-1+1 as staff"
    assert list(rows[0]) == audit.EXPORT_FIELDS


def test_a_status_change_and_a_note_each_leave_one_entry_without_the_notes_words(settings):
    lead_id = submit(settings, clinics_for(settings), lead()).lead_id
    worklist.change_status(settings, lead_id, "stl", "ann@stl.example", "contacted", "Mary said call after 5")
    worklist.add_note(settings, lead_id, "stl", "ann@stl.example", "Prefers Dr Quartermain", "198.51.100.4")
    assert [(e["action"], e["lead_id"], e["detail"]) for e in entries(settings)] == [
        ("lead.status", lead_id, "new to contacted with a note"), ("lead.note", lead_id, "")]
    every = str(entries(settings))
    assert "Mary" not in every and "Quartermain" not in every and "5550123" not in every


def test_reading_the_log_is_scoped_to_a_clinic_and_filtered(settings):
    audit.write(settings, audit.LOGIN, "ann@stl.example", clinic="stl")
    audit.write(settings, audit.LEAD_VIEW, "ann@stl.example", clinic="stl", lead_id=3)
    audit.write(settings, audit.LOGIN, "bea@boston.example", clinic="boston")
    rows, total = audit.entries(settings, "stl", audit.AuditFilter())
    assert total == 2 and {r["clinic"] for r in rows} == {"stl"}
    assert audit.entries(settings, None, audit.AuditFilter())[1] == 3
    assert audit.entries(settings, "stl", audit.AuditFilter(clinic="boston"))[1] == 2  # a clinic's scope holds
    assert [r["lead_id"] for r in audit.entries(settings, None, audit.AuditFilter.from_query({"lead": "3"}))[0]] == [3]
    for query in ({"action": "drop table"}, {"lead": "9" * 40}, {"lead": "-1"}, {"lead": "abc"}):
        with pytest.raises(BadFilter):  # never the whole log for a mistyped filter
            audit.AuditFilter.from_query(query)


# --- retention of leads, per clinic ---

def clinics_with(tmp_path, settings, **days):
    document = yaml.safe_load((ROOT / "data" / "clinics.yml").read_text())
    for clinic, value in days.items():
        document["clinics"][clinic]["lead_retention_days"] = value
    path = tmp_path / "clinics.yml"
    path.write_text(yaml.safe_dump(document))
    return dataclasses.replace(settings, clinics_file=path)


def test_retention_deletes_exactly_the_leads_past_their_clinics_days_with_their_notes(settings, tmp_path):
    settings = clinics_with(tmp_path, settings, boston=30)  # stl keeps LEAD_RETENTION_DAYS (365)
    clinics = clinics_for(settings)

    def add(clinic, days_old, sender):
        submitted = (T0 - timedelta(days=days_old)).isoformat()
        return submit(settings, clinics, lead(clinic=clinic, sender_id=sender, submitted_at=submitted)).lead_id

    stl_expired, stl_kept = add("stl", 366, "a"), add("stl", 364, "b")
    boston_expired, boston_kept = add("boston", 31, "c"), add("boston", 29, "d")
    worklist.add_note(settings, boston_expired, "boston", "bea@boston.example", "call back Tuesday")
    worklist.add_note(settings, boston_kept, "boston", "bea@boston.example", "booked")

    assert purge(settings, now=T0) == 2
    assert get_lead(settings, stl_expired) is None and get_lead(settings, boston_expired) is None
    assert get_lead(settings, stl_kept) and get_lead(settings, boston_kept)
    with session_scope(settings.database_url) as session:
        assert session.execute(select(LeadNote.lead_id)).scalars().all() == [boston_kept]
    purged = {e["clinic"]: e for e in entries(settings, audit.LEADS_PURGE)}
    assert purged["boston"]["detail"] == f"1 leads older than 30 days and their 1 notes; lead ids {boston_expired}"
    assert purged["stl"]["detail"] == f"1 leads older than 365 days and their 0 notes; lead ids {stl_expired}"
    assert all(e["actor"] == "retention job" for e in purged.values())
    assert "Mary" not in str(entries(settings)) and "Tuesday" not in str(entries(settings))
    assert purge(settings, now=T0) == 0 and len(entries(settings, audit.LEADS_PURGE)) == 2  # nothing left: no entry


@pytest.mark.parametrize("days", [0, -5, "365", 1.5, True, 36501])
def test_a_clinics_retention_must_be_whole_days(tmp_path, settings, days):
    with pytest.raises(ClinicProfileError, match="lead_retention_days"):
        load_clinics(clinics_with(tmp_path, settings, stl=days).clinics_file)


def test_a_clinic_without_retention_days_keeps_leads_for_the_default(settings):
    clinic = clinics_for(settings).get("stl")
    assert clinic.lead_retention_days is None and clinic.keeps_leads_for(365) == 365
