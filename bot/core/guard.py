"""What the chat endpoint accepts: checks on every request before it reaches the assistant.

Plain functions and a small limiter, so the rules are tested without a server.
Error messages are written for the visitor: the widget shows them as they are.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import secrets
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Callable, Deque, Dict, Iterable, Optional, Set, Tuple, Union

from bot.core.clinics import Clinic, ClinicDirectory
from bot.core.triage import clean

MAX_MESSAGE_CHARS = 1000
MAX_BODY_BYTES = 16 * 1024
MAX_MESSAGE_ID = 2**63 - 1  # the database's largest integer: a bigger one overflows the query
TOKEN_HEADER = "X-Medius-Token"  # the internal secret between the web server, Rasa and the action server
_SENDER = re.compile(r"[A-Za-z0-9_-]{8,64}")


@dataclass(frozen=True)
class ChatRequest:
    sender: Optional[str]  # as a clinic's server names it; a browser's is never used (the web server issues it)
    message: str
    clinic: Clinic
    message_id: Optional[str] = None  # the widget's idempotency key: a retry of the same message carries the same
    conversation: Optional[str] = None  # the signed conversation token the widget was given, if any


@dataclass(frozen=True)
class Refusal:
    """A request the assistant will not take, with the HTTP status and the visitor-facing reason."""
    status: int
    code: str
    message: str

    def body(self) -> dict:
        return {"error": self.code, "message": self.message}


_UNREADABLE = "Sorry, that message could not be read. Please try again."
_TOO_LONG = f"That message is too long. Please keep it under {MAX_MESSAGE_CHARS} characters."
_NOT_SET_UP = "Sorry, this chat is not set up for this website."
MALFORMED = Refusal(400, "malformed", _UNREADABLE)
EMPTY = Refusal(400, "empty", "Please type a message first.")
TOO_LARGE = Refusal(413, "too_large", _TOO_LONG)
UNAUTHORISED = Refusal(401, "unauthorised", _NOT_SET_UP)
BAD_SENDER = Refusal(400, "bad_sender", "Sorry, this chat could not be identified. Please reload the page.")
UNAVAILABLE = Refusal(503, "unavailable", "Sorry, the assistant could not answer just now. Please try again.")


def unavailable_with(contact: str) -> dict:
    """UNAVAILABLE's body with the clinic's contact ("call X at ..."), so a visitor is never left without one."""
    return {"error": UNAVAILABLE.code,
            "message": f"Sorry, the assistant could not answer just now. Please try again, or {contact}."}


def same_secret(given: Optional[str], expected: str) -> bool:
    """A constant-time comparison; an unset secret never matches."""
    return bool(expected) and hmac.compare_digest((given or "").encode(), expected.encode())


def bearer(authorization: Optional[str]) -> Optional[str]:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def is_trusted_server(authorization: Optional[str], api_token: str) -> bool:
    """A clinic's own server, holding MEDIUS_API_TOKEN (`Authorization: Bearer ...`)."""
    return same_secret(bearer(authorization), api_token)


def check_caller(origin: Optional[str], trusted_server: bool) -> Optional[Refusal]:
    """A browser must say which page it is on; only a trusted server may leave Origin out."""
    if origin is not None or trusted_server:
        return None
    return Refusal(403, "origin_required", _NOT_SET_UP)


def parse_chat_request(body: bytes, origin: Optional[str], clinics: ClinicDirectory) -> Union[ChatRequest, Refusal]:
    """Check a widget POST: JSON object, sender id, message text and size, clinic, and the page's origin."""
    if len(body) > MAX_BODY_BYTES:
        return TOO_LARGE
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: "[[[[..." thousands deep
        return MALFORMED
    if not isinstance(document, dict):
        return MALFORMED
    sender = document.get("sender")
    if sender is not None and (not isinstance(sender, str) or not _SENDER.fullmatch(sender)):
        return BAD_SENDER
    conversation = document.get("conversation")
    if conversation is not None and (not isinstance(conversation, str) or len(conversation) > 300):
        return MALFORMED
    metadata = document.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return Refusal(400, "unknown_clinic", _NOT_SET_UP)  # '"metadata": "boston"' is a broken embed too
    clinic_id = metadata.get("clinic") if metadata else None
    # No clinic means the default one; a wrong id is a broken embed, and its leads must not go astray.
    clinic = clinics.default if clinic_id is None else clinics.get(clinic_id)
    if clinic is None:
        return Refusal(400, "unknown_clinic", _NOT_SET_UP)
    if origin is not None and origin.rstrip("/") not in clinic.allowed_origins:
        return Refusal(403, "origin_not_allowed", _NOT_SET_UP)
    message = document.get("message")
    if not isinstance(message, str):
        return MALFORMED
    # A lone UTF-16 surrogate ("\ud800" in the JSON) is valid JSON but no text: Rasa fails on it, and the
    # safety net must still read the rest.
    message = clean(message)
    if not message.strip():
        return EMPTY
    if len(message) > MAX_MESSAGE_CHARS:
        return Refusal(413, "too_long", _TOO_LONG)
    message_id = document.get("message_id")
    if message_id is not None and (not isinstance(message_id, str) or not _MESSAGE_ID.fullmatch(message_id)):
        return MALFORMED
    return ChatRequest(sender=sender, message=message, clinic=clinic, message_id=message_id,
                       conversation=conversation or None)


