"""Notifier processes as they run in production: two at once, the database away, a notice that never gets through."""
import dataclasses
import logging
import os
import subprocess
import sys
import time
from collections import Counter

import pytest

from bot.core.clinics import ClinicDirectory, load_clinics
from bot.core.paths import DATA, ROOT
from bot.leads.notify import deliver_due
from bot.leads.store import list_leads, submit
from bot.store.db import migrate
from tests.support.postgres import postgres_server
from tests.support.servers import free_port
from tests.unit.test_leads import lead

CLINICS = ClinicDirectory(load_clinics(DATA / "clinics.yml"), "stl")
LEADS = 30


def notifier(settings, sink_port, *args):
    env = dict(os.environ, DATABASE_URL=settings.database_url, MEDIUS_SPOOL_FILE=str(settings.spool_file),
               SMTP_HOST="127.0.0.1", SMTP_PORT=str(sink_port), SMTP_SECURITY="none", PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "bot", "notify", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def two_notifiers_send_each_notice_once(settings, smtp_sink):
    for n in range(LEADS):
        submit(settings, CLINICS, lead(sender_id=f"visitor-{n}", name=f"Visitor Number{n}"))
    first, second = notifier(settings, smtp_sink.port), notifier(settings, smtp_sink.port)  # both at once
    for process in (first, second):
        assert process.wait(timeout=120) == 0, process.stdout.read()
    subjects = Counter(message["subject"] for message in smtp_sink.messages)
    assert len(subjects) == LEADS and set(subjects.values()) == {1}, subjects.most_common(3)


@pytest.fixture(scope="module")
def pg_url():
    with postgres_server() as url:
        migrate(url)
        yield url


def test_two_notifiers_on_postgresql_deliver_each_notification_exactly_once(pg_url, settings, smtp_sink):
    two_notifiers_send_each_notice_once(dataclasses.replace(settings, database_url=pg_url), smtp_sink)


def test_two_notifiers_on_sqlite_deliver_each_notification_exactly_once(settings, smtp_sink):
    two_notifiers_send_each_notice_once(settings, smtp_sink)


def test_the_notifier_keeps_running_while_the_database_is_away(settings, tmp_path):
    away = dataclasses.replace(settings, database_url=f"postgresql+psycopg2://medius@127.0.0.1:{free_port()}/x")
    process = notifier(away, free_port(), "--loop", "--interval", "0.2")
    try:
        time.sleep(4)
        assert process.poll() is None  # still up: under a supervisor its exit would have been a restart loop
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "will retry" in output and "Traceback" not in output


def test_an_emergency_notice_that_runs_out_of_attempts_raises_an_alert(settings, caplog):
    one_try = dataclasses.replace(settings, notify_max_attempts=1, smtp_host="")  # email cannot be sent
    lead_id = submit(one_try, CLINICS, lead(urgency="emergency", phone=None, email=None)).lead_id
    with caplog.at_level(logging.INFO):
        assert deliver_due(one_try)["given_up"] == 1
    alert = [r for r in caplog.records if r.levelno == logging.ERROR and "ALERT" in r.getMessage()]
    assert alert and f"EMERGENCY lead {lead_id}" in alert[0].getMessage()
    assert [r["notification_status"] for r in list_leads(one_try)] == ["failed"]
    listing = subprocess.run([sys.executable, "-m", "bot", "leads", "list"], cwd=ROOT, capture_output=True,
                             text=True, timeout=120, env=dict(os.environ, DATABASE_URL=settings.database_url,
                                                              MEDIUS_SPOOL_FILE=str(settings.spool_file))).stdout
    assert "NOTICE FAILED" in listing and "emergency" in listing
