"""What an outsider found in the staff inbox and its exports, tried again from outside against a real server.

Issue 28's findings, one test each: formulas in the CSV, errors that answered 500
without the security headers, the CSV file name taken from the query, weak
passwords, and visitors' links in staff emails.
"""
import csv
import io
import os
import subprocess
import sys

import pytest
import requests

from bot.core.paths import ROOT
from bot.web.app import SECURITY_HEADERS
from tests.support.inbox import log_in
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
