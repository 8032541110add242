"""The action server as Medius runs it: rasa-sdk's app on loopback, for Rasa only.

`rasa run actions` listens on every interface, answers anyone and, on an
error, sends the whole tracker back in its reply and logs the request. Here
every route but /health needs the internal token that Rasa sends (endpoints.yml),
and an error is answered with its kind only. Every action call also records
any emergency advice of the conversation not yet recorded as a lead
(bot.leads.emergency): the advice is said without the action server, so its
lead follows on the first call that reaches it.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.core.gc_freeze import freeze_startup_objects
from bot.core.guard import TOKEN_HEADER, UNAUTHORISED, same_secret
from bot.core.settings import get_settings
from bot.core.triage import cached_triage
from bot.leads import emergency as emergency_leads

logger = logging.getLogger(__name__)


def create_app(token: str, package: str = "actions") -> Sanic:
    from rasa_sdk.endpoint import create_app as sdk_app

    app = sdk_app(package, cors_origins=None)

    @app.listener("before_server_start")
    async def load_red_flag_rules(*_: Any) -> None:
        # In each worker before its first call. Loaded by the first action that needed them
        # (3.6 s of CPU, mostly importing spaCy), they held up every turn that reached the
        # worker meanwhile: a 4 s stall of half the visitors under bench.load. Then the
        # worker's start-up objects are frozen (bot/core/gc_freeze.py).
        cached_triage(str(get_settings().triage_file))
        freeze_startup_objects("actions")

    @app.middleware("request")
    async def only_rasa(request: Request):
        if request.path != "/health" and not same_secret(request.headers.get(TOKEN_HEADER), token):
            logger.info("Action server request refused: unauthorised")
            return response.json(UNAUTHORISED.body(), status=UNAUTHORISED.status)
        return None

    @app.middleware("response")
    async def record_emergencies(request: Request, reply: HTTPResponse):
        if request.path != "/webhook" or reply.status != 200:
            return None
        tracker = (request.json or {}).get("tracker") or {}
        events, slots = tracker.get("events") or [], tracker.get("slots") or {}
        if not emergency_leads.unrecorded(events, slots.get(emergency_leads.RECORDED_SLOT)):
            return None
        try:  # in a thread: the database must not hold up other visitors' actions
            recorded_at = await asyncio.to_thread(emergency_leads.record_pending, str(tracker.get("sender_id")),
                                                  events, slots)
        except Exception as error:  # noqa: BLE001 - the action's own reply still goes back; the next call tries again
            logger.error("Recording an emergency lead failed: %s", type(error).__name__)
            return None
        if recorded_at is None:
            return None
        assert reply.body is not None  # a 200 from the action server carries its JSON
        body = json.loads(reply.body)
        body["events"] = list(body.get("events") or []) + [
            {"event": "slot", "name": emergency_leads.RECORDED_SLOT, "value": recorded_at}]
        return response.json(body)

    @app.exception(Exception)
    async def failed(request: Request, exception: Exception) -> HTTPResponse:
        logger.error("Action server error: %s", type(exception).__name__)
        status = getattr(exception, "status_code", 500)
        return response.json({"error": type(exception).__name__}, status=status if 400 <= status < 600 else 500)

    return app


def serve(token: str, host: str, port: int, workers: int = 1) -> None:
    create_app(token).run(host=host, port=port, workers=workers, access_log=False, motd=False)
