"""The chat endpoint's forwarder: a visitor's checked message to one of the Rasa processes on loopback,
and the safety net's advice with the clinic's phone when none can answer."""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import zlib
from typing import Any, Dict, List, Optional, Tuple

import aiohttp
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.core import data
from bot.core.clinics import ClinicDirectory
from bot.core.guard import (
    BAD_SENDER,
    TOKEN_HEADER,
    TOO_LARGE,
    UNAVAILABLE,
    AddressHasher,
    ChatRequest,
    RateLimiter,
    Refusal,
    TurnCache,
    admit,
    check_caller,
    is_trusted_server,
    parse_chat_request,
    slow_down,
    unavailable_with,
)
from bot.core.red_flag_model import RedFlagModel
from bot.core.safety_net import SafetyNet, model_from_archive
from bot.core.settings import Settings
from bot.core.triage import CONFIRM, EMERGENCY, URGENT, cached_triage
from bot.web.bodies import read_capped
from bot.web.conversations import CONVERSATION_HEADER, Conversations
from bot.web.live_visitor import VisitorLiveChat
from bot.web.turn_gate import TurnGate

logger = logging.getLogger(__name__)

CHANNEL_PATH = "/webhooks/widget/webhook"
# A button's payload: an intent name and perhaps its entities. Any other text that starts with "/" is the
# visitor's own words, which the safety net reads like any others.
_PAYLOAD = re.compile(r"/[A-Za-z_][\w-]*(\{.*\})?", re.DOTALL)
SPILL_AFTER = 2  # turns in flight beyond the least busy Rasa process before a visitor moves to it


