"""The clinic settings page over HTTP, on a real uvicorn server and database: who may open it, what it refuses,
what it saves, and that a save is live without a restart."""
import dataclasses
import html
import json
import re

import pytest
import requests

from bot.staff import accounts as staff
from bot.store import audit, clinic_profiles as store
from bot.web.app import create_app
from bot.web.clinic_settings import SECTIONS, form_value
from tests.support.inbox import PASSWORD, csrf, enrol, log_in
from tests.support.servers import WebServer, free_port

STL_ADMIN, BOSTON_ADMIN = "sam@stl.example", "bo@boston.example"


@pytest.fixture
def clinics(site):
    """The site with its clinics in the database and an admin for stl and one for boston (two-step login on)."""
    store.seed_from_file(site.settings, "test")
    for email, clinic in ((STL_ADMIN, "stl"), (BOSTON_ADMIN, "boston")):
        staff.add_account(site.settings, email, PASSWORD, clinic, admin=True)
        enrol(site.settings, email)
    return site


def section_form(site, clinic: str, section: str, page: requests.Response, **typed: str) -> dict:
    """A section's form as the page fills it from the stored profile, with some fields typed over."""
    profile = store.profile(site.settings, clinic)
    form = {field.name: form_value(profile, field) for field in SECTIONS[section][1]}
    return {**form, **typed, "csrf_token": csrf(page)}


def test_plain_staff_get_no_settings_link_and_403_on_its_urls(clinics):
    browser, leads = log_in(clinics, "ann@stl.example")
    assert "Clinic settings" not in leads.text and "/inbox/settings" not in leads.text
    assert browser.get(f"{clinics.url}/inbox/settings").status_code == 403
    page = browser.get(f"{clinics.url}/inbox/settings/stl")
    assert page.status_code == 403 and "Only the clinic's admin" in page.text
    refused = browser.post(f"{clinics.url}/inbox/settings/stl/practical",
                           data={"insurance": "We take every plan.", "csrf_token": csrf(leads)})
    assert refused.status_code == 403 and "in network" in store.profile(clinics.settings, "stl")["insurance"]


def test_the_operator_does_not_run_a_clinics_settings(clinics):
    operator, leads = log_in(clinics, "op@medius.example")
    assert "Clinic settings" not in leads.text
    assert operator.get(f"{clinics.url}/inbox/settings/stl").status_code == 403


def test_a_clinic_admin_finds_every_section_and_field_labelled(clinics):
    browser, leads = log_in(clinics, STL_ADMIN)
    assert '<a href="/inbox/settings">Clinic settings</a>' in leads.text
    page = browser.get(f"{clinics.url}/inbox/settings")
    assert page.status_code == 200 and page.url.endswith("/inbox/settings/stl")
    for section, (title, fields) in SECTIONS.items():
        assert f'action="/inbox/settings/stl/{section}"' in page.text and f"Save {title.lower()}</button>" in page.text
        for field in fields:
            assert f'<label for="f-{field.name}">{field.label}</label>' in page.text if field.kind != "flag" else \
                f'<label class="check" for="f-{field.name}"><input type="checkbox" id="f-{field.name}"' in page.text
    assert 'data-clinic="stl" async></script>' in html.unescape(page.text) and "Copy the code" in page.text
    assert '<script src="/inbox/static/settings.js" defer></script>' in page.text
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]  # no inline script needed
    assert browser.get(f"{clinics.url}/inbox/static/settings.js").status_code == 200


def test_a_boston_admin_can_neither_see_nor_change_stl(clinics):
    browser, leads = log_in(clinics, BOSTON_ADMIN)
    assert browser.get(f"{clinics.url}/inbox/settings").url.endswith("/inbox/settings/boston")
    page = browser.get(f"{clinics.url}/inbox/settings/stl")
    assert page.status_code == 403 and "314-941-3970" not in page.text
    refused = browser.post(f"{clinics.url}/inbox/settings/stl/contact",
                           data={"name": "Taken over", "csrf_token": csrf(leads)})
    assert refused.status_code == 403 and store.profile(clinics.settings, "stl")["name"] != "Taken over"
    assert browser.get(f"{clinics.url}/inbox/settings/nowhere").status_code == 403  # unknown: the same answer


