"""Live chat over HTTP on a real uvicorn and database, as the widget and the inbox use it.

No assistant runs here (its port answers nothing): every message of these tests is answered by the
web server's live chat or its safety net, which is the point, since a live chat must never wait on Rasa.
"""
import dataclasses
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import select, text

from bot.core.data import clinics_for
from bot.leads import store as leads
from bot.staff import accounts as staff, live_chat
from bot.store import audit
from bot.store.db import session_scope
from bot.store.models import LiveChat
from bot.web.app import create_app
from tests.support.inbox import PASSWORD, csrf, log_in
from tests.support.servers import WebServer, free_port

ORIGIN = "http://127.0.0.1:8000"  # an allowed origin of the sample clinic "stl"


class Widget:
    """A visitor's widget: the conversation token the server issues, and the last live message id it has seen."""

    def __init__(self, site):
        self.site, self.token, self.after = site, None, 0

    def says(self, text):
        body = {"message": text, "metadata": {"clinic": "stl"}, "conversation": self.token}
        answer = requests.post(f"{self.site.url}/chat", json=body, headers={"Origin": ORIGIN}, timeout=30)
        self.token = answer.headers.get("X-Medius-Conversation") or self.token
        return answer.json()

    def polls(self, after=None, typing=False):
        answer = requests.post(f"{self.site.url}/chat/live", headers={"Origin": ORIGIN}, timeout=40, json={
            "conversation": self.token, "clinic": "stl", "after": self.after if after is None else after,
            "typing": typing})
        answer.raise_for_status()
        body = answer.json()
        if body["messages"]:
            self.after = body["messages"][-1]["id"]
        return body


@pytest.fixture
def desk(settings, request):
    """The web server (its assistant down) with three staff accounts; a test's parameter changes settings."""
    settings = dataclasses.replace(settings, internal_token="i" * 32, inbox_poll_seconds=0.2,
                                   live_chat_poll_seconds=0.1, rasa_url=f"http://127.0.0.1:{free_port()}",
                                   **getattr(request, "param", {}))
    for email, clinic in (("ann@stl.example", "stl"), ("al@stl.example", "stl"), ("bea@boston.example", "boston")):
        staff.add_account(settings, email, PASSWORD, clinic)
    with WebServer(create_app(settings), free_port()) as server:
        server.settings = settings
        yield server


def available(site, email):
    """A staff member logged in who has turned on 'Available for live chat'."""
    browser, page = log_in(site, email)
    assert 'aria-pressed="false">Available for live chat' in page.text  # off by default
    page = browser.post(f"{site.url}/inbox/live/presence", data={"available": "on", "csrf_token": csrf(page)})
    assert 'aria-pressed="true">Available for live chat' in page.text
    return browser, page


def accept(site, browser, page):
    chat_id = re.search(r'action="/inbox/live/(\d+)/accept"', page.text).group(1)
    return chat_id, browser.post(f"{site.url}/inbox/live/{chat_id}/accept", data={"csrf_token": csrf(page)})


def test_nobody_available_offers_the_call_back_and_the_phone(desk):
    [reply] = Widget(desk).says("can I talk to a real person")
    assert reply["text"].startswith("Nobody from More 4 Life Physical Therapy is free")
    assert "call More 4 Life Physical Therapy at" in reply["text"]
    assert reply["buttons"] == [{"title": "Request a call-back", "payload": "/request_appointment"}]
    assert reply["custom"] == {"live": "none"}


