"""The inbox over HTTP, on a real uvicorn server and database: logging in, access, CSRF, the API, live updates."""
import json
import os
import re
import subprocess
import sys
import threading
import time
from datetime import timedelta

import httpx
import requests
from sqlalchemy import update

from bot.core.paths import ROOT
from bot.leads import content_gaps as gaps
from bot.staff import accounts as staff
from bot.store.db import session_scope
from bot.store.models import StaffSession, utcnow
from tests.support.inbox import PASSWORD, csrf, log_in
from tests.unit.test_inbox import add


def test_an_inbox_page_without_a_session_goes_to_the_login_and_back_after_it(site):
    lead_id = add(site.settings, name="Mary Jones")
    browser = requests.Session()
    first = browser.get(f"{site.url}/inbox/leads/{lead_id}", allow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == f"/inbox/login?next=%2Finbox%2Fleads%2F{lead_id}"
    form = browser.get(site.url + first.headers["location"])
    assert f'name="next" value="/inbox/leads/{lead_id}"' in form.text
    answer = browser.post(f"{site.url}/inbox/login", data={"email": "ann@stl.example", "password": PASSWORD,
                                                           "next": f"/inbox/leads/{lead_id}", "csrf_token": csrf(form)})
    assert answer.status_code == 200 and answer.url.endswith(f"/inbox/leads/{lead_id}")
    assert "Mary Jones" in answer.text and 'href="tel:+13145550123"' in answer.text


def test_the_session_cookie_is_httponly_lax_and_scoped_to_the_inbox(site):
    _, answer = log_in(site)
    cookie = next(h for h in answer.history[0].raw.headers.getlist("set-cookie") if h.startswith("medius_inbox="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/inbox" in cookie
    assert "Secure" not in cookie  # plain http here; over https the cookie is Secure
    assert answer.headers["Cache-Control"] == "no-store"


def test_after_login_only_inbox_paths_are_followed(site):
    _, answer = log_in(site, next_url="https://evil.example/")
    assert answer.url == f"{site.url}/inbox/leads"
    _, answer = log_in(site, next_url="//evil.example/inbox")
    assert answer.url == f"{site.url}/inbox/leads"


def test_a_wrong_password_is_refused_with_a_clear_message(site):
    browser, answer = log_in(site, password="wrong password")
    assert answer.status_code == 401 and "email or password is not right" in answer.text
    assert browser.get(f"{site.url}/inbox/leads", allow_redirects=False).status_code == 303


def test_a_form_post_without_the_csrf_token_is_refused(site):
    lead_id = add(site.settings, name="Mary Jones")
    browser, _ = log_in(site)
    page = browser.get(f"{site.url}/inbox/leads/{lead_id}")
    refused = browser.post(f"{site.url}/inbox/leads/{lead_id}/status", data={"status": "contacted"})
    forged = browser.post(f"{site.url}/inbox/leads/{lead_id}/status",
                          data={"status": "contacted", "csrf_token": csrf(page)[:-3] + "abc"})
    assert refused.status_code == 403 and forged.status_code == 403 and "form has expired" in refused.text
    assert requests.post(f"{site.url}/inbox/login", data={"email": "ann@stl.example", "password": PASSWORD}
                         ).status_code == 403  # the login form too
    ok = browser.post(f"{site.url}/inbox/leads/{lead_id}/status",
                      data={"status": "contacted", "csrf_token": csrf(page)})
    assert ok.status_code == 200 and "Status saved." in ok.text


def test_closing_without_a_note_is_explained_and_changes_nothing(site):
    lead_id = add(site.settings, name="Mary Jones")
    browser, _ = log_in(site)
    token = csrf(browser.get(f"{site.url}/inbox/leads/{lead_id}"))
    answer = browser.post(f"{site.url}/inbox/leads/{lead_id}/status", data={"status": "closed", "csrf_token": token})
    assert answer.status_code == 400 and "note saying why" in answer.text
    noted = browser.post(f"{site.url}/inbox/leads/{lead_id}/notes", data={"text": "called twice", "csrf_token": token})
    assert "Note added." in noted.text and "called twice" in noted.text and "ann@stl.example" in noted.text
    assert browser.get(f"{site.url}/inbox/api/leads/{lead_id}").json()["status"] == "new"


def test_another_clinics_lead_is_404_on_the_page_the_api_and_for_changes(site):
    lead_id = add(site.settings, name="Mary Jones", clinic="stl")
    boston, _ = log_in(site, "bea@boston.example")
    page = boston.get(f"{site.url}/inbox/leads/{lead_id}")
    assert page.status_code == 404 and "Mary Jones" not in page.text
    assert boston.get(f"{site.url}/inbox/api/leads/{lead_id}").status_code == 404
    token = csrf(boston.get(f"{site.url}/inbox/leads"))
    assert boston.post(f"{site.url}/inbox/leads/{lead_id}/status",
                       data={"status": "contacted", "csrf_token": token}).status_code == 404
    assert "Mary Jones" not in boston.get(f"{site.url}/inbox/leads").text
    assert "Mary Jones" not in boston.get(f"{site.url}/inbox/leads.csv").text
    assert boston.get(f"{site.url}/inbox/api/leads").json()["total"] == 0
    admin, _ = log_in(site, "op@medius.example")
    assert "Mary Jones" in admin.get(f"{site.url}/inbox/leads/{lead_id}").text


def test_the_api_takes_a_clinic_token_and_answers_401_without_one(site):
    stl_lead, boston_lead = add(site.settings, name="Mary Jones"), add(site.settings, name="Bo B", clinic="boston")
    token_id, token = staff.add_token(site.settings, "stl", "crm")
    bearer = {"Authorization": f"Bearer {token}"}
    listed = requests.get(f"{site.url}/inbox/api/leads", headers=bearer).json()
    assert [lead["name"] for lead in listed["leads"]] == ["Mary Jones"] and listed["total"] == 1
    assert requests.get(f"{site.url}/inbox/api/leads/{stl_lead}", headers=bearer).json()["name"] == "Mary Jones"
    assert requests.get(f"{site.url}/inbox/api/leads/{boston_lead}", headers=bearer).status_code == 404
    missing = requests.get(f"{site.url}/inbox/api/leads")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert requests.get(f"{site.url}/inbox/api/leads", headers={"Authorization": "Bearer nope"}).status_code == 401
    staff.revoke_token(site.settings, token_id)
    assert requests.get(f"{site.url}/inbox/api/leads", headers=bearer).status_code == 401


def test_an_expired_session_goes_back_to_the_login_with_a_message(site):
    browser, _ = log_in(site)
    with session_scope(site.settings.database_url) as session:
        session.execute(update(StaffSession).values(expires_at=utcnow() - timedelta(minutes=1)))
    answer = browser.get(f"{site.url}/inbox/leads")
    assert answer.url.startswith(f"{site.url}/inbox/login?next=%2Finbox%2Fleads")
    assert "Your session has expired" in answer.text
    assert requests.get(f"{site.url}/inbox/api/leads", cookies=browser.cookies).status_code == 401


def test_logging_out_ends_the_session_on_the_server(site):
    browser, answer = log_in(site)
    token = browser.cookies.get("medius_inbox", path="/inbox")
    out = browser.post(f"{site.url}/inbox/logout", data={"csrf_token": csrf(answer)})
    assert "You have logged out" in out.text
    assert staff.session_staff(site.settings, token) is None
    assert requests.get(f"{site.url}/inbox/leads", cookies={"medius_inbox": token}, allow_redirects=False
                        ).status_code == 303


def test_filters_and_csv_export_follow_the_list(site):
    add(site.settings, name="Ned Nerve", urgency="nerve_review", sender_id="ned")
    add(site.settings, name="Rita Routine", sender_id="rita")
    browser, _ = log_in(site)
    listed = browser.get(f"{site.url}/inbox/leads", params={"urgency": "nerve_review"}).text
    assert "Ned Nerve" in listed and "Rita Routine" not in listed and "Nerve review" in listed
    exported = browser.get(f"{site.url}/inbox/leads.csv", params={"q": "rita"})
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = exported.text.splitlines()
    assert rows[0].startswith("id,clinic,created_at,name") and len(rows) == 2 and "Rita Routine" in rows[1]


def test_new_leads_are_announced_by_server_sent_events(site):
    _, answer = log_in(site)
    cookies = {"medius_inbox": answer.history[0].cookies["medius_inbox"]}
    events = []

    def listen():
        with httpx.Client(base_url=site.url, cookies=cookies, timeout=15) as client:
            with client.stream("GET", "/inbox/events") as stream:
                for line in stream.iter_lines():
                    if line.startswith("event:") or line.startswith("data:"):
                        events.append(line)
                    if line.startswith("data:") and len(events) >= 2:
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(1.0)  # the stream has read what was there
    add(site.settings, name="Emma Emergency", urgency="emergency", phone=None, email=None, sender_id="emma")
    listener.join(timeout=15)
    assert events[:1] == ["event: leads"]
    assert json.loads(events[1].split(":", 1)[1]) == {"new": True, "priority": True}
    assert requests.get(f"{site.url}/inbox/events").status_code == 401


def test_content_gaps_are_shown_grouped_and_per_clinic(site):
    gaps.record(site.settings, "stl", "do you take medicare?", "out_of_scope")
    gaps.record(site.settings, "stl", "Does the clinic accept Medicare", "fallback")
    gaps.record(site.settings, "boston", "is there parking", "out_of_scope")
    ann, _ = log_in(site)
    page = ann.get(f"{site.url}/inbox/gaps").text
    assert "Does the clinic accept Medicare" in page and "parking" not in page
    assert re.search(r"<td>Does the clinic accept Medicare</td><td>2</td>", page)


def test_staff_accounts_from_the_command_line_read_the_password_from_stdin(site, tmp_path):
    env = dict(os.environ, DATABASE_URL=site.settings.database_url)

    def cli(*args, password=""):
        return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, input=password + "\n",
                              capture_output=True, text=True, timeout=120)

    added = cli("staff", "add", "--clinic", "stl", "--email", "cli@stl.example", password="typed on stdin 123")
    assert added.returncode == 0 and "added cli@stl.example (stl)" in added.stdout
    assert log_in(site, "cli@stl.example", "typed on stdin 123")[1].url.endswith("/inbox/leads")
    assert cli("staff", "add", "--clinic", "nowhere", "--email", "x@y.example", password="typed on stdin 123"
               ).stderr.startswith("error: no clinic 'nowhere'")
    assert "at least 10" in cli("staff", "add", "--clinic", "stl", "--email", "y@y.example", password="short").stderr
    assert "cli@stl.example" in cli("staff", "list").stdout
    assert cli("staff", "reset-password", "--email", "cli@stl.example", password="another one 456").returncode == 0
    assert log_in(site, "cli@stl.example", "another one 456")[1].url.endswith("/inbox/leads")
    assert cli("staff", "disable", "--email", "cli@stl.example").returncode == 0
    assert log_in(site, "cli@stl.example", "another one 456")[1].status_code == 401
    made = cli("tokens", "add", "--clinic", "stl", "--label", "crm")
    token = made.stdout.splitlines()[-1]
    assert requests.get(f"{site.url}/inbox/api/leads", headers={"Authorization": f"Bearer {token}"}).ok
    assert token not in cli("tokens", "list").stdout and "crm" in cli("tokens", "list").stdout
    assert cli("tokens", "revoke", "1").returncode == 0
    assert requests.get(f"{site.url}/inbox/api/leads", headers={"Authorization": f"Bearer {token}"}).status_code == 401
