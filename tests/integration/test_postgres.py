"""The lead store on a real PostgreSQL server, as in production (DATABASE_URL)."""
import dataclasses
import json
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from bot.core.clinics import ClinicDirectory, load_clinics
from bot.core.paths import DATA
from bot.leads.notify import deliver_due
from bot.leads.store import export, get_lead, list_leads, purge, set_status, submit
from bot.store import audit
from bot.store.db import engine_for, migrate, session_scope
from tests.support.postgres import postgres_server
from tests.unit.test_leads import T0, lead

CLINICS = ClinicDirectory(load_clinics(DATA / "clinics.yml"), "stl")


@pytest.fixture(scope="module")
def pg_url():
    with postgres_server() as url:
        migrate(url)
        yield url


def test_migrations_create_the_tables(pg_url):
    with engine_for(pg_url).connect() as connection:
        tables = set(connection.execute(text("select tablename from pg_tables where schemaname='public'")).scalars())
    assert {"leads", "lead_status_changes", "notifications", "delivery_attempts", "alembic_version"} <= tables


def test_leads_dedupe_status_export_and_purge_on_postgres(pg_url, settings, smtp_sink):
    pg = dataclasses.replace(settings, database_url=pg_url, smtp_host="127.0.0.1", smtp_port=smtp_sink.port,
                             smtp_security="none")  # a plain local sink; TLS is tested in test_smtp_tls.py
    first = submit(pg, CLINICS, lead(sender_id="pg-1", screening={"numbness": "yes"}))
    again = submit(pg, CLINICS, lead(sender_id="pg-1", phone="+13145550100",
                                     submitted_at=(T0 + timedelta(minutes=10)).isoformat()))
    assert again.lead_id == first.lead_id and again.updated
    assert set_status(pg, first.lead_id, "contacted")
    record = get_lead(pg, first.lead_id)
    assert record["phone"] == "+13145550100" and record["screening"] == {"numbness": "yes"}
    assert [h["to"] for h in record["status_history"]] == ["new", "contacted"]
    assert json.loads(export(list_leads(pg), "json"))[0]["transcript"][0]["who"] == "user"
    assert deliver_due(pg)["sent"] == 2 and len(smtp_sink.messages) == 2
    submit(pg, CLINICS, lead(sender_id="pg-old", submitted_at=(T0 - timedelta(days=400)).isoformat()))
    assert purge(pg, now=T0) == 1


@pytest.fixture
def refusing(pg_url):
    """PostgreSQL refusing one sender's leads, as a constraint would: health fields are ciphertext now, so no
    value a visitor types (a NaN in JSON, a NUL) can make the database refuse a lead on its own any more."""
    with engine_for(pg_url).begin() as connection:
        connection.execute(text("ALTER TABLE leads ADD CONSTRAINT test_refused CHECK (sender_id NOT LIKE 'pg-no%')"))
    yield
    with engine_for(pg_url).begin() as connection:
        connection.execute(text("ALTER TABLE leads DROP CONSTRAINT test_refused"))


def test_a_lead_postgresql_refuses_is_quarantined_and_the_next_ones_are_stored(pg_url, settings, refusing):
    pg = dataclasses.replace(settings, database_url=pg_url)
    refused = submit(pg, CLINICS, lead(sender_id="pg-no-1"))
    assert refused.spooled and refused.lead_id is None
    assert "pg-no-1" in settings.spool_file.with_suffix(".jsonl.quarantine").read_text()
    assert not settings.spool_file.exists() or settings.spool_file.read_text() == ""  # the spool stays clear
    nul = submit(pg, CLINICS, lead(sender_id="pg-nul", name="Jo\x00 Banks"))  # psycopg2 raises ValueError on NUL
    assert nul.lead_id and get_lead(pg, nul.lead_id)["name"] == "Jo Banks"
    odd = submit(pg, CLINICS, lead(sender_id="pg-nan", screening={"score": float("nan")}))  # JSON refused it once
    assert odd.lead_id and str(get_lead(pg, odd.lead_id)["screening"]["score"]) == "nan"


def test_replay_on_postgresql_quarantines_the_refused_record_and_stores_the_rest(pg_url, settings, refusing):
    pg = dataclasses.replace(settings, database_url=pg_url)
    records = [dataclasses.asdict(lead(sender_id="pg-r1")),
               dataclasses.asdict(lead(sender_id="pg-no-2")),
               dataclasses.asdict(lead(sender_id="pg-r3", name="Third"))]
    settings.spool_file.write_text("".join(json.dumps(r) + "\n" for r in records))
    from bot.leads.store import replay_spool
    assert replay_spool(pg, CLINICS) == 2
    with engine_for(pg_url).connect() as connection:  # exports and lists leave sender ids out
        senders = set(connection.execute(text("SELECT sender_id FROM leads")).scalars())
    assert {"pg-r1", "pg-r3"} <= senders and "pg-no-2" not in senders
    assert "pg-no-2" in settings.spool_file.with_suffix(".jsonl.quarantine").read_text()


def test_the_audit_log_is_append_only_on_postgres_and_only_retention_deletes(pg_url, settings):
    pg = dataclasses.replace(settings, database_url=pg_url)
    audit.write(pg, audit.LOGIN, "ann@stl.example", clinic="stl", at=T0)
    with pytest.raises(DatabaseError, match="append-only"), session_scope(pg_url) as session:
        session.execute(text("UPDATE audit_log SET actor = 'someone else'"))
    assert audit.purge(pg, now=T0 + timedelta(days=pg.audit_retention_days, seconds=1)) >= 1
    with session_scope(pg_url) as session:
        assert session.execute(text("SELECT actor FROM audit_log WHERE action = 'login'")).scalars().all() == []
        assert session.execute(text("SELECT count(*) FROM audit_log WHERE action = 'audit.purge'")).scalar() == 1


def test_clinic_profiles_are_imported_saved_and_served_live_on_postgres(pg_url, settings):
    from bot.store import clinic_profiles as store

    pg = dataclasses.replace(settings, database_url=pg_url)
    assert store.directory(pg).get("stl").phone == "314-941-3970"  # the file until the database holds clinics
    assert store.seed_from_file(pg, "test") == 2 and store.version(pg) == 1
    with pytest.raises(Exception, match="colour"):
        store.save(pg, "stl", {"colour": "#eeeeee", "insurance": "Not saved."}, "admin@stl.example")
    assert store.version(pg) == 1
    assert store.save(pg, "stl", {"insurance": "Most plans."}, "admin@stl.example") == ["insurance"]
    assert store.directory(pg).get("stl").practical["insurance"] == "Most plans." and store.version(pg) == 2
    rows, _ = audit.entries(pg, "stl", audit.AuditFilter(action=audit.CLINIC_CHANGE))
    assert [json.loads(row["detail"])["new"] for row in rows] == ["Most plans."]
