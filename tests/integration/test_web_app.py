"""The widget's web server, served by real uvicorn and read over HTTP."""
import dataclasses

import pytest
import requests
import yaml

from bot.core.data import clinics_file as clinics_file_of
from bot.core.settings import settings_from
from bot.web.app import create_app
from tests.support.helpers import run_async
from tests.support.servers import WebServer, free_port


@pytest.fixture(scope="module")
def site(tmp_path_factory, root):
    document = yaml.safe_load((root / "data" / "clinics.yml").read_text())
    document["clinics"]["stl"]["name"] = "Hips & Knees <St. Louis>"
    path = tmp_path_factory.mktemp("web") / "clinics.yml"
    path.write_text(yaml.safe_dump(document))
    settings = dataclasses.replace(settings_from({}), clinics_file=path, rasa_url=f"http://127.0.0.1:{free_port()}",
                                   widget_timeout_ms=4321, conversation_retention_days=12)
    with WebServer(create_app(settings, clinics_file_of(settings)), free_port()) as server:
        yield server


def test_health_says_when_the_assistant_behind_it_is_down(site):
    response = requests.get(f"{site.url}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "assistant": "down", "assistant_processes": ["down"],
                               "clinics": ["boston", "stl"]}


def chat(site, message):
    return requests.post(f"{site.url}/chat", json={"sender": "visitor-123456", "message": message,
                                                   "metadata": {"clinic": "stl"}},
                         headers={"Origin": "http://localhost:8000"}, timeout=10)


def test_chat_with_the_assistant_down_is_a_clear_503_not_a_crash(site):
    response = chat(site, "hi")
    assert response.status_code == 503 and response.json()["error"] == "unavailable"


@pytest.mark.parametrize("message", ["I can't control my bladder since this morning",
                                     "fell an hour ago and now I cannot put any weight on my leg"])
def test_with_the_assistant_down_an_emergency_still_gets_the_advice(site, message):
    response = chat(site, message)
    assert response.status_code == 200
    [advice] = response.json()
    assert advice["custom"] == {"triage": "emergency"} and "911" in advice["text"]


@pytest.mark.parametrize("message", ["/report_red_flag", "I used to have bladder trouble years ago",
                                     "no numbness in my groin, just a sore hip"])
def test_with_the_assistant_down_other_messages_get_the_503(site, message):
    assert chat(site, message).status_code == 503


def test_each_clinic_gets_its_own_widget_settings_without_staff_details(site):
    stl = requests.get(f"{site.url}/widget/config/stl.json", timeout=5)
    boston = requests.get(f"{site.url}/widget/config/boston.json", timeout=5).json()
    assert stl.status_code == 200
    config = stl.json()
    assert config["colour"] == "#1d5c8c" and boston["colour"] == "#7a2e4d"
    assert "314-941-3970" in config["contact"] and "through its website" in boston["contact"]
    assert config["privacy_url"] == "/demo/stl/privacy"
    assert config["timeout_ms"] == 4321 and config["history_days"] == 12
    assert "chat_url" not in config  # the widget chats with the server it came from
    assert "kept for 12 days" in config["privacy_note"] and "{days}" not in config["privacy_note"]
    assert "911" in config["disclaimer"] and config["starters"][0]["payload"].startswith("/")
    assert "frontdesk@" not in stl.text and "staff" not in config


def test_unknown_clinics_and_pages_are_plain_404s(site):
    assert requests.get(f"{site.url}/widget/config/atlantis.json", timeout=5).status_code == 404
    for path in ("/demo/atlantis", "/demo/stl/admin", "/demo/stl/..%2F..%2Fetc", "/nothing-here"):
        assert requests.get(f"{site.url}{path}", timeout=5).status_code == 404, path


def test_demo_pages_embed_the_widget_with_one_tag_as_a_clinic_would(site):
    for clinic in ("stl", "boston"):
        for page in ("", "/services", "/privacy"):
            response = requests.get(f"{site.url}/demo/{clinic}{page}", timeout=5)
            assert response.status_code == 200
            assert response.text.count("<script") == 1
            assert f'<script src="{site.url}/widget.js" data-clinic="{clinic}" async></script>' in response.text


def test_the_demo_privacy_page_says_what_the_chat_keeps_and_for_how_long(site):
    page = requests.get(f"{site.url}/demo/stl/privacy", timeout=5).text
    assert "12 days after your last message" in page and "365 days" in page and "$" not in page


