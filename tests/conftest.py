"""Shared fixtures: real data files, a fresh database per test, real local servers."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
import yaml

from bot.core.settings import settings_from
from bot.store.db import migrate
from tests.support.helpers import HttpReceiver, SmtpSink
from tests.support.servers import free_port, running_assistant

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "medius.tar.gz"
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")


TESTS = Path(__file__).resolve().parent
# Each folder is a marker of the same name (registered in pyproject.toml), and the folders run in this
# order. The browser tests last: Playwright's sync API leaves an event loop in the main thread, and the
# asyncio.run of test_actions, the conversation store's tests and test_holdout refuses to start under one.
FOLDERS = ("unit", "integration", "browser")


def _folder(item) -> str:
    return item.path.relative_to(TESTS).parts[0] if item.path.is_relative_to(TESTS) else ""


def pytest_collection_modifyitems(items):
    """Mark each test by its folder, so that `-m unit` or `-m "not browser"` picks tests by what they start,
    and run the folders in FOLDERS' order (a stable sort: within a folder, pytest's own order)."""
    for item in items:
        if _folder(item) in FOLDERS:
            item.add_marker(_folder(item))
    items.sort(key=lambda item: FOLDERS.index(_folder(item)) if _folder(item) in FOLDERS else len(FOLDERS))


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
def web_ports():
    """Ports for the widget's test web servers, chosen before Rasa starts so its CORS list has them."""
    return [free_port() for _ in range(3)]


@pytest.fixture(scope="session")
def clinics_file(web_ports, tmp_path_factory):
    """The sample clinic profiles, with the test web servers added to every clinic's allowed origins."""
    document = yaml.safe_load((ROOT / "data" / "clinics.yml").read_text())
    for profile in document["clinics"].values():
        profile["allowed_origins"] = profile.get("allowed_origins", []) + [
            f"http://127.0.0.1:{port}" for port in web_ports]
    path = tmp_path_factory.mktemp("clinics") / "clinics.yml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium under Playwright, one for the whole run; screenshots go to results/browser/."""
    from playwright.sync_api import sync_playwright

    from tests.support.browser import CHROMIUM, launch_chromium

    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    (ROOT / "results" / "browser").mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def assistant(lead_db, clinics_file, tmp_path_factory):
    if not MODEL.exists():
        pytest.fail("no trained model: run `make test`, which trains it first")
    # Every log level at DEBUG, Rasa's too: no visitor's words may reach a log even then.
    # The address limit is for the internet; these tests all come from one address.
    env = {"DATABASE_URL": lead_db, "MEDIUS_SPOOL_FILE": str(tmp_path_factory.mktemp("spool") / "spool.jsonl"),
           "MEDIUS_CLINICS_FILE": str(clinics_file), "MEDIUS_LOG_LEVEL": "DEBUG", "LOG_LEVEL": "DEBUG",
           "CHAT_ADDRESS_RATE_LIMIT": "1000000"}
    with running_assistant(MODEL, ROOT / "var" / "test-logs", env=env) as running:
        yield running
