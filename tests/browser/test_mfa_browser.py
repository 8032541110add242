"""Staff two-step login in Chromium: an admin enrols by the QR code page, then logs in with a code."""
from __future__ import annotations

import pyotp
from playwright.sync_api import expect

from bot.core.paths import ROOT
from tests.browser.test_inbox_browser import DESKTOP, log_in, new_page, no_serious_violations
from tests.integration.test_mfa_web import mfa_site  # noqa: F401 - the fixture: a web server with an admin
from tests.support.inbox import PASSWORD

ARTIFACTS = ROOT / "results" / "browser"


def test_an_admin_enrols_with_the_qr_code_and_logs_in_again_with_a_code(browser, mfa_site):  # noqa: F811
    page = new_page(browser, DESKTOP)
    refused = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    log_in(page, mfa_site.url, "op@medius.example", password=PASSWORD)

    expect(page.get_by_role("heading", name="Two-step login")).to_be_visible()
    qr = page.locator("figure.qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box and box["width"] >= 150 and abs(box["width"] - box["height"]) < 2  # square, big enough to scan
    no_serious_violations(page, "enrolment")
    page.screenshot(path=str(ARTIFACTS / "mfa-enrolment.png"), full_page=True)
    secret = page.locator("#secret").inner_text()
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-step login").click()

    expect(page.get_by_role("heading", name="Two-step login is on")).to_be_visible()
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I have saved them: go to the inbox").click()
    expect(page.get_by_role("heading", name="Leads")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    log_in(page, mfa_site.url, "op@medius.example", password=PASSWORD)
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    no_serious_violations(page, "code step")
    page.get_by_label("Code").fill(codes[3])  # a recovery code: this step's TOTP code was spent at enrolment
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Leads")).to_be_visible()
    assert refused == []  # the inline SVG and the pages pass the inbox's CSP
