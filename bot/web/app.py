"""The one public web server: widget.js and its CSS, per-clinic widget settings, demo pages, the chat endpoint,
and the staff inbox under /inbox (bot/web/inbox.py).

Run with `python -m bot web` (uvicorn). Every check on a visitor's request is
made here (bot/core/guard.py); what passes is forwarded to Rasa's widget
channel on loopback with the internal token. Rasa and the action server are
never reachable from outside.
"""
from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import html
import json
import logging
import secrets
import zlib
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any, Dict, List, Optional, Tuple

import aiohttp
from itsdangerous import BadData, URLSafeTimedSerializer
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.core import data
from bot.core.clinics import Clinic, ClinicDirectory
from bot.core.data import clinics_for
from bot.core.guard import (
    BAD_SENDER,
    MAX_BODY_BYTES,
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
)
from bot.core.settings import Settings
from bot.core.triage import EMERGENCY, cached_triage, worst
from bot.web.csrf import FormCSRFMiddleware, outside
from bot.web.inbox import COOKIE as SESSION_COOKIE, PREFIX as INBOX, Inbox
from bot.web.turn_gate import TurnGate

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
DEMO_PAGES = {"": "Home", "services": "Services", "privacy": "Privacy policy"}
CHANNEL_PATH = "/webhooks/widget/webhook"
SPILL_AFTER = 2  # turns in flight beyond the least busy Rasa process before a visitor moves to it
_NO_CACHE = {"Cache-Control": "no-cache"}
# Every response: no MIME sniffing, no referrer, no framing; pages that need more say so themselves.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
}


def page_policy(nonce: str) -> str:
    """The demo pages' CSP: our own script and styles only, the inline <style> by nonce."""
    return ("default-src 'self'; script-src 'self'; style-src 'self' 'nonce-%s'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
            % nonce)


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response that does not set its own, an unexpected error's 500 too.

    Starlette answers an unhandled exception from its outermost layer, outside
    every middleware, so its 500 would go out bare: this one answers it first.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as error:
            if started:
                raise
            # The kind only: an exception's message may quote what the visitor sent.
            logger.error("Unexpected error answering a request: %s", type(error).__name__)
            await PlainTextResponse("Sorry, something went wrong.", status_code=500,
                                    headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})(
                scope, receive, send)


@lru_cache(maxsize=None)
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


