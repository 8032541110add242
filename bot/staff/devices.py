"""Device cookies: a browser that has logged in to an account is not held by the waits an attacker earns for it.

OWASP's defence against lockout by throttle ("Slow down online guessing
attacks with device cookies"): after a whole login (the second step included)
the inbox gives the browser a long-lived cookie, signed with a key from the
internal secret, naming a keyed hash of the email and a random nonce. A login
for that email that brings the cookie back counts its failures against the
device (the nonce's key), not the email, and waits only for the device and its
address (bot/staff/throttle.py). So an attacker without the cookie cannot keep
the owner out, and one with a stolen laptop is throttled per device. The
cookie says nothing of which email it is for, and it is worth nothing for
another email, after a year, or with one character changed.
"""
from __future__ import annotations

import secrets
from typing import Optional

from itsdangerous import BadData, URLSafeTimedSerializer

from bot.core.settings import Settings
from bot.store.crypto import keyed, secret_for

MAX_AGE_DAYS = 365


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_for(settings, b"medius-device-cookie"), salt="device")


def issue(settings: Settings, email: str) -> str:
    """A new device cookie's value for a browser that has just logged in to this (normalised) email."""
    return _serializer(settings).dumps({"e": keyed(settings, "device-email", email), "n": secrets.token_urlsafe(18)})


def nonce_for(settings: Settings, cookie: Optional[str], email: str) -> Optional[str]:
    """The nonce of a genuine, unexpired device cookie for this email; None for any other cookie or none."""
    if not cookie or not email or len(cookie) > 300:
        return None
    try:
        claim = _serializer(settings).loads(cookie, max_age=MAX_AGE_DAYS * 86400)
    except BadData:
        return None
    if not isinstance(claim, dict) or not isinstance(claim.get("n"), str) or not isinstance(claim.get("e"), str):
        return None
    if not secrets.compare_digest(claim["e"], keyed(settings, "device-email", email)):
        return None
    return claim["n"]
