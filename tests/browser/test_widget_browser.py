"""The widget in a real browser (Debian's Chromium driven by Playwright), against the real assistant.

Tests of how the widget draws particular replies (the emergency card, odd payloads) give it canned
replies from the chat server with page.route, on a web server whose assistant is down (offline_site).

Screenshots of the open widget are saved in results/browser/ as test artifacts.
"""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bot.core.data import clinics_file as clinics_file_of
from bot.core.settings import settings_from
from bot.web.app import create_app
from tests.support.helpers import SilentServer, TcpForwarder
from tests.support.servers import WebServer, free_port

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "results" / "browser"
STL = "More 4 Life Physical Therapy"
ANSWER_TIMEOUT = 20_000


def serve(clinics_file, port: int, rasa_url: str, token: str = "t" * 32, timeout_ms: int = 8000,
          chat_timeout: float = 30.0) -> WebServer:
    """A web server on a test port, forwarding the chat to `rasa_url` as the product's own does."""
    settings = dataclasses.replace(settings_from({}), clinics_file=clinics_file, rasa_url=rasa_url,
                                   internal_token=token, chat_timeout_seconds=chat_timeout,
                                   widget_timeout_ms=timeout_ms)
    # This file's profiles, whatever var/medius.db (the default DATABASE_URL) holds on a developer's machine.
    return WebServer(create_app(settings, clinics_file_of(settings)), port)


@pytest.fixture(scope="module")
def site(assistant, clinics_file, web_ports):
    with serve(clinics_file, web_ports[0], f"http://127.0.0.1:{assistant.ports['rasa']}",
               assistant.env["MEDIUS_INTERNAL_TOKEN"]) as server:
        yield server


@pytest.fixture(scope="module")
def offline_site(clinics_file):
    """A web server whose assistant is down: for tests that give the widget canned replies with page.route."""
    with serve(clinics_file, free_port(), f"http://127.0.0.1:{free_port()}") as server:
        yield server


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    context.close()


def launcher(page: Page):
    return page.get_by_role("button", name=re.compile("^Chat with the assistant"))


def open_widget(page: Page, url: str):
    page.goto(url)
    launcher(page).click()
    expect(page.get_by_role("dialog")).to_be_visible()
    return page.get_by_role("dialog")


def ask(page: Page, text: str) -> None:
    box = page.get_by_label("Your message")
    box.fill(text)
    box.press("Enter")


def bot_messages(page: Page):
    return page.locator(".msg.bot")


def error_line(page: Page):
    """The widget's error line (role alert); an emergency card is an alert too, so find it by class."""
    return page.locator(".error")


def emergency_card(page: Page):
    return page.locator(".msg.bot").get_by_role("alert")


def reply_with(page: Page, replies) -> None:
    """The chat server answers every message with these Rasa bot messages (test input for the widget)."""
    page.route("**/chat", lambda route: route.fulfill(status=200, content_type="application/json",
                                                      body=json.dumps(replies)))


def wait_for_reply(page: Page, before: int) -> str:
    expect(bot_messages(page)).not_to_have_count(before, timeout=ANSWER_TIMEOUT)
    expect(page.locator(".typing")).to_be_hidden(timeout=ANSWER_TIMEOUT)
    return bot_messages(page).last.inner_text()


def axe_violations(page: Page):
    # Evaluated through the DevTools protocol: the demo page's CSP rightly refuses an injected <script>.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_a_visitor_opens_the_widget_asks_and_reads_the_answer(page, site):
    page.goto(f"{site.url}/demo/stl")
    button = launcher(page)
    expect(button).to_have_attribute("aria-label", f"Chat with the assistant of {STL}")
    expect(button).to_have_css("background-color", "rgb(29, 92, 140)")
    panel = open_widget(page, f"{site.url}/demo/stl")
    expect(panel.get_by_role("heading", name=STL)).to_be_visible()
    expect(bot_messages(page).first).to_contain_text("Welcome to More 4 Life Physical Therapy in St. Louis")
    expect(bot_messages(page).first).to_contain_text("not a clinician")
    privacy = panel.get_by_role("link", name="Privacy policy")
    expect(privacy).to_have_attribute("href", "/demo/stl/privacy")
    expect(privacy).to_be_visible()
    ask(page, "what is the gluteus medius?")
    expect(page.locator(".msg.me").last).to_have_text(re.compile("what is the gluteus medius\\?$"))
    assert "outer side of the hip" in wait_for_reply(page, 1)
    page.screenshot(path=str(ARTIFACTS / "widget-desktop.png"))


