"""The action server as Medius runs it: rasa-sdk's app on loopback, for Rasa only.

`rasa run actions` listens on every interface, answers anyone and, on an
error, sends the whole tracker back in its reply and logs the request. Here
every route but /health needs the internal token that Rasa sends (endpoints.yml),
and an error is answered with its kind only.
"""
from __future__ import annotations

import logging

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.web.guard import TOKEN_HEADER, UNAUTHORISED, same_secret

logger = logging.getLogger(__name__)


def create_app(token: str, package: str = "actions") -> Sanic:
    from rasa_sdk.endpoint import create_app as sdk_app

    app = sdk_app(package, cors_origins=None)

    @app.middleware("request")
    async def only_rasa(request: Request):
        if request.path != "/health" and not same_secret(request.headers.get(TOKEN_HEADER), token):
            logger.info("Action server request refused: unauthorised")
            return response.json(UNAUTHORISED.body(), status=UNAUTHORISED.status)
        return None

    @app.exception(Exception)
    async def failed(request: Request, exception: Exception) -> HTTPResponse:
        logger.error("Action server error: %s", type(exception).__name__)
        status = getattr(exception, "status_code", 500)
        return response.json({"error": type(exception).__name__}, status=status if 400 <= status < 600 else 500)

    return app


def serve(token: str, host: str, port: int) -> None:
    create_app(token).run(host=host, port=port, workers=1, access_log=False, motd=False)
