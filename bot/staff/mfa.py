"""Staff two-step login: a TOTP code from an authenticator app (pyotp) after the password, or a recovery code.

Required for admin accounts and for every account of a clinic whose profile
sets `staff_mfa: true` (accounts.mfa_required); anyone else may turn it on.
Enrolment shows the secret as a QR code (segno, inline SVG: no image file, no
inline script or style, so the inbox's CSP holds) and confirms it with a
first code; then ten recovery codes are shown once and kept as SHA-256. A
code is good for its 30-second step and the one either side (clock drift),
never twice, however many sessions send it at once: a code is taken by a
conditional write whose row count says whether this request took it. Wrong
codes count in the login throttle like wrong passwords. Turning it on from a
logged-in session takes the account's password too, so a borrowed session
cannot lock its owner out.
"""
from __future__ import annotations

import hashlib
import io
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, List, Optional

import pyotp
import segno
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import OperationalError

from bot.core.settings import Settings
from bot.staff import devices, throttle
from bot.staff.accounts import (
    CODE,
    ENROL,
    FULL,
    LoginResult,
    Staff,
    _as_staff,
    start_session,
    token_hash,
    verify_password,
)
from bot.store import audit
from bot.store.db import database_busy, session_scope
from bot.store.models import RecoveryCode, StaffAccount, StaffSession, utcnow

ISSUER = "Medius inbox"
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str
    qr_svg: str  # markup to put in the page as it is


def qr_svg(text: str) -> str:
    """A QR code as an <svg> element: paths only, no script, no style attribute, no XML declaration."""
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", xmldecl=False, svgns=True, nl=False, scale=5, border=4,
                                     title="QR code for your authenticator app", svgclass="qr", lineclass=None)
    return out.getvalue().decode("utf-8")


def _code_hash(code: str) -> str:
    return hashlib.sha256(re.sub(r"[^a-z0-9]", "", code.lower()).encode()).hexdigest()


def new_recovery_codes() -> List[str]:
    """Ten codes of 12 letters and digits (60 bits each), written in groups of four."""
    codes = ["".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12)) for _ in range(RECOVERY_CODES)]
    return ["-".join(code[i:i + 4] for i in range(0, 12, 4)) for code in codes]


def _step(code: str, secret: str, last_step: Optional[int], now: datetime) -> Optional[int]:
    """The time step a six-digit code is right for (now's, or one either side), unless it was used already."""
    code = re.sub(r"\s", "", code)
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp, at = pyotp.TOTP(secret), now.timestamp()
    for offset in (0, -1, 1):
        step = math.floor(at / totp.interval) + offset
        if (last_step is None or step > last_step) and secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _taken(result: Any) -> bool:
    """Whether a conditional UPDATE changed its one row (a CursorResult; SQLAlchemy 1.4's stubs say Result)."""
    return int(result.rowcount or 0) == 1


def _check(session, account: StaffAccount, code: str, now: datetime) -> bool:
    """A TOTP code (then never again) or an unused recovery code (then spent) for this enrolled account.

    Each is taken by a conditional UPDATE: of several sessions sending one code at the same moment, in any
    number of processes, exactly one changes the row, and only that one is let in."""
    if not account.mfa_secret:
        return False
    step = _step(code, account.mfa_secret, account.mfa_last_step, now)
    if step is not None:
        return _taken(session.execute(
            update(StaffAccount).where(StaffAccount.id == account.id,
                                       or_(StaffAccount.mfa_last_step.is_(None), StaffAccount.mfa_last_step < step))
            .values(mfa_last_step=step).execution_options(synchronize_session=False)))
    hashed = _code_hash(code)
    for recovery in account.recovery_codes:
        if recovery.used_at is None and secrets.compare_digest(recovery.code_hash, hashed):
            return _taken(session.execute(
                update(RecoveryCode).where(RecoveryCode.id == recovery.id, RecoveryCode.used_at.is_(None))
                .values(used_at=now).execution_options(synchronize_session=False)))
    return False


def _pending(session, token: Optional[str], stage: str, now: datetime) -> Optional[StaffAccount]:
    """The account of a live session waiting at this stage."""
    if not token:
        return None
    row = session.execute(select(StaffSession, StaffAccount).join(StaffAccount, StaffAccount.id ==
                                                                   StaffSession.account_id)
                          .where(StaffSession.token_hash == token_hash(token))).first()
    if row is None or row[1].disabled or row[0].stage != stage:
        return None
    expires = row[0].expires_at if row[0].expires_at.tzinfo else row[0].expires_at.replace(tzinfo=now.tzinfo)
    return row[1] if expires > now else None


def _keys(settings: Settings, account: StaffAccount, address: str, device_cookie: Optional[str]) -> throttle.Keys:
    """As for the password: a device cookie for the account keys the device, not the email."""
    return throttle.Keys.of(settings, address, account.email, devices.nonce_for(settings, device_cookie, account.email))


