"""The staff inbox as a browser-less client uses it: log in (with the second step where one is set up), read a
form's CSRF token."""
from __future__ import annotations

import re
from typing import Dict, List

import pyotp
import requests
from sqlalchemy import select

from bot.staff import mfa
from bot.store.db import session_scope
from bot.store.models import RecoveryCode, StaffAccount, utcnow

PASSWORD = "correct horse battery"
# Recovery codes of accounts enrolled with `enrol`, spent one per login: a TOTP code works once a 30 s step.
RECOVERY: Dict[str, List[str]] = {}


def csrf(page: requests.Response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def enrol(settings, email: str, codes: int = 40) -> str:
    """Two-step login on for an account, as if it had enrolled; its TOTP secret."""
    secret = pyotp.random_base32()
    recovery = [f"test-{email}-{n}" for n in range(codes)]
    with session_scope(settings.database_url) as session:
        account = session.execute(select(StaffAccount).where(StaffAccount.email == email)).scalar_one()
        account.mfa_secret, account.mfa_enabled_at = secret, utcnow()
        account.recovery_codes[:] = [RecoveryCode(code_hash=mfa._code_hash(code)) for code in recovery]
    RECOVERY[email] = recovery
    return secret


def log_in(site, email="ann@stl.example", password=PASSWORD, next_url="/inbox/leads"):
    browser = requests.Session()
    form = browser.get(f"{site.url}/inbox/login")
    answer = browser.post(f"{site.url}/inbox/login", data={"email": email, "password": password, "next": next_url,
                                                           "csrf_token": csrf(form)})
    if "/inbox/login/code" in answer.url and RECOVERY.get(email):
        answer = browser.post(f"{site.url}/inbox/login/code", data={
            "code": RECOVERY[email].pop(), "next": next_url, "csrf_token": csrf(answer)})
    return browser, answer
