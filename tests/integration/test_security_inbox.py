"""What an outsider found in the staff inbox and its exports, tried again from outside against a real server.

Issue 28's findings, one test each: formulas in the CSV, errors that answered 500
without the security headers, the CSV file name taken from the query, weak
passwords, and visitors' links in staff emails.
"""
import csv
import dataclasses
import io
import os
import re
import statistics
import subprocess
import sys
import time

import pytest
import requests

from bot.core.paths import ROOT
from bot.staff import accounts as staff
from bot.web.app import SECURITY_HEADERS, create_app
from tests.support.inbox import PASSWORD, RECOVERY, csrf, log_in
from tests.support.servers import WebServer, free_port
from tests.unit.test_inbox import add

SITE = {"Origin": "http://localhost:8000"}


def cli(settings, *args, stdin="", **env):
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, input=stdin, capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, DATABASE_URL=settings.database_url, **env))


def test_a_formula_typed_as_a_best_time_comes_out_of_the_csv_as_text(site):
    add(site.settings, name="Fay Formula", preferred_time="-2+3+cmd|' /C calc'!A0")
    add(site.settings, name="+Hal Hyperlink", sender_id="hal",
        preferred_time='-1+1+HYPERLINK("http://evil.example/x","Call back now") evenings')
    add(site.settings, name="Tab Tess", sender_id="tess", preferred_time="\t=1+1", reason="\r@SUM(A1)")
    browser, _ = log_in(site)
    rows = list(csv.DictReader(io.StringIO(browser.get(f"{site.url}/inbox/leads.csv").text)))
    cells = [value for row in rows for value in row.values() if value]
    assert cells and not [cell for cell in cells if cell[0] in "=+-@\t\r"], cells
    assert {row["preferred_time"] for row in rows} >= {"'-2+3+cmd|' /C calc'!A0", "'\t=1+1"}
    assert {row["phone"] for row in rows} == {"tel:+1-314-555-0123"}  # readable, dialable, never a number


@pytest.mark.parametrize("path", [
    "/inbox/leads/18446744073709551616", "/inbox/leads/99999999999999999999/notes",
    "/inbox/leads?to=9999-12-31", "/inbox/leads?from=0001-01-01", "/inbox/leads.csv?to=9999-12-31",
    "/inbox/api/leads?to=9999-12-31", "/inbox/api/leads/18446744073709551616"])
def test_out_of_range_numbers_and_dates_never_answer_500(site, path):
    browser, _ = log_in(site)
    answer = browser.get(site.url + path, allow_redirects=False)
    assert answer.status_code < 500, (path, answer.status_code)
    assert all(answer.headers.get(name) == value for name, value in SECURITY_HEADERS.items()
               if name != "Content-Security-Policy") and "Content-Security-Policy" in answer.headers


def test_a_day_filter_means_what_it_says_or_is_refused_clearly(site):
    add(site.settings, name="Dora Dated")
    browser, _ = log_in(site)
    listed = browser.get(f"{site.url}/inbox/api/leads", params={"from": "9999-12-31"})
    assert listed.status_code == 200 and listed.json()["total"] == 0  # nothing is that late; not "everything"
    assert "Dora Dated" not in browser.get(f"{site.url}/inbox/leads.csv", params={"from": "9999-12-31"}).text
    admin, _ = log_in(site, "op@medius.example")
    for who, path in ((browser, "/inbox/leads"), (browser, "/inbox/leads.csv"), (browser, "/inbox/api/leads"),
                      (admin, "/inbox/audit"), (admin, "/inbox/audit.csv")):
        answer = who.get(site.url + path, params={"to": "next tuesday"})
        assert answer.status_code == 400 and "YYYY-MM-DD" in answer.text, path
    assert browser.get(f"{site.url}/inbox/api/leads", params={"to": "x"}).json()["error"] == "bad_filter"
    for params in ({"status": "bogus"}, {"urgency": "EMERGENCYY"}):  # a mistyped choice is never "everything"
        assert browser.get(f"{site.url}/inbox/leads.csv", params=params).status_code == 400
    assert admin.get(f"{site.url}/inbox/audit.csv", params={"lead": "9" * 30}).status_code == 400
    assert browser.get(f"{site.url}/inbox/api/leads", params={"urgency": "ROUTINE"}).json()["total"] == 1


def test_the_api_answers_a_missing_lead_in_json(site):
    browser, _ = log_in(site)
    for path in ("/inbox/api/leads/18446744073709551616", "/inbox/api/leads/424242", "/inbox/api/nothing"):
        answer = browser.get(site.url + path)
        assert answer.status_code == 404 and answer.json()["error"] == "not_found", path


