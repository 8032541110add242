"""Live chat in a real browser: a visitor in the widget on a demo page and a staff member in the inbox, two
contexts of one Chromium, against the real assistant (Rasa and the action server) and the web server.

Screenshots go to results/browser/.
"""
from __future__ import annotations

import dataclasses
import re

import pytest
from playwright.sync_api import Page, expect

from bot.core.settings import settings_from
from bot.staff import accounts as staff
from bot.web.app import create_app
from tests.browser.test_inbox_browser import DESKTOP, PHONE, log_in, new_page, no_serious_violations
from tests.browser.test_widget_browser import ANSWER_TIMEOUT, ARTIFACTS, ask, open_widget
from tests.support.servers import WebServer

PASSWORD = "live chat test password"
STL = "More 4 Life Physical Therapy"
LIVE = 20_000  # ms


@pytest.fixture(scope="module")
def desk(assistant, lead_db, clinics_file, web_ports):
    """A web server on an allowed origin, sharing the assistant's lead store and conversations, with one
    stl staff member."""
    settings = dataclasses.replace(
        settings_from({}), clinics_file=clinics_file, database_url=lead_db,
        rasa_url=f"http://127.0.0.1:{assistant.ports['rasa']}", internal_token=assistant.env["MEDIUS_INTERNAL_TOKEN"],
        conversations_url=assistant.env["CONVERSATIONS_DATABASE_URL"], inbox_poll_seconds=0.5,
        live_chat_poll_seconds=0.2)
    staff.add_account(settings, "kim@stl.example", PASSWORD, "stl")
    with WebServer(create_app(settings), web_ports[1]) as server:
        yield server


def staff_messages(page: Page):
    return page.locator(".msg.staff")


def test_a_visitor_asks_for_a_person_chats_with_staff_and_gets_the_assistant_back(browser, desk):
    inbox = new_page(browser, DESKTOP)
    log_in(inbox, desk.url, "kim@stl.example", PASSWORD)
    toggle = inbox.get_by_role("button", name="Available for live chat")
    expect(toggle).to_have_attribute("aria-pressed", "false")  # off by default
    toggle.click()
    expect(inbox.get_by_role("button", name="Available for live chat")).to_have_attribute("aria-pressed", "true")

    visitor = new_page(browser, PHONE)
    open_widget(visitor, f"{desk.url}/demo/stl")
    ask(visitor, "what is the gluteus medius?")
    expect(visitor.locator(".msg.bot").nth(1)).to_contain_text("outer side of the hip", timeout=ANSWER_TIMEOUT)
    ask(visitor, "can I talk to a real person")
    expect(visitor.locator(".msg.bot").last).to_contain_text(f"I'm asking the team at {STL}", timeout=ANSWER_TIMEOUT)
    expect(visitor.get_by_role("button", name="Cancel")).to_be_visible()

    # The request arrives in the inbox without a reload, pinned on top, with what the visitor asked.
    queue = inbox.get_by_role("region", name="Live chat requests")
    expect(queue).to_contain_text("can I talk to a real person", timeout=LIVE)
    expect(inbox.get_by_role("status").filter(has_text="New live chat request.")).to_be_visible()
    no_serious_violations(inbox, "inbox with a live chat request")
    inbox.screenshot(path=str(ARTIFACTS / "live-queue.png"), full_page=True)
    queue.get_by_role("button", name="Accept").click()
    expect(inbox.get_by_role("heading", name="Live chat with a visitor")).to_be_visible()
    expect(inbox.get_by_role("region", name="Conversation so far")).to_contain_text("what is the gluteus medius?")

    # The visitor is told, without sending anything; the staff member's words arrive as text.
    expect(visitor.locator(".msg.bot").last).to_contain_text(f"Kim from {STL} has joined", timeout=LIVE)
    inbox.get_by_label("Message to visitor").fill("<b>Hello</b>, I'm Kim. How can I help?")
    inbox.get_by_role("button", name="Send").click()
    expect(staff_messages(visitor)).to_have_count(1, timeout=LIVE)
    expect(staff_messages(visitor).first.locator("p")).to_have_text("<b>Hello</b>, I'm Kim. How can I help?")
    expect(staff_messages(visitor).first).to_contain_text(f"Kim, {STL}")
    assert visitor.locator(".msg.staff b").count() == 0  # never parsed as HTML

    ask(visitor, "my hip hurts when I lie on it at night")
    log = inbox.get_by_role("log", name="Live messages")
    expect(log).to_contain_text("my hip hurts when I lie on it at night", timeout=LIVE)

    # An emergency during the chat: the advice at once in the widget, and a red flag for staff.
    ask(visitor, "I suddenly can't control my bladder and my groin is numb")
    expect(visitor.locator(".emergency-card").last).to_be_visible(timeout=ANSWER_TIMEOUT)
    expect(log).to_contain_text("Red flag (emergency)", timeout=LIVE)
    no_serious_violations(inbox, "live chat pane")
    inbox.screenshot(path=str(ARTIFACTS / "live-pane.png"), full_page=True)

    # A reload mid-chat: the history as it was, and the next message arrives once.
    visitor.reload()
    expect(staff_messages(visitor)).to_have_count(1, timeout=LIVE)
    inbox.get_by_label("Message to visitor").fill("Please call 911 now. I'll stay here.")
    inbox.get_by_role("button", name="Send").click()
    expect(staff_messages(visitor)).to_have_count(2, timeout=LIVE)
    visitor.wait_for_timeout(1500)  # a repeat would come within a poll or two
    expect(staff_messages(visitor)).to_have_count(2)
    expect(visitor.get_by_role("dialog")).to_be_visible()
    no_serious_violations(visitor, "widget in a live chat")
    visitor.screenshot(path=str(ARTIFACTS / "live-widget-phone.png"))

    inbox.get_by_role("button", name="End chat").click()
    expect(inbox.get_by_role("status").filter(has_text="This chat has ended.")).to_be_visible()
    expect(visitor.locator(".msg.bot").last).to_contain_text("Kim has ended the chat", timeout=LIVE)
    ask(visitor, "what is the gluteus medius?")
    expect(visitor.locator(".msg.bot").last).to_contain_text("outer side of the hip", timeout=ANSWER_TIMEOUT)
    expect(visitor.locator(".subtitle")).to_have_text("Automated assistant")
    assert re.search("Live chat", inbox.title())


