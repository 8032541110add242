"""The one public web server: widget.js and its CSS, per-clinic widget settings, demo pages, the chat endpoint,
and the staff inbox under /inbox (bot/web/inbox.py); the chat endpoint's forwarding to Rasa is bot/web/forwarder.py.

Run with `python -m bot web` (uvicorn). Every check on a visitor's request is
made here (bot/core/guard.py); what passes is forwarded to Rasa's widget
channel on loopback with the internal token. Rasa and the action server are
never reachable from outside.
"""
from __future__ import annotations

import html
import logging
import re
import secrets
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any, Dict, Optional, Sequence

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
from bot.core.clinics import Clinic, ClinicDirectory, LiveDirectory
from bot.core.days import BadFilter
from bot.core.live_chat import live_chat_words
from bot.core.settings import Settings
from bot.store import clinic_profiles
from bot.store.crypto import secret_for
from bot.web.clinic_settings import ClinicSettings
from bot.web.conversations import CONVERSATION_HEADER
from bot.web.csrf import FormCSRFMiddleware, outside
from bot.web.forwarder import ChatForwarder
from bot.web.inbox import COOKIE as SESSION_COOKIE, PREFIX as INBOX, Inbox, asks_for_json
from bot.web.live_staff import LiveDesk

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
DEMO_PAGES = {"": "Home", "services": "Services", "privacy": "Privacy policy"}
_NO_CACHE = {"Cache-Control": "no-cache"}
# Every response: no MIME sniffing, no referrer, no framing; pages that need more say so themselves.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
}
# Served over https (INBOX_BASE_URL says so): browsers then refuse plain http for a year, so a network
# attacker cannot strip TLS from a staff member's next visit.
HSTS = {"Strict-Transport-Security": "max-age=31536000"}


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

    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app = app
        self.headers = {**SECURITY_HEADERS, **(HSTS if https else {})}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
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
                                    headers={**self.headers, "Cache-Control": "no-store"})(
                scope, receive, send)


@lru_cache(maxsize=None)
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


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
        # The "Talk to a person" control: the web server answers its payload (queue or call-back offer).
        "talk_button": live_chat_words().say("request_button"),
        "talk_payload": live_chat_words().request_payload,
    }


class ClinicsCORS(CORSMiddleware):
    """CORS for the websites the clinics allow now: a clinic's new website works without a restart."""

    def __init__(self, app: ASGIApp, clinics: ClinicDirectory, allow_methods: Sequence[str],
                 allow_headers: Sequence[str], expose_headers: Sequence[str]) -> None:
        super().__init__(app, allow_origins=(), allow_methods=allow_methods, allow_headers=allow_headers,
                         expose_headers=expose_headers)
        self.clinics = clinics

    def is_allowed_origin(self, origin: str) -> bool:
        return origin in self.clinics.allowed_origins()


def create_app(settings: Settings, clinics: Optional[ClinicDirectory] = None) -> Starlette:
    """The app; without `clinics`, the newest profiles of the settings' database (or file) on every request."""
    clinics = clinics or LiveDirectory(lambda: clinic_profiles.directory(settings))
    texts = data.load_widget_texts()
    chat = ChatForwarder(settings, clinics)
    inbox = Inbox(settings, clinics)

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
        if wants_json(request):
            return JSONResponse({"error": "not_found"}, status_code=404)
        return HTMLResponse("<!doctype html><title>Not found</title><p>Page not found.</p>", status_code=404)

    def bad_filter(request: Request, exc: Exception) -> Response:
        if wants_json(request):
            return JSONResponse({"error": "bad_filter", "message": str(exc)}, status_code=400)
        return HTMLResponse(f"<!doctype html><title>Bad filter</title><p>{html.escape(str(exc))}</p>",
                            status_code=400)

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        # The safety net's rules loaded before the first visitor, its model just after: with Rasa down, it
        # still advises.
        await chat.load_safety_net()
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
        Route("/chat/live", chat.live.poll, methods=["POST"]),
        Route("/chat/live/typing", chat.live.typing, methods=["POST"]),
        Route("/demo/{clinic}", demo),
        Route("/demo/{clinic}/{page}", demo),
        *inbox.routes(),
        *LiveDesk(inbox).routes(),
        *ClinicSettings(inbox).routes(),
    ]
    https = settings.inbox_base_url.startswith("https://")
    cors = Middleware(ClinicsCORS, clinics=clinics, allow_methods=["GET", "POST"],
                      allow_headers=["Content-Type"], expose_headers=[CONVERSATION_HEADER])
    gzip = Middleware(GZipMiddleware, minimum_size=500)  # widget.js goes to every page view of every clinic
    csrf = Middleware(FormCSRFMiddleware, secret=csrf_secret(settings), exempt_urls=[outside(INBOX)],
                      session_cookie=SESSION_COOKIE, cookie_path=INBOX, wants_json=wants_json,
                      secure=https)
    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders, https=https), cors, gzip, csrf],
                     exception_handlers={404: not_found, BadFilter: bad_filter}, lifespan=lifespan)


_LIVE_FEED = re.compile(rf"{INBOX}/live/[^/]+/messages")


def wants_json(request: Request) -> bool:
    """The API, the chat and the live pane's feed answer errors in JSON, as does any script that asks for JSON;
    pages in HTML."""
    path = request.url.path
    return (path.startswith(f"{INBOX}/api/") or path == "/chat" or path.startswith("/widget/config/")
            or request.method == "GET" and _LIVE_FEED.fullmatch(path) is not None or asks_for_json(request))


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