def test_profile_text_is_escaped_in_the_demo_page(site):
    page = requests.get(f"{site.url}/demo/stl", timeout=5).text
    assert "Hips &amp; Knees &lt;St. Louis&gt;" in page and "<St. Louis>" not in page


def test_widget_files_are_served_with_their_types(site):
    script = requests.get(f"{site.url}/widget.js", timeout=5)
    style = requests.get(f"{site.url}/widget.css", timeout=5)
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "attachShadow" in script.text
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")


def test_widget_settings_can_be_read_only_from_the_clinics_websites(site):
    allowed = requests.get(f"{site.url}/widget/config/stl.json", headers={"Origin": "http://localhost:8000"}, timeout=5)
    other = requests.get(f"{site.url}/widget/config/stl.json", headers={"Origin": "https://evil.example"}, timeout=5)
    assert allowed.headers.get("access-control-allow-origin") == "http://localhost:8000"
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("path", ["/", "/demo/stl", "/demo/boston/privacy", "/widget.js", "/widget.css",
                                  "/widget/config/stl.json", "/healthz", "/nothing-here"])
def test_every_response_carries_the_security_headers(site, path):
    headers = requests.get(f"{site.url}{path}", timeout=5).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_demo_pages_allow_only_their_own_script_and_their_nonced_style(site):
    first = requests.get(f"{site.url}/demo/stl", timeout=5)
    second = requests.get(f"{site.url}/demo/stl", timeout=5)
    policy = first.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy and "object-src 'none'" in policy
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f'<style nonce="{nonce}">' in first.text
    assert nonce not in second.headers["Content-Security-Policy"]  # a new nonce for every page


def test_a_chat_body_too_large_is_refused_before_it_is_read_whole(site):
    response = requests.post(f"{site.url}/chat", data=b"x" * 200_000, headers={"Origin": "http://localhost:8000"},
                             timeout=10)
    assert response.status_code == 413 and response.json()["error"] == "too_large"


API_TOKEN = "a" * 40


def hello_from(site):
    """A visitor saying hello through the site's /chat, by a sender id that a clinic's server holding
    MEDIUS_API_TOKEN names (a browser's own sender ids are never used: the web server issues them)."""
    def say(sender):
        return requests.post(f"{site.url}/chat", json={"sender": sender, "message": "hello",
                                                       "metadata": {"clinic": "stl"}},
                             headers={"Origin": "http://localhost:8000", "Authorization": f"Bearer {API_TOKEN}"},
                             timeout=20)
    return say