@pytest.mark.parametrize("section, field, bad, message", [
    ("widget", "colour", "#ffeb3b", "contrast 1.2:1, below 4.5:1; choose a darker colour"),
    ("widget", "allowed_origins", "https://www.example.com/contact", "is not an origin"),
    ("contact", "phone", "555-01", "is not a phone number"),
])
def test_an_invalid_value_is_refused_beside_its_field_and_nothing_is_saved(clinics, section, field, bad, message):
    browser, _ = log_in(clinics, STL_ADMIN)
    before, version = store.profile(clinics.settings, "stl"), store.version(clinics.settings)
    page = browser.get(f"{clinics.url}/inbox/settings/stl")
    other = {"widget": {"greeting": "A new greeting."}, "contact": {"callback_time": "within the hour"}}[section]
    answer = browser.post(f"{clinics.url}/inbox/settings/stl/{section}",
                          data=section_form(clinics, "stl", section, page, **{field: bad}, **other))
    assert answer.status_code == 400
    beside = re.search(rf'<p class="field-error" id="f-{field}-error">([^<]+)</p>', answer.text)
    assert beside and message in beside.group(1).replace("&#39;", "'")
    assert re.search(rf'id="f-{field}"[^>]*aria-describedby="[^"]*f-{field}-error[^"]*"[^>]*aria-invalid="true"',
                     answer.text)
    assert "Nothing in this section was saved" in answer.text
    assert bad in answer.text  # what was typed stays, to correct it
    assert store.profile(clinics.settings, "stl") == before and store.version(clinics.settings) == version


def test_a_saved_section_is_one_audit_entry_a_field_and_shows_in_the_history(clinics):
    browser, _ = log_in(clinics, STL_ADMIN)
    page = browser.get(f"{clinics.url}/inbox/settings/stl")
    saved = browser.post(f"{clinics.url}/inbox/settings/stl/practical", data=section_form(
        clinics, "stl", "practical", page, insurance="We bill Aetna and Cigna only.", prices="$100 a visit."))
    assert saved.url.endswith("/inbox/settings/stl?saved=practical#practical")
    assert "Practical answers saved." in saved.text
    profile = store.profile(clinics.settings, "stl")
    assert profile["insurance"] == "We bill Aetna and Cigna only." and profile["prices"] == "$100 a visit."
    rows, _ = audit.entries(clinics.settings, "stl", audit.AuditFilter(action=audit.CLINIC_CHANGE))
    details = {json.loads(row["detail"])["field"]: json.loads(row["detail"]) for row in rows}
    assert set(details) == {"insurance", "prices"} and {row["actor"] for row in rows} == {STL_ADMIN}
    assert details["prices"]["old"].startswith("Self-pay is $120") and details["prices"]["new"] == "$100 a visit."
    history = saved.text[saved.text.index('id="h-history"'):]
    assert "We bill Aetna and Cigna only." in history and STL_ADMIN in history and ">Insurance<" in history
    boston, _ = log_in(clinics, BOSTON_ADMIN)
    assert "We bill Aetna" not in boston.get(f"{clinics.url}/inbox/settings/boston").text  # its own history only


def test_the_widget_gets_the_new_colour_and_greeting_on_its_next_load_without_a_restart(clinics):
    assert requests.get(f"{clinics.url}/widget/config/stl.json").json()["colour"] == "#1d5c8c"
    browser, _ = log_in(clinics, STL_ADMIN)
    page = browser.get(f"{clinics.url}/inbox/settings/stl")
    browser.post(f"{clinics.url}/inbox/settings/stl/widget", data=section_form(
        clinics, "stl", "widget", page, colour="#224488", greeting="Hi! Ask us anything.",
        allowed_origins="http://localhost:8000\nhttps://www.stl-pt.example"))
    config = requests.get(f"{clinics.url}/widget/config/stl.json").json()
    assert (config["colour"], config["greeting"]) == ("#224488", "Hi! Ask us anything.")
    preflight = requests.options(f"{clinics.url}/chat", headers={
        "Origin": "https://www.stl-pt.example", "Access-Control-Request-Method": "POST"})
    assert preflight.headers.get("access-control-allow-origin") == "https://www.stl-pt.example"  # CORS is live too


def test_the_notification_section_needs_an_address_or_a_webhook(clinics):
    browser, _ = log_in(clinics, STL_ADMIN)
    page = browser.get(f"{clinics.url}/inbox/settings/stl")
    answer = browser.post(f"{clinics.url}/inbox/settings/stl/notifications", data=section_form(
        clinics, "stl", "notifications", page, staff_emails="", staff_webhook_url=""))
    assert answer.status_code == 400 and 'id="f-staff_emails-error"' in answer.text
    assert store.profile(clinics.settings, "stl")["staff"]["emails"] == ["frontdesk@stl-clinic.example.com"]


