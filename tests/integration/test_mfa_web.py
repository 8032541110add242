"""Staff two-step login over HTTP on a real web server: enrolment with a QR code, the code after the password,
recovery codes, and who must use it (admins; every account of a clinic that sets staff_mfa)."""
import dataclasses
import re

import pyotp
import pytest
import requests
import yaml
from sqlalchemy import select

from bot.core.paths import ROOT
from bot.staff import accounts as staff
from bot.store import audit
from bot.store.db import session_scope
from bot.store.models import AuditEntry, StaffAccount
from bot.web.app import create_app
from tests.support.inbox import PASSWORD, csrf
from tests.support.servers import WebServer, free_port


@pytest.fixture
def mfa_site(settings, tmp_path):
    """The web app for a clinic (boston) whose profile sets staff_mfa, one (stl) that does not, and an admin."""
    document = yaml.safe_load((ROOT / "data" / "clinics.yml").read_text())
    document["clinics"]["boston"]["staff_mfa"] = True
    clinics_file = tmp_path / "clinics.yml"
    clinics_file.write_text(yaml.safe_dump(document))
    settings = dataclasses.replace(settings, internal_token="i" * 32, clinics_file=clinics_file)
    staff.add_account(settings, "ann@stl.example", PASSWORD, "stl")
    staff.add_account(settings, "bea@boston.example", PASSWORD, "boston")
    staff.add_account(settings, "op@medius.example", PASSWORD, None, admin=True)
    with WebServer(create_app(settings), free_port()) as server:
        server.settings = settings
        yield server


def password_step(site, email):
    browser = requests.Session()
    form = browser.get(f"{site.url}/inbox/login")
    answer = browser.post(f"{site.url}/inbox/login", data={"email": email, "password": PASSWORD,
                                                           "next": "/inbox/leads", "csrf_token": csrf(form)})
    return browser, answer


def enrol_through_the_page(site, email):
    """Password, then the enrolment page: scan (read the key), confirm with a code; the secret and codes shown."""
    browser, page = password_step(site, email)
    assert page.url.startswith(f"{site.url}/inbox/mfa")
    secret = re.search(r'<code id="secret">([A-Z2-7]+)</code>', page.text).group(1)
    code = pyotp.TOTP(secret).now()
    done = browser.post(f"{site.url}/inbox/mfa", data={"code": code, "next": "/inbox/leads",
                                                       "csrf_token": csrf(page)})
    codes = re.findall(r"<li><code>([a-z0-9-]{14})</code></li>", done.text)
    return browser, code, done, secret, codes


def entries(site, action):
    with session_scope(site.settings.database_url) as session:
        return session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars().all()


