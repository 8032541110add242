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

A try is reserved before its password or code is checked (`reserve`): the
keys' rows are locked, their waits read and the try counted as a failure in one
short transaction, so however many tries arrive at once, in however many web
processes sharing the database, no more are checked than the keys allow. A
right password gives its count back (`refund`, or `succeeded` for a whole
login); a wrong one leaves it (`failed`). The slow password hash runs between
the two transactions, holding no lock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Dict, Iterable, List, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
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

    def all(self) -> Tuple[str, str]:
        return self.address, self.account

    def limits(self, settings: Settings) -> List[Tuple[str, int, float]]:
        """(key, free failures, longest wait in seconds) for each key."""
        return [(self.address, settings.inbox_lockout_attempts * ADDRESS_FREE_FACTOR,
                 settings.inbox_lockout_minutes * 60.0),
                (self.account, settings.inbox_lockout_attempts, settings.inbox_account_delay_seconds)]


def _aware(value: Optional[datetime]) -> Optional[datetime]:
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def hold(session: Session, keys: Iterable[str]) -> Dict[str, LoginThrottle]:
    """These keys' rows (made if missing), locked until the transaction ends: reading a count and writing it back
    is then one step for every process sharing the database.

    The insert comes first on purpose: on SQLite a write takes the database's write lock (waiting out other
    writers within the busy timeout), so no other write comes between this read and this write; on PostgreSQL
    SELECT ... FOR UPDATE locks the rows, in key order, so two transactions never wait on each other."""
    ordered = sorted(set(keys))
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    while True:
        for key in ordered:
            session.execute(dialect.insert(LoginThrottle).values(key=key, failures=0).on_conflict_do_nothing())
        rows = session.execute(select(LoginThrottle).where(LoginThrottle.key.in_(ordered))
                               .order_by(LoginThrottle.key).with_for_update()
                               .execution_options(populate_existing=True)).scalars()
        held = {row.key: row for row in rows}
        if len(held) == len(ordered):
            return held
        # PostgreSQL: a login that succeeded meanwhile deleted a row this one waited on (the insert saw it, the
        # lock found it gone). Each statement sees what is committed, so the insert now makes it afresh.


@dataclass(frozen=True)
class Attempt:
    """One try, reserved against its keys before its password or code is checked."""

    keys: Keys
    at: datetime
    wait: float = 0.0  # > 0: refused (nothing was counted), this many seconds to wait
    # Per key: (key, failures, last failure, next allowed) before the try was counted, and failures after.
    taken: Tuple[Tuple[str, int, Optional[datetime], Optional[datetime], int], ...] = ()


def _count(row: LoginThrottle, free: int, ceiling: float, now: datetime) -> None:
    last = _aware(row.last_failure_at)
    if last is None or now - last > FORGET_AFTER:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= free:
        row.next_at = now + timedelta(seconds=min(2.0 ** (row.failures - free + 1), ceiling))


def reserve(session: Session, settings: Settings, keys: Keys, now: datetime) -> Attempt:
    """Count this try as a failure before it is checked, unless a key must still wait (then nothing is counted).

    Call it first in its transaction (bot.store.db.session_scope), and commit before any slow check."""
    rows = hold(session, keys.all())
    waits = [((_aware(row.next_at) or now) - now).total_seconds() for row in rows.values()]
    if max(waits) > 0:
        return Attempt(keys, now, max(waits))
    before = {key: (row.failures, row.last_failure_at, row.next_at) for key, row in rows.items()}
    for key, free, ceiling in keys.limits(settings):
        _count(rows[key], free, ceiling, now)
    return Attempt(keys, now, 0.0, tuple((key, *before[key], rows[key].failures) for key in keys.all()))


def failed(session: Session, settings: Settings, attempt: Attempt) -> bool:
    """The reserved try was wrong: its count stands. True when the email (or device) is past its free failures
    and the owner has not been told within the hour (the caller tells them)."""
    key = attempt.keys.account
    row = hold(session, [key])[key]
    alerted = _aware(row.alerted_at)
    if row.failures >= settings.inbox_lockout_attempts and (alerted is None or attempt.at - alerted > ALERT_EVERY):
        row.alerted_at = attempt.at
        return True
    return False


def refund(session: Session, attempt: Attempt, keys: Optional[Iterable[str]] = None) -> None:
    """The reserved try was right: give its count back. Exactly, if no other try has counted since; otherwise
    one failure less, leaving any wait the others earned."""
    wanted = set(attempt.keys.all() if keys is None else keys)
    rows = hold(session, wanted)
    for key, failures, last, next_at, after in attempt.taken:
        if key not in wanted:
            continue
        row = rows[key]
        if row.failures == after and _aware(row.last_failure_at) == attempt.at:
            row.failures, row.last_failure_at, row.next_at = failures, last, next_at
        else:
            row.failures = max(0, row.failures - 1)


def forgive(session: Session, settings: Settings, email: str) -> None:
    """An administrator's new password: the email's waits end (the attacker's address keeps its own)."""
    row = session.get(LoginThrottle, email_key(settings, email))
    if row is not None:
        session.delete(row)


def succeeded(session: Session, attempt: Attempt) -> None:
    """A whole login: the email's (or the device's) count starts afresh; the address gets this try back and
    otherwise decays on its own, and a device's login leaves the email's to the attacker who earned it."""
    refund(session, attempt, [attempt.keys.address])
    row = session.get(LoginThrottle, attempt.keys.account)
    if row is not None:
        session.delete(row)


UNLISTED_PREFIX = "unlisted:"  # a row per address counting its failures for unknown emails not in the audit log


def unknown_email_entry(session: Session, settings: Settings, address: str, now: datetime) -> Optional[int]:
    """Whether a failed login for an unknown email from this address gets an audit entry: the first in each
    window (FORGET_AFTER) does, and says how many were counted since the last one (returned); the rest are
    only counted (None). Failures for real accounts are each entered; an unknown "email" names no one, and one
    entry an address an hour shows the guessing without letting anyone fill the six-year log."""
    key = UNLISTED_PREFIX + keyed(settings, "address", address)
    row = hold(session, [key])[key]
    last = _aware(row.last_failure_at)
    if last is not None and now - last <= FORGET_AFTER:
        row.failures += 1
        return None
    counted, row.failures, row.last_failure_at = row.failures, 0, now
    return counted
