"""Conversations a browser may continue: sender ids the web server issues, bound to a clinic by a signed token."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Optional

from itsdangerous import BadData, URLSafeTimedSerializer

from bot.core.clinics import Clinic
from bot.core.settings import Settings
from bot.store.crypto import secret_for

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