def second_step(settings: Settings, token: Optional[str], code: str, address: str = "unknown",
                now: Optional[datetime] = None, device_cookie: Optional[str] = None) -> LoginResult:
    """After the password: the code (or a recovery code) turns the waiting session into a new, full one."""
    now = now or utcnow()
    try:
        with session_scope(settings.database_url) as session:
            account = _pending(session, token, CODE, now)
            if account is None:
                return LoginResult()
            attempt = throttle.reserve(session, settings, _keys(settings, account, address, device_cookie), now)
            if attempt.wait > 0:
                audit.record(session, settings, audit.LOGIN_FAILED, account.email, clinic=account.clinic,
                             address=address, at=now, detail="waiting after failed logins")
                return LoginResult(wait_seconds=max(1, math.ceil(attempt.wait)), stage=CODE)
            if not _check(session, account, code, now):
                alert = throttle.failed(session, settings, attempt)
                audit.record(session, settings, audit.LOGIN_FAILED, account.email, clinic=account.clinic,
                             address=address, at=now, detail="wrong two-step code")
                return LoginResult(alert_owner=account.email if alert else None, stage=CODE)
            return _finish(session, settings, account, token, attempt, address, now, "")
    except OperationalError as error:
        if not database_busy(error):
            raise
        return LoginResult(wait_seconds=1, stage=CODE)  # as bot.staff.accounts.log_in: refused, nothing checked


def _finish(session, settings: Settings, account: StaffAccount, token: Optional[str], attempt: throttle.Attempt,
            address: str, now: datetime, detail: str) -> LoginResult:
    """The login is whole: the waiting session goes, a new full one (a new token) takes its place."""
    assert token is not None
    session.execute(delete(StaffSession).where(StaffSession.token_hash == token_hash(token)))
    throttle.succeeded(session, attempt)
    account.failed_logins, account.locked_until, account.last_login_at = 0, None, now
    audit.record(session, settings, audit.LOGIN, account.email, clinic=account.clinic, address=address, at=now,
                 detail=detail)
    return LoginResult(staff=_as_staff(account), token=start_session(session, settings, account, now), stage=FULL,
                       device=devices.issue(settings, account.email))


def begin_enrolment(settings: Settings, who: Staff) -> Optional[Enrolment]:
    """The secret to scan, made once and kept until confirmed; None when two-step login is already on."""
    with session_scope(settings.database_url) as session:
        account = session.get(StaffAccount, who.id)
        if account is None or account.mfa_enabled_at:
            return None
        if not account.mfa_secret:
            account.mfa_secret = pyotp.random_base32()
        secret = account.mfa_secret
        uri = pyotp.TOTP(secret).provisioning_uri(name=account.email, issuer_name=ISSUER)
        return Enrolment(secret, uri, qr_svg(uri))


@dataclass(frozen=True)
class Enrolled:
    recovery_codes: List[str]
    token: Optional[str] = None  # a new full session's, when enrolment was the second step of a login
    wait_seconds: int = 0
    device: Optional[str] = None  # with the token: the browser's new device cookie
    wrong_password: bool = False  # turning it on from a logged-in session: the account's password was not right


def confirm_enrolment(settings: Settings, token: Optional[str], code: str, address: str = "unknown",
                      now: Optional[datetime] = None, device_cookie: Optional[str] = None,
                      password: Optional[str] = None) -> Optional[Enrolled]:
    """A first right code turns two-step login on and gives the recovery codes, to show once; None if wrong.

    From a logged-in session (not the second step of a login, whose password was just checked) the account's
    password must come too: whoever borrows a session must not be able to lock its owner out. The password and
    the code count in the login throttle as a login's do."""
    now = now or utcnow()
    with session_scope(settings.database_url) as session:
        account = _pending(session, token, ENROL, now)
        completing_login = account is not None
        if account is None:
            account = _pending(session, token, FULL, now)
        if account is None or account.mfa_enabled_at or not account.mfa_secret:
            return None
        attempt = throttle.reserve(session, settings, _keys(settings, account, address, device_cookie), now)
        if attempt.wait > 0:
            return Enrolled([], wait_seconds=max(1, math.ceil(attempt.wait)))
        account_id, hashed = account.id, account.password_hash
    # The hash outside any transaction, as at login: the try is already counted.
    password_right = completing_login or verify_password(hashed, password or "")
    with session_scope(settings.database_url) as session:
        account = session.get(StaffAccount, account_id)
        if account is None or account.mfa_enabled_at or not account.mfa_secret:
            return None
        if not password_right:
            throttle.failed(session, settings, attempt)
            audit.record(session, settings, audit.LOGIN_FAILED, account.email, clinic=account.clinic,
                         address=address, at=now, detail="wrong password to turn on two-step login")
            return Enrolled([], wrong_password=True)
        step = _step(code, account.mfa_secret, None, now)
        if step is None:
            throttle.failed(session, settings, attempt)
            return None
        # A conditional write: two confirmations at once (two tabs, a replay) enrol once, with one set of codes.
        claimed = session.execute(update(StaffAccount).where(
            StaffAccount.id == account_id, StaffAccount.mfa_enabled_at.is_(None)).values(
            mfa_enabled_at=now, mfa_last_step=step).execution_options(synchronize_session="fetch"))
        if not _taken(claimed):
            return None
        codes = new_recovery_codes()
        account.recovery_codes[:] = [RecoveryCode(code_hash=_code_hash(c)) for c in codes]
        audit.record(session, settings, audit.MFA_ENROL, account.email, clinic=account.clinic, address=address,
                     at=now, detail=f"{len(codes)} recovery codes")
        if not completing_login:
            throttle.refund(session, attempt)
            return Enrolled(codes)
        finished = _finish(session, settings, account, token, attempt, address, now,
                           "after setting up two-step login")
        return Enrolled(codes, finished.token, device=finished.device)


def enabled(settings: Settings, who: Staff) -> bool:
    with session_scope(settings.database_url) as session:
        account = session.get(StaffAccount, who.id)
        return bool(account and account.mfa_enabled_at)
