"""`python -m bot` against a real database, as staff would run it."""
import json
import os
import subprocess
import sys

import yaml
from sqlalchemy import select

from bot.core.clinics import ClinicDirectory, load_clinics
from bot.core.paths import DATA, ROOT
from bot.leads.store import submit
from bot.store.db import session_scope
from bot.store.models import StaffAccount
from tests.unit.test_leads import lead

CLINICS = ClinicDirectory(load_clinics(DATA / "clinics.yml"), "stl")


def cli(settings, *args):
    env = dict(os.environ, DATABASE_URL=settings.database_url, MEDIUS_SPOOL_FILE=str(settings.spool_file))
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_export_json_list_show_and_status(settings):
    lead_id = submit(settings, CLINICS, lead()).lead_id
    exported = json.loads(cli(settings, "leads", "export", "--format", "json").stdout)
    assert [r["name"] for r in exported] == ["Mary Green"]
    assert exported[0]["transcript"][0]["who"] == "user"
    listing = cli(settings, "leads", "list").stdout
    assert "Mary Green" in listing and "routine" in listing
    assert cli(settings, "leads", "status", str(lead_id), "contacted", "--note", "called").returncode == 0
    shown = json.loads(cli(settings, "leads", "show", str(lead_id)).stdout)
    assert shown["status"] == "contacted"
    assert "Mary" in cli(settings, "leads", "export", "--format", "csv").stdout.splitlines()[1]


def test_bad_requests_get_clear_errors_not_tracebacks(settings):
    missing = cli(settings, "leads", "show", "999")
    assert missing.returncode == 1 and "no lead with id 999" in missing.stderr
    wrong = cli(settings, "leads", "export", "--format", "xml")
    assert wrong.returncode == 2 and "invalid choice" in wrong.stderr
    assert "Traceback" not in missing.stderr + wrong.stderr


def test_migrate_creates_the_schema_on_a_new_database(tmp_path, settings):
    import dataclasses
    fresh = dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path / 'new' / 'm.db'}")
    assert cli(fresh, "migrate").returncode == 0
    assert cli(fresh, "leads", "list").returncode == 0


def test_staff_add_with_a_display_name(settings):
    env = dict(os.environ, DATABASE_URL=settings.database_url, MEDIUS_SPOOL_FILE=str(settings.spool_file))
    added = subprocess.run([sys.executable, "-m", "bot", "staff", "add", "--clinic", "stl", "--email",
                            "d.smith@stl.example", "--name", "Dana"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120, input="a long enough pass phrase for Dana\n")
    assert added.returncode == 0, added.stderr
    with session_scope(settings.database_url) as session:
        names = dict(session.execute(select(StaffAccount.email, StaffAccount.display_name)).all())
    assert names == {"d.smith@stl.example": "Dana"}


def test_migrate_imports_the_clinics_file_once_then_export_and_import_keep_files_the_way_in(settings, tmp_path):
    from bot.store import clinic_profiles as store

    first = cli(settings, "migrate")
    assert first.returncode == 0 and "imported 2 clinic(s)" in first.stdout
    assert "imported" not in cli(settings, "migrate").stdout  # the database holds them now
    exported = cli(settings, "clinics", "export").stdout
    assert exported.startswith("clinics:\n") and "More 4 Life Physical Therapy" in exported
    path = tmp_path / "clinics.yml"
    path.write_text(exported.replace("We are in network with most major plans", "We take most plans"))
    imported = cli(settings, "clinics", "import", str(path))
    assert imported.returncode == 0 and "stl: 1 field(s) changed" in imported.stdout
    assert store.profile(settings, "stl")["insurance"].startswith("We take most plans")
    document = yaml.safe_load(exported)
    document["clinics"]["stl"].update(colour="#eeeeee", insurance="Not saved.")
    path.write_text(yaml.safe_dump(document))
    refused = cli(settings, "clinics", "import", str(path))
    assert refused.returncode == 1 and "stl.colour" in refused.stderr and "nothing was imported" in refused.stderr
    assert store.profile(settings, "stl")["colour"] == "#1d5c8c"
    assert "Traceback" not in refused.stderr


def test_a_clinic_admin_is_made_with_clinic_admin(settings):
    env = dict(os.environ, DATABASE_URL=settings.database_url)

    def staff_add(*args):
        return subprocess.run([sys.executable, "-m", "bot", "staff", "add", *args], cwd=ROOT, env=env,
                              input="a long enough password\n", capture_output=True, text=True, timeout=120)

    made = staff_add("--clinic", "stl", "--clinic-admin", "--email", "boss@stl.example")
    assert made.returncode == 0 and "added boss@stl.example (admin of stl)" in made.stdout
    alone = staff_add("--clinic-admin", "--email", "who@stl.example")
    assert alone.returncode == 1 and "--clinic-admin needs --clinic" in alone.stderr
