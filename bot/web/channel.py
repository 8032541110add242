"""The Rasa input channel the widget talks to: Rasa's REST channel, with the checks of `bot.web.guard`.

Enabled in credentials.yml as `bot.web.channel.WidgetInput`; it answers at
POST /webhooks/widget/webhook with the same JSON as the REST channel, or with
`{"error", "message"}` and a 4xx status when the request is refused.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import data
from bot.settings import get_settings
from bot.web.guard import ChatRequest, RateLimiter, Refusal, parse_chat_request, slow_down

logger = logging.getLogger(__name__)

UNAVAILABLE = Refusal(503, "unavailable", "Sorry, the assistant could not answer just now. Please try again.")


class WidgetInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "widget"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        settings = get_settings()
        clinics = data.clinics()
        limiter = RateLimiter(settings.chat_rate_limit, settings.chat_rate_window_seconds)
        webhook = Blueprint("widget_webhook", __name__)

        def refuse(refusal: Refusal, **headers: str) -> HTTPResponse:
            # The reason code only: the message itself may hold personal data.
            logger.info("Widget request refused: %s", refusal.code)
            return response.json(refusal.body(), status=refusal.status, headers=headers or None)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            parsed = parse_chat_request(request.body or b"", request.headers.get("origin"), clinics)
            if isinstance(parsed, Refusal):
                return refuse(parsed)
            wait = limiter.retry_after(parsed.sender)
            if wait is not None:
                refusal = slow_down(wait)
                return refuse(refusal, **{"Retry-After": str(max(1, round(wait)))})
            return await self._answer(parsed, on_new_message, refuse)

        return webhook

    async def _answer(self, chat: ChatRequest, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                      refuse: Callable[[Refusal], HTTPResponse]) -> HTTPResponse:
        collector = CollectingOutputChannel()
        message = UserMessage(chat.message, collector, chat.sender, input_channel=self.name(),
                              metadata={"clinic": chat.clinic.id})
        try:
            await on_new_message(message)
        except (asyncio.CancelledError, Exception) as error:  # never echo the text: it may be personal
            logger.error("Widget message failed: %s", type(error).__name__)
            return refuse(UNAVAILABLE)
        return response.json(collector.messages)