def test_quick_replies_send_their_payload_and_are_disabled_once_used(page, site):
    open_widget(page, f"{site.url}/demo/stl")
    starters = page.locator(".msg.bot").first.get_by_role("button")
    expect(starters).to_have_count(5)
    page.get_by_role("button", name="What is the gluteus medius?").click()
    expect(page.locator(".msg.me").last).to_contain_text("What is the gluteus medius?")
    assert "outer side of the hip" in wait_for_reply(page, 1)
    for index in range(5):
        expect(starters.nth(index)).to_be_disabled()
    count = bot_messages(page).count()
    # That answer's own buttons, not "the last message's": the next reply may come before the check.
    follow_ups = bot_messages(page).nth(count - 1).get_by_role("button")
    expect(follow_ups.first).to_be_enabled()
    # Typing something else instead retires the suggestions too, and that sticks after a reload.
    ask(page, "thanks")
    expect(follow_ups.first).to_be_disabled()
    wait_for_reply(page, count)
    page.reload()
    expect(page.get_by_role("dialog")).to_be_visible()
    expect(page.locator(".quick button:enabled")).to_have_count(
        page.locator(".msg.bot").last.locator("button").count())


def test_the_conversation_survives_a_reload_and_moving_to_another_page(page, site):
    open_widget(page, f"{site.url}/demo/stl")
    ask(page, "why does my outer hip hurt")
    wait_for_reply(page, 1)
    replies = page.locator(".msg.bot p").all_inner_texts()
    sender = page.evaluate("() => JSON.parse(localStorage.getItem('medius.v1.stl')).sender")
    page.reload()
    expect(page.get_by_role("dialog")).to_be_visible()
    expect(page.locator(".msg.me")).to_have_text([re.compile("why does my outer hip hurt$")])
    assert page.locator(".msg.bot p").all_inner_texts() == replies
    page.get_by_role("link", name="Services").click()
    expect(page).to_have_url(re.compile("/demo/stl/services$"))
    expect(page.locator(".msg.me")).to_have_count(1)
    # The server remembers the conversation too: a follow-up uses its context.
    count = bot_messages(page).count()
    ask(page, "tell me more")
    assert wait_for_reply(page, count)
    assert page.evaluate("() => JSON.parse(localStorage.getItem('medius.v1.stl')).sender") == sender
    page.get_by_role("button", name="Start over").click()
    expect(page.locator(".msg.me")).to_have_count(0)
    expect(bot_messages(page)).to_have_count(1)
    assert page.evaluate("() => JSON.parse(localStorage.getItem('medius.v1.stl')).sender") != sender


def active_in_widget(page: Page) -> str:
    return page.evaluate("""() => {
        const host = document.getElementById('medius-widget');
        if (document.activeElement !== host) return '';
        const el = host.shadowRoot.activeElement;
        return el ? (el.className || el.tagName) : '';
    }""")


def test_a_whole_exchange_with_the_keyboard_only(page, site):
    page.goto(f"{site.url}/demo/stl")
    expect(launcher(page)).to_be_visible()  # the widget draws itself after its settings arrive
    for _ in range(15):
        page.keyboard.press("Tab")
        if active_in_widget(page) == "launcher":
            break
    assert active_in_widget(page) == "launcher"
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()
    assert active_in_widget(page) == "input"
    page.keyboard.type("what is the gluteus medius")
    page.keyboard.press("Enter")
    wait_for_reply(page, 1)
    page.get_by_label("Your message").focus()
    # Shift+Tab back from the text box reaches the newest quick reply.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    focused = page.evaluate("() => document.getElementById('medius-widget').shadowRoot.activeElement.textContent")
    assert focused in ("What does it do?", "Its three parts")
    count = bot_messages(page).count()
    page.keyboard.press("Enter")
    expect(page.locator(".msg.me").last).to_have_text(re.compile(re.escape(focused) + "$"))
    wait_for_reply(page, count)
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert active_in_widget(page) == "launcher"
    outline = page.evaluate("""() => getComputedStyle(
        document.getElementById('medius-widget').shadowRoot.activeElement).outlineStyle""")
    assert outline == "solid"  # focus is visible