async def read_capped(request: Request, limit: int = MAX_BODY_BYTES) -> Optional[bytes]:
    """The request body, or None once it passes `limit` bytes (read no further)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def widget_config(clinic: Clinic, settings: Settings, texts: Dict[str, Any]) -> Dict[str, Any]:
    """What the widget needs to speak for one clinic: public profile fields only, never staff details."""
    return {
        "clinic": clinic.id,
        "name": clinic.name,
        "colour": clinic.colour,
        "greeting": clinic.greeting,
        "disclaimer": texts["disclaimer"],
        "privacy_note": texts["privacy_note"].replace("{days}", str(settings.conversation_retention_days)),
        "privacy_url": clinic.privacy_url,
        "unreachable": texts["unreachable"],
        "emergency_heading": texts["emergency_heading"],  # the card for a message with triage "emergency"
        "emergency_call": texts["emergency_call"],
        "emergency_number": str(texts["emergency_number"]),
        "contact": clinic.contact_phrase(),  # "call <name> at <phone>", as the bot says it
        "timeout_ms": settings.widget_timeout_ms,
        "history_days": settings.conversation_retention_days,
        "starters": [{"title": str(b["title"]), "payload": str(b["payload"])} for b in texts["starters"]],
    }


CONVERSATION_HEADER = "X-Medius-Conversation"


class Conversations:
    """Sender ids the web server issues, each bound to one clinic by a signed token only the widget holds.

    A sender id used to be the widget's own choice and the only key to a
    conversation: whoever knew one could go on with it, read the visitor's
    name and phone back, cancel the booking, or replay a message_id for the
    earlier reply. Now a browser's first message gets a sender id from here,
    and a token (itsdangerous, HMAC-signed, timed) naming it and the clinic;
    every later message must bring the token back, and a browser's own
    "sender" is never used. A clinic's server holding MEDIUS_API_TOKEN still
    names its own sender ids.
    """

    def __init__(self, settings: Settings) -> None:
        self.serializer = URLSafeTimedSerializer(secret_for(settings, b"medius-conversation"), salt="conversation")
        self.max_age = settings.conversation_retention_days * 86400  # as long as the conversation is kept
        self.key = secret_for(settings, b"medius-first-message").encode()

    def token(self, sender: str, clinic: Clinic) -> str:
        return self.serializer.dumps({"s": sender, "c": clinic.id})

    def sender(self, token: Optional[str], clinic: Clinic) -> Optional[str]:
        """The sender id a token names, if it is genuine, not too old, and for this clinic."""
        if not token:
            return None
        try:
            claim = self.serializer.loads(token, max_age=self.max_age)
        except BadData:
            return None
        if not isinstance(claim, dict) or claim.get("c") != clinic.id or not isinstance(claim.get("s"), str):
            return None
        return claim["s"]

    def new_sender(self, address: str, message_id: Optional[str]) -> str:
        """A new conversation's sender id: random, or for a first message that has a message_id, derived from it
        and the visitor's (hashed) address, so that its retry gets the same conversation, and nobody else does."""
        if not message_id:
            return "w" + secrets.token_hex(16)
        return "w" + hmac.new(self.key, f"{address}|{message_id}".encode(), hashlib.sha256).hexdigest()[:32]


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
        self._gates = [TurnGate(settings.chat_turns_per_assistant) for _ in settings.rasa_urls]

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
            sender = self.conversations.sender(chat.conversation, chat.clinic) or \
                self.conversations.new_sender(address, chat.message_id)
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
                    return self.unavailable(chat.message)
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
                    return self.unavailable(chat.message)
                finally:
                    self._gates[index].leave()
            finally:
                self._busy[index] -= 1
        if status is None:
            logger.error("No assistant process reachable")
            return self.unavailable(chat.message)
        if status == 200 and isinstance(replies, list):
            return 200, replies
        if 400 <= status < 500 and isinstance(replies, dict) and replies.get("message"):
            return status, replies
        logger.error("Assistant answered HTTP %s", status)
        return self.unavailable(chat.message)

    def unavailable(self, message: str) -> Tuple[int, Any]:
        """Rasa cannot answer: still give emergency advice where the red-flag rules see an emergency.

        Emergency advice must not depend on one process. Only the rules run here
        (no model, no confirming question), so a rule's emergency is advised as is.
        """
        if not message.startswith("/") and worst(cached_triage(str(self.settings.triage_file)).red_flags(message)) \
                == EMERGENCY:
            return 200, [data.emergency_response()]
        logger.info("Chat request refused: %s", UNAVAILABLE.code)
        return UNAVAILABLE.status, UNAVAILABLE.body()

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