def test_the_talk_to_a_person_control_offers_the_call_back_when_nobody_is_free(browser, desk):
    visitor = new_page(browser, DESKTOP)
    open_widget(visitor, f"{desk.url}/demo/boston")  # no boston staff member is available
    control = visitor.get_by_role("button", name="Talk to a person")
    expect(control).to_be_visible()
    no_serious_violations(visitor, "widget with the Talk to a person control")
    control.focus()
    visitor.keyboard.press("Enter")  # reachable and usable from the keyboard
    expect(visitor.locator(".msg.me").last).to_have_text(re.compile("Talk to a person"))
    expect(visitor.locator(".msg.bot").last).to_contain_text("is free for a live chat right now",
                                                             timeout=ANSWER_TIMEOUT)
    expect(visitor.get_by_role("button", name="Request a call-back")).to_be_visible()
    expect(control).to_be_visible()  # still no live chat: it stays on offer


def test_the_control_starts_a_live_chat_with_consent_and_typing_shows_both_ways(browser, desk):
    inbox = new_page(browser, DESKTOP)
    log_in(inbox, desk.url, "kim@stl.example", PASSWORD)
    toggle = inbox.get_by_role("button", name="Available for live chat")
    if toggle.get_attribute("aria-pressed") == "false":
        toggle.click()
    expect(inbox.get_by_role("button", name="Available for live chat")).to_have_attribute("aria-pressed", "true")

    visitor = new_page(browser, PHONE)
    open_widget(visitor, f"{desk.url}/demo/stl")
    control = visitor.get_by_role("button", name="Talk to a person")
    control.focus()
    visitor.keyboard.press("Enter")
    asking = visitor.locator(".msg.bot").last
    expect(asking).to_contain_text(f"a member of the {STL} team will read this conversation", timeout=ANSWER_TIMEOUT)
    expect(asking).to_contain_text(f"I'm asking the team at {STL}")
    expect(control).to_be_hidden()  # during a live chat the control is gone

    queue = inbox.get_by_role("region", name="Live chat requests")
    expect(queue).to_contain_text("Talk to a person", timeout=LIVE)
    queue.get_by_role("button", name="Accept").first.click()
    expect(visitor.locator(".msg.bot").last).to_contain_text(f"Kim from {STL} has joined", timeout=LIVE)

    # The staff member types: the visitor sees it, then the message replaces it.
    inbox.get_by_label("Message to visitor").press_sequentially("Hello, Kim here", delay=30)
    staff_typing = visitor.get_by_role("status").filter(has_text="Kim is typing…")
    expect(staff_typing).to_be_visible(timeout=LIVE)
    no_serious_violations(visitor, "widget while staff type")
    visitor.screenshot(path=str(ARTIFACTS / "live-widget-staff-typing.png"))
    inbox.get_by_role("button", name="Send").click()
    expect(staff_messages(visitor).last).to_contain_text("Hello, Kim here", timeout=LIVE)
    expect(staff_typing).to_be_hidden(timeout=LIVE)

    # The visitor types: the staff member sees it, until the message arrives.
    visitor.get_by_label("Your message").press_sequentially("it's my left hip", delay=30)
    visitor_typing = inbox.get_by_role("status").filter(has_text="The visitor is typing…")
    expect(visitor_typing).to_be_visible(timeout=LIVE)
    no_serious_violations(inbox, "live chat pane while the visitor types")
    inbox.screenshot(path=str(ARTIFACTS / "live-pane-visitor-typing.png"), full_page=True)
    visitor.get_by_label("Your message").press("Enter")
    expect(inbox.get_by_role("log", name="Live messages")).to_contain_text("it's my left hip", timeout=LIVE)
    expect(visitor_typing).to_be_hidden(timeout=LIVE)

    inbox.get_by_role("button", name="End chat").click()
    expect(visitor.locator(".msg.bot").last).to_contain_text("Kim has ended the chat", timeout=LIVE)
    expect(control).to_be_visible()  # the assistant is back, and so is the control