@pytest.mark.parametrize("webhook", ["http://hooks.example/lead", "https://127.0.0.1:5005/webhooks/rest/webhook",
                                     "https://169.254.169.254/latest/meta-data", "https://localhost/hook",
                                     "https://[::1]/hook", "https://10.0.0.8/hook"])
def test_a_clinic_admin_cannot_point_the_leads_webhook_at_this_servers_own_network(clinics, webhook):
    browser, _ = log_in(clinics, STL_ADMIN)
    page = browser.get(f"{clinics.url}/inbox/settings/stl")
    answer = browser.post(f"{clinics.url}/inbox/settings/stl/notifications", data=section_form(
        clinics, "stl", "notifications", page, staff_webhook_url=webhook))
    assert answer.status_code == 400 and 'id="f-staff_webhook_url-error"' in answer.text
    assert re.search(r"https://|public internet", answer.text)
    assert store.profile(clinics.settings, "stl")["staff"].get("webhook_url") is None  # nothing saved


def test_an_unticked_box_saves_false(clinics):
    browser, _ = log_in(clinics, STL_ADMIN)
    page = browser.get(f"{clinics.url}/inbox/settings/stl")
    assert 'id="f-offers_remote" name="offers_remote" checked' in page.text
    form = section_form(clinics, "stl", "contact", page)
    del form["offers_remote"]  # what a browser sends for an unticked box: nothing
    browser.post(f"{clinics.url}/inbox/settings/stl/contact", data=form)
    assert store.profile(clinics.settings, "stl")["offers_remote"] is False
    assert not store.directory(clinics.settings).get("stl").offers_remote


@pytest.fixture
def notifying(settings, smtp_sink, http_receiver):
    """A site whose mail goes to a local SMTP sink, its stl admin's clinic with a webhook to a local receiver."""
    settings = dataclasses.replace(settings, internal_token="i" * 32, smtp_host="127.0.0.1", smtp_port=smtp_sink.port,
                                   smtp_security="none")
    store.seed_from_file(settings, "test")
    receiver = http_receiver([200, 500])  # the second test finds the receiver failing
    store.save(settings, "stl", {"staff": {"emails": ["desk@stl.example", "boss@stl.example"],
                                           "webhook_url": receiver.url}}, "test")
    staff.add_account(settings, STL_ADMIN, PASSWORD, "stl", admin=True)
    enrol(settings, STL_ADMIN)
    with WebServer(create_app(settings), free_port()) as server:
        server.settings, server.sink, server.receiver = settings, smtp_sink, receiver
        yield server


def test_send_a_test_reaches_the_staff_emails_and_the_webhook(notifying):
    browser, _ = log_in(notifying, STL_ADMIN)
    page = browser.get(f"{notifying.url}/inbox/settings/stl")
    emailed = browser.post(f"{notifying.url}/inbox/settings/stl/test/email", data={"csrf_token": csrf(page)})
    assert emailed.status_code == 200
    assert "A test email was sent to desk@stl.example, boss@stl.example." in emailed.text
    assert sorted(to for message in notifying.sink.messages for to in message["to"]) == \
        ["boss@stl.example", "desk@stl.example"]
    assert notifying.sink.messages[0]["subject"] == "Medius: a test notification for More 4 Life Physical Therapy"
    hooked = browser.post(f"{notifying.url}/inbox/settings/stl/test/webhook", data={"csrf_token": csrf(page)})
    assert "A test webhook was sent to the webhook." in hooked.text
    assert len(notifying.receiver.posts) == 1 and STL_ADMIN in notifying.receiver.posts[0]["text"]
    failing = browser.post(f"{notifying.url}/inbox/settings/stl/test/webhook", data={"csrf_token": csrf(page)})
    assert failing.status_code == 502 and "could not be sent (webhook answered HTTP 500)" in failing.text


def test_plain_staff_cannot_send_tests(clinics):
    browser, leads = log_in(clinics, "ann@stl.example")
    assert browser.post(f"{clinics.url}/inbox/settings/stl/test/email",
                        data={"csrf_token": csrf(leads)}).status_code == 403
