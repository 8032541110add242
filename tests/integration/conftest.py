"""Fixtures of the integration tests that more than one file uses."""
import dataclasses

import pytest

from bot.staff import accounts as staff
from bot.web.app import create_app
from tests.support.inbox import PASSWORD, enrol
from tests.support.servers import WebServer, free_port


@pytest.fixture
def site(settings):
    """The web app on a real uvicorn with its own database and three staff accounts (stl, boston, an operator
    admin with two-step login on)."""
    settings = dataclasses.replace(settings, internal_token="i" * 32, inbox_poll_seconds=0.2)
    staff.add_account(settings, "ann@stl.example", PASSWORD, "stl")
    staff.add_account(settings, "bea@boston.example", PASSWORD, "boston")
    staff.add_account(settings, "op@medius.example", PASSWORD, None, admin=True)
    enrol(settings, "op@medius.example")  # an admin logs in with a second step
    with WebServer(create_app(settings), free_port()) as server:
        server.settings = settings
        yield server
