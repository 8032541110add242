"""Staff accounts, their browser sessions, and clinics' API tokens for the inbox.

Passwords are hashed with argon2id (argon2-cffi). Session and API tokens are
long random strings, so a SHA-256 of them is enough to store: nobody can guess
one from its hash, and checking one costs nothing on every request.
"""
from __future__ import annotations

import hashlib
import logging
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import List, Optional, Tuple, overload

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.core.data import clinics_for
from bot.core.settings import Settings
from bot.leads.notify import send_email
from bot.staff import devices, throttle
from bot.staff.passwords import StaffError, check_password
from bot.store import audit
from bot.store.db import database_busy, session_scope
from bot.store.models import ApiToken, StaffAccount, StaffSession, utcnow

logger = logging.getLogger(__name__)

FULL, CODE, ENROL = "full", "code", "enrol"  # a session's stage (StaffSession.stage)
PENDING_MINUTES = 10  # how long a password stays good for its second step
_hasher = PasswordHasher()
# Verified when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Staff:
    """Who is logged in, and which clinic's leads they may see.

    Three roles: staff (a clinic, not admin) work their clinic's leads; a clinic's
    admin (a clinic and admin) also reads its audit log; an operator (admin, no
    clinic) sees every clinic's leads and audit log.
    """

    id: int
    email: str
    clinic: Optional[str]
    is_admin: bool

    @property
    def operator(self) -> bool:
        return self.is_admin and self.clinic is None

    def sees(self, clinic: str) -> bool:
        return self.operator or clinic == self.clinic

    @property
    def role(self) -> str:
        return "operator" if self.operator else "clinic admin" if self.is_admin else "staff"


@dataclass(frozen=True)
class LoginResult:
    staff: Optional[Staff] = None
    token: Optional[str] = None
    wait_seconds: int = 0  # > 0: too many failures from this address or for this email; try again after
    alert_owner: Optional[str] = None  # an email to tell that someone keeps failing to log in to their account
    stage: str = FULL  # the session's: FULL, or CODE / ENROL when a second step must follow the password
    device: Optional[str] = None  # a new device cookie's value, after a whole login (bot/staff/devices.py)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@overload
def _aware(value: datetime) -> datetime: ...
@overload
def _aware(value: None) -> None: ...
def _aware(value: Optional[datetime]) -> Optional[datetime]:
    """SQLite gives back naive datetimes; every time here is UTC."""
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def _as_staff(account: StaffAccount) -> Staff:
    return Staff(account.id, account.email, account.clinic, bool(account.is_admin))


def normal_email(email: str) -> str:
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise StaffError(f"not an email address: {email!r}")
    return email


def _clinic_name(settings: Settings, clinic: Optional[str]) -> str:
    found = clinics_for(settings).get(clinic) if clinic else None
    # Its id, name, city and phone: the words an attacker tries first for a clinic's accounts.
    phone = re.sub(r"\D", "", found.phone or "") if found else ""
    return f"{found.id} {found.name} {found.city} {phone}" if found else (clinic or "")


# --- accounts (the command line) ---

def display_name(name: Optional[str]) -> Optional[str]:
    """A staff member's name as visitors read it in a live chat: one line of at most 64 characters, or None."""
    if name is None:
        return None
    name = " ".join(name.split())
    if not name or len(name) > 64 or any(not c.isprintable() for c in name):
        raise StaffError("a display name is one line of 1 to 64 printable characters")
    return name


def add_account(settings: Settings, email: str, password: str, clinic: Optional[str], admin: bool = False,
                actor: str = audit.COMMAND_LINE, name: Optional[str] = None) -> Staff:
    """A new account: staff of a clinic, that clinic's admin (admin with a clinic), or an operator (admin alone).

    `name` is what visitors read in a live chat; without it, a name made from the email (bot/core/live_chat.py).
    """
    email = normal_email(email)
    name = display_name(name)
    password = check_password(password, email, _clinic_name(settings, clinic))
    if not admin and not clinic:
        raise StaffError("an account needs --clinic (or --admin for one that sees every clinic)")
    with session_scope(settings.database_url) as session:
        if session.execute(select(StaffAccount.id).where(StaffAccount.email == email)).first():
            raise StaffError(f"an account for {email} already exists")
        account = StaffAccount(email=email, clinic=clinic, is_admin=admin, password_hash=_hasher.hash(password),
                               disabled=False, failed_logins=0, display_name=name)
        session.add(account)
        session.flush()
        added = _as_staff(account)
        audit.record(session, settings, audit.ACCOUNT_ADD, actor, clinic=clinic, detail=f"{email} as {added.role}")
        return added