def test_html_typed_by_a_visitor_is_shown_as_text(page, site):
    open_widget(page, f"{site.url}/demo/stl")
    payload = "<img src=x onerror=alert(1)>"
    ask(page, payload)
    wait_for_reply(page, 1)
    expect(page.locator(".msg.me").last).to_have_text(re.compile(re.escape(payload) + "$"))
    assert page.locator(".log img").count() == 0
    assert page.dialogs == []


def test_phone_numbers_and_links_are_clickable_and_open_safely(page, site):
    open_widget(page, f"{site.url}/demo/stl")
    ask(page, "what is the clinic's phone number?")
    wait_for_reply(page, 1)
    expect(page.locator('.msg.bot a[href="tel:3149413970"]').first).to_be_visible()
    ask(page, "see https://example.com/hips, please")
    link = page.locator(".msg.me a").last
    expect(link).to_have_attribute("href", "https://example.com/hips")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_attribute("target", "_blank")


def test_an_answer_that_comes_while_the_panel_is_closed_shows_an_unread_badge(page, site):
    held = []
    page.route("**/chat", lambda route: held.append(route))  # sent on to the server once the panel is closed
    open_widget(page, f"{site.url}/demo/stl")
    ask(page, "what is the gluteus medius")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    held[0].continue_()  # the real assistant answers (a turn takes ~40 ms, faster than a visitor closes the panel)
    badge = page.locator(".badge")
    expect(badge).to_be_visible(timeout=ANSWER_TIMEOUT)
    assert int(badge.inner_text()) >= 1
    expect(launcher(page)).to_have_attribute("aria-label", re.compile(r"\d+ unread message"))
    launcher(page).click()
    expect(badge).to_be_hidden()


def test_a_stopped_server_shows_the_clinic_phone_and_retry_works_once_it_is_back(page, assistant, clinics_file,
                                                                                   web_ports):
    dead_port = free_port()
    token = assistant.env["MEDIUS_INTERNAL_TOKEN"]
    with serve(clinics_file, web_ports[1], f"http://127.0.0.1:{dead_port}", token) as site:
        open_widget(page, f"{site.url}/demo/stl")
        ask(page, "what is the gluteus medius")
        error = error_line(page)
        expect(error).to_be_visible(timeout=10_000)
        expect(error).to_have_attribute("role", "alert")
        expect(error).to_contain_text("314-941-3970")
        expect(error.locator('a[href="tel:3149413970"]')).to_be_visible()
        forwarder = TcpForwarder(dead_port, assistant.ports["rasa"])
        try:
            error.get_by_role("button", name="Try again").click()
            assert "outer side of the hip" in wait_for_reply(page, 1)
            expect(error).to_be_hidden()
            expect(page.locator(".msg.me")).to_have_count(1)
        finally:
            forwarder.close()


def test_a_server_that_does_not_answer_shows_typing_then_the_error_line(page, clinics_file, web_ports):
    silent_port = free_port()
    silent = SilentServer(silent_port)
    try:
        with serve(clinics_file, web_ports[2], f"http://127.0.0.1:{silent_port}", timeout_ms=2500,
                   chat_timeout=4.0) as site:
            open_widget(page, f"{site.url}/demo/boston")
            ask(page, "hello")
            expect(page.get_by_role("status")).to_contain_text("typing")
            error = error_line(page)
            expect(error).to_be_visible(timeout=8000)
            expect(error).to_contain_text("through its website")  # Boston lists no phone
            expect(page.locator(".typing")).to_be_hidden()
    finally:
        silent.close()


def test_each_clinic_gets_its_own_colour_name_and_greeting(page, site):
    panel = open_widget(page, f"{site.url}/demo/boston")
    expect(launcher(page)).to_have_css("background-color", "rgb(122, 46, 77)")
    expect(panel.get_by_role("heading", name="Ben E. Benjamin, PhD - Muscular Therapy")).to_be_visible()
    expect(bot_messages(page).first).to_contain_text("Welcome to Ben E. Benjamin")
    expect(panel.get_by_role("link", name="Privacy policy")).to_have_attribute("href", "/demo/boston/privacy")