def test_request_accept_messages_both_ways_emergency_reconnect_and_end(desk):
    ann, page = available(desk, "ann@stl.example")
    visitor = Widget(desk)
    [asking] = visitor.says("a human please")
    assert asking["custom"] == {"live": "waiting"} and "less than 2 minutes" in asking["text"]
    assert asking["buttons"] == [{"title": "Cancel", "payload": "/live_chat_cancel"}]
    [note] = visitor.says("it's about my left hip")  # while waiting: kept for staff, not the assistant
    assert note["text"].startswith("Passed on")

    page = ann.get(f"{desk.url}/inbox/leads")
    assert "Live chat requests" in page.text and "Visitor asked: “a human please”" in page.text
    chat_id, pane = accept(desk, ann, page)
    assert pane.url.endswith(f"/inbox/live/{chat_id}") and "Message to visitor" in pane.text

    joined = visitor.polls()
    assert joined["live"] == "active"
    assert [m["text"] for m in joined["messages"]] == ["Ann from More 4 Life Physical Therapy has joined the chat."]

    sent = ann.post(f"{desk.url}/inbox/live/{chat_id}/messages", headers={"Accept": "application/json"},
                    data={"text": "<img src=x onerror=alert(1)> Hello, I'm Ann", "csrf_token": csrf(pane)})
    assert sent.status_code == 200
    [hello] = visitor.polls()["messages"]
    assert hello == {"id": hello["id"], "who": "staff", "name": "Ann, More 4 Life Physical Therapy",
                     "text": "<img src=x onerror=alert(1)> Hello, I'm Ann"}  # as text: the widget never parses it

    # A reconnect says the last id it has: nothing repeated, and what came meanwhile is not lost.
    ann.post(f"{desk.url}/inbox/live/{chat_id}/messages", headers={"Accept": "application/json"},
             data={"text": "Are you still there?", "csrf_token": csrf(pane)})
    again = visitor.polls(after=hello["id"])
    assert [m["text"] for m in again["messages"]] == ["Are you still there?"]

    assert visitor.says("yes, thanks") == [{"custom": {"live": "active"}}]  # to Ann, not to the assistant
    emergency = visitor.says("I suddenly can't control my bladder and my groin is numb")
    assert emergency[0]["custom"]["triage"] == "emergency" and emergency[0]["custom"]["live"] == "active"
    staff_view = ann.get(f"{desk.url}/inbox/live/{chat_id}/messages?after=0").json()
    texts = [(m["who"], m["text"], m["triage"]) for m in staff_view["messages"] if m["who"] == "visitor"]
    assert texts == [("visitor", "a human please", None), ("visitor", "it's about my left hip", None),
                     ("visitor", "yes, thanks", None),
                     ("visitor", "I suddenly can't control my bladder and my groin is numb", "emergency")]
    leads = ann.get(f"{desk.url}/inbox/api/leads", params={"urgency": "emergency"}).json()["leads"]
    assert len(leads) == 1 and "during a live chat" in leads[0]["reason"]  # the lead is made as usual
    # A leading slash makes no button payload of the visitor's own words: the net reads them all the same
    slashed = visitor.says("/my chest is crushing and the pain goes into my left arm")
    assert slashed[0]["custom"]["triage"] == "emergency" and "heart attack" in slashed[0]["text"]

    ann.post(f"{desk.url}/inbox/live/{chat_id}/end", data={"csrf_token": csrf(pane)})
    ended = visitor.polls()
    assert ended["live"] == "none"
    assert ended["messages"][-1]["text"].startswith("Ann has ended the chat. I'm the automated assistant again")
    audit = ann.get(f"{desk.url}/inbox/live/{chat_id}").text
    assert "This chat has ended." in audit


def test_another_token_or_clinic_reads_nothing(desk):
    visitor = Widget(desk)
    visitor.says("hello")
    refused = requests.post(f"{desk.url}/chat/live", headers={"Origin": ORIGIN}, timeout=10,
                            json={"conversation": "forged", "clinic": "stl", "after": 0})
    assert refused.status_code == 403
    other = requests.post(f"{desk.url}/chat/live", headers={"Origin": "http://evil.example"}, timeout=10,
                          json={"conversation": visitor.token, "clinic": "stl", "after": 0})
    assert other.status_code == 403


@pytest.mark.parametrize("desk", [{"handoff_wait_seconds": 1.0}], indirect=True)
def test_nobody_accepts_in_time(desk):
    ann, _ = available(desk, "ann@stl.example")
    visitor = Widget(desk)
    [asking] = visitor.says("can i talk to someone please")
    assert "less than a second" in asking["text"]
    time.sleep(1.2)
    assert "Live chat requests" not in ann.get(f"{desk.url}/inbox/leads").text  # out of the queue
    missed = visitor.polls()
    assert missed["live"] == "none" and missed["messages"][-1]["text"].startswith("Sorry, nobody from")
    assert "call More 4 Life Physical Therapy at" in missed["messages"][-1]["text"]
    assert missed["messages"][-1]["buttons"][0]["payload"] == "/request_appointment"
    assert visitor.polls()["messages"] == []  # told once