def test_deeply_nested_json_on_the_chat_is_a_clear_400_with_the_security_headers(site):
    body = "[" * 5000 + "]" * 5000
    for document in (body, '{"sender": "abcdefgh1234", "message": ' + body + "}"):
        answer = requests.post(f"{site.url}/chat", data=document, headers={**SITE, "Content-Type": "application/json"})
        assert answer.status_code == 400 and answer.json()["error"] == "malformed"
        assert all(answer.headers.get(name) == value for name, value in SECURITY_HEADERS.items())


def test_the_admins_csv_filename_never_reflects_the_query(site):
    admin, _ = log_in(site, "op@medius.example")
    for clinic in ('a"; filename="evil.html', "stl\r\nSet-Cookie: x=1", "x" * 60 + "\n"):
        answer = admin.get(f"{site.url}/inbox/leads.csv", params={"clinic": clinic})
        assert answer.status_code == 200, clinic
        disposition = answer.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="leads-all-') and disposition.count('"') == 2
        assert "x=1" not in answer.headers.get("set-cookie", "")
    named = admin.get(f"{site.url}/inbox/leads.csv", params={"clinic": "boston"}).headers["content-disposition"]
    assert 'filename="leads-boston-' in named


@pytest.mark.parametrize("password, why", [
    ("aaaaaaaaaa", "too easy to guess"), ("password123", "common passwords"), ("iloveyou12", "common passwords"),
    ("Qwertyuiop1!", "common passwords"), ("newbie-nurse-2026", "email address"),
    ("physical therapy rocks", "clinic's name"), ("1234567890", "common passwords")])
def test_common_breached_and_personal_passwords_are_refused(site, password, why):
    made = cli(site.settings, "staff", "add", "--clinic", "stl", "--email", "newbie-nurse@stl.example",
               stdin=password + "\n")
    assert made.returncode == 1 and why in made.stderr, made.stderr
    assert log_in(site, "newbie-nurse@stl.example", password)[1].status_code == 401
    if why != "email address":  # a reset is checked as strictly (that password is Ann's only if it holds her email)
        reset = cli(site.settings, "staff", "reset-password", "--email", "ann@stl.example", stdin=password + "\n")
        assert reset.returncode == 1 and log_in(site)[1].url.endswith("/inbox/leads")


def test_visitors_words_in_staff_emails_are_quoted_labelled_and_not_clickable(site, smtp_sink):
    add(site.settings, name="Lead: http://evil.example/reset Ivy", sender_id="ivy",
        preferred_time="evenings\n\nLead: http://evil.example/inbox/leads/1 (open now) www.evil.example")
    cli(site.settings, "notify", SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_sink.port), SMTP_SECURITY="none")
    assert smtp_sink.messages
    body = smtp_sink.messages[0]["body"]
    assert "evil.example" not in body and "http://evil" not in body and "www.evil" not in body
    assert "Typed by the visitor" in body
    assert ("Preferred time: \u201cevenings Lead: http[:]//evil[.]example/inbox/leads/1 (open now) "
            "www[.]evil[.]example\u201d") in body
    # The one link in the message is the product's own, and comes before anything the visitor typed.
    links = [line for line in body.splitlines() if "http://" in line or "https://" in line]
    assert len(links) == 1 and links[0].startswith("Open the lead in the inbox: ")
    assert body.index("Open the lead") < body.index("Typed by the visitor")


@pytest.fixture
def guarded(settings, smtp_sink):
    """An inbox whose web server sends mail to the local SMTP sink."""
    settings = dataclasses.replace(settings, internal_token="i" * 32, smtp_host="127.0.0.1", smtp_port=smtp_sink.port,
                                   smtp_security="none")
    staff.add_account(settings, "ann@stl.example", PASSWORD, "stl")
    with WebServer(create_app(settings), free_port()) as server:
        server.settings = settings
        yield server


def attempt(site, email, password="not her password", browser=None):
    """One login POST, timed on its own: (status, the message shown, seconds); from a new browser unless given."""
    browser = browser or requests.Session()
    token = csrf(browser.get(f"{site.url}/inbox/login"))
    start = time.monotonic()
    answer = browser.post(f"{site.url}/inbox/login", data={"email": email, "password": password, "csrf_token": token})
    took = time.monotonic() - start
    refused = answer.status_code in (401, 429)  # wrong, or must wait (with Retry-After)
    message = answer.text.split('role="alert"', 1)[-1].split("</", 1)[0] if refused else ""
    return answer.status_code, message, took