def list_accounts(settings: Settings) -> List[dict]:
    with session_scope(settings.database_url) as session:
        return [{"email": a.email, "clinic": a.clinic or "(all)", "admin": bool(a.is_admin),
                 "mfa": bool(a.mfa_enabled_at),
                 "disabled": bool(a.disabled),
                 "last_login": _aware(a.last_login_at).isoformat(timespec="minutes") if a.last_login_at else ""}
                for a in session.execute(select(StaffAccount).order_by(StaffAccount.email)).scalars()]


def _account(session, email: str) -> StaffAccount:
    query = select(StaffAccount).where(StaffAccount.email == normal_email(email))
    account = session.execute(query).scalar_one_or_none()
    if account is None:
        raise StaffError(f"no account for {email}")
    return account


def disable_account(settings: Settings, email: str, actor: str = audit.COMMAND_LINE) -> None:
    """Disabled at once: its sessions end too."""
    with session_scope(settings.database_url) as session:
        account = _account(session, email)
        account.disabled = True
        session.execute(delete(StaffSession).where(StaffSession.account_id == account.id))
        audit.record(session, settings, audit.ACCOUNT_DISABLE, actor, clinic=account.clinic, detail=account.email)


def reset_mfa(settings: Settings, email: str, actor: str = audit.COMMAND_LINE) -> None:
    """Two-step login off, for a lost authenticator: its recovery codes and sessions go too; it enrols again."""
    with session_scope(settings.database_url) as session:
        account = _account(session, email)
        account.mfa_secret, account.mfa_enabled_at, account.mfa_last_step = None, None, None
        account.recovery_codes.clear()
        session.execute(delete(StaffSession).where(StaffSession.account_id == account.id))
        audit.record(session, settings, audit.MFA_RESET, actor, clinic=account.clinic, detail=account.email)


def reset_password(settings: Settings, email: str, password: str, actor: str = audit.COMMAND_LINE) -> None:
    """A new password also ends every session of the account and the waits its failed logins earned."""
    with session_scope(settings.database_url) as session:
        account = _account(session, email)
        check_password(password, account.email, _clinic_name(settings, account.clinic))
        account.password_hash = _hasher.hash(password)
        account.failed_logins, account.locked_until, account.disabled = 0, None, False
        throttle.forgive(session, settings, account.email)
        session.execute(delete(StaffSession).where(StaffSession.account_id == account.id))
        audit.record(session, settings, audit.ACCOUNT_PASSWORD, actor, clinic=account.clinic,
                     detail=f"new password for {account.email}")


# --- logging in (the inbox) ---

def mfa_required(settings: Settings, account: StaffAccount) -> bool:
    """Admin accounts, and every account of a clinic whose profile sets staff_mfa, log in with a second step."""
    if account.is_admin:
        return True
    clinic = clinics_for(settings).get(account.clinic) if account.clinic else None
    return bool(clinic and clinic.staff_mfa)


def start_session(session: Session, settings: Settings, account: StaffAccount, now: datetime,
                  stage: str = FULL) -> str:
    """A new session token for the account: a full one, or one that opens only its second step, for minutes."""
    token = secrets.token_urlsafe(32)
    minutes = settings.inbox_session_minutes if stage == FULL else PENDING_MINUTES
    session.add(StaffSession(token_hash=token_hash(token), account_id=account.id, created_at=now, stage=stage,
                             expires_at=now + timedelta(minutes=minutes)))
    return token