class SlowRasa:
    """A stand-in Rasa process over real HTTP that takes `seconds` a turn, notes who it served and the most
    turns it had at once."""

    def __init__(self, seconds: float = 0.3):
        import json
        import threading
        import time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.senders = []
        self.most_at_once = 0
        served, now, lock, rasa = self.senders, [0], threading.Lock(), self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    served.append(body["sender"])
                    now[0] += 1
                    rasa.most_at_once = max(rasa.most_at_once, now[0])
                time.sleep(seconds)
                with lock:
                    now[0] -= 1
                reply = json.dumps([{"recipient_id": body["sender"], "text": "ok"}]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_a_visitor_sticks_to_one_rasa_process_unless_it_is_much_busier_than_another(root, tmp_path):
    import zlib
    from concurrent.futures import ThreadPoolExecutor

    rasas = [SlowRasa(), SlowRasa()]
    settings = dataclasses.replace(settings_from({}), clinics_file=root / "data" / "clinics.yml",
                                   rasa_url=",".join(r.url for r in rasas), chat_rate_limit=1000,
                                   chat_address_rate_limit=1000, internal_token="t" * 32,
                                   api_token=API_TOKEN)
    home_of_zero = [f"visitor-{n:06d}" for n in range(400) if zlib.crc32(f"visitor-{n:06d}".encode()) % 2 == 0]

    try:
        with WebServer(create_app(settings, clinics_file_of(settings)), free_port()) as site:
            for sender in home_of_zero[:3]:  # one at a time: each to its own process
                assert hello_from(site)(sender).status_code == 200
            assert rasas[0].senders == home_of_zero[:3] and rasas[1].senders == []
            with ThreadPoolExecutor(12) as pool:  # twelve at once, all with the same home: some move
                assert all(r.status_code == 200 for r in pool.map(hello_from(site), home_of_zero[3:15]))
            assert 3 + 3 <= len(rasas[0].senders) < 15 and len(rasas[1].senders) >= 3
            assert sorted(rasas[0].senders + rasas[1].senders) == sorted(home_of_zero[:15])  # each turn once
    finally:
        for rasa in rasas:
            rasa.server.shutdown()


def test_a_rasa_process_gets_a_few_turns_at_a_time(root):
    from concurrent.futures import ThreadPoolExecutor

    rasa = SlowRasa(seconds=1.0)
    settings = dataclasses.replace(settings_from({}), clinics_file=root / "data" / "clinics.yml", rasa_url=rasa.url,
                                   chat_rate_limit=1000, chat_address_rate_limit=1000, internal_token="t" * 32,
                                   api_token=API_TOKEN,
                                   chat_turns_per_assistant=2, chat_timeout_seconds=5.0)

    try:
        with WebServer(create_app(settings, clinics_file_of(settings)), free_port()) as site:
            with ThreadPoolExecutor(6) as pool:  # two in at once, the others after them, all inside the timeout
                senders = [f"visitor-{n:04d}" for n in range(6)]
                assert [r.status_code for r in pool.map(hello_from(site), senders)] == [200] * 6
            assert rasa.most_at_once == 2 and sorted(rasa.senders) == [f"visitor-{n:04d}" for n in range(6)]
    finally:
        rasa.server.shutdown()


def test_a_turn_still_waiting_for_its_turn_at_the_timeout_is_answered_without_reaching_rasa(root):

    from bot.core.guard import ChatRequest
    from bot.web.forwarder import ChatForwarder

    rasa = SlowRasa(seconds=0.1)
    settings = dataclasses.replace(settings_from({}), clinics_file=root / "data" / "clinics.yml", rasa_url=rasa.url,
                                   internal_token="t" * 32, chat_turns_per_assistant=2, chat_timeout_seconds=0.5)
    forwarder = ChatForwarder(settings, clinics_file_of(settings))
    clinic = forwarder.clinics.get("stl")

    async def scenario():
        gate = forwarder._gates[0]
        await gate.enter()
        await gate.enter()  # two turns that have not come back yet
        ordinary = await forwarder.forward(ChatRequest("waiting-0001", "hello", clinic))
        emergency = await forwarder.forward(ChatRequest("waiting-0002", "I can't control my bladder since this "
                                                                         "morning", clinic))
        gate.leave()
        gate.leave()
        served = await forwarder.forward(ChatRequest("served-0001", "hello", clinic))  # a slot free: straight in
        await forwarder.close()
        return ordinary, emergency, served, list(forwarder._busy), gate.running

    try:
        ordinary, emergency, served, busy, running = run_async(scenario())
        assert ordinary[0] == 503 and ordinary[1]["error"] == "unavailable"
        assert emergency[0] == 200 and emergency[1][0]["custom"] == {"triage": "emergency"}
        assert served[0] == 200 and rasa.senders == ["served-0001"]  # the waiting ones never reached Rasa
        assert busy == [0] and running == 0  # nothing left counted against the process
    finally:
        rasa.server.shutdown()


def test_a_turn_cancelled_while_waiting_for_its_turn_leaves_nothing_counted(root):
    import asyncio

    from bot.core.guard import ChatRequest
    from bot.web.forwarder import ChatForwarder

    settings = dataclasses.replace(settings_from({}), clinics_file=root / "data" / "clinics.yml",
                                   rasa_url="http://127.0.0.1:9,http://127.0.0.1:9", internal_token="t" * 32,
                                   chat_turns_per_assistant=1, chat_timeout_seconds=30.0)
    forwarder = ChatForwarder(settings, clinics_file_of(settings))

    async def scenario():
        for gate in forwarder._gates:
            await gate.enter()  # both processes busy
        chat = ChatRequest("visitor-0001", "hello", forwarder.clinics.get("stl"))
        turn = asyncio.create_task(forwarder.forward(chat))
        await asyncio.sleep(0.05)
        waiting = [gate.waiting for gate in forwarder._gates]
        turn.cancel()  # the caller went away (a shutdown, a dropped request)
        await asyncio.gather(turn, return_exceptions=True)
        await forwarder.close()
        return waiting, list(forwarder._busy), [gate.waiting for gate in forwarder._gates]

    waiting, busy, after = run_async(scenario())
    assert sum(waiting) == 1 and busy == [0, 0] and after == [0, 0]