def test_an_admin_must_enrol_before_any_inbox_page_and_sees_the_codes_once(mfa_site):
    site = mfa_site
    browser, page = password_step(site, "op@medius.example")
    assert page.status_code == 200 and page.url.startswith(f"{site.url}/inbox/mfa")
    assert "set it up now" in page.text and "<svg" in page.text and "<script" not in page.text.split("<main")[1]
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    for path in ("/inbox/leads", "/inbox/audit", "/inbox/leads.csv"):  # the password alone opens nothing else
        answer = browser.get(site.url + path, allow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/inbox/mfa", path
    assert browser.get(f"{site.url}/inbox/api/leads").status_code == 401
    wrong = browser.post(f"{site.url}/inbox/mfa", data={"code": "000000", "csrf_token": csrf(page)})
    assert wrong.status_code == 400 and "not right" in wrong.text

    waiting_cookie = browser.cookies.get("medius_inbox", path="/inbox")
    secret = re.search(r'<code id="secret">([A-Z2-7]+)</code>', page.text).group(1)
    done = browser.post(f"{site.url}/inbox/mfa", data={"code": pyotp.TOTP(secret).now(), "next": "/inbox/leads",
                                                       "csrf_token": csrf(page)})
    codes = re.findall(r"<li><code>([a-z0-9-]{14})</code></li>", done.text)
    assert done.status_code == 200 and len(set(codes)) == 10 and "only time they are shown" in done.text
    assert done.headers["cache-control"] == "no-store"
    assert browser.cookies.get("medius_inbox", path="/inbox") != waiting_cookie  # a new session, not the old one
    assert browser.get(f"{site.url}/inbox/leads").status_code == 200
    again = browser.get(f"{site.url}/inbox/mfa")
    assert "Two-step login is on" in again.text and not re.search(r"[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}", again.text)
    with session_scope(site.settings.database_url) as session:
        account = session.execute(select(StaffAccount).where(StaffAccount.email == "op@medius.example")).scalar_one()
        assert not any(code in str([r.code_hash for r in account.recovery_codes]) for code in codes)  # hashed
    assert len(entries(site, audit.MFA_ENROL)) == 1 and len(entries(site, audit.LOGIN)) == 1


def test_after_enrolment_the_password_alone_is_not_enough_and_no_code_works_twice(mfa_site):
    site = mfa_site
    _, used, _, _, codes = enrol_through_the_page(site, "op@medius.example")
    browser, page = password_step(site, "op@medius.example")
    assert page.url.startswith(f"{site.url}/inbox/login/code") and "Enter your code" in page.text
    assert browser.get(f"{site.url}/inbox/leads", allow_redirects=False).headers["location"] == "/inbox/login/code"
    replay = browser.post(f"{site.url}/inbox/login/code", data={"code": used, "csrf_token": csrf(page)})
    assert replay.status_code == 401 and "not right" in replay.text  # enrolment's code: never again
    ok = browser.post(f"{site.url}/inbox/login/code", data={"code": codes[0].upper(), "next": "/inbox/leads",
                                                            "csrf_token": csrf(page)})
    assert ok.status_code == 200 and ok.url == f"{site.url}/inbox/leads"

    other, page = password_step(site, "op@medius.example")
    spent = other.post(f"{site.url}/inbox/login/code", data={"code": codes[0], "csrf_token": csrf(page)})
    assert spent.status_code == 401  # a recovery code works once
    failed = [e.detail for e in entries(site, audit.LOGIN_FAILED)]
    assert failed == ["wrong two-step code", "wrong two-step code"]


def test_wrong_codes_slow_down_like_wrong_passwords(mfa_site):
    site = mfa_site
    enrol_through_the_page(site, "op@medius.example")
    browser, page = password_step(site, "op@medius.example")
    answers = [browser.post(f"{site.url}/inbox/login/code", data={"code": f"{n:06d}", "csrf_token": csrf(page)})
               for n in range(site.settings.inbox_lockout_attempts + 1)]
    assert "Too many tries" in answers[-1].text


def test_a_clinic_that_sets_staff_mfa_has_its_staff_enrol_and_others_log_in_as_before(mfa_site):
    site = mfa_site
    _, page = password_step(site, "bea@boston.example")
    assert page.url.startswith(f"{site.url}/inbox/mfa") and "set it up now" in page.text
    _, page = password_step(site, "ann@stl.example")
    assert page.url == f"{site.url}/inbox/leads" and "Leads for" in page.text


def test_anyone_may_turn_it_on_and_a_reset_makes_a_required_account_enrol_again(mfa_site):
    site = mfa_site
    browser, _ = password_step(site, "ann@stl.example")
    page = browser.get(f"{site.url}/inbox/mfa")
    assert "Turn on two-step login" in page.text and "set it up now" not in page.text
    secret = re.search(r'<code id="secret">([A-Z2-7]+)</code>', page.text).group(1)
    done = browser.post(f"{site.url}/inbox/mfa", data={"code": pyotp.TOTP(secret).now(), "password": PASSWORD,
                                                       "csrf_token": csrf(page)})
    assert len(re.findall(r"<li><code>", done.text)) == 10  # with the password: test_login_races.py without
    _, again = password_step(site, "ann@stl.example")
    assert again.url.startswith(f"{site.url}/inbox/login/code")

    enrol_through_the_page(site, "op@medius.example")
    staff.reset_mfa(site.settings, "op@medius.example")
    _, page = password_step(site, "op@medius.example")
    assert page.url.startswith(f"{site.url}/inbox/mfa") and "set it up now" in page.text
    assert len(entries(site, audit.MFA_RESET)) == 1