def log_in(settings: Settings, email: str, password: str, address: str = "unknown",
           now: Optional[datetime] = None, device_cookie: Optional[str] = None) -> LoginResult:
    """A session for the right email and password, unless this address or email must wait (bot/staff/throttle.py).

    An unknown, disabled or existing email is answered alike, in words and in time:
    each wrong try checks one password hash, each try that must wait checks none.
    A browser's device cookie for this email puts its device's wait in place of the email's.
    The try is reserved in the throttle before its password is checked, in a transaction of its own, and the
    hash is checked outside any transaction, so that concurrent tries neither pass the throttle's allowance nor
    hold the database's lock for a hash's time.
    """
    now = now or utcnow()
    try:
        email = normal_email(email)
    except StaffError:
        email = ""
    keys = throttle.Keys.of(settings, address, email or "(not an email)",
                            devices.nonce_for(settings, device_cookie, email))
    try:
        with session_scope(settings.database_url) as session:
            attempt = throttle.reserve(session, settings, keys, now)  # first: it takes the write lock
            account = session.execute(select(StaffAccount).where(StaffAccount.email == email)).scalar_one_or_none() \
                if email else None
            if attempt.wait > 0:
                _record_failure(session, settings, account, address, now, "waiting after failed logins")
                return LoginResult(wait_seconds=max(1, math.ceil(attempt.wait)))
            usable = account is not None and not account.disabled
            hashed, account_id = (account.password_hash if usable and account else _DUMMY_HASH), \
                (account.id if account else None)
        right = verify_password(hashed, password) and usable
        with session_scope(settings.database_url) as session:
            return _after_password(session, settings, attempt, account_id, right, password, address, now)
    except OperationalError as error:
        if not database_busy(error):
            raise
        # Too many writers at once for SQLite: the try is refused, as one that must wait, and checks no hash.
        logger.warning("Login refused: the database was busy")
        return LoginResult(wait_seconds=1)


def _record_failure(session: Session, settings: Settings, account: Optional[StaffAccount], address: str,
                    now: datetime, why: str) -> None:
    """A failed login in the audit log: each one for a known account; for unknown emails, one an address an
    hour with the count since the last (throttle.unknown_email_entry), so guessing cannot flood the log."""
    if account is None:
        unlisted = throttle.unknown_email_entry(session, settings, address, now)
        if unlisted is None:
            return
        if unlisted:
            why += f"; {unlisted} more for unknown emails from this address before this, counted, not listed"
    # Only a known account is named: an unknown "email" may be anything, a password in the wrong box too.
    audit.record(session, settings, audit.LOGIN_FAILED, account.email if account else "unknown account",
                 clinic=account.clinic if account else None, address=address, at=now, detail=why)


def _after_password(session: Session, settings: Settings, attempt: throttle.Attempt, account_id: Optional[int],
                    right: bool, password: str, address: str, now: datetime) -> LoginResult:
    """The reserved try's outcome: a wrong password's count stands; a right one starts a session."""
    account = session.get(StaffAccount, account_id) if account_id is not None else None
    if not right or account is None or account.disabled:
        alert = throttle.failed(session, settings, attempt)  # before the audit entry: the throttle's lock order
        _record_failure(session, settings, account, address, now,
                        "disabled account" if account and account.disabled else "wrong email or password")
        if alert and account and not account.disabled:
            logger.warning("Repeated failed logins for staff account %s; telling its owner", account.id)
            return LoginResult(alert_owner=account.email)
        return LoginResult()
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    session.execute(delete(StaffSession).where(StaffSession.expires_at < now))  # tidy up old ones
    stage = CODE if account.mfa_enabled_at else ENROL if mfa_required(settings, account) else FULL
    if stage != FULL:  # the throttle forgives only a whole login: a right password alone resets no count
        throttle.refund(session, attempt)
        return LoginResult(staff=_as_staff(account), token=start_session(session, settings, account, now, stage),
                           stage=stage)
    throttle.succeeded(session, attempt)
    account.failed_logins, account.locked_until, account.last_login_at = 0, None, now
    audit.record(session, settings, audit.LOGIN, account.email, clinic=account.clinic, address=address, at=now)
    return LoginResult(staff=_as_staff(account), token=start_session(session, settings, account, now),
                       device=devices.issue(settings, account.email))


ATTACK_SUBJECT = "Medius inbox: repeated failed logins to your account"
ATTACK_BODY = """Someone has typed a wrong password for your Medius inbox account ({email}) several times
in the last hour. Further tries are being slowed down; your account is not locked.

If it was you, there is nothing to do. If not, tell your administrator: they can see the
failed logins in the inbox's access log and set you a new password.
"""


