"""The action server as `python -m bot actions` runs it: loopback only, the internal secret, quiet errors."""
import os
import subprocess
import sys
import time

import psutil
import pytest
import requests

from bot.core.paths import ROOT
from tests.support.servers import free_port

TOKEN = "action-server-test-secret-0123456789"


@pytest.fixture(scope="module")
def actions(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("actions") / "actions.log"
    env = dict(os.environ, MEDIUS_INTERNAL_TOKEN=TOKEN, MEDIUS_LOG_LEVEL="DEBUG",
               DATABASE_URL=f"sqlite:///{tmp_path_factory.mktemp('db') / 'leads.db'}")
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "bot", "actions", "--port", str(port)], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=2).ok:
                break
        except requests.RequestException:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail(f"action server did not start: {log.read_text()[-2000:]}")
    yield url, process, log
    process.terminate()
    process.wait(timeout=20)


def test_it_listens_on_loopback_only(actions):
    url, process, _ = actions
    sockets = {(c.laddr.ip, c.laddr.port) for c in psutil.Process(process.pid).net_connections("inet")
               if c.status == psutil.CONN_LISTEN}
    assert sockets == {("127.0.0.1", int(url.rsplit(":", 1)[1]))}


def test_without_the_secret_only_health_answers(actions):
    url, _, _ = actions
    assert requests.get(f"{url}/health", timeout=5).status_code == 200
    assert requests.get(f"{url}/actions", timeout=5).status_code == 401
    assert requests.post(f"{url}/webhook", json={"next_action": "action_submit_appointment"},
                         headers={"X-Medius-Token": TOKEN[:-1]}, timeout=5).status_code == 401


def test_with_the_secret_rasa_gets_its_actions(actions):
    url, _, _ = actions
    names = {a["name"] for a in requests.get(f"{url}/actions", headers={"X-Medius-Token": TOKEN}, timeout=5).json()}
    assert {"action_submit_appointment", "validate_appointment_form"} <= names


def test_an_error_answers_with_its_kind_and_never_echoes_the_tracker(actions):
    url, _, log = actions
    body = {"next_action": "action_submit_appointment", "sender_id": "s1", "version": "3.6.21",
            "tracker": "Ursula Phonebook 314-555-0166"}  # not a tracker: the SDK fails on it
    response = requests.post(f"{url}/webhook", json=body, headers={"X-Medius-Token": TOKEN}, timeout=10)
    assert 400 <= response.status_code < 600
    assert "Ursula" not in response.text and "555-0166" not in response.text
    time.sleep(0.5)
    assert "Ursula" not in log.read_text(errors="replace")
