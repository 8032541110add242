"""Clinic profiles in the database: the file until they are imported, validated writes, the version, the audit."""
import dataclasses
import json

import pytest
import yaml
from sqlalchemy.exc import OperationalError

from bot.core import data
from bot.core.clinics import ClinicProfileError
from bot.core.paths import DATA
from bot.store import audit, clinic_profiles as store

ADMIN = "admin@stl.example"


@pytest.fixture
def seeded(settings):
    store.seed_from_file(settings, "test")
    return settings


def test_the_clinics_file_serves_until_the_database_holds_clinics(settings):
    assert store.version(settings) == 0
    assert store.directory(settings).get("stl").phone == "314-941-3970"
    assert store.seed_from_file(settings, "test") == 2
    assert store.version(settings) == 1 and set(store.profiles(settings)) == {"stl", "boston"}
    assert store.seed_from_file(settings, "test") == 0  # only into an empty database


def test_a_saved_change_is_served_on_the_next_call(seeded):
    assert "in network" in store.directory(seeded).get("stl").practical["insurance"]
    store.save(seeded, "stl", {"insurance": "We bill every plan."}, ADMIN)
    assert store.directory(seeded).get("stl").practical["insurance"] == "We bill every plan."
    assert store.directory(seeded).get("boston").practical["insurance"].startswith("We don't bill")


def test_the_profiles_are_rebuilt_only_when_the_version_moves(seeded, monkeypatch):
    builds = []
    parse = store.parse_clinics
    monkeypatch.setattr(store, "parse_clinics", lambda *args: builds.append(1) or parse(*args))
    first = store.directory(seeded)
    assert store.directory(seeded) is first and store.directory(seeded) is first and len(builds) == 1
    store.save(seeded, "stl", {"languages": "English, Spanish and Polish."}, ADMIN)
    assert store.directory(seeded) is not first and len(builds) == 2


def test_data_clinics_reads_the_database_once_told_to(seeded):
    store.save(seeded, "stl", {"parking": "Park behind the building."}, ADMIN)
    assert data.clinics_for(seeded).get("stl").practical["parking"] != "Park behind the building."  # the file
    data.read_clinics_from(store.directory)
    try:
        assert data.clinics_for(seeded).get("stl").practical["parking"] == "Park behind the building."
    finally:
        data.read_clinics_from(None)


