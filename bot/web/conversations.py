"""Conversations a browser may continue: sender ids the web server issues, bound to a clinic by a signed token."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Callable, Optional

from itsdangerous import BadData, URLSafeTimedSerializer

from bot.core.clinics import Clinic
from bot.core.settings import Settings
from bot.store.crypto import secret_for

CONVERSATION_HEADER = "X-Medius-Conversation"
RETRY_WINDOW_SECONDS = 600  # as long as the web server keeps a turn's answer for a retry (TurnCache)
RETRY_KEY_MIN_LENGTH = 20  # the widget's message ids are 24 random hex digits; shorter ones may be guessed


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

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
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

    def new_sender(self, address: str, clinic: Clinic, message: str, message_id: Optional[str],
                   answered: Callable[[str], bool] = lambda sender: False, now: Optional[float] = None) -> str:
        """A new conversation's sender id: random, or for a first message with a long message_id, derived from
        it, the message, the clinic and the visitor's (hashed) address within a retry window.

        The widget's retry of a first message whose answer was lost has no token
        yet: the same derivation gives it the same conversation and the first
        attempt's answer, on any web worker. Whoever learns the message_id could
        replay it too, so the id must be long (random in the widget), and the
        derivation lasts only while a retry is plausible: a replay after the
        window, with another text, for another clinic or from another address
        starts a conversation of its own. `answered` tells whether this web
        worker still holds a sender's answer to the message: a retry that
        crosses into the next window keeps its conversation there.
        """
        if not message_id or len(message_id) < RETRY_KEY_MIN_LENGTH:
            return "w" + secrets.token_hex(16)
        window = self.window(now)
        earlier = self.derived(address, clinic, message, message_id, window - 1)
        if answered(earlier):
            return earlier
        return self.derived(address, clinic, message, message_id, window)

    def window(self, now: Optional[float] = None) -> int:
        return int((self.clock() if now is None else now) // RETRY_WINDOW_SECONDS)

    def derived(self, address: str, clinic: Clinic, message: str, message_id: str, window: int) -> str:
        text = hashlib.sha256(message.encode("utf-8")).hexdigest()
        material = f"{address}|{clinic.id}|{message_id}|{text}|{window}".encode()
        return "w" + hmac.new(self.key, material, hashlib.sha256).hexdigest()[:32]