def test_on_a_phone_the_panel_fills_the_screen_with_large_tap_targets(browser, site):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        open_widget(page, f"{site.url}/demo/stl")
        ask(page, "what is the gluteus medius")
        wait_for_reply(page, 1)
        box = page.locator(".panel").bounding_box()
        assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 844)
        for button in page.locator(".panel button:visible").all():
            size = button.bounding_box()
            assert size["width"] >= 44 and size["height"] >= 44, button.inner_text()
        page.screenshot(path=str(ARTIFACTS / "widget-mobile.png"))
        assert axe_violations(page) == []
    finally:
        context.close()


def test_at_200_percent_zoom_the_chat_is_whole_and_readable(browser, site):
    # 200% zoom of a 1280x800 window lays the page out in 640x400 CSS pixels.
    context = browser.new_context(viewport={"width": 640, "height": 400}, device_scale_factor=2)
    page = context.new_page()
    try:
        open_widget(page, f"{site.url}/demo/stl")
        for part in (".head", ".composer", ".privacy"):
            box = page.locator(part).bounding_box()
            assert box["y"] >= 0 and box["y"] + box["height"] <= 400 and box["x"] + box["width"] <= 640, part
        size = page.evaluate("() => getComputedStyle(document.getElementById('medius-widget')"
                             ".shadowRoot.querySelector('.msg p')).fontSize")
        assert float(size.rstrip("px")) >= 16
    finally:
        context.close()


def test_no_serious_accessibility_violations(page, site):
    page.goto(f"{site.url}/demo/stl")
    expect(launcher(page)).to_be_visible()
    assert axe_violations(page) == []  # closed
    open_widget(page, f"{site.url}/demo/stl")
    ask(page, "what is the gluteus medius")
    wait_for_reply(page, 1)
    assert axe_violations(page) == []  # open, with quick replies and an answer
    live = page.get_by_role("log")
    expect(live).to_have_attribute("aria-live", "polite")


def test_axe_would_catch_a_violation(page, site):
    """The accessibility check itself works: a page with an unlabeled button fails it."""
    page.goto(f"{site.url}/demo/stl")
    page.evaluate("() => document.body.insertAdjacentHTML('beforeend', '<button></button>')")
    assert any(rule == "button-name" for rule, _, _ in axe_violations(page))


def test_the_privacy_link_is_on_screen_when_the_first_personal_question_comes(page, site):
    open_widget(page, f"{site.url}/demo/stl")
    page.get_by_role("button", name="Book an appointment").click()
    assert "name" in wait_for_reply(page, 1).lower()
    expect(page.get_by_role("dialog").get_by_role("link", name="Privacy policy")).to_be_in_viewport()


def test_a_visitor_sending_too_fast_is_asked_politely_to_wait(page, site):
    open_widget(page, f"{site.url}/demo/stl")
    ask(page, "hello")
    wait_for_reply(page, 1)
    statuses = page.evaluate("""async (url) => {
        const conversation = JSON.parse(localStorage.getItem('medius.v1.stl')).conversation;
        const statuses = [];
        for (let i = 0; i < 19; i++) {  // this conversation's own token: the server's sender id, not one made up
            const response = await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({conversation, message: 'hello', metadata: {clinic: 'stl'}})});
            statuses.push(response.status);
        }
        return statuses;
    }""", f"{site.url}/chat")
    assert statuses == [200] * 19
    ask(page, "what is the gluteus medius")
    expect(page.locator(".msg.note")).to_contain_text("Please wait", timeout=ANSWER_TIMEOUT)
    expect(error_line(page)).to_be_hidden()


def test_an_emergency_typed_in_the_widget_gets_911_first_as_a_link_to_call(page, site):
    open_widget(page, f"{site.url}/demo/stl")
    ask(page, "I suddenly can't control my bladder and my groin is numb")
    wait_for_reply(page, 1)
    first_answer = bot_messages(page).nth(1)
    card = first_answer.get_by_role("alert")
    expect(card).to_be_visible()
    expect(card).to_contain_text("emergency")
    call = card.get_by_role("link", name="Call 911", exact=True)
    expect(call).to_have_attribute("href", "tel:911")
    expect(call).to_be_visible()
    expect(call).to_be_in_viewport()


