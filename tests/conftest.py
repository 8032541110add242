"""Shared fixtures: real data files, a fresh database per test, real local servers."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from bench.servers import running_assistant
from bot.db import migrate
from bot.settings import settings_from
from tests.helpers import HttpReceiver, SmtpSink

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "medius.tar.gz"
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture
def settings(tmp_path):
    """Settings with a fresh, migrated SQLite database and spool of the test's own."""
    url = f"sqlite:///{tmp_path / 'leads.db'}"
    migrate(url)
    return dataclasses.replace(settings_from({}), database_url=url, spool_file=tmp_path / "spool.jsonl",
                               notify_backoff_seconds=1.0, notify_timeout_seconds=3.0)


@pytest.fixture
def smtp_sink():
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def http_receiver():
    receivers = []

    def start(statuses=()):
        receiver = HttpReceiver(list(statuses))
        receivers.append(receiver)
        return receiver

    yield start
    for receiver in receivers:
        receiver.close()


@pytest.fixture(scope="session")
def lead_db(tmp_path_factory):
    """The database the action server writes leads to: a fresh, migrated SQLite file."""
    url = f"sqlite:///{tmp_path_factory.mktemp('leads') / 'leads.db'}"
    migrate(url)
    return url


@pytest.fixture(scope="session")
def assistant(lead_db, tmp_path_factory):
    if not MODEL.exists():
        pytest.fail("no trained model: run `make test`, which trains it first")
    env = {"DATABASE_URL": lead_db, "MEDIUS_SPOOL_FILE": str(tmp_path_factory.mktemp("spool") / "spool.jsonl")}
    with running_assistant(MODEL, ROOT / "var" / "test-logs", env=env) as running:
        yield running
