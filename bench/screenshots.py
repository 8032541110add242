"""The README's screenshots, made again against the real product: docs/widget.png and docs/inbox-list.png.

    .venv/bin/python -m bench.screenshots            # both (needs models/medius.tar.gz and /usr/bin/chromium)
    .venv/bin/python -m bench.screenshots --only widget

Medius starts as `make run` starts it, on free ports, with a lead store and clinic profiles of its own
in a temporary folder (var/ is not touched). The widget is shown open on the demo clinic page after a
short conversation, on a tablet-sized screen where its panel fills the screen; the inbox is shown with
a few sample leads of made-up visitors, saved by the same function the booking form calls.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import List, Optional, Tuple

import yaml
from playwright.sync_api import Browser, expect, sync_playwright

from bot.core.data import clinics_file as clinics_file_of, clinics_for
from bot.core.paths import ROOT
from bot.core.settings import settings_from
from bot.leads.store import LeadInput, set_status, submit
from bot.store.db import migrate
from bot.store.models import utcnow
from bot.web.app import create_app
from tests.support.browser import CHROMIUM, launch_chromium
from tests.support.servers import WebServer, free_port, running_assistant

MODEL = ROOT / "models" / "medius.tar.gz"
DOCS = ROOT / "docs"
VIEWPORT = {"width": 1280, "height": 820}
# A tablet held upright: the panel fills the screen (up to 600 px wide), so a few whole turns fit in view;
# on a desktop the panel is 600 px high and shows little more than one answer.
WIDGET_VIEWPORT = {"width": 600, "height": 1000}
ANSWER_TIMEOUT = 60_000  # ms: the first turn also warms the action server up
# What the widget screenshot's visitor says: a question about outer hip pain, then a follow-up.
VISITOR = ["Why does the outside of my hip hurt when I walk?", "What is the gluteus medius?"]
STAFF_EMAIL = "frontdesk@stl-clinic.example.com"
STAFF_PASSWORD = "screenshot password"  # an account in a throwaway database


def lead(name: str, phone: str, urgency: str, reason: str) -> LeadInput:
    """A made-up visitor's booking for the stl demo clinic."""
    return LeadInput(clinic="stl", sender_id=f"screenshot-{re.sub(r'[^a-z]', '', name.lower())}", name=name,
                     phone=phone, email=None, preferred_time="afternoons", mode="in_person", consent=True,
                     reason=reason, urgency=urgency)


def sample_leads() -> List[Tuple[LeadInput, int, Optional[str]]]:
    """The inbox screenshot's leads: (lead, minutes ago, status to set, if not new)."""
    emergency = LeadInput(clinic="stl", sender_id="screenshot-emergency", name="Unknown visitor", phone=None,
                          email=None, preferred_time=None, mode=None, consent=False, urgency="emergency",
                          reason="Emergency red flag reported (saddle numbness)")
    return [
        (lead("Maria Alvarez", "+13145550188", "routine", "Sleeping on my side: how to use a pillow"), 600, "booked"),
        (lead("Peter Nguyen", "+13145550170", "routine", "Exercises for the gluteus medius"), 420, "contacted"),
        (lead("Joan Whitaker", "+13145550133", "routine", "Cause finder: crossed legs, TFL dominance"), 80, None),
        (lead("Harold Brooks", "+13145550122", "nerve_review", "Cause finder: a pinched nerve in the lower back"),
         15, None),
        (lead("Dennis Cole", "+13145550144", "urgent", "Leg weakness getting worse over days"), 5, None),
        (emergency, 0, None),
    ]


def seed_inbox(database_url: str, clinics_file: Path, spool: Path) -> None:
    """The sample leads, saved as the booking form saves them, and one staff account made with the CLI."""
    settings = settings_from({"DATABASE_URL": database_url, "MEDIUS_SPOOL_FILE": str(spool),
                              "MEDIUS_CLINICS_FILE": str(clinics_file)})
    clinics = clinics_for(settings)
    now = utcnow()
    for data, minutes_ago, status in sample_leads():
        data.submitted_at = (now - timedelta(minutes=minutes_ago)).isoformat()
        result = submit(settings, clinics, data)
        if result.lead_id is None:
            raise RuntimeError("a sample lead was not saved")
        if status:
            set_status(settings, result.lead_id, status, note="Called back" if status == "booked" else None)
    subprocess.run([sys.executable, "-m", "bot", "staff", "add", "--clinic", "stl", "--email", STAFF_EMAIL],
                   cwd=ROOT, env=dict(os.environ, DATABASE_URL=database_url, MEDIUS_CLINICS_FILE=str(clinics_file)),
                   input=STAFF_PASSWORD + "\n", capture_output=True, text=True, timeout=120, check=True)