def test_the_visitor_cancels(desk):
    ann, _ = available(desk, "ann@stl.example")
    visitor = Widget(desk)
    visitor.says("I want a real person")
    [cancelled] = visitor.says("/live_chat_cancel")
    assert cancelled["text"].startswith("Okay, I've withdrawn") and cancelled["custom"] == {"live": "none"}
    assert "Live chat requests" not in ann.get(f"{desk.url}/inbox/leads").text


def test_two_staff_race_to_accept_and_one_wins(desk):
    ann, ann_page = available(desk, "ann@stl.example")
    al, al_page = available(desk, "al@stl.example")
    Widget(desk).says("a human please")
    ann_page, al_page = ann.get(f"{desk.url}/inbox/leads"), al.get(f"{desk.url}/inbox/leads")
    results = {}
    start = threading.Barrier(2)

    def take(name, browser, page):
        start.wait()
        results[name] = accept(desk, browser, page)[1]

    threads = [threading.Thread(target=take, args=args) for args in (("ann", ann, ann_page), ("al", al, al_page))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [name for name, answer in results.items() if "/inbox/live/" in answer.url]
    losers = [name for name, answer in results.items() if "live=taken" in answer.url]
    assert len(winners) == 1 and len(losers) == 1
    assert "Another staff member has already accepted" in results[losers[0]].text


def test_availability_ends_at_logout(desk):
    ann, page = available(desk, "ann@stl.example")
    ann.post(f"{desk.url}/inbox/logout", data={"csrf_token": csrf(page)})
    [reply] = Widget(desk).says("can I talk to a real person")
    assert reply["text"].startswith("Nobody from")


# --- what an outside probe found, tried again from outside ---

def live_poll(site, body, headers=None, timeout=40):
    """A raw POST /chat/live: the body as given (a str goes as it is, anything else as JSON)."""
    headers = {"Origin": ORIGIN, "Content-Type": "application/json", **(headers or {})}
    data = body if isinstance(body, str) else json.dumps(body)
    return requests.post(f"{site.url}/chat/live", data=data, headers=headers, timeout=timeout)


def waiting_visitor(site):
    """A visitor whose request for a person waits in the queue: a poll of theirs stays open."""
    visitor = Widget(site)
    [asking] = visitor.says("a human please")
    assert asking["custom"] == {"live": "waiting"}
    return visitor


def test_an_after_the_database_cannot_hold_is_refused_in_json(desk):
    visitor = Widget(desk)
    visitor.says("hello")
    for after in ("99999999999999999999999", str(2**63), str(-2**63 - 1), "-1", "1e308", "Infinity", '"abc"',
                  "true", "[1]", '{"id": 1}', "1.5"):
        answer = live_poll(desk, '{"conversation": "%s", "clinic": "stl", "after": %s}' % (visitor.token, after))
        assert answer.status_code == 400 and answer.json()["error"] == "malformed", after
    assert live_poll(desk, "[1, 2]").json()["error"] == "malformed"  # not a JSON object at all
    assert live_poll(desk, {"conversation": visitor.token, "clinic": "stl", "after": 2**63 - 1}).status_code == 200


def test_the_pane_refuses_an_unreadable_after_in_json(desk):
    ann, _ = available(desk, "ann@stl.example")
    waiting_visitor(desk)
    chat_id = re.search(r'action="/inbox/live/(\d+)/accept"', ann.get(f"{desk.url}/inbox/leads").text).group(1)
    for after in ("99999999999999999999999", str(2**63), "-1", "abc", "", "1.5", "true"):
        answer = ann.get(f"{desk.url}/inbox/live/{chat_id}/messages", params={"after": after})
        assert answer.status_code == 400 and answer.json()["error"] == "malformed", after


@pytest.mark.parametrize("desk", [{"api_token": "s" * 32}], indirect=True)
def test_a_poll_without_origin_needs_the_api_token_as_chat_does(desk):
    visitor = Widget(desk)
    visitor.says("hello")
    body = json.dumps({"conversation": visitor.token, "clinic": "stl", "after": 0})
    bare = requests.post(f"{desk.url}/chat/live", data=body, timeout=10)
    assert bare.status_code == 403 and bare.json()["error"] == "origin_required"
    server = requests.post(f"{desk.url}/chat/live", data=body, timeout=10,
                           headers={"Authorization": "Bearer " + "s" * 32})
    assert server.status_code == 200 and server.json() == {"live": "none", "typing": "", "messages": []}


def test_many_polls_of_one_conversation_are_refused_at_once_and_health_stays_fast(desk):
    available(desk, "ann@stl.example")
    visitor = waiting_visitor(desk)
    body = {"conversation": visitor.token, "clinic": "stl", "after": 0}

    def poll(_):
        started = time.monotonic()
        answer = live_poll(desk, body)
        return answer, time.monotonic() - started

    with ThreadPoolExecutor(100) as pool:
        polls = [pool.submit(poll, n) for n in range(100)]
        time.sleep(1.0)
        started = time.monotonic()
        assert requests.get(f"{desk.url}/healthz", timeout=10).status_code == 200
        assert time.monotonic() - started < 1.0
        refused = [done.result() for done in polls if done.done()]
        assert len(refused) == 98, len(refused)  # two wait for staff; the rest are answered at once
        assert all(answer.status_code == 429 and int(answer.headers["Retry-After"]) >= 1
                   and answer.json()["error"] == "slow_down" and took < 1.0 for answer, took in refused)
        visitor.says("/live_chat_cancel")  # the two open ones answer as the chat closes
    answered = [done.result()[0] for done in polls if done.result()[0].status_code == 200]
    assert len(answered) == 2 and all(answer.json()["live"] == "none" for answer in answered)


def test_open_polls_from_one_address_are_bounded(desk):
    available(desk, "ann@stl.example")
    visitors = [waiting_visitor(desk) for _ in range(12)]
    with ThreadPoolExecutor(12) as pool:
        polls = [pool.submit(live_poll, desk, {"conversation": v.token, "clinic": "stl", "after": 0})
                 for v in visitors]
        time.sleep(1.0)
        refused = [done.result() for done in polls if done.done()]
        assert len(refused) == 2 and all(answer.status_code == 429 for answer in refused)
        for visitor in visitors:
            visitor.says("/live_chat_cancel")
    assert sum(done.result().status_code == 200 for done in polls) == 10


def read_audits(settings):
    rows, _ = audit.entries(settings, None, audit.AuditFilter(action=audit.LIVE_READ))
    return [(row["actor"], row["detail"]) for row in rows]


def test_reading_a_chat_from_the_start_is_audited_once_and_later_polls_are_not(desk):
    ann, _ = available(desk, "ann@stl.example")
    al, _ = log_in(desk, "al@stl.example")  # of the clinic, but not the one who will accept
    bea, _ = log_in(desk, "bea@boston.example")
    waiting_visitor(desk).says("/live_chat_cancel")  # an earlier chat: this one's messages do not start at 1
    visitor = waiting_visitor(desk)
    visitor.says("it's about my left hip")
    chat_id = re.search(r'action="/inbox/live/(\d+)/accept"', ann.get(f"{desk.url}/inbox/leads").text).group(1)
    feed = f"{desk.url}/inbox/live/{chat_id}/messages"

    assert bea.get(feed, params={"after": 0}).status_code == 404  # another clinic's: nothing read, nothing logged
    first = al.get(feed, params={"after": 0}).json()["messages"]
    assert [m["text"] for m in first] == ["a human please", "it's about my left hip"]
    assert read_audits(desk.settings) == [("al@stl.example", f"live chat {chat_id}")]
    assert len(al.get(feed, params={"after": first[0]["id"]}).json()["messages"]) == 1
    visitor.says("/live_chat_cancel")
    assert al.get(feed, params={"after": first[-1]["id"]}).json()["status"] == "cancelled"
    assert read_audits(desk.settings) == [("al@stl.example", f"live chat {chat_id}")]  # the polls added none
    # Message ids are shared by every chat: any id before this chat's first reads it from the start too
    assert first[0]["id"] > 1
    again = al.get(feed, params={"after": first[0]["id"] - 1}).json()["messages"]
    assert again[0]["text"] == "a human please"
    assert read_audits(desk.settings) == [("al@stl.example", f"live chat {chat_id}")] * 2


def test_the_panes_script_gets_its_errors_in_json(desk):
    ann, _ = available(desk, "ann@stl.example")
    al, _ = log_in(desk, "al@stl.example")
    waiting_visitor(desk)
    chat_id, pane = accept(desk, ann, ann.get(f"{desk.url}/inbox/leads"))
    token = csrf(pane)
    script = {"Accept": "application/json"}
    huge = "99999999999999999999"

    for answer in (ann.get(f"{desk.url}/inbox/live/{huge}/messages"),
                   ann.post(f"{desk.url}/inbox/live/{huge}/messages", headers=script,
                            data={"text": "hello", "csrf_token": token})):
        assert answer.status_code == 404 and answer.json() == {"error": "not_found"}
    page_404 = ann.get(f"{desk.url}/inbox/live/{huge}")
    assert page_404.status_code == 404 and page_404.headers["content-type"].startswith("text/html")

    feed = f"{desk.url}/inbox/live/{chat_id}/messages"
    no_token = ann.post(feed, headers=script, data={"text": "hello"})
    assert no_token.status_code == 403 and no_token.json()["error"] == "csrf"
    form_post = ann.post(feed, data={"text": "hello"})  # a form without the script: the page, as before
    assert form_post.status_code == 403 and "form has expired" in form_post.text
    too_long = ann.post(feed, headers=script, data={"text": "x" * 1001, "csrf_token": token})
    assert too_long.status_code == 413 and too_long.json()["error"] == "too_long"
    huge_form = ann.post(feed, headers=script, data={"text": "x" * 70_000, "csrf_token": token})
    assert huge_form.status_code == 413 and huge_form.json()["error"] == "too_large"

    al_token = csrf(al.get(f"{desk.url}/inbox/leads"))
    not_his = al.post(feed, headers=script, data={"text": "hello", "csrf_token": al_token})
    assert not_his.status_code == 409 and not_his.json()["message"] == "This chat is not yours or has ended."


def test_a_poll_body_past_two_kilobytes_is_refused_unread(desk):
    available(desk, "ann@stl.example")
    visitor = waiting_visitor(desk)
    padded = {"conversation": visitor.token, "clinic": "stl", "after": 0, "pad": "x" * 4000}
    answer = live_poll(desk, padded, timeout=5)
    assert answer.status_code == 413 and answer.json()["error"] == "too_large"
    visitor.says("/live_chat_cancel")
    assert live_poll(desk, {"conversation": visitor.token, "clinic": "stl", "after": 0}).status_code == 200


def test_a_staff_members_open_panes_are_bounded(desk):
    ann, _ = available(desk, "ann@stl.example")
    visitor = waiting_visitor(desk)
    chat_id, _ = accept(desk, ann, ann.get(f"{desk.url}/inbox/leads"))
    feed = f"{desk.url}/inbox/live/{chat_id}/messages"
    last = ann.get(feed, params={"after": 0}).json()["messages"][-1]["id"]
    with ThreadPoolExecutor(6) as pool:
        polls = [pool.submit(ann.get, feed, params={"after": last}, timeout=40) for _ in range(6)]
        time.sleep(1.0)
        refused = [done.result() for done in polls if done.done()]
        assert len(refused) == 2, len(refused)  # four panes wait for the visitor; two more are refused at once
        assert all(answer.status_code == 429 and answer.json()["error"] == "slow_down"
                   and int(answer.headers["Retry-After"]) >= 1 for answer in refused)
        visitor.says("thanks, that's all")
    assert sum(done.result().status_code == 200 for done in polls) == 4


def test_every_visitors_open_poll_of_the_process_is_bounded_and_staff_still_get_through(settings, monkeypatch):
    from bot.web import live_visitor
    monkeypatch.setattr(live_visitor, "OPEN_POLLS", 3)
    settings = dataclasses.replace(settings, internal_token="i" * 32, live_chat_poll_seconds=0.1,
                                   rasa_url=f"http://127.0.0.1:{free_port()}")
    staff.add_account(settings, "ann@stl.example", PASSWORD, "stl")
    with WebServer(create_app(settings), free_port()) as site:
        ann, _ = available(site, "ann@stl.example")
        visitors = [waiting_visitor(site) for _ in range(4)]
        chat_id = re.search(r'action="/inbox/live/(\d+)/accept"', ann.get(f"{site.url}/inbox/leads").text).group(1)
        with ThreadPoolExecutor(4) as pool:
            held = [pool.submit(live_poll, site, {"conversation": v.token, "clinic": "stl", "after": 0})
                    for v in visitors[:3]]
            time.sleep(1.0)
            assert not any(done.done() for done in held)  # three open: the process's whole allowance
            fourth = live_poll(site, {"conversation": visitors[3].token, "clinic": "stl", "after": 0}, timeout=5)
            assert fourth.status_code == 429 and fourth.json()["error"] == "slow_down"
            # a flood of visitors never locks the staff out of their panes
            pane = ann.get(f"{site.url}/inbox/live/{chat_id}/messages", params={"after": 0}, timeout=40)
            assert pane.status_code == 200 and pane.json()["messages"]
            for visitor in visitors:
                visitor.says("/live_chat_cancel")
        assert all(done.result().status_code == 200 for done in held)
        assert live_poll(site, {"conversation": visitors[3].token, "clinic": "stl", "after": 0}).status_code == 200


@pytest.mark.parametrize("desk", [{"live_chat_max_waiting": 2}], indirect=True)
def test_a_full_queue_offers_the_call_back_instead_of_burying_the_requests(desk):
    available(desk, "ann@stl.example")
    first, second = waiting_visitor(desk), waiting_visitor(desk)
    [third] = Widget(desk).says("can I talk to a real person please")
    assert third["custom"] == {"live": "none"} and "call-back" in third["text"]
    assert third["buttons"][0]["payload"] == "/request_appointment"
    first.says("/live_chat_cancel")  # a place comes free
    assert waiting_visitor(desk).token
    second.says("/live_chat_cancel")


# --- the live exchange in the lead's transcript ---

def sender_of_open_chat(settings):
    with session_scope(settings.database_url) as session:
        return session.execute(select(LiveChat.sender_id).order_by(LiveChat.id.desc()).limit(1)).scalar_one()


def test_the_live_exchange_is_in_the_leads_transcript_in_the_inbox_and_exports_encrypted(desk):
    ann, page = available(desk, "ann@stl.example")
    visitor = Widget(desk)
    visitor.says("a human please")
    sender = sender_of_open_chat(desk.settings)
    # A call-back request the visitor made with the assistant before asking for a person.
    earlier = datetime.now(timezone.utc) - timedelta(minutes=5)
    made = leads.submit(desk.settings, clinics_for(desk.settings), leads.LeadInput(
        clinic="stl", sender_id=sender, name="Pat Moreno", phone="+13145550123", email=None, preferred_time=None,
        mode=None, consent=True, reason="Asked to be contacted", submitted_at=earlier.isoformat(),
        transcript=[{"who": "user", "text": "book me in", "at": earlier.isoformat()},
                    {"who": "bot", "text": "Done: the team will call you.", "at": earlier.isoformat()}]))
    chat_id, pane = accept(desk, ann, ann.get(f"{desk.url}/inbox/leads"))
    ann.post(f"{desk.url}/inbox/live/{chat_id}/messages", headers={"Accept": "application/json"},
             data={"text": "Hello Pat, <b>Ann</b> here", "csrf_token": csrf(pane)})
    visitor.says("thanks, it's my left hip")

    lead = ann.get(f"{desk.url}/inbox/api/leads/{made.lead_id}").json()
    assert [(t["who"], t["text"], t.get("live", False)) for t in lead["transcript"]] == [
        ("user", "book me in", False), ("bot", "Done: the team will call you.", False),
        ("user", "a human please", True), ("staff", "Hello Pat, <b>Ann</b> here", True),
        ("user", "thanks, it's my left hip", True)]
    assert {(t["staff"], t["staff_email"]) for t in lead["transcript"] if t["who"] == "staff"} == {
        ("Ann", "ann@stl.example")}

    view = ann.get(f"{desk.url}/inbox/leads/{made.lead_id}").text  # the lead view, the staff member marked
    assert "Ann (staff, ann@stl.example), live chat" in view and "Visitor, live chat" in view
    assert "Hello Pat, &lt;b&gt;Ann&lt;/b&gt; here" in view  # as text
    assert "thanks, it&#39;s my left hip" in view or "thanks, it's my left hip" in view
    export = ann.get(f"{desk.url}/inbox/leads.csv").text
    assert "Hello Pat" in export and "thanks, it's my left hip" in export

    with session_scope(desk.settings.database_url) as session:  # at rest: encrypted as the rest of the lead
        stored = session.execute(text("SELECT transcript FROM leads WHERE id = :id"), {"id": made.lead_id}).scalar()
    assert stored.startswith("enc1:") and "left hip" not in stored


def test_an_emergency_lead_during_a_live_chat_carries_the_live_exchange(desk):
    ann, page = available(desk, "ann@stl.example")
    visitor = Widget(desk)
    visitor.says("a human please")
    chat_id, pane = accept(desk, ann, ann.get(f"{desk.url}/inbox/leads"))
    ann.post(f"{desk.url}/inbox/live/{chat_id}/messages", headers={"Accept": "application/json"},
             data={"text": "How can I help?", "csrf_token": csrf(pane)})
    visitor.says("I suddenly can't control my bladder and my groin is numb")
    ann.post(f"{desk.url}/inbox/live/{chat_id}/messages", headers={"Accept": "application/json"},
             data={"text": "Please call 911 now.", "csrf_token": csrf(pane)})
    [lead] = ann.get(f"{desk.url}/inbox/api/leads", params={"urgency": "emergency"}).json()["leads"]
    assert [(t["who"], t["text"]) for t in lead["transcript"]] == [
        ("user", "a human please"), ("staff", "How can I help?"),
        ("user", "I suddenly can't control my bladder and my groin is numb"), ("staff", "Please call 911 now.")]
    assert lead["transcript"][2]["triage"] == "emergency"


def test_the_visitor_is_told_a_person_will_read_the_chat_before_anyone_can(desk):
    ann, _ = available(desk, "ann@stl.example")
    visitor = Widget(desk)
    [asking] = visitor.says("can I talk to a real person")
    consent = "a member of the More 4 Life Physical Therapy team will read this conversation"
    assert consent in asking["text"] and asking["text"].index(consent) < asking["text"].index("I'm asking the team")
    # In the same answer that put the request in the queue: no staff member has it before the visitor is told.
    assert "Live chat requests" in ann.get(f"{desk.url}/inbox/leads").text
    config = requests.get(f"{desk.url}/widget/config/stl.json", timeout=10).json()
    assert "ask to talk to a person" in config["privacy_note"]  # said in the widget's footer from the start


def test_no_consent_when_nobody_can_read_it(desk):
    [reply] = Widget(desk).says("can I talk to a real person")
    assert "will read this conversation" not in reply["text"]


# --- the widget's "Talk to a person" control ---

def test_the_talk_to_a_person_control_offers_the_call_back_when_nobody_is_available(desk):
    [reply] = Widget(desk).says("/live_chat_request")  # answered by the web server: the assistant is down here
    assert reply["text"].startswith("Nobody from More 4 Life Physical Therapy is free")
    assert reply["buttons"] == [{"title": "Request a call-back", "payload": "/request_appointment"}]


def test_the_talk_to_a_person_control_asks_the_team_when_someone_is_available(desk):
    ann, _ = available(desk, "ann@stl.example")
    visitor = Widget(desk)
    [asking] = visitor.says("/live_chat_request")
    assert asking["custom"] == {"live": "waiting"} and "will read this conversation" in asking["text"]
    assert "Visitor asked: “Talk to a person”" in ann.get(f"{desk.url}/inbox/leads").text
    assert visitor.says("/live_chat_request") == [{"custom": {"live": "waiting"}}]  # pressed again: one request
    assert ann.get(f"{desk.url}/inbox/leads").text.count("/accept") == 1
    config = requests.get(f"{desk.url}/widget/config/stl.json", timeout=10).json()
    assert (config["talk_button"], config["talk_payload"]) == ("Talk to a person", "/live_chat_request")


# --- staff display names and typing both ways ---

def chatting(site, email="ann@stl.example"):
    """A visitor in an active chat with a staff member, the joined message already seen; (visitor, staff, id, pane)."""
    browser, _ = available(site, email)
    visitor = Widget(site)
    visitor.says("a human please")
    chat_id, pane = accept(site, browser, browser.get(f"{site.url}/inbox/leads"))
    assert visitor.polls()["live"] == "active"
    return visitor, browser, chat_id, pane


def test_a_staff_members_display_name_is_what_the_visitor_reads(desk):
    staff.add_account(desk.settings, "d.smith@stl.example", PASSWORD, "stl", name="  Dana   Smith ")
    browser, _ = available(desk, "d.smith@stl.example")
    visitor = Widget(desk)
    visitor.says("a human please")
    chat_id, pane = accept(desk, browser, browser.get(f"{desk.url}/inbox/leads"))
    [joined] = visitor.polls()["messages"]
    assert joined["text"] == "Dana Smith from More 4 Life Physical Therapy has joined the chat."
    browser.post(f"{desk.url}/inbox/live/{chat_id}/messages", headers={"Accept": "application/json"},
                 data={"text": "Hello", "csrf_token": csrf(pane)})
    [hello] = visitor.polls()["messages"]
    assert hello["name"] == "Dana Smith, More 4 Life Physical Therapy"


def test_without_a_display_name_the_name_still_comes_from_the_email(desk):
    visitor, _, _, _ = chatting(desk)
    assert visitor.polls(after=0)["messages"][0]["text"].startswith("Ann from More 4 Life")


def staff_typing_at(settings, chat_id):
    with session_scope(settings.database_url) as session:
        return session.execute(select(LiveChat.staff_typing_at).where(LiveChat.id == chat_id)).scalar_one()


def test_the_visitor_sees_the_staff_member_typing_until_the_message_comes(desk):
    visitor, ann, chat_id, pane = chatting(desk)
    started = time.monotonic()
    typed = ann.post(f"{desk.url}/inbox/live/{chat_id}/typing", data={"csrf_token": csrf(pane)})
    assert typed.status_code == 204
    first = staff_typing_at(desk.settings, chat_id)
    ann.post(f"{desk.url}/inbox/live/{chat_id}/typing", data={"csrf_token": csrf(pane)})  # throttled: not written
    assert staff_typing_at(desk.settings, chat_id) == first
    seen = visitor.polls(typing=False)  # answers at once: the typing changed
    assert seen["typing"] == "Ann is typing…" and seen["messages"] == [] and time.monotonic() - started < 5
    ann.post(f"{desk.url}/inbox/live/{chat_id}/messages", headers={"Accept": "application/json"},
             data={"text": "Here I am", "csrf_token": csrf(pane)})
    done = visitor.polls(typing=True)
    assert done["typing"] == "" and [m["text"] for m in done["messages"]] == ["Here I am"]


def test_typing_shows_only_while_recent(desk, monkeypatch):
    monkeypatch.setattr(live_chat, "TYPING_SECONDS", 1.0)
    visitor, ann, chat_id, pane = chatting(desk)
    ann.post(f"{desk.url}/inbox/live/{chat_id}/typing", data={"csrf_token": csrf(pane)})
    assert visitor.polls(typing=False)["typing"] == "Ann is typing…"
    started = time.monotonic()
    assert visitor.polls(typing=True)["typing"] == ""  # the staff member stopped: cleared within a second or so
    assert time.monotonic() - started < 5


def test_staff_see_the_visitor_typing_until_the_message_comes(desk):
    visitor, ann, chat_id, pane = chatting(desk)
    last = ann.get(f"{desk.url}/inbox/live/{chat_id}/messages?after=0").json()["messages"][-1]["id"]
    typed = requests.post(f"{desk.url}/chat/live/typing", headers={"Origin": ORIGIN}, timeout=10,
                          json={"conversation": visitor.token, "clinic": "stl"})
    assert typed.status_code == 204
    seen = ann.get(f"{desk.url}/inbox/live/{chat_id}/messages?after={last}&typing=0").json()
    assert seen["visitor_typing"] is True and seen["messages"] == []
    visitor.says("my left hip")
    done = ann.get(f"{desk.url}/inbox/live/{chat_id}/messages?after={last}&typing=1").json()
    assert done["visitor_typing"] is False and [m["text"] for m in done["messages"]] == ["my left hip"]


def test_typing_is_refused_to_a_forged_conversation_and_a_colleague(desk):
    visitor, ann, chat_id, pane = chatting(desk)
    forged = requests.post(f"{desk.url}/chat/live/typing", headers={"Origin": ORIGIN}, timeout=10,
                           json={"conversation": "forged", "clinic": "stl"})
    assert forged.status_code == 403
    al, page = available(desk, "al@stl.example")
    al.post(f"{desk.url}/inbox/live/{chat_id}/typing", data={"csrf_token": csrf(page)})  # not al's chat
    assert staff_typing_at(desk.settings, chat_id) is None


@pytest.mark.parametrize("desk", [{"live_chat_max_waiting": 2, "handoff_wait_seconds": 1}], indirect=True)
def test_requests_whose_visitors_left_do_not_fill_the_queue(desk):
    available(desk, "ann@stl.example")
    waiting_visitor(desk), waiting_visitor(desk)  # then both close the tab: nobody polls them out of the queue
    time.sleep(1.5)  # past HANDOFF_WAIT_SECONDS
    assert waiting_visitor(desk).token  # queued, not offered the call-back
