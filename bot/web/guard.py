"""What the chat endpoint accepts: checks on every request before it reaches the assistant.

Plain functions and a small limiter, so the rules are tested without a server.
Error messages are written for the visitor: the widget shows them as they are.
"""
from __future__ import annotations

import json
import re
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Callable, Deque, Optional, Union

from bot.clinics import Clinic, ClinicDirectory

MAX_MESSAGE_CHARS = 1000
MAX_BODY_BYTES = 16 * 1024
_SENDER = re.compile(r"[A-Za-z0-9_-]{8,64}")


@dataclass(frozen=True)
class ChatRequest:
    sender: str
    message: str
    clinic: Clinic


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


def parse_chat_request(body: bytes, origin: Optional[str], clinics: ClinicDirectory) -> Union[ChatRequest, Refusal]:
    """Check a widget POST: JSON object, sender id, message text and size, clinic, and the page's origin."""
    if len(body) > MAX_BODY_BYTES:
        return Refusal(413, "too_large", _TOO_LONG)
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return Refusal(400, "malformed", _UNREADABLE)
    if not isinstance(document, dict):
        return Refusal(400, "malformed", _UNREADABLE)
    sender = document.get("sender")
    if not isinstance(sender, str) or not _SENDER.fullmatch(sender):
        return Refusal(400, "bad_sender", "Sorry, this chat could not be identified. Please reload the page.")
    metadata = document.get("metadata")
    clinic_id = metadata.get("clinic") if isinstance(metadata, dict) else None
    # No clinic means the default one; a wrong id is a broken embed, and its leads must not go astray.
    clinic = clinics.default if clinic_id is None else clinics.get(clinic_id)
    if clinic is None:
        return Refusal(400, "unknown_clinic", _NOT_SET_UP)
    if origin is not None and origin.rstrip("/") not in clinic.allowed_origins:
        return Refusal(403, "origin_not_allowed", _NOT_SET_UP)
    message = document.get("message")
    if not isinstance(message, str):
        return Refusal(400, "malformed", _UNREADABLE)
    if not message.strip():
        return Refusal(400, "empty", "Please type a message first.")
    if len(message) > MAX_MESSAGE_CHARS:
        return Refusal(413, "too_long", _TOO_LONG)
    return ChatRequest(sender=sender, message=message, clinic=clinic)


class RateLimiter:
    """At most `limit` messages per key in any `window` seconds (a sliding window).

    Keys are sender ids; the oldest idle keys are dropped beyond `max_keys`, so memory stays bounded.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 50_000) -> None:
        self.limit, self.window, self.clock, self.max_keys = limit, window, clock, max_keys
        self._hits: "OrderedDict[str, Deque[float]]" = OrderedDict()

    def retry_after(self, key: str) -> Optional[float]:
        """Record a message; None if it may go ahead, else the seconds until it could."""
        now = self.clock()
        hits = self._hits.pop(key, None) or deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        self._hits[key] = hits
        if len(self._hits) > self.max_keys:
            self._hits.popitem(last=False)
        if len(hits) >= self.limit:
            return max(hits[0] + self.window - now, 0.1)
        hits.append(now)
        return None


def slow_down(retry_after: float) -> Refusal:
    seconds = max(1, round(retry_after))
    return Refusal(429, "slow_down", f"You're sending messages faster than I can read them. "
                                     f"Please wait {seconds} second{'s' if seconds != 1 else ''} and try again.")