@pytest.mark.parametrize("changes, field", [
    ({"colour": "#ffeb3b"}, "colour"),
    ({"allowed_origins": ["https://www.example.com/contact"]}, "allowed_origins"),
    ({"allowed_origins": ["www.example.com"]}, "allowed_origins"),
    ({"phone": "555-01"}, "phone"),
    ({"name": None}, "name"),
    ({"staff": {"emails": [], "webhook_url": None}}, "staff"),
    ({"staff": {"emails": ["not an address"]}}, "staff.emails"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
])
def test_an_invalid_field_saves_nothing_and_is_named(seeded, changes, field):
    before, version = store.profile(seeded, "stl"), store.version(seeded)
    with pytest.raises(ClinicProfileError) as refused:
        store.save(seeded, "stl", {"insurance": "Changed with the bad field.", **changes}, ADMIN)
    assert refused.value.field == field
    assert store.profile(seeded, "stl") == before and store.version(seeded) == version
    assert not [entry for entry in store.history(seeded, "stl") if entry["field"]]


def test_every_changed_field_is_one_audit_entry_with_old_and_new(seeded):
    changed = store.save(seeded, "stl", {"phone": "314-555-0199", "insurance": "Most plans.", "city": "St. Louis, MO"},
                         ADMIN, address="203.0.113.9")
    assert changed == ["insurance", "phone"]  # the city did not change
    rows, _ = audit.entries(seeded, "stl", audit.AuditFilter(action=audit.CLINIC_CHANGE))
    assert {json.loads(row["detail"])["field"] for row in rows} == {"insurance", "phone"}
    assert all(row["actor"] == ADMIN and row["address"] for row in rows)
    phone = next(entry for entry in store.history(seeded, "stl") if entry["field"] == "phone")
    assert (phone["old"], phone["new"], phone["actor"]) == ("314-941-3970", "314-555-0199", ADMIN)
    assert [entry["note"] for entry in store.history(seeded, "boston")] == ["imported from clinics.yml"]


def test_a_webhook_address_is_its_own_secret_and_the_audit_log_keeps_only_its_host(seeded):
    secret = "https://hooks.slack.example/services/T000/B000/XXXXSECRETXXXX"
    store.save(seeded, "stl", {"staff": {"emails": ["desk@stl.example"], "webhook_url": secret}}, ADMIN)
    rows, _ = audit.entries(seeded, "stl", audit.AuditFilter(action=audit.CLINIC_CHANGE))
    assert rows and all("XXXXSECRETXXXX" not in row["detail"] for row in rows)
    hook = next(entry for entry in store.history(seeded, "stl") if entry["field"] == "staff.webhook_url")
    assert hook["new"].startswith("https://hooks.slack.example/")
    assert store.profile(seeded, "stl")["staff"]["webhook_url"] == secret  # the profile itself keeps it whole


def test_saving_what_is_already_there_changes_nothing(seeded):
    version = store.version(seeded)
    assert store.save(seeded, "stl", {"phone": "314-941-3970"}, ADMIN) == []
    assert store.version(seeded) == version


def test_clearing_an_optional_answer_removes_it(seeded):
    store.save(seeded, "stl", {"medicare": None}, ADMIN)
    assert "medicare" not in store.profile(seeded, "stl")
    assert "medicare" not in store.directory(seeded).get("stl").practical


def test_an_unknown_clinic_is_not_saved(seeded):
    with pytest.raises(LookupError):
        store.save(seeded, "nowhere", {"phone": "314-555-0199"}, ADMIN)


def test_an_import_with_one_bad_clinic_imports_nothing(seeded, tmp_path):
    document = yaml.safe_load((DATA / "clinics.yml").read_text())
    document["clinics"]["stl"]["insurance"] = "New words."
    document["clinics"]["boston"]["colour"] = "#eeeeee"
    path = tmp_path / "clinics.yml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ClinicProfileError, match="boston.colour"):
        store.import_file(seeded, path, "test")
    assert "in network" in store.profile(seeded, "stl")["insurance"]


def test_an_import_adds_new_clinics_and_changes_named_ones(seeded, tmp_path):
    document = yaml.safe_load((DATA / "clinics.yml").read_text())
    document["clinics"]["denver"] = {**document["clinics"]["boston"], "name": "Mile High PT", "city": "Denver, CO"}
    document["clinics"]["stl"]["insurance"] = "New words."
    del document["clinics"]["boston"]
    path = tmp_path / "clinics.yml"
    path.write_text(yaml.safe_dump(document))
    assert store.import_file(seeded, path, "test") == {"stl": 1, "denver": -1}
    directory = store.directory(seeded)
    assert directory.get("denver").name == "Mile High PT" and directory.get("boston") is not None


def test_the_export_is_a_clinics_file_that_imports_to_the_same_profiles(seeded, settings, tmp_path):
    store.save(seeded, "stl", {"greeting": "Hi from St. Louis!"}, ADMIN)
    path = tmp_path / "exported.yml"
    path.write_text(store.export_document(seeded))
    fresh = dataclasses.replace(seeded, database_url=f"sqlite:///{tmp_path / 'fresh.db'}")
    from bot.store.db import migrate
    migrate(fresh.database_url)
    store.import_file(fresh, path, "test")
    assert store.profiles(fresh) == store.profiles(seeded)
    assert store.directory(fresh).get("stl").greeting == "Hi from St. Louis!"


def test_without_a_database_file_the_clinics_file_serves_and_no_file_is_made(settings, tmp_path):
    missing = tmp_path / "not-there.db"
    unmade = dataclasses.replace(settings, database_url=f"sqlite:///{missing}")
    assert store.directory(unmade).get("stl").name == "More 4 Life Physical Therapy"
    assert not missing.exists()


def test_a_database_that_is_away_serves_the_last_profiles_and_is_not_asked_again_at_once(seeded, monkeypatch):
    store.save(seeded, "stl", {"languages": "English only."}, ADMIN)
    assert store.directory(seeded).get("stl").practical["languages"] == "English only."
    asked = []

    class Away:
        def connect(self):
            asked.append(1)
            raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(store, "engine_for", lambda url: Away())
    monkeypatch.setattr(store, "_failed_until", {})
    monkeypatch.setattr(store, "_checked_at", {})  # past CHECK_EVERY_SECONDS: the next read asks
    assert store.directory(seeded).get("stl").practical["languages"] == "English only."
    assert store.directory(seeded).get("stl").practical["languages"] == "English only."
    assert len(asked) == 1  # then RETRY_AFTER_FAILURE_SECONDS without asking


def test_the_version_is_read_at_most_every_half_second_and_a_save_is_seen_at_once_here(seeded, monkeypatch):
    store.directory(seeded)
    reads = []
    real = store.engine_for

    def counting(url):
        reads.append(url)
        return real(url)

    monkeypatch.setattr(store, "engine_for", counting)
    for _ in range(20):
        store.directory(seeded)  # a chat turn asks many times
    assert len(reads) <= 1
    store.save(seeded, "stl", {"languages": "English and Polish."}, ADMIN)
    assert store.directory(seeded).get("stl").practical["languages"] == "English and Polish."