def test_a_history_older_than_the_clinics_retention_is_dropped_on_the_next_visit(page, site):
    open_widget(page, f"{site.url}/demo/stl")
    ask(page, "what is the gluteus medius")
    wait_for_reply(page, 1)
    old_sender = page.evaluate("() => JSON.parse(localStorage.getItem('medius.v1.stl')).sender")
    page.evaluate("""() => {
        const state = JSON.parse(localStorage.getItem('medius.v1.stl'));
        state.active = Date.now() - 31 * 24 * 60 * 60 * 1000;
        localStorage.setItem('medius.v1.stl', JSON.stringify(state));
    }""")
    page.reload()
    launcher(page).click()
    expect(bot_messages(page)).to_have_count(1)  # the greeting only
    expect(page.locator(".msg.me")).to_have_count(0)
    assert page.evaluate("() => JSON.parse(localStorage.getItem('medius.v1.stl')).sender") != old_sender


EMERGENCY = ("Please stop here: what you describe needs emergency care now. Call 911 or go to the nearest "
             "emergency room straight away. Please don't wait for an appointment or a call back.")
STAFF_TOLD = "I've also passed your message to More 4 Life Physical Therapy's staff so they know."


def test_an_emergency_reply_is_a_card_that_is_announced_and_calls_911(page, offline_site):
    reply_with(page, [{"recipient_id": "abc", "text": EMERGENCY, "custom": {"triage": "emergency"}},
                      {"recipient_id": "abc", "text": STAFF_TOLD}])
    open_widget(page, f"{offline_site.url}/demo/stl")
    expect(error_line(page)).to_be_hidden()
    ask(page, "I suddenly can't control my bladder and my groin is numb")
    wait_for_reply(page, 1)
    expect(bot_messages(page)).to_have_count(3)
    card = emergency_card(page)
    expect(card).to_have_count(1)
    expect(card).to_be_visible()
    expect(card.get_by_role("heading", name="Emergency: get help now")).to_be_visible()
    expect(card).to_contain_text("Call 911 or go to the nearest emergency room")
    expect(card.locator('p a[href="tel:911"]')).to_have_text("911")  # the number in the text is a link still
    call = card.get_by_role("link", name="Call 911", exact=True)
    expect(call).to_have_attribute("href", "tel:911")
    expect(call).to_be_visible()
    expect(call).to_be_in_viewport()  # not scrolled away by the message that came after it
    size = call.bounding_box()
    assert size["width"] >= 200 and size["height"] >= 48
    expect(bot_messages(page).last).not_to_have_class(re.compile("emergency"))
    expect(bot_messages(page).last.get_by_role("alert")).to_have_count(0)
    # The keyboard reaches the call button: back from the text box with Shift+Tab, and its focus shows.
    page.get_by_label("Your message").focus()
    for _ in range(6):
        page.keyboard.press("Shift+Tab")
        if active_in_widget(page) == "emergency-call":
            break
    assert active_in_widget(page) == "emergency-call"
    outline = page.evaluate("""() => getComputedStyle(
        document.getElementById('medius-widget').shadowRoot.activeElement).outlineStyle""")
    assert outline == "solid"
    page.screenshot(path=str(ARTIFACTS / "widget-emergency.png"))
    assert axe_violations(page) == []
    # The card is drawn the same after a reload.
    stored = page.evaluate("() => JSON.parse(localStorage.getItem('medius.v1.stl')).messages")
    assert [m.get("triage") for m in stored if m["who"] == "bot"] == [None, "emergency", None]
    page.reload()
    expect(page.get_by_role("dialog")).to_be_visible()
    expect(bot_messages(page)).to_have_count(3)
    card = emergency_card(page)
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Call 911 or go to the nearest emergency room")
    expect(card.get_by_role("heading", name="Emergency: get help now")).to_be_visible()
    expect(card.get_by_role("link", name="Call 911", exact=True)).to_have_attribute("href", "tel:911")
    expect(card.get_by_role("link", name="Call 911", exact=True)).to_be_visible()
    expect(error_line(page)).to_be_hidden()


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}, {"width": 640, "height": 400}],
                         ids=["phone", "zoom-200"])
