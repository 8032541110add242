"""CSRF protection for the inbox's forms: starlette-csrf's signed double-submit cookie, for plain HTML forms.

starlette-csrf takes the token from a header only, which a form cannot send,
and sets its cookie only on the way out, after the page that needs the token
has been drawn. This subclass keeps its signing, cookie and comparison, and
adds the two things forms need: the token is handed to the page
(`request.state.csrf_token`) and read back from the form field `csrf_token`.
"""
from __future__ import annotations

import functools
import http.cookies
import re
from typing import Optional
from urllib.parse import parse_qs

from itsdangerous import BadSignature
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette_csrf import CSRFMiddleware

FIELD = "csrf_token"
MAX_FORM_BYTES = 64 * 1024
REFUSED = ("<!doctype html><html lang=\"en\"><title>Form expired</title><main><h1>This form has expired</h1>"
           "<p>For your security the form could not be accepted. Go back, reload the page and try again.</p>"
           "</main></html>")


class FormCSRFMiddleware(CSRFMiddleware):
    """Checks every unsafe request outside `exempt_urls`; GETs get a token to put in their forms."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if self._url_is_exempt(request.url):
            await self.app(scope, receive, send)
            return
        cookie = request.cookies.get(self.cookie_name)
        valid_cookie = cookie if cookie and self._readable(cookie) else None
        token = valid_cookie or self._generate_csrf_token()
        scope.setdefault("state", {})["csrf_token"] = token
        if request.method not in self.safe_methods:
            body = await _read_body(receive)
            submitted = request.headers.get(self.header_name) or _form_field(request, body)
            if body is None or not valid_cookie or not submitted or not self._csrf_tokens_match(valid_cookie,
                                                                                                submitted):
                await self._get_error_response(request)(scope, receive, send)
                return
            receive = _replay(body, receive)
        if valid_cookie is None:
            send = functools.partial(self._set_cookie, send=send, token=token)
        await self.app(scope, receive, send)

    def _readable(self, token: str) -> bool:
        try:
            self.serializer.loads(token)
            return True
        except BadSignature:
            return False

    async def _set_cookie(self, message: Message, send: Send, token: str) -> None:
        if message["type"] == "http.response.start":
            cookie: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
            cookie[self.cookie_name] = token
            morsel = cookie[self.cookie_name]
            morsel["path"], morsel["samesite"] = self.cookie_path, self.cookie_samesite
            morsel["secure"], morsel["httponly"] = self.cookie_secure, self.cookie_httponly
            MutableHeaders(scope=message).append("set-cookie", cookie.output(header="").strip())
        await send(message)

    def _get_error_response(self, request: Request) -> Response:
        return HTMLResponse(REFUSED, status_code=403)


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


def outside(prefix: str) -> re.Pattern:
    """A pattern for every path outside `prefix`: those are exempt (the chat has its own origin checks)."""
    return re.compile(r"^(?!%s(/|$))" % re.escape(prefix))
