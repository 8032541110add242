"""CSRF protection for the inbox's forms: a token bound to the browser's session, checked on every unsafe request.

The token is an HMAC of what identifies the browser to the inbox: its staff
session cookie once logged in, and before that a random pre-session cookie of
this middleware's own. A token taken from one browser is worth nothing in
another: the pair an anonymous visitor gets does not pass with someone else's
session (it did with starlette-csrf's double-submit cookie, which bound the
token to nothing but itself).

Over https the pre-session cookie is `__Host-medius_csrf` (Secure, Path=/, no
Domain), so no other host, a sibling subdomain included, can set it in a
staff member's browser. Browsers and HTTP clients send a Secure cookie over
https only, so plain http (local development on localhost) gets a cookie
named `medius_csrf` without Secure: STAFF_INBOX_BASE_URL decides which.
"""
from __future__ import annotations

import hashlib
import hmac
import http.cookies
import re
import secrets
from typing import Callable, Optional, Pattern, Sequence
from urllib.parse import parse_qs

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FIELD = "csrf_token"
HEADER = "x-csrf-token"
MAX_FORM_BYTES = 64 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REFUSED = ("<!doctype html><html lang=\"en\"><title>Form expired</title><main><h1>This form has expired</h1>"
           "<p>For your security the form could not be accepted. Go back, reload the page and try again.</p>"
           "</main></html>")
TOO_LARGE = ("<!doctype html><html lang=\"en\"><title>Too long</title><main><h1>That is too long</h1>"
             "<p>The form could not be accepted: go back, shorten the text and try again.</p></main></html>")


def cookie_name(secure: bool) -> str:
    """`__Host-` over https; browsers refuse that prefix without Secure, which plain http cannot have."""
    return "__Host-medius_csrf" if secure else "medius_csrf"


class FormCSRFMiddleware:
    """Checks every unsafe request outside `exempt_urls`; pages get the token to put in their forms."""

    def __init__(self, app: ASGIApp, secret: str, session_cookie: str, secure: bool, cookie_path: str,
                 exempt_urls: Sequence[Pattern[str]] = (),
                 wants_json: Callable[[Request], bool] = lambda request: False) -> None:
        self.app, self.key = app, hashlib.sha256(b"medius-csrf|" + secret.encode()).digest()
        self.wants_json = wants_json  # a script's request gets its refusal in JSON, as the app's other errors
        self.session_cookie, self.secure, self.exempt = session_cookie, secure, list(exempt_urls)
        self.cookie_name = cookie_name(secure)
        self.cookie_path = "/" if secure else cookie_path  # __Host- requires Path=/

    def token(self, binding: str) -> str:
        return hmac.new(self.key, binding.encode(), hashlib.sha256).hexdigest()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(pattern.match(scope["path"]) for pattern in self.exempt):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        session = request.cookies.get(self.session_cookie)
        nonce = request.cookies.get(self.cookie_name)
        new_nonce = None
        if not nonce or len(nonce) > 100:
            nonce = new_nonce = secrets.token_urlsafe(32)
        expected = self.token("session|" + session if session else "anonymous|" + nonce)
        scope.setdefault("state", {})["csrf_token"] = expected
        if request.method not in SAFE_METHODS:
            body = await _read_body(receive)
            submitted = request.headers.get(HEADER) or _form_field(request, body)
            if body is None or new_nonce and not session or not submitted \
                    or not hmac.compare_digest(submitted.encode(), expected.encode()):
                await self.refusal(request, too_large=body is None)(scope, receive, send)
                return
            receive = _replay(body, receive)
        if new_nonce:
            send = self._setting_cookie(send, new_nonce)
        await self.app(scope, receive, send)

    def refusal(self, request: Request, too_large: bool) -> Response:
        """403 for a missing or wrong token; 413 for a body past MAX_FORM_BYTES, which is never read for one."""
        if self.wants_json(request):
            body = {"error": "too_large", "message": "That is too long."} if too_large else \
                {"error": "csrf", "message": "This page has expired: reload it and try again."}
            return JSONResponse(body, status_code=413 if too_large else 403)
        return HTMLResponse(TOO_LARGE, status_code=413) if too_large else HTMLResponse(REFUSED, status_code=403)

    def _setting_cookie(self, send: Send, nonce: str) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
                cookie[self.cookie_name] = nonce
                morsel = cookie[self.cookie_name]
                morsel["path"], morsel["samesite"], morsel["httponly"] = self.cookie_path, "strict", True
                morsel["secure"] = self.secure
                MutableHeaders(scope=message).append("set-cookie", cookie.output(header="").strip())
            await send(message)
        return wrapped


async def _read_body(receive: Receive) -> Optional[bytes]:
    """The whole request body, or None past MAX_FORM_BYTES (an inbox form is a few hundred bytes)."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return bytes(body)
        body += message.get("body", b"")
        if len(body) > MAX_FORM_BYTES:
            return None
        if not message.get("more_body"):
            return bytes(body)


def _form_field(request: Request, body: Optional[bytes]) -> Optional[str]:
    if not body or not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    values = parse_qs(body.decode("latin-1"), max_num_fields=50).get(FIELD)
    return values[0] if values else None


def _replay(body: bytes, then: Receive) -> Receive:
    """The body again, for the endpoint, which reads it after this middleware; then the client's own messages."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await then()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def outside(prefix: str) -> Pattern[str]:
    """A pattern for every path outside `prefix`: those are exempt (the chat has its own origin checks)."""
    return re.compile(r"^(?!%s(/|$))" % re.escape(prefix))