def test_unknown_and_attacked_accounts_answer_alike_and_the_owner_is_told_not_locked_out(guarded, smtp_sink):
    known = [attempt(guarded, "ann@stl.example") for _ in range(6)]
    unknown = [attempt(guarded, "nobody@stl.example") for _ in range(6)]
    # The same words, try by try (the seconds left to wait count down as the tries go on).
    assert [(s, re.sub(r"\d+ seconds?", "N", m)) for s, m, _ in known] == \
           [(s, re.sub(r"\d+ seconds?", "N", m)) for s, m, _ in unknown]
    assert "not right" in known[0][1] and "Please wait" in known[5][1] and "locked" not in known[5][1]
    # ... and the same time: five wrong tries each check a password hash, the sixth none, for both.
    for tries in (slice(0, 5), slice(5, 6)):
        assert abs(statistics.mean(t for *_, t in known[tries]) - statistics.mean(t for *_, t in unknown[tries])) < 0.15
    time.sleep(2.5)
    assert log_in(guarded, "ann@stl.example")[1].url.endswith("/inbox/leads")  # the owner gets in: no lock
    deadline = time.monotonic() + 10
    while not smtp_sink.messages and time.monotonic() < deadline:
        time.sleep(0.1)
    [told] = smtp_sink.messages  # once, to the owner only (nobody@ has no owner)
    assert told["to"] == ["ann@stl.example"] and "failed logins" in told["subject"] and "not locked" in told["body"]


def test_one_address_guessing_many_emails_is_slowed_down(guarded):
    answers = [attempt(guarded, f"guess{n}@stl.example")[1] for n in range(guarded.settings.inbox_lockout_attempts * 4)]
    assert all("not right" in a for a in answers)
    assert "Please wait" in attempt(guarded, "fresh@stl.example")[1]
    assert "Please wait" in attempt(guarded, "ann@stl.example", PASSWORD)[1]  # from this address, for now


def owners_browser(site, email="ann@stl.example"):
    """A browser that has logged in to the account before (it holds the device cookie), logged out since."""
    browser, answer = log_in(site, email)
    assert answer.url.endswith("/inbox/leads") and browser.cookies.get("medius_device", path="/inbox")
    browser.post(f"{site.url}/inbox/logout", data={"csrf_token": csrf(browser.get(f"{site.url}/inbox/leads"))})
    return browser


def attacked(site, email="ann@stl.example", tries=6):
    """An attacker's wrong passwords for the email until it must wait."""
    answers = [attempt(site, email)[1] for _ in range(tries)]
    assert "Please wait" in answers[-1]


def test_the_owners_browser_logs_in_at_once_while_an_attacker_keeps_the_email_waiting(guarded):
    owner = owners_browser(guarded)
    attacked(guarded)
    assert "Please wait" in attempt(guarded, "ann@stl.example", PASSWORD)[1]  # a browser without the cookie waits
    status, _, _ = attempt(guarded, "ann@stl.example", PASSWORD, browser=owner)
    assert status == 200 and owner.get(f"{guarded.url}/inbox/leads").url.endswith("/inbox/leads")
    assert "Please wait" in attempt(guarded, "ann@stl.example", PASSWORD)[1]  # the attacker's failures stand


def test_a_device_cookie_for_another_email_or_tampered_with_does_not_help(guarded):
    staff.add_account(guarded.settings, "cat@stl.example", PASSWORD, "stl")
    cats = owners_browser(guarded, "cat@stl.example").cookies.get("medius_device", path="/inbox")
    annes = owners_browser(guarded).cookies.get("medius_device", path="/inbox")
    attacked(guarded)
    for cookie in (cats, annes[:-3] + ("xyz" if not annes.endswith("xyz") else "abc"), "a.forged.cookie"):
        browser = requests.Session()
        browser.cookies.set("medius_device", cookie, path="/inbox")
        assert "Please wait" in attempt(guarded, "ann@stl.example", PASSWORD, browser=browser)[1], cookie


