"""The staff inbox in a real browser (Debian's Chromium under Playwright) against the real servers.

Leads come from real conversations through the chat channel; accounts are made
with the command line, as an administrator would. Screenshots go to results/browser/.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from bot.core.paths import ROOT
from bot.store.db import session_scope
from bot.store.models import StaffSession, utcnow
from tests.browser.test_widget_browser import axe_violations
from tests.integration.test_booking import by_sender
from tests.integration.test_safety_flows import nerve_screen
from tests.support.helpers import Visitor

ARTIFACTS = ROOT / "results" / "browser"
PASSWORD = "inbox test password"
LIVE = 20_000  # ms: the live list polls every 2 s; a conversation's lead lands within a few
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def staff_cli(lead_db: str, *args: str, password: str = "") -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=lead_db)
    return subprocess.run([sys.executable, "-m", "bot", "staff", *args], cwd=ROOT, env=env, input=password + "\n",
                          capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture(scope="module")
def accounts(lead_db):
    """One stl and one boston account, made as an administrator makes them."""
    tag = uuid.uuid4().hex[:6]
    made = {"stl": f"front-{tag}@stl.example", "boston": f"desk-{tag}@boston.example"}
    for clinic, email in made.items():
        staff_cli(lead_db, "add", "--clinic", clinic, "--email", email, password=PASSWORD)
    return made


def book_after_screening(visitor: Visitor, name: str) -> None:
    """A visitor with nerve signs is screened, then books: a nerve-review lead with screening answers."""
    outcome = nerve_screen(visitor, ['/choose_location{"location": "foot"}', "yes", "yes, one side is weaker",
                                     "no", "about six weeks", "stretches and the exercises", "no"])
    assert "priority" in outcome
    visitor.says("yes please")
    visitor.says(name)
    visitor.says("314-555-0142")
    visitor.says("afternoons")
    visitor.says('/choose_mode{"mode": "in_person"}')
    assert f"Thank you, {name}" in visitor.says("yes")


@pytest.fixture(scope="module")
def screened_lead(assistant, lead_db):
    visitor = Visitor(assistant)
    book_after_screening(visitor, "Walter Screened")
    [lead] = by_sender(lead_db, visitor.sender)
    return lead


def new_page(browser, viewport=DESKTOP) -> Page:
    context = browser.new_context(viewport=viewport, device_scale_factor=2 if viewport == PHONE else 1)
    return context.new_page()


def log_in(page: Page, base: str, email: str, password: str = PASSWORD, path: str = "/inbox/leads") -> None:
    page.goto(base + path)
    expect(page.get_by_role("heading", name="Log in to the staff inbox")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def no_serious_violations(page: Page, name: str) -> None:
    assert axe_violations(page) == [], name


def test_a_conversations_lead_appears_live_and_is_worked_to_closed(browser, assistant, lead_db, accounts):
    page = new_page(browser)
    page.goto(f"{assistant.url}/inbox/leads")
    expect(page).to_have_url(re.compile(r"/inbox/login\?next="))
    no_serious_violations(page, "login")
    page.screenshot(path=str(ARTIFACTS / "inbox-login.png"))
    log_in(page, assistant.url, accounts["stl"])
    expect(page.get_by_role("heading", name=re.compile("^Leads for"))).to_be_visible()
    page.evaluate("window.__notReloaded = true")

    name = f"Tom Live{uuid.uuid4().hex[:4]}"
    book_after_screening(Visitor(assistant), name)
    row = page.get_by_role("row").filter(has_text=name)
    expect(row).to_be_visible(timeout=LIVE)
    assert page.evaluate("window.__notReloaded === true")  # it arrived without a reload
    expect(page.get_by_role("status").filter(has_text="New priority lead received.")).to_be_visible()
    priority = page.get_by_role("table", name=re.compile("^Priority"))
    expect(priority.get_by_role("row").filter(has_text=name)).to_contain_text("Nerve review")  # a word, not colour
    no_serious_violations(page, "list")
    page.screenshot(path=str(ARTIFACTS / "inbox-list.png"), full_page=True)

    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(page.get_by_role("link", name="Call (314) 555-0142")).to_have_attribute(
        "href", "tel:+13145550142")
    screening = page.locator("dl.screening")
    expect(screening).to_contain_text("Where the pain or tingling goes")
    expect(screening).to_contain_text("Foot")
    expect(screening).to_contain_text("Weakness in the leg or foot")
    transcript = page.get_by_role("region", name="Conversation")
    expect(transcript.locator(".turn.visitor").first).to_contain_text("pins and needles down into my foot")
    expect(transcript.locator(".turn.bot").first).to_be_visible()
    no_serious_violations(page, "detail")
    page.screenshot(path=str(ARTIFACTS / "inbox-detail.png"), full_page=True)

    page.get_by_label("New status").select_option("closed")
    page.get_by_role("button", name="Save status").click()
    expect(page.get_by_role("alert")).to_contain_text("note saying why")
    page.get_by_label("New status").select_option("closed")
    page.get_by_label("Note (required to close)").fill("Booked for Tuesday at 3pm")
    page.get_by_role("button", name="Save status").click()
    expect(page.get_by_role("status").filter(has_text="Status saved.")).to_be_visible()
    history = page.get_by_role("region", name="Status: Closed").locator(".history")
    expect(history).to_contain_text(f"{accounts['stl']}: Status New to Closed")
    expect(history).to_contain_text("Booked for Tuesday at 3pm")

    page.get_by_label(re.compile("^Add a note")).fill("Asked for a morning physio next time")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".history")).to_contain_text("Asked for a morning physio next time")

    page.get_by_role("link", name="All leads").click()
    page.get_by_label("Name or phone").fill(name)
    page.get_by_role("button", name="Apply").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    exported = open(download.value.path(), encoding="utf-8").read()
    assert name in exported and exported.count("\n") == 2 and "nerve_review" in exported

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You have logged out.")).to_be_visible()
    page.goto(f"{assistant.url}/inbox/leads")
    expect(page).to_have_url(re.compile(r"/inbox/login"))
    page.context.close()


def test_another_clinics_account_cannot_see_the_lead_on_the_page_or_the_api(browser, assistant, accounts,
                                                                           screened_lead):
    page = new_page(browser)
    log_in(page, assistant.url, accounts["boston"])
    expect(page.get_by_role("heading", name=re.compile("^Leads for Ben E"))).to_be_visible()
    expect(page.get_by_text("Walter Screened")).to_have_count(0)
    answer = page.goto(f"{assistant.url}/inbox/leads/{screened_lead['id']}")
    assert answer.status == 404
    expect(page.get_by_role("heading", name="Lead not found")).to_be_visible()
    api = page.request.get(f"{assistant.url}/inbox/api/leads/{screened_lead['id']}")
    assert api.status == 404 and "Walter" not in api.text()
    page.context.close()


def test_a_form_post_without_the_csrf_token_is_refused(browser, assistant, accounts, screened_lead):
    page = new_page(browser)
    log_in(page, assistant.url, accounts["stl"])
    expect(page.get_by_role("heading", name=re.compile("^Leads for"))).to_be_visible()
    url = f"{assistant.url}/inbox/leads/{screened_lead['id']}/status"
    refused = page.request.post(url, form={"status": "contacted"})
    assert refused.status == 403
    page.goto(f"{assistant.url}/inbox/leads/{screened_lead['id']}")
    expect(page.get_by_role("heading", name=re.compile("^Status:"))).to_contain_text("New")
    page.context.close()


def test_wrong_passwords_slow_the_account_down_and_never_lock_it(browser, assistant, lead_db):
    email = f"unlucky-{uuid.uuid4().hex[:6]}@stl.example"
    staff_cli(lead_db, "add", "--clinic", "stl", "--email", email, password=PASSWORD)
    page = new_page(browser)
    alert = page.get_by_role("alert")
    for attempt in range(8):  # five free failures, then a wait that doubles with each further one
        log_in(page, assistant.url, email, password=f"wrong guess {attempt}")
        expect(alert).to_be_visible()
        if "Please wait" in alert.inner_text():
            break
    message = alert.inner_text()
    assert "Too many tries. Please wait" in message and "locked" not in message, message
    page.wait_for_timeout(1000 * (int(re.search(r"wait (\d+) second", message).group(1)) + 1))
    log_in(page, assistant.url, email)  # once the wait is over, the owner's right password works
    expect(page).to_have_url(re.compile(r"/inbox/leads"))
    expect(page.get_by_role("heading", name="Log in to the staff inbox")).to_have_count(0)
    page.context.close()


def test_an_expired_session_redirects_to_the_login(browser, assistant, lead_db, accounts, screened_lead):
    page = new_page(browser)
    log_in(page, assistant.url, accounts["stl"], path=f"/inbox/leads/{screened_lead['id']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Walter Screened")  # back where it was going
    with session_scope(lead_db) as session:
        session.execute(update(StaffSession).values(expires_at=utcnow() - timedelta(minutes=1)))
    page.reload()
    expect(page).to_have_url(re.compile(r"/inbox/login\?next=%2Finbox%2Fleads%2F"))
    expect(page.get_by_text("Your session has expired. Please log in again.")).to_be_visible()
    page.context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_login_list_and_detail_pages_pass_axe_and_fit_the_screen(browser, assistant, accounts, screened_lead,
                                                                  viewport):
    page = new_page(browser, viewport)
    label = "phone" if viewport == PHONE else "desktop"
    page.goto(f"{assistant.url}/inbox/login")
    no_serious_violations(page, f"login {label}")
    log_in(page, assistant.url, accounts["stl"])
    expect(page.get_by_role("row").filter(has_text="Walter Screened").first).to_be_visible()
    no_serious_violations(page, f"list {label}")
    page.screenshot(path=str(ARTIFACTS / f"inbox-list-{label}.png"), full_page=True)
    page.keyboard.press("Tab")  # the skip link comes first and is visible when focused
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    expect(page.get_by_role("link", name="Skip to content")).to_be_in_viewport()
    page.goto(f"{assistant.url}/inbox/leads/{screened_lead['id']}")
    no_serious_violations(page, f"detail {label}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"]  # no sideways scrolling of the page
    page.screenshot(path=str(ARTIFACTS / f"inbox-detail-{label}.png"), full_page=True)
    page.context.close()