class ChatForwarder:
    """The chat endpoint: checks, per-visitor and per-address rate limits, then Rasa's channel on loopback."""

    def __init__(self, settings: Settings, clinics: ClinicDirectory) -> None:
        self.settings, self.clinics = settings, clinics
        self.conversations = Conversations(settings)
        self.per_sender = RateLimiter(settings.chat_rate_limit, settings.chat_rate_window_seconds)
        self.per_address = RateLimiter(settings.chat_address_rate_limit, settings.chat_rate_window_seconds)
        self.address_key = AddressHasher()
        self.turns = TurnCache()
        self._clients: List[aiohttp.ClientSession] = []
        self._busy = [0] * len(settings.rasa_urls)  # turns in flight to each Rasa process, from this web process
        self._red_flag_model: Optional[RedFlagModel] = None
        self._model_loading: Optional[asyncio.Future] = None
        self._gates = [TurnGate(settings.chat_turns_per_assistant) for _ in settings.rasa_urls]
        self.live = VisitorLiveChat(settings, clinics, self.conversations, self.advice, self.address_key)

    @property
    def clients(self) -> List[aiohttp.ClientSession]:
        """One pooled client per Rasa process, made in the server's own event loop on first use.

        aiohttp, not httpx: with 50 turns in flight, an httpx client spent about 3 ms of
        CPU on each request, against 0.2 ms for aiohttp (measured side by side against one
        local server), and that CPU is the same two cores Rasa needs. Idle connections
        close after aiohttp's 15 s, well before Rasa's server drops them (120 s).
        """
        if not self._clients:  # whole URLs at each call: aiohttp's base_url takes no path, MEDIUS_RASA_URL may
            self._clients = [aiohttp.ClientSession(
                headers={TOKEN_HEADER: self.settings.internal_token}, connector=aiohttp.TCPConnector(limit=100))
                for _ in self.settings.rasa_urls]
        return self._clients

    def route(self, sender: str) -> List[int]:
        """The Rasa processes to try for a visitor, by index: its own one first, then the others in turn.

        A visitor sticks to one process while it is up and not much busier than
        the least busy one (hashing with bounded loads): under load, a hash that
        happened to give one process more visitors made its queue, and the p95,
        grow (bench.load). The Redis lock store keeps turns in order when a visitor
        moves (a restart, a failover, a busy process); what a move costs is the
        process's own copy of the conversation, used only while the database is away.
        """
        count = len(self.clients)
        first = zlib.crc32(sender.encode("utf-8")) % count
        least = min(range(count), key=lambda index: (self._busy[index], index != first))
        if self._busy[first] > self._busy[least] + SPILL_AFTER:
            first = least
        return [(first + step) % count for step in range(count)]

    async def close(self) -> None:
        for client in self._clients:
            await client.close()

    async def handle(self, request: Request) -> Response:
        body = await read_capped(request)
        if body is None:
            return self.refuse(TOO_LARGE)
        origin = request.headers.get("origin")
        server = is_trusted_server(request.headers.get("authorization"), self.settings.api_token)
        refusal = check_caller(origin, server)
        if refusal:
            return self.refuse(refusal)
        chat = parse_chat_request(body, origin, self.clinics)
        if isinstance(chat, Refusal):
            return self.refuse(chat)
        address = self.address_key(request.client.host if request.client else "unknown")
        headers: Dict[str, str] = {}
        if server:
            if chat.sender is None:
                return self.refuse(BAD_SENDER)
        else:  # a browser: the conversation is the one its token names, or a new one; never the sender it says
            message_id = chat.message_id or ""
            sender = self.conversations.sender(chat.conversation, chat.clinic) or self.conversations.new_sender(
                address, chat.clinic, chat.message, chat.message_id,
                answered=lambda earlier: self.turns.get((earlier, message_id)) is not None)
            chat = dataclasses.replace(chat, sender=sender)
            headers[CONVERSATION_HEADER] = self.conversations.token(sender, chat.clinic)
        assert chat.sender is not None
        limits = [(self.per_sender, chat.sender)]
        if not server:  # a clinic's server relays many visitors from one address
            limits.append((self.per_address, address))
        wait = admit(limits)
        if wait is not None:
            return self.refuse(slow_down(wait), {"Retry-After": str(max(1, round(wait)))})
        if not chat.message_id:
            status, body = await self.forward(chat)
            return JSONResponse(body, status_code=status, headers=headers)
        # Keyed by the sender id, which only the token's holder (or the server naming it) has: a replayed
        # message_id from anyone else is a new message of their own conversation.
        key = (chat.sender, chat.message_id)
        earlier = self.turns.get(key)
        if earlier is not None:  # a retry: the first attempt's answer, not a second turn
            status, body = await asyncio.shield(earlier)
            return JSONResponse(body, status_code=status, headers=headers)
        answer = self.turns.start(key)
        # Shielded: a visitor who gives up waiting does not cut the turn short; the retry collects it.
        status, body = await asyncio.shield(self._forward_once(chat, key, answer))
        return JSONResponse(body, status_code=status, headers=headers)

    async def _forward_once(self, chat: ChatRequest, key, answer: asyncio.Future):
        try:
            outcome = await self.forward(chat)
        except BaseException:
            self.turns.forget(key)
            answer.set_result((503, UNAVAILABLE.body()))
            raise
        if outcome[0] != 200:
            self.turns.forget(key)  # it did not reach the assistant: a retry tries again
        answer.set_result(outcome)
        return outcome

    async def forward(self, chat: ChatRequest) -> Tuple[int, Any]:
        """One turn through Rasa's channel: (status, body) for the visitor, within CHAT_TIMEOUT_SECONDS."""
        assert chat.sender is not None  # handle() has settled it
        taken = await self.live.intercept(chat)  # a live chat's message, or a request for a person
        if taken is not None:
            return taken
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.chat_timeout_seconds
        status: Optional[int] = None
        replies: Any = None
        for index in self.route(chat.sender):
            self._busy[index] += 1  # counts the turns waiting at its gate too, for the route of the next
            try:
                try:
                    await asyncio.wait_for(self._gates[index].enter(), deadline - loop.time())
                except asyncio.TimeoutError:
                    logger.error("Assistant too busy: no turn free in %s s", self.settings.chat_timeout_seconds)
                    return self.unavailable(chat)
                try:
                    timeout = aiohttp.ClientTimeout(total=max(deadline - loop.time(), 0.001), sock_connect=3.0)
                    async with self.clients[index].post(
                            self.settings.rasa_urls[index] + CHANNEL_PATH, timeout=timeout, json={
                                "sender": chat.sender, "message": chat.message,
                                "metadata": {"clinic": chat.clinic.id}}) as answer:
                        status, replies = answer.status, json.loads(await answer.read())
                    break
                except aiohttp.ClientConnectorError as error:  # that process is down, never saw the turn: the next
                    status = None
                    logger.warning("Assistant process unreachable: %s", type(error).__name__)
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                    # It may have taken the turn: never send it twice.
                    logger.error("Assistant unreachable: %s", type(error).__name__)
                    return self.unavailable(chat)
                finally:
                    self._gates[index].leave()
            finally:
                self._busy[index] -= 1
        if status is None:
            logger.error("No assistant process reachable")
            return self.unavailable(chat)
        if status == 200 and isinstance(replies, list):
            return 200, replies
        if 400 <= status < 500 and isinstance(replies, dict) and replies.get("message"):
            return status, replies
        logger.error("Assistant answered HTTP %s", status)
        return self.unavailable(chat)

    @property
    def safety_net(self) -> SafetyNet:
        """The whole net: the rules, and the red-flag model of the model Rasa runs once it is read."""
        return SafetyNet(cached_triage(str(self.settings.triage_file)), self._red_flag_model)

    async def load_safety_net(self) -> None:
        """The rules before the first visitor; the model (read from the Rasa model archive, seconds) after."""
        await asyncio.to_thread(cached_triage, str(self.settings.triage_file))

        def read_model() -> None:
            if self.settings.rasa_model.exists():
                self._red_flag_model = model_from_archive(self.settings.rasa_model)

        self._model_loading = asyncio.get_running_loop().run_in_executor(None, read_model)

    def unavailable(self, chat: ChatRequest) -> Tuple[int, Any]:
        """Rasa cannot answer: still give the safety advice the whole net sees, and the clinic's phone otherwise.

        Advice must not depend on one process. Here no question can be answered,
        so a possible emergency (the confirming question's tier) gets the
        question's own advice ("If yes, please call 911 now") as emergency advice;
        an urgent red flag gets "a doctor within a day". Nothing here may fail the
        visitor: a message the net cannot read still gets the clinic's contact.
        """
        try:
            found = self.advice(chat.message)
            if found is not None:
                return 200, found[1]
        except Exception as error:  # noqa: BLE001  # the advice path must never crash: the clinic's contact below
            logger.error("Safety net failed with the assistant down: %s", type(error).__name__)
        logger.info("Chat request refused: %s", UNAVAILABLE.code)
        return UNAVAILABLE.status, unavailable_with(chat.clinic.contact_phrase())

    def advice(self, message: str) -> Optional[Tuple[str, List[Dict[str, Any]], Tuple[str, ...]]]:
        """(tier, the replies, the rules that fired) of the safety advice the whole net sees in a message,
        answered with no assistant: a possible emergency gets its confirming question's advice as emergency
        advice. None: no red flag."""
        if _PAYLOAD.fullmatch(message.strip()):
            return None  # a button's payload ("/request_appointment"): the assistant's own words
        assessment = self.safety_net.judge(message.strip().lstrip("/")).assessment
        if assessment.level == EMERGENCY:
            return EMERGENCY, [data.emergency_response(assessment.topic)], assessment.rules
        if assessment.level == CONFIRM:
            advice = data.advice_response("utter_confirm_red_flag", assessment.topic)
            return EMERGENCY, [{"text": advice["text"], "custom": {"triage": EMERGENCY}}], assessment.rules
        if assessment.level == URGENT:
            return URGENT, [data.advice_response("utter_urgent")], assessment.rules
        return None

    @staticmethod
    def refuse(refusal: Refusal, headers: Optional[Dict[str, str]] = None) -> Response:
        # The reason code only: the message itself may hold personal data.
        logger.info("Chat request refused: %s", refusal.code)
        return JSONResponse(refusal.body(), status_code=refusal.status, headers=headers)

    async def assistant_up(self) -> List[bool]:
        """Whether each Rasa process answers."""
        async def up(client: aiohttp.ClientSession, url: str) -> bool:
            try:
                async with client.get(url + "/webhooks/widget/", timeout=aiohttp.ClientTimeout(total=2.0)) as answer:
                    return answer.status == 200
            except (aiohttp.ClientError, asyncio.TimeoutError):
                return False
        return list(await asyncio.gather(*(up(client, url) for client, url in zip(self.clients,
                                                                                 self.settings.rasa_urls))))