def test_the_emergency_card_and_its_call_button_fit_a_phone_and_200_percent_zoom(browser, offline_site, viewport):
    context = browser.new_context(viewport=viewport, device_scale_factor=2)
    page = context.new_page()
    try:
        reply_with(page, [{"recipient_id": "abc", "text": EMERGENCY, "custom": {"triage": "emergency"}},
                          {"recipient_id": "abc", "text": STAFF_TOLD},
                          {"recipient_id": "abc", "text": "If you want, I can also explain what may cause it.",
                           "buttons": [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]}])
        open_widget(page, f"{offline_site.url}/demo/stl")
        ask(page, "I suddenly can't control my bladder")
        wait_for_reply(page, 1)
        card = emergency_card(page)
        call = card.get_by_role("link", name="Call 911", exact=True)
        expect(card.get_by_role("heading")).to_be_in_viewport()
        expect(call).to_be_in_viewport(ratio=1)
        log, button = page.locator(".log").bounding_box(), call.bounding_box()
        assert log["y"] <= button["y"] and button["y"] + button["height"] <= log["y"] + log["height"]
        assert button["x"] >= 0 and button["x"] + button["width"] <= viewport["width"]
        assert button["height"] >= 44
        width = page.evaluate("() => document.getElementById('medius-widget').shadowRoot"
                              ".querySelector('.log').scrollWidth")
        assert width <= viewport["width"]  # no sideways scrolling
        page.screenshot(path=str(ARTIFACTS / f"widget-emergency-{viewport['width']}.png"))
        assert axe_violations(page) == []
    finally:
        context.close()


def test_urgent_confirm_and_nerve_replies_are_ordinary_messages_with_their_buttons(page, offline_site):
    yes_no = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
    reply_with(page, [
        {"recipient_id": "abc", "text": "Is this new trouble controlling your bladder or bowels? If yes, call 911 now.",
         "buttons": yes_no, "custom": {"triage": "confirm"}},
        {"recipient_id": "abc", "text": "What you describe should be checked by a doctor within a day.",
         "buttons": [{"title": "Ask the clinic to call me", "payload": "/request_appointment"}],
         "custom": {"triage": "urgent"}},
        {"recipient_id": "abc", "text": "Some of what you describe can come from a nerve in the lower back.",
         "buttons": yes_no, "custom": {"triage": "nerve"}},
    ])
    open_widget(page, f"{offline_site.url}/demo/stl")
    ask(page, "my leg feels numb")
    wait_for_reply(page, 1)
    expect(bot_messages(page)).to_have_count(4)
    expect(page.locator(".log").get_by_role("alert")).to_have_count(0)
    confirm, urgent, nerve = (bot_messages(page).nth(i) for i in (1, 2, 3))
    expect(confirm).to_contain_text("bladder or bowels")
    expect(confirm.locator('a[href="tel:911"]')).to_be_visible()
    expect(confirm.get_by_role("button")).to_have_text(["Yes", "No"])
    expect(urgent).to_have_class(re.compile(r"\burgent\b"))
    expect(urgent.get_by_role("button", name="Ask the clinic to call me")).to_be_enabled()
    expect(nerve.get_by_role("button")).to_have_text(["Yes", "No"])
    assert axe_violations(page) == []


