"""A clinic's admin runs its settings in Chromium against the real servers: the colour's contrast checked as it is
typed, the insurance answer and the colour saved and live for the next visitor, the page axe-clean."""
from __future__ import annotations

import dataclasses
import re
import uuid

import pyotp
import pytest
import requests
from playwright.sync_api import Page, expect

from bot.core.settings import settings_from
from bot.store import clinic_profiles as store
from tests.browser.test_inbox_browser import (
    ARTIFACTS,
    DESKTOP,
    PASSWORD,
    log_in,
    new_page,
    no_serious_violations,
    staff_cli,
)
from tests.support.helpers import Visitor
from tests.support.inbox import enrol

NEW_INSURANCE = "From this week we also bill Medicaid plans."


@pytest.fixture
def stl_admin(assistant, lead_db, clinics_file):
    """The clinics in the database (as the first `make run` leaves them) and a new stl admin, made as an operator
    makes one; the profile is put back afterwards, for the session's other tests."""
    settings = dataclasses.replace(settings_from({}), database_url=lead_db, clinics_file=clinics_file)
    store.seed_from_file(settings, "test")
    before = store.profile(settings, "stl")
    email = f"boss-{uuid.uuid4().hex[:6]}@stl.example"
    staff_cli(lead_db, "add", "--clinic", "stl", "--clinic-admin", "--email", email, password=PASSWORD)
    secret = enrol(settings, email)  # an admin logs in with a second step
    yield email, secret
    store.save(settings, "stl", {key: before.get(key) for key in ("insurance", "colour")}, "test")


def settings_page(browser, assistant, email: str, secret: str) -> Page:
    """A new browser logged in as the admin, with a code from its authenticator, on its clinic's settings."""
    page = new_page(browser, DESKTOP)
    log_in(page, assistant.url, email, path="/inbox/settings")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/inbox/settings/stl$"))
    return page


def test_a_clinic_admin_changes_the_insurance_answer_and_the_colour(browser, assistant, stl_admin):
    page = settings_page(browser, assistant, *stl_admin)
    expect(page.get_by_role("heading", level=1)).to_have_text("Clinic settings for More 4 Life Physical Therapy")
    expect(page.get_by_role("link", name="Clinic settings")).to_have_attribute("aria-current", "page")
    no_serious_violations(page, "settings")

    colour = page.get_by_label("Colour", exact=True)
    colour.fill("#ffeb3b")
    expect(page.locator("#colour-check")).to_contain_text("below 4.5:1. Choose a darker colour.")
    colour.fill("#224488")
    expect(page.locator("#colour-check")).to_contain_text(re.compile(r"contrast \d+\.\d:1, easy to read"))
    page.get_by_role("button", name="Save chat widget").click()
    expect(page.get_by_role("status").filter(has_text="Chat widget saved.")).to_be_visible()
    expect(page.get_by_label("Colour", exact=True)).to_have_value("#224488")

    page.get_by_label("Insurance").fill(NEW_INSURANCE)
    page.get_by_role("button", name="Save practical answers").click()
    expect(page.get_by_role("status").filter(has_text="Practical answers saved.")).to_be_visible()
    expect(page.get_by_label("Insurance")).to_have_value(NEW_INSURANCE)
    history = page.get_by_role("table", name=re.compile("^Changes to this clinic's settings"))
    # newest first; the session's other tests may have changed these fields before
    expect(history.get_by_role("row").filter(has_text="insurance").first).to_contain_text(NEW_INSURANCE)
    expect(history.get_by_role("row").filter(has_text="colour").first).to_contain_text("#224488")
    no_serious_violations(page, "settings after saving")
    page.screenshot(path=str(ARTIFACTS / "clinic-settings.png"), full_page=True)

    # Live without a restart: the widget's next load and the visitor's next question.
    assert requests.get(f"{assistant.url}/widget/config/stl.json", timeout=10).json()["colour"] == "#224488"
    assert NEW_INSURANCE in Visitor(assistant, "stl").says("does my insurance cover it?")


def test_a_bad_colour_is_refused_beside_the_field_and_nothing_is_saved(browser, assistant, stl_admin):
    page = settings_page(browser, assistant, *stl_admin)
    page.get_by_label("Colour", exact=True).fill("#eeeeee")
    page.get_by_label("Greeting (optional)").fill("Not saved with a bad colour.")
    page.get_by_role("button", name="Save chat widget").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing in this section was saved")
    expect(page.locator("#f-colour-error")).to_contain_text("choose a darker colour")
    expect(page.get_by_label("Colour", exact=True)).to_have_attribute("aria-invalid", "true")
    no_serious_violations(page, "settings with an error")
    assert requests.get(f"{assistant.url}/widget/config/stl.json", timeout=10).json()["greeting"] != \
        "Not saved with a bad colour."