def tell_owner(settings: Settings, email: str) -> None:
    """Email an account's owner that someone keeps failing to log in to it; never raises (the login goes on)."""
    try:
        send_email(settings, email, ATTACK_SUBJECT, ATTACK_BODY.format(email=email))
    except Exception as error:  # noqa: BLE001 - mail may be down: the throttle protects the account anyway
        logger.warning("Could not tell a staff member about failed logins: %s", type(error).__name__)


def verify_password(hashed: str, password: str) -> bool:
    """Whether the password is the one hashed (argon2id); a malformed hash is never right."""
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def session_staff(settings: Settings, token: Optional[str], now: Optional[datetime] = None) -> Optional[Staff]:
    """The staff member a session cookie belongs to, or None if it is unknown, expired, disabled or not full."""
    found = session_stage(settings, token, now)
    return found[0] if found and found[1] == FULL else None


def session_stage(settings: Settings, token: Optional[str],
                  now: Optional[datetime] = None) -> Optional[Tuple[Staff, str]]:
    """(who, stage) for a live session cookie of an enabled account, whatever its stage; None otherwise."""
    if not token:
        return None
    with session_scope(settings.database_url) as session:
        row = session.execute(
            select(StaffSession, StaffAccount).join(StaffAccount, StaffAccount.id == StaffSession.account_id)
            .where(StaffSession.token_hash == token_hash(token))).first()
        if row is None:
            return None
        staff_session, account = row
        if account.disabled or _aware(staff_session.expires_at) <= (now or utcnow()):
            session.delete(staff_session)
            return None
        return _as_staff(account), staff_session.stage


def log_out(settings: Settings, token: Optional[str], address: Optional[str] = None) -> None:
    if token:
        with session_scope(settings.database_url) as session:
            account = session.execute(select(StaffAccount).join(StaffSession, StaffSession.account_id ==
                                                                StaffAccount.id)
                                      .where(StaffSession.token_hash == token_hash(token))).scalar_one_or_none()
            session.execute(delete(StaffSession).where(StaffSession.token_hash == token_hash(token)))
            if account is not None:
                audit.record(session, settings, audit.LOGOUT, account.email, clinic=account.clinic, address=address)


# --- API tokens (the command line makes them, integrations use them) ---

def add_token(settings: Settings, clinic: str, label: str, actor: str = audit.COMMAND_LINE) -> tuple:
    """A new token for the clinic: (id, token). The token is shown once and stored only as a hash."""
    token = "mdt_" + secrets.token_urlsafe(32)
    with session_scope(settings.database_url) as session:
        row = ApiToken(clinic=clinic, label=(label or "integration")[:100], token_hash=token_hash(token))
        session.add(row)
        session.flush()
        audit.record(session, settings, audit.TOKEN_ADD, actor, clinic=clinic, detail=f"api token {row.id}")
        return row.id, token


def list_tokens(settings: Settings) -> List[dict]:
    with session_scope(settings.database_url) as session:
        return [{"id": t.id, "clinic": t.clinic, "label": t.label,
                 "created": _aware(t.created_at).isoformat(timespec="minutes"),
                 "last_used": _aware(t.last_used_at).isoformat(timespec="minutes") if t.last_used_at else "",
                 "revoked": bool(t.revoked_at)}
                for t in session.execute(select(ApiToken).order_by(ApiToken.id)).scalars()]


def revoke_token(settings: Settings, token_id: int, actor: str = audit.COMMAND_LINE) -> bool:
    with session_scope(settings.database_url) as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            return False
        row.revoked_at = row.revoked_at or utcnow()
        audit.record(session, settings, audit.TOKEN_REVOKE, actor, clinic=row.clinic, detail=f"api token {row.id}")
        return True


def token_owner(settings: Settings, token: Optional[str]) -> Optional[Tuple[int, str]]:
    """(id, clinic) of an API token that is not revoked."""
    if not token:
        return None
    with session_scope(settings.database_url) as session:
        row = session.execute(select(ApiToken).where(ApiToken.token_hash == token_hash(token),
                                                     ApiToken.revoked_at.is_(None))).scalar_one_or_none()
        if row is None:
            return None
        row.last_used_at = utcnow()
        return row.id, row.clinic


def token_clinic(settings: Settings, token: Optional[str]) -> Optional[str]:
    """The clinic an API token (not revoked) belongs to."""
    owner = token_owner(settings, token)
    return owner[1] if owner else None