_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


def message_id_after(value: object) -> Optional[int]:
    """A live-chat poll's `after` (the last message id the caller has): 0 when absent, None when unreadable.

    A whole number up to MAX_MESSAGE_ID, as a JSON number or digits; anything else (a
    huge or negative number, a float, a bool, a list, text) is refused rather than
    read as 0, which would send the whole chat again.
    """
    if value is None:
        return 0
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_MESSAGE_ID else None


class TurnCache:
    """Each message's answer by (sender, message_id), for a few minutes, so a retried message runs once.

    The widget gives up waiting after WIDGET_TIMEOUT_MS while the turn goes on;
    its "Try again" sends the same message_id, and gets the first attempt's
    answer (waiting for it if it is still running) instead of a second turn
    (a second booking, say). Bounded: the oldest entries go first.
    """

    def __init__(self, ttl: float = 600.0, max_entries: int = 20_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.max_entries, self.clock = ttl, max_entries, clock
        self._entries: "OrderedDict[Tuple[str, str], Tuple[float, asyncio.Future]]" = OrderedDict()

    def get(self, key: Tuple[str, str]) -> Optional["asyncio.Future"]:
        entry = self._entries.get(key)
        if entry is None or self.clock() - entry[0] > self.ttl:
            return None
        return entry[1]

    def start(self, key: Tuple[str, str]) -> "asyncio.Future":
        future = asyncio.get_running_loop().create_future()
        self._entries[key] = (self.clock(), future)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return future

    def forget(self, key: Tuple[str, str]) -> None:
        """A turn that never reached the assistant: a retry should try it for real."""
        self._entries.pop(key, None)


class RateLimiter:
    """At most `limit` messages per key in any `window` seconds (a sliding window).

    The oldest idle keys are dropped beyond `max_keys`, so memory stays bounded.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 50_000) -> None:
        self.limit, self.window, self.clock, self.max_keys = limit, window, clock, max_keys
        self._hits: "OrderedDict[str, Deque[float]]" = OrderedDict()

    def wait(self, key: str) -> Optional[float]:
        """None if one more message may go ahead now, else the seconds until it could."""
        now = self.clock()
        hits = self._hits.pop(key, None) or deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        self._hits[key] = hits
        if len(self._hits) > self.max_keys:
            self._hits.popitem(last=False)
        return max(hits[0] + self.window - now, 0.1) if len(hits) >= self.limit else None

    def hit(self, key: str) -> None:
        self._hits.setdefault(key, deque()).append(self.clock())


def admit(checks: Iterable["tuple[RateLimiter, str]"]) -> Optional[float]:
    """Let a message through only if every limiter lets it; count it against all of them, or none."""
    checks = list(checks)
    waits = [wait for wait in (limiter.wait(key) for limiter, key in checks) if wait is not None]
    if waits:
        return max(waits)
    for limiter, key in checks:
        limiter.hit(key)
    return None


class OpenLimit:
    """At most `limit` requests open at once per key: for long polls, which cost nothing to start and hold a
    database reader until they end. Keys leave as their last request ends, so memory stays bounded."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: Dict[str, int] = {}

    def full(self, key: str) -> bool:
        return self._open.get(key, 0) >= self.limit

    def enter(self, key: str) -> None:
        self._open[key] = self._open.get(key, 0) + 1

    def leave(self, key: str) -> None:
        left = self._open.pop(key, 0) - 1
        if left > 0:
            self._open[key] = left


def hold(checks: Iterable["tuple[OpenLimit, str]"]) -> bool:
    """Open one more request under every limit, or under none if any is full (`release` it when it ends)."""
    checks = list(checks)
    if any(limit.full(key) for limit, key in checks):
        return False
    for limit, key in checks:
        limit.enter(key)
    return True


def release(checks: Iterable["tuple[OpenLimit, str]"]) -> None:
    for limit, key in checks:
        limit.leave(key)


class AddressHasher:
    """Client addresses as keyed hashes: the limiter can tell them apart, and no raw address is kept."""

    def __init__(self, key: Optional[bytes] = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def __call__(self, address: str) -> str:
        return hmac.new(self._key, address.encode(), hashlib.sha256).hexdigest()[:32]


def offered_payloads(events: Iterable[Dict[str, Any]]) -> Set[str]:
    """Button payloads of the assistant's last reply: bot events after the visitor's last message."""
    payloads: Set[str] = set()
    for event in reversed(list(events)):
        if event.get("event") == "user":
            break
        if event.get("event") == "bot":
            buttons = (event.get("data") or {}).get("buttons") or []
            payloads |= {str(button["payload"]) for button in buttons if button.get("payload")}
    return payloads


def as_typed_text(message: str, offered: Set[str]) -> str:
    """A typed '/intent{...}' drives the assistant only if it offered that very button; else it is plain text.

    Rasa reads any text that starts with '/' as an intent, so the slashes go.
    """
    if not message.startswith("/") or message in offered:
        return message
    return message.lstrip("/").strip()


def slow_down(retry_after: float) -> Refusal:
    seconds = max(1, round(retry_after))
    return Refusal(429, "slow_down", f"You're sending messages faster than I can read them. "
                                     f"Please wait {seconds} second{'s' if seconds != 1 else ''} and try again.")

