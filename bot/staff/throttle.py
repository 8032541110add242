"""Failed staff logins slow further tries down, per address and per email (or device), the same whether the
account exists.

A hard lock after five failures let anyone lock any staff member out, and told
them which emails had accounts ("locked" came back at once, "not right" only
after a password hash). Here a key, the keyed hash of a client address or of
an email as typed, gets a few free failures an hour, then must wait before its
next try: one second, doubling with each further failure, up to a ceiling.
Known and unknown emails count alike, so the answers and their timing tell an
attacker nothing; guessing from one address soon waits the address's ceiling
(a quarter of an hour).

The email's wait alone still let an attacker who kept failing for an account
hold its owner's right password back a minute at a time. So a browser that
brings a genuine device cookie for the email it tries (bot/staff/devices.py,
OWASP's device cookies) is keyed by its device instead: the email's wait does
not hold it and its failures count against the device, with the email's
allowance and ceiling, so a stolen laptop is throttled too. The address's key
applies either way, and a device's failures alert the owner as an email's do.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import List, Optional, Tuple

from sqlalchemy.orm import Session

from bot.core.settings import Settings
from bot.store.crypto import keyed
from bot.store.models import LoginThrottle

FORGET_AFTER = timedelta(hours=1)  # a key with no failure for this long starts afresh
ADDRESS_FREE_FACTOR = 4  # an address (a clinic's shared office line) gets more free failures than one email
ALERT_EVERY = timedelta(hours=1)


def email_key(settings: Settings, email: str) -> str:
    return "email:" + keyed(settings, "email", email)


@dataclass(frozen=True)
class Keys:
    address: str
    account: str  # the email's key, or the device's for a browser with a genuine device cookie for the email

    @classmethod
    def of(cls, settings: Settings, address: str, email: str, device: Optional[str] = None) -> "Keys":
        """device: the nonce of a device cookie already checked for this email (devices.nonce_for)."""
        account = "device:" + keyed(settings, "device", device) if device else email_key(settings, email)
        return cls("address:" + keyed(settings, "address", address), account)

    def limits(self, settings: Settings) -> List[Tuple[str, int, float]]:
        """(key, free failures, longest wait in seconds) for each key."""
        return [(self.address, settings.inbox_lockout_attempts * ADDRESS_FREE_FACTOR,
                 settings.inbox_lockout_minutes * 60.0),
                (self.account, settings.inbox_lockout_attempts, settings.inbox_account_delay_seconds)]


def _aware(value: Optional[datetime]) -> Optional[datetime]:
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def wait_seconds(session: Session, keys: Keys, now: datetime) -> float:
    """How long these keys must still wait before a password is even checked (0: go ahead)."""
    waits = [0.0]
    for key in (keys.address, keys.account):
        row = session.get(LoginThrottle, key)
        allowed = _aware(row.next_at) if row else None
        if allowed and allowed > now:
            waits.append((allowed - now).total_seconds())
    return max(waits)


def failed(session: Session, settings: Settings, keys: Keys, now: datetime) -> bool:
    """Count a failure against both keys; True when the email (or device) has just passed its free failures
    and the owner has not been told within the hour (the caller tells them)."""
    alert = False
    for key, free, ceiling in keys.limits(settings):
        row = session.get(LoginThrottle, key)
        if row is None:
            row = LoginThrottle(key=key, failures=0)
            session.add(row)
        last = _aware(row.last_failure_at)
        if last is None or now - last > FORGET_AFTER:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        if row.failures >= free:
            row.next_at = now + timedelta(seconds=min(2.0 ** (row.failures - free + 1), ceiling))
            alerted = _aware(row.alerted_at)
            if key == keys.account and (alerted is None or now - alerted > ALERT_EVERY):
                row.alerted_at, alert = now, True
    return alert


def forgive(session: Session, settings: Settings, email: str) -> None:
    """An administrator's new password: the email's waits end (the attacker's address keeps its own)."""
    row = session.get(LoginThrottle, email_key(settings, email))
    if row is not None:
        session.delete(row)


def succeeded(session: Session, keys: Keys) -> None:
    """A whole login: the email's (or the device's) count starts afresh; the address's decays on its own, and a
    device's login leaves the email's to the attacker who earned it."""
    row = session.get(LoginThrottle, keys.account)
    if row is not None:
        session.delete(row)