def test_malformed_custom_payloads_do_not_break_the_widget(page, offline_site):
    shapes = ["emergency", None, ["emergency"], {"triage": 5}, {"triage": {"level": "emergency"}},
              {"triage": "EMERGENCY"}, {"triage": "hasOwnProperty"}, 7, True, {}]
    replies = [{"recipient_id": "abc", "text": f"Reply {i}.", "custom": custom} for i, custom in enumerate(shapes)]
    replies += [{"recipient_id": "abc", "custom": {"triage": "unknown"}},  # no text: nothing to show
                {"recipient_id": "abc", "custom": "just a string"},
                {"recipient_id": "abc", "text": "", "custom": {"triage": "nerve"}},
                {"recipient_id": "abc", "text": "<b>Last</b> one.",
                 "buttons": [None, "x", {"title": "OK", "payload": "/affirm"}]},
                None, "a string", 3]
    reply_with(page, replies)
    open_widget(page, f"{offline_site.url}/demo/stl")
    ask(page, "hello")
    wait_for_reply(page, 1)
    expected = [f"Reply {i}." for i in range(len(shapes))] + ["<b>Last</b> one."]
    expect(bot_messages(page)).to_have_count(1 + len(expected))
    assert page.locator(".msg.bot p").all_inner_texts()[1:] == expected
    expect(page.locator(".log").get_by_role("alert")).to_have_count(0)
    expect(page.locator(".log b")).to_have_count(0)
    expect(bot_messages(page).last.get_by_role("button")).to_have_text(["OK"])
    expect(error_line(page)).to_be_hidden()
    assert page.dialogs == []
    # The widget goes on working, and the history reloads without a card.
    reply_with(page, [{"recipient_id": "abc", "text": "Still here."}])
    count = bot_messages(page).count()
    ask(page, "are you there?")
    assert wait_for_reply(page, count).endswith("Still here.")
    page.reload()
    expect(page.get_by_role("dialog")).to_be_visible()
    expect(bot_messages(page)).to_have_count(count + 1)
    expect(page.locator(".log").get_by_role("alert")).to_have_count(0)


def test_an_emergency_without_text_still_shows_the_card_and_unknown_payloads_show_nothing(page, offline_site):
    reply_with(page, [{"recipient_id": "abc", "custom": {"triage": "emergency"}},
                      {"recipient_id": "abc", "custom": {"something": "else"}}])
    open_widget(page, f"{offline_site.url}/demo/stl")
    ask(page, "help")
    wait_for_reply(page, 1)
    expect(bot_messages(page)).to_have_count(2)
    card = emergency_card(page)
    expect(card.get_by_role("heading", name="Emergency: get help now")).to_be_visible()
    expect(card.get_by_role("link", name="Call 911", exact=True)).to_have_attribute("href", "tel:911")
    expect(card.locator("p")).to_have_count(0)


def test_an_emergency_that_comes_while_the_panel_is_closed_is_in_view_when_it_opens(page, offline_site):
    replies = ([{"recipient_id": "abc", "text": EMERGENCY, "custom": {"triage": "emergency"}}]
               + [{"recipient_id": "abc", "text": f"More text, part {i}: " + "words " * 30} for i in range(6)])
    held = []
    page.route("**/chat", lambda route: held.append(route))  # answered only once the visitor has closed the panel
    open_widget(page, f"{offline_site.url}/demo/stl")
    ask(page, "I can't feel my legs")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    held[0].fulfill(status=200, content_type="application/json", body=json.dumps(replies))
    expect(page.locator(".badge")).to_have_text("7", timeout=ANSWER_TIMEOUT)
    launcher(page).click()
    call = emergency_card(page).get_by_role("link", name="Call 911", exact=True)
    expect(call).to_be_in_viewport(ratio=1)


def test_an_empty_reply_shows_the_error_line_with_the_clinics_phone(page, offline_site):
    reply_with(page, [])
    open_widget(page, f"{offline_site.url}/demo/stl")
    ask(page, "what is the gluteus medius")
    error = error_line(page)
    expect(error).to_be_visible()
    expect(error).to_contain_text("314-941-3970")


def test_a_retry_after_an_abort_carries_the_same_message_id(page, offline_site):
    bodies = []

    def answer(route):
        bodies.append(json.loads(route.request.post_data))
        if len(bodies) == 1:
            route.abort("timedout")  # the first try never got its answer back
        else:
            route.fulfill(status=200, content_type="application/json",
                          body=json.dumps([{"text": "The gluteus medius sits on the outer hip."}]))

    page.route("**/chat", answer)
    open_widget(page, f"{offline_site.url}/demo/stl")
    ask(page, "what is the gluteus medius")
    error = error_line(page)
    expect(error).to_be_visible()
    error.get_by_role("button", name="Try again").click()
    expect(bot_messages(page).last).to_contain_text("outer hip")
    ask(page, "and exercises?")
    expect(page.locator(".msg.me")).to_have_count(2)
    assert len(bodies) == 3
    assert bodies[0]["message_id"] == bodies[1]["message_id"]  # the retry: the same message
    assert bodies[2]["message_id"] != bodies[0]["message_id"]  # a new message: a new key
    assert re.fullmatch(r"[0-9a-f]{24}", bodies[0]["message_id"])