def create_app(settings: Settings, clinics: Optional[ClinicDirectory] = None) -> Starlette:
    clinics = clinics or clinics_for(settings)
    texts = data.load_widget_texts()
    chat = ChatForwarder(settings, clinics)

    async def healthz(request: Request) -> Response:
        processes = await chat.assistant_up()
        return JSONResponse({"status": "ok", "assistant": "up" if any(processes) else "down",
                             "assistant_processes": ["up" if up else "down" for up in processes],
                             "clinics": [clinic.id for clinic in clinics.all()]})

    async def static_file(request: Request) -> Response:
        name = request.url.path.lstrip("/")
        return FileResponse(STATIC / name, headers=_NO_CACHE)

    async def config(request: Request) -> Response:
        clinic = clinics.get(request.path_params["clinic"])
        if clinic is None:
            return JSONResponse({"error": "unknown_clinic"}, status_code=404)
        return JSONResponse(widget_config(clinic, settings, texts), headers=_NO_CACHE)

    async def demo(request: Request) -> Response:
        clinic = clinics.get(request.path_params["clinic"])
        page = request.path_params.get("page", "")
        if clinic is None or page not in DEMO_PAGES:
            return not_found(request)
        nonce = secrets.token_urlsafe(16)
        return HTMLResponse(demo_page(clinic, page, str(request.base_url).rstrip("/"), nonce, settings),
                            headers={**_NO_CACHE, "Content-Security-Policy": page_policy(nonce)})

    async def index(request: Request) -> Response:
        nonce = secrets.token_urlsafe(16)
        links = "".join(f'<li><a href="/demo/{html.escape(c.id)}">{html.escape(c.name)}</a></li>'
                        for c in clinics.all())
        return HTMLResponse(_template("index.html").substitute(links=links, nonce=nonce),
                            headers={"Content-Security-Policy": page_policy(nonce)})

    def not_found(request: Request, exc: Optional[Exception] = None) -> Response:
        return HTMLResponse("<!doctype html><title>Not found</title><p>Page not found.</p>", status_code=404)

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        # The red-flag rules loaded before the first visitor: with Rasa down, an emergency is answered from them.
        await asyncio.to_thread(cached_triage, str(settings.triage_file))
        yield
        await chat.close()

    routes = [
        Route("/", index),
        Route("/favicon.ico", favicon),
        Route("/healthz", healthz),
        Route("/widget.js", static_file),
        Route("/widget.css", static_file),
        Route("/widget/config/{clinic}.json", config),
        Route("/chat", chat.handle, methods=["POST"]),
        Route("/demo/{clinic}", demo),
        Route("/demo/{clinic}/{page}", demo),
        *Inbox(settings, clinics).routes(),
    ]
    cors = Middleware(CORSMiddleware, allow_origins=list(clinics.allowed_origins()), allow_methods=["GET", "POST"],
                      allow_headers=["Content-Type"], expose_headers=[CONVERSATION_HEADER])
    gzip = Middleware(GZipMiddleware, minimum_size=500)  # widget.js goes to every page view of every clinic
    csrf = Middleware(FormCSRFMiddleware, secret=csrf_secret(settings), exempt_urls=[outside(INBOX)],
                      session_cookie=SESSION_COOKIE, cookie_path=INBOX,
                      secure=settings.inbox_base_url.startswith("https://"))
    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders), cors, gzip, csrf],
                     exception_handlers={404: not_found}, lifespan=lifespan)


def secret_for(settings: Settings, purpose: bytes) -> str:
    """A key for one purpose, derived from the internal secret, so every web worker agrees."""
    if not settings.internal_token:
        return secrets.token_urlsafe(32)  # a test app without the secret: valid for this process only
    return hmac.new(settings.internal_token.encode(), purpose, hashlib.sha256).hexdigest()


def csrf_secret(settings: Settings) -> str:
    """The key that signs the inbox's CSRF tokens."""
    return secret_for(settings, b"medius-inbox-csrf")


def demo_page(clinic: Clinic, page: str, base_url: str, nonce: str, settings: Settings) -> str:
    """A plain clinic website page with the widget embedded exactly as a clinic would paste it."""
    current = ' aria-current="page"'
    nav = "".join(
        f'<li><a href="/demo/{clinic.id}{"/" + key if key else ""}"{current if key == page else ""}>{label}</a></li>'
        for key, label in DEMO_PAGES.items()
    )
    values = {key: html.escape(str(value)) for key, value in {
        "name": clinic.name, "city": clinic.city, "hours": clinic.hours, "colour": clinic.colour,
        "phone": clinic.phone or "Contact us through this website", "clinic": clinic.id,
        "title": DEMO_PAGES[page], "widget_src": f"{base_url}/widget.js", "nonce": nonce,
        "history_days": settings.conversation_retention_days, "lead_days": settings.lead_retention_days,
    }.items()}
    body = _template(f"demo_{page or 'home'}.html").substitute(values)
    return _template("demo.html").substitute(values, nav=nav, body=body)