def test_failures_with_a_device_cookie_throttle_that_device_and_tell_the_owner(guarded, smtp_sink):
    stolen = owners_browser(guarded)
    answers = [attempt(guarded, "ann@stl.example", browser=stolen)[1] for _ in range(6)]
    assert "not right" in answers[0] and "Please wait" in answers[5]
    assert "Please wait" in attempt(guarded, "ann@stl.example", PASSWORD, browser=stolen)[1]
    assert log_in(guarded)[1].url.endswith("/inbox/leads")  # the owner, at her new laptop, does not wait
    deadline = time.monotonic() + 10
    while not smtp_sink.messages and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [m["to"] for m in smtp_sink.messages] == [["ann@stl.example"]]


def test_the_device_cookie_holds_through_the_two_step_login(site):
    owner = owners_browser(site, "op@medius.example")
    attacked(site, "op@medius.example")
    status, _, _ = attempt(site, "op@medius.example", PASSWORD, browser=owner)
    assert status == 200 and owner.get(f"{site.url}/inbox/leads").url.endswith("/inbox/login/code")
    page = owner.get(f"{site.url}/inbox/login/code")
    done = owner.post(f"{site.url}/inbox/login/code", data={
        "code": RECOVERY["op@medius.example"].pop(), "next": "/inbox/leads", "csrf_token": csrf(page)})
    assert done.url.endswith("/inbox/leads"), done.text[:300]


def test_the_device_cookie_is_httponly_strict_and_host_prefixed_over_https(settings):
    settings = dataclasses.replace(settings, internal_token="i" * 32, inbox_base_url="https://inbox.example/inbox")
    staff.add_account(settings, "ann@stl.example", PASSWORD, "stl")
    with WebServer(create_app(settings), free_port()) as server:
        form = requests.get(f"{server.url}/inbox/login")
        pre_session = form.headers["set-cookie"].split(";", 1)[0]  # Secure: a client sends it over https only
        answer = requests.post(f"{server.url}/inbox/login", allow_redirects=False, headers={"Cookie": pre_session},
                               data={"email": "ann@stl.example", "password": PASSWORD, "csrf_token": csrf(form)})
    assert answer.status_code == 303
    [cookie] = [c for c in answer.raw.headers.getlist("set-cookie") if "medius_device" in c]
    assert cookie.startswith("__Host-medius_device=") and "Secure" in cookie and "Path=/;" in cookie + ";"
    assert "Domain" not in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Max-Age=31536000" in cookie
    # Behind a TLS proxy the request reaches us over http: the session cookie is Secure all the same
    [session] = [c for c in answer.raw.headers.getlist("set-cookie") if c.startswith("medius_inbox=")]
    assert "Secure" in session and "HttpOnly" in session
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")


def test_over_plain_http_there_is_no_hsts_and_no_secure_cookie(settings):
    """Local development on http://localhost: a Secure cookie would never come back, and HSTS would stick."""
    settings = dataclasses.replace(settings, internal_token="i" * 32, inbox_base_url="http://localhost:8000/inbox")
    with WebServer(create_app(settings), free_port()) as server:
        form = requests.get(f"{server.url}/inbox/login")
    assert "Strict-Transport-Security" not in form.headers and "Secure" not in form.headers["set-cookie"]


def test_a_csrf_token_from_another_browser_does_not_pass_with_my_session(site):
    lead_id = add(site.settings, name="Mary Jones")
    attacker = requests.Session()
    attackers_token = csrf(attacker.get(f"{site.url}/inbox/login"))
    victim, _ = log_in(site)
    cookies = {**attacker.cookies.get_dict(), "medius_inbox": victim.cookies.get("medius_inbox", path="/inbox")}
    forged = requests.post(f"{site.url}/inbox/leads/{lead_id}/status", cookies=cookies,
                           data={"status": "closed", "note": "forged", "csrf_token": attackers_token})
    assert forged.status_code == 403 and "form has expired" in forged.text
    own = csrf(victim.get(f"{site.url}/inbox/leads/{lead_id}"))
    assert own != attackers_token
    assert victim.post(f"{site.url}/inbox/leads/{lead_id}/status", data={"status": "contacted", "csrf_token": own}
                       ).status_code == 200
    assert victim.get(f"{site.url}/inbox/api/leads/{lead_id}").json()["status"] == "contacted"


def test_over_https_the_csrf_cookie_is_host_prefixed_and_secure(settings):
    settings = dataclasses.replace(settings, internal_token="i" * 32, inbox_base_url="https://inbox.example/inbox")
    with WebServer(create_app(settings), free_port()) as server:
        cookie = requests.get(f"{server.url}/inbox/login").headers["set-cookie"]
    assert cookie.startswith("__Host-medius_csrf=") and "Secure" in cookie and "Path=/;" in cookie + ";"
    assert "Domain" not in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
