"""A clinic's own settings in the inbox (/inbox/settings): its admin edits the profile, section by section.

Only the admin of a clinic (a clinic account with --clinic-admin, Staff.is_admin
with a clinic) opens its settings: plain staff, another clinic's admin and the
operator are answered 403, the same for a clinic that exists and one that does
not. Each section is a form of its own; its fields replace the profile's and the
whole profile is checked by `bot.core.clinics.parse_clinic`, the file's check,
so a section with a bad field saves nothing and the message stands beside that
field. The store (bot/store/clinic_profiles.py) writes one audit entry a changed
field and moves the settings version on: every process serves the change on
its next message.
"""
from __future__ import annotations

import ipaddress
import logging
import socket
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.core.clinics import ClinicProfileError
from bot.core.guard import RateLimiter
from bot.leads.notify import send_email, send_webhook
from bot.staff.accounts import Staff
from bot.store import clinic_profiles
from bot.web.inbox import PREFIX, Inbox, authenticated

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Field:
    """One labelled field of a section: `path` is the profile's ('staff.emails' inside the staff block)."""

    path: str
    label: str
    kind: str = "text"  # text, long (a textarea), lines (a list, one a line), colour, flag (a checkbox)
    hint: str = ""

    @property
    def name(self) -> str:
        return self.path.replace(".", "_")


SECTIONS: Dict[str, Tuple[str, Tuple[Field, ...]]] = {
    "contact": ("Contact", (
        Field("name", "Clinic name"),
        Field("city", "City and state", hint="Said when a visitor asks where you are and no address is given."),
        Field("address", "Street address (optional)"),
        Field("phone", "Phone (optional)", hint="As visitors dial it, like 314-555-0123."),
        Field("booking_url", "Booking link (optional)", hint="An https:// address."),
        Field("callback_time", "When staff call back", hint="Words that follow \"we will contact you\", like "
                                                            "\"within one working day\"."),
        Field("offers_remote", "We offer video consultations for visitors who live far away", "flag"),
        Field("free_phone_consultation", "We offer a short free phone call before booking", "flag"),
    )),
    "hours": ("Opening hours", (
        Field("hours", "Opening hours, as visitors read them", hint="Like \"Mon-Fri 8am-6pm\"."),
        Field("timezone", "Time zone", hint="Like America/Chicago or America/New_York."),
    )),
    "notifications": ("Notifications of new leads", (
        Field("staff.emails", "Staff email addresses", "lines", hint="One a line. At least one address or a webhook."),
        Field("staff.webhook_url", "Webhook URL (optional)", hint="A Slack-style https:// address."),
    )),
    "widget": ("Chat widget", (
        Field("allowed_origins", "Websites that may show the chat", "lines",
              hint="One a line, as scheme://host or scheme://host:port, like https://www.example.com."),
        Field("colour", "Colour", "colour", hint="#rrggbb. White text on it must reach a contrast of 4.5:1."),
        Field("greeting", "Greeting (optional)", hint="The chat's first line. Empty: \"Hello! Welcome to <name>.\""),
        Field("privacy_url", "Privacy policy link", hint="An https:// address, or a path on your site like /privacy."),
    )),
    "practical": ("Practical answers", (
        Field("services", "Services you offer", "lines", hint="One a line."),
        Field("not_offered", "Services you do not offer", "lines", hint="One a line."),
        Field("insurance", "Insurance", "long"),
        Field("medicare", "Medicare", "long"),
        Field("prices", "Prices or self-pay", "long"),
        Field("parking", "Parking and access", "long"),
        Field("languages", "Languages spoken", "long"),
        Field("what_to_bring", "What to bring", "long"),
        Field("telehealth", "Telehealth", "long"),
        Field("visit_length", "Length of a visit", "long"),
    )),
}
LABELS = {field.path: field.label for _, fields in SECTIONS.values() for field in fields}
MAX_FIELD = 2000
TEST_RATE = (5, 600.0)  # test notifications of one admin: at most 5 in any 10 minutes
TEST_SUBJECT = "Medius: a test notification for {name}"
TEST_BODY = ("This is a test from the clinic settings page, sent by {who}. New leads of {name} are announced "
             "here.\n")
# A message about the staff block as a whole (no address and no webhook) stands beside the addresses.
_SHOWN_AT = {"staff": "staff.emails"}


