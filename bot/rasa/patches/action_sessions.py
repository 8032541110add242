"""Calls to the action server share one kept aiohttp session per endpoint, their bodies written by ujson.

Rasa opened and closed a session and a TCP connection for every call, and wrote each body with the
standard library's slower encoder (figures: docs/performance.md).
"""
from __future__ import annotations

import asyncio
from typing import Any, List, Optional

import aiohttp
import ujson
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

# Under Sanic's KEEP_ALIVE_TIMEOUT (5 s) on the action server, so a kept connection is never one it has closed.
IDLE_CONNECTION_SECONDS = 2.0

_sessions: List[aiohttp.ClientSession] = []


def _shared_session(endpoint: EndpointConfig) -> aiohttp.ClientSession:
    """The endpoint's session for the running event loop (made on first use, again if closed)."""
    loop = asyncio.get_running_loop()
    session: Optional[aiohttp.ClientSession] = getattr(endpoint, "_medius_session", None)
    if session is None or session.closed or getattr(endpoint, "_medius_loop", None) is not loop:
        auth = (aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
                if endpoint.basic_auth else None)
        session = aiohttp.ClientSession(
            headers=endpoint.headers, auth=auth, timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=IDLE_CONNECTION_SECONDS),
            cookie_jar=aiohttp.DummyCookieJar(),  # shared by every visitor's calls: it keeps no cookies
            json_serialize=ujson.dumps)  # what the action server's Sanic reads with; Rasa already installs it
        endpoint._medius_session, endpoint._medius_loop = session, loop  # noqa: SLF001 - kept on the endpoint
        _sessions.append(session)
    return session


async def close_sessions() -> None:
    """Closes the shared sessions of the running event loop (the Rasa server stopping)."""
    loop = asyncio.get_running_loop()
    for session in [s for s in _sessions if s._loop is loop]:  # noqa: SLF001 - aiohttp has no public loop
        _sessions.remove(session)
        await session.close()


class _KeptSession:
    """What EndpointConfig.session returns now: Rasa's `async with self.session()` gets the shared
    session and leaves it open, so Rasa's own `request` (headers, TLS, errors) runs unchanged."""

    def __init__(self, endpoint: EndpointConfig) -> None:
        self.endpoint = endpoint

    async def __aenter__(self) -> aiohttp.ClientSession:
        return _shared_session(self.endpoint)

    async def __aexit__(self, *_: Any) -> None:
        return None


def _kept_session(self: EndpointConfig) -> _KeptSession:
    """EndpointConfig.session: the endpoint's shared session, left open after each request."""
    return _KeptSession(self)


def install() -> None:
    EndpointConfig.session = _kept_session