def widget(browser: Browser, site_url: str) -> None:
    """The demo clinic page with the chat open after a two-question conversation."""
    page = browser.new_page(viewport=WIDGET_VIEWPORT)
    page.goto(f"{site_url}/demo/stl")
    page.get_by_role("button", name=re.compile("^Chat with the assistant")).click()
    expect(page.get_by_role("dialog")).to_be_visible()
    for text in VISITOR:
        before = page.locator(".msg.bot").count()
        box = page.get_by_label("Your message")
        box.fill(text)
        box.press("Enter")
        expect(page.locator(".msg.bot")).not_to_have_count(before, timeout=ANSWER_TIMEOUT)
        expect(page.locator(".typing")).to_be_hidden(timeout=ANSWER_TIMEOUT)
    page.wait_for_timeout(500)  # the log's scroll to the newest message
    page.screenshot(path=str(DOCS / "widget.png"))
    page.close()


def inbox(browser: Browser, url: str) -> None:
    """The staff inbox's lead list, logged in as the sample clinic's front desk."""
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{url}/inbox/leads")
    page.get_by_label("Email").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=re.compile("^Leads for"))).to_be_visible()
    page.screenshot(path=str(DOCS / "inbox-list.png"))
    page.close()


def started(site: WebServer, timeout: float = 180) -> WebServer:
    """The web server up; on a busy machine its start (the red-flag rules load) takes longer than tests allow."""
    site.thread.start()
    deadline = time.monotonic() + timeout
    while not site.server.started:
        if time.monotonic() > deadline or not site.thread.is_alive():
            raise RuntimeError(f"web server on {site.url} did not start")
        time.sleep(0.1)
    return site


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["widget", "inbox"], help="make one screenshot only")
    parser.add_argument("--model", type=Path, default=MODEL, help="the model Rasa serves (default: %(default)s)")
    args = parser.parse_args()
    if not args.model.exists():
        sys.exit(f"no trained model at {args.model}: run `make train` first")
    if not CHROMIUM.exists():
        sys.exit("Chromium is missing: apt-get install -y chromium")
    with tempfile.TemporaryDirectory(prefix="medius-screenshots-") as folder:
        work = Path(folder)
        site_port = free_port()
        # The demo page is served by a web server of its own, whose origin the clinic must allow (as in the tests).
        document = yaml.safe_load((ROOT / "data" / "clinics.yml").read_text())
        for profile in document["clinics"].values():
            profile["allowed_origins"] = [*profile.get("allowed_origins", []), f"http://127.0.0.1:{site_port}"]
        clinics_file = work / "clinics.yml"
        clinics_file.write_text(yaml.safe_dump(document))
        database_url = f"sqlite:///{work / 'leads.db'}"
        migrate(database_url)
        spool = work / "spool.jsonl"
        if args.only != "widget":
            seed_inbox(database_url, clinics_file, spool)
        env = {"DATABASE_URL": database_url, "MEDIUS_SPOOL_FILE": str(spool),
               "MEDIUS_CLINICS_FILE": str(clinics_file)}
        with running_assistant(args.model, work / "logs", env=env, startup_timeout=600) as assistant, \
                sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            settings = dataclasses.replace(settings_from({}), clinics_file=clinics_file,
                                           rasa_url=f"http://127.0.0.1:{assistant.ports['rasa']}",
                                           internal_token=assistant.env["MEDIUS_INTERNAL_TOKEN"])
            if args.only in (None, "widget"):
                site = started(WebServer(create_app(settings, clinics_file_of(settings)), site_port))
                try:
                    widget(browser, site.url)
                finally:
                    site.__exit__(None, None, None)
                print("docs/widget.png")
            if args.only in (None, "inbox"):
                inbox(browser, assistant.url)  # the product's own web server, which has the lead store
                print("docs/inbox-list.png")
            browser.close()


if __name__ == "__main__":
    main()