def form_value(profile: Dict[str, Any], field: Field) -> str:
    """A field's stored value as its input shows it."""
    outer, _, inner = field.path.partition(".")
    value = (profile.get(outer) or {}).get(inner) if inner else profile.get(outer)
    if isinstance(value, list):
        return "\n".join(str(item) for item in value)
    if isinstance(value, bool):
        return "on" if value else ""
    return "" if value is None else str(value)


def changes_from(fields: Tuple[Field, ...], form: Dict[str, str], profile: Dict[str, Any]) -> Dict[str, Any]:
    """The section's form as profile fields: an empty one None (removed), a list one item a line."""
    changes: Dict[str, Any] = {}
    for field in fields:
        text = form.get(field.name, "")[:MAX_FIELD].strip()
        value: Any = [line.strip() for line in text.splitlines() if line.strip()] if field.kind == "lines" else text
        if field.kind == "flag":
            changes[field.path] = text == "on"  # an unticked box sends nothing: false, never "left out"
            continue
        outer, _, inner = field.path.partition(".")
        if inner:
            block = changes.setdefault(outer, dict(profile.get(outer) or {}))
            block[inner] = value or None
        else:
            changes[outer] = value or None
    return changes


class ClinicSettings:
    """The settings page's routes, beside the Inbox they share sessions, templates and CSRF with."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox, self.settings = inbox, inbox.settings
        self.tests = RateLimiter(*TEST_RATE)

    # `authenticated` asks these of the object it wraps a method of
    async def current(self, request: Request) -> Optional[Staff]:
        return await self.inbox.current(request)

    def to_login(self, request: Request) -> Response:
        return self.inbox.to_login(request)

    @staticmethod
    def runs(who: Staff, clinic_id: str) -> bool:
        """Only the clinic's own admin runs its settings."""
        return who.is_admin and not who.operator and who.clinic == clinic_id

    def forbidden(self, request: Request, who: Staff) -> Response:
        return self.inbox.page(request, "forbidden.html", {"staff": who}, status=403)

    @authenticated
    async def home(self, request: Request, who: Staff) -> Response:
        if not who.is_admin or who.clinic is None:
            return self.forbidden(request, who)
        return RedirectResponse(f"{PREFIX}/settings/{who.clinic}", status_code=303)

    @authenticated
    async def show(self, request: Request, who: Staff) -> Response:
        clinic_id = request.path_params["clinic"]
        if not self.runs(who, clinic_id):
            return self.forbidden(request, who)
        saved = request.query_params.get("saved", "")
        return await self.render(request, who, clinic_id, saved=saved if saved in SECTIONS else "")

    @authenticated
    async def save(self, request: Request, who: Staff) -> Response:
        """One section saved, all its fields or none."""
        clinic_id, section = request.path_params["clinic"], request.path_params["section"]
        if not self.runs(who, clinic_id):
            return self.forbidden(request, who)
        if section not in SECTIONS:
            return self.inbox.not_found(request, who)
        form = {key: str(value) for key, value in (await request.form()).items()}
        stored = await run_in_threadpool(clinic_profiles.profile, self.settings, clinic_id)
        if stored is None:
            return await self.render(request, who, clinic_id, status=409, failed=section, errors={
                "": "This clinic's profile is still read from the clinics file: an operator imports it first "
                    "(python -m bot migrate, or python -m bot clinics import)."}, typed=form)
        changes = changes_from(SECTIONS[section][1], form, stored)
        webhook = (changes.get("staff") or {}).get("webhook_url")
        if webhook and webhook != (stored.get("staff") or {}).get("webhook_url"):
            refused = await run_in_threadpool(webhook_refusal, webhook)
            if refused:
                return await self.render(request, who, clinic_id, status=400, failed=section, typed=form,
                                         errors={"staff.webhook_url": refused})
        try:
            changed = await run_in_threadpool(clinic_profiles.save, self.settings, clinic_id, changes, who.email,
                                              self.inbox.address(request))
        except ClinicProfileError as error:
            field = _SHOWN_AT.get(error.field or "", error.field or "")
            names = {f.path for f in SECTIONS[section][1]}
            message = str(error).split(": ", 1)[-1]
            return await self.render(request, who, clinic_id, status=400, failed=section, typed=form,
                                     errors={field if field in names else "": _sentence(message)})
        logger.info("Clinic %s settings %s saved by staff account %s: %d field(s)", clinic_id, section, who.id,
                    len(changed))
        return RedirectResponse(f"{PREFIX}/settings/{clinic_id}?saved={section}#{section}", status_code=303)

    @authenticated
    async def send_test(self, request: Request, who: Staff) -> Response:
        """A test notification to the saved staff addresses or webhook, so the admin sees them arrive."""
        clinic_id, channel = request.path_params["clinic"], request.path_params["channel"]
        if not self.runs(who, clinic_id):
            return self.forbidden(request, who)
        if channel not in ("email", "webhook"):
            return self.inbox.not_found(request, who)
        if self.tests.wait(str(who.id)) is not None:
            return await self.render(request, who, clinic_id, status=429, tested=(
                False, "Too many tests: wait a few minutes, then try again."))
        self.tests.hit(str(who.id))
        clinic = self.inbox.clinics.get(clinic_id)
        assert clinic is not None  # runs() vouched for the admin's own clinic
        subject = TEST_SUBJECT.format(name=clinic.name)
        body = TEST_BODY.format(who=who.email, name=clinic.name)
        targets = list(clinic.staff_emails) if channel == "email" else \
            [clinic.staff_webhook_url] if clinic.staff_webhook_url else []
        if not targets:
            return await self.render(request, who, clinic_id, status=400, tested=(
                False, "No staff email address is saved." if channel == "email" else "No webhook URL is saved."))
        send = send_email if channel == "email" else send_webhook
        try:
            for target in targets:
                await run_in_threadpool(send, self.settings, target, subject, body)
        except Exception as error:  # noqa: BLE001 - any failure is the admin's answer, never a crash
            reason = str(error) if isinstance(error, RuntimeError) else type(error).__name__
            logger.warning("Test %s of clinic %s failed: %s", channel, clinic_id, type(error).__name__)
            return await self.render(request, who, clinic_id, status=502, tested=(
                False, f"The test {channel} could not be sent ({reason}). Check the address, then try again."))
        sent = ", ".join(targets) if channel == "email" else "the webhook"
        return await self.render(request, who, clinic_id, tested=(True, f"A test {channel} was sent to {sent}."))

    async def render(self, request: Request, who: Staff, clinic_id: str, status: int = 200, saved: str = "",
                     failed: str = "", errors: Optional[Dict[str, str]] = None,
                     typed: Optional[Dict[str, str]] = None, tested: Optional[Tuple[bool, str]] = None) -> Response:
        stored = await run_in_threadpool(clinic_profiles.profile, self.settings, clinic_id)
        history = await run_in_threadpool(clinic_profiles.history, self.settings, clinic_id)
        profile = stored or {}
        sections = []
        for key, (title, fields) in SECTIONS.items():
            values = {f.name: (typed or {}).get(f.name, "") if key == failed else form_value(profile, f)
                      for f in fields}
            sections.append({"key": key, "title": title, "fields": fields, "values": values,
                             "errors": (errors or {}) if key == failed else {}, "saved": key == saved})
        public = self.settings.inbox_base_url[:-len(PREFIX)] if self.settings.inbox_base_url.endswith(PREFIX) \
            else self.settings.inbox_base_url
        return self.inbox.page(request, "settings.html", {
            "staff": who, "clinic_id": clinic_id, "sections": sections, "history": history, "labels": LABELS,
            "tested": tested,
            "in_database": stored is not None,
            "embed": f'<script src="{public}/widget.js" data-clinic="{clinic_id}" async></script>'}, status=status)

    def routes(self) -> List[Route]:
        return [
            Route(f"{PREFIX}/settings", self.home),
            Route(f"{PREFIX}/settings/{{clinic}}", self.show),
            Route(f"{PREFIX}/settings/{{clinic}}/test/{{channel}}", self.send_test, methods=["POST"]),
            Route(f"{PREFIX}/settings/{{clinic}}/{{section}}", self.save, methods=["POST"]),
            Route(f"{PREFIX}/static/settings.js", self.inbox.static),
        ]


def _sentence(message: str) -> str:
    """A validation message as a sentence a clinic admin reads."""
    message = message.strip()
    return (message[:1].upper() + message[1:]).rstrip(".") + "."


def webhook_refusal(url: str) -> Optional[str]:
    """Why a clinic admin may not send leads to this webhook, or None. Leads carry health data, and the web
    server would post them (and "Send a test") wherever it points: only https to a host on the public internet,
    never this server's own network (loopback, private ranges, cloud metadata at 169.254.169.254). An operator
    can still set any address in the clinics file (a local receiver in development)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return "The webhook must be an https:// address."
    try:
        found = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError):
        return "That webhook's host name could not be found. Check the address."
    if not found or any(not ipaddress.ip_address(info[4][0]).is_global for info in found):
        return "The webhook must be on the public internet, not on this server's own network."
    return None
