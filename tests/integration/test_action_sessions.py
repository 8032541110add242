"""Calls from Rasa to the action server share one kept connection (bot/rasa/patches/action_sessions.py),
against a real action server that is restarted under them."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import ROOT
from tests.support.helpers import run_async


def start_actions(port: int, tmp_path) -> subprocess.Popen:
    env = dict(os.environ, MEDIUS_INTERNAL_TOKEN=TOKEN, DATABASE_URL=f"sqlite:///{tmp_path / 'leads.db'}")
    process = subprocess.Popen([sys.executable, "-m", "bot", "actions", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).ok:
                return process
        except requests.RequestException:
            time.sleep(0.3)
    process.kill()
    pytest.fail("the action server did not start")


TOKEN = "sessions-test-secret-0123456789abcdef"


def test_calls_to_the_action_server_share_a_connection_and_survive_its_restart(monkeypatch, tmp_path):
    from rasa.utils.endpoints import EndpointConfig

    from bot.rasa.patches import action_sessions
    from tests.support.helpers import TcpForwarder
    from tests.support.servers import free_port

    monkeypatch.setattr(EndpointConfig, "session", action_sessions._kept_session)
    port, front = free_port(), free_port()
    actions = start_actions(port, tmp_path)
    forwarder = TcpForwarder(front, port)  # counts the connections made through it
    endpoint = EndpointConfig(f"http://127.0.0.1:{front}", headers={"X-Medius-Token": TOKEN})

    async def calls(count: int):
        return [await endpoint.request(method="get", subpath="actions") for _ in range(count)]

    async def visit():
        first = await calls(6)
        connections_then = len(forwarder.connections) // 2  # each is a client side and an upstream side
        actions.terminate()
        actions.wait(timeout=20)
        await asyncio.sleep(0.5)
        restarted = start_actions(port, tmp_path)
        try:
            after_restart = await calls(2)  # the kept connection is gone: a fresh one, not an error
            await asyncio.sleep(action_sessions.IDLE_CONNECTION_SECONDS + 1.5)
            after_idle = await calls(1)
            await action_sessions.close_sessions()
        finally:
            restarted.terminate()
            restarted.wait(timeout=20)
        return first, connections_then, after_restart, after_idle

    try:
        first, connections_then, after_restart, after_idle = run_async(visit())
    finally:
        forwarder.close()
        if actions.poll() is None:
            actions.kill()
    assert all({"action_submit_appointment"} <= {a["name"] for a in reply} for reply in first)
    assert connections_then == 1  # Rasa's own request opened one per call
    assert all(reply for reply in after_restart + after_idle)
