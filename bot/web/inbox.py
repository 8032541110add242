"""The staff inbox under /inbox: log in, work the clinic's leads (priority first), content gaps, a read-only API.

Pages need a staff session (cookie `medius_inbox`, server-side in the lead
store); the API takes the session or a clinic's API token (Bearer). A whole
login also leaves a device cookie (bot/staff/devices.py), so that an attacker's
failures for the email do not hold that browser's next login back. A lead of
another clinic is answered 404, exactly like a lead that does not exist. Every
form carries a CSRF token (bot/web/csrf.py). Database work runs in a thread,
so a slow database never stalls the chat.
"""
from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sse_starlette.sse import EventSourceResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.convertors import IntegerConvertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from bot.core.clinics import ClinicDirectory
from bot.core.contact import display_phone
from bot.core.settings import Settings
from bot.leads import content_gaps as gaps, store as leads
from bot.staff import accounts as staff, devices, live_chat as live, mfa, worklist as inbox
from bot.staff.accounts import CODE, ENROL, LoginResult, Staff, StaffError
from bot.store import audit
from bot.store.models import NOTE_REQUIRED, PRIORITY, STATUSES, URGENCIES

logger = logging.getLogger(__name__)


class LeadIdConvertor(IntegerConvertor):
    """A lead id in a path: up to 18 digits, so it always fits the database's integer; a longer one is not found."""

    regex = "[0-9]{1,18}"


register_url_convertor("lead_id", LeadIdConvertor())

HERE = Path(__file__).parent
PREFIX = "/inbox"
COOKIE = "medius_inbox"
DEVICE_COOKIE = "medius_device"
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
          "media-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {"Cache-Control": "no-store", "Content-Security-Policy": POLICY}
LOGIN_MESSAGES = {
    "expired": "Your session has expired. Please log in again.",
    "out": "You have logged out.",
    "wrong": "The email or password is not right.",
    "wait": "Too many tries. Please wait {seconds}, then try again.",
    "code": "That code is not right. Enter the six digits your app shows now, or a recovery code.",
    "password": "That password is not right. Turning on two-step login takes your account's password.",
}
STEP_PAGES = {CODE: f"{PREFIX}/login/code", ENROL: f"{PREFIX}/mfa"}  # where a session waiting at a stage goes


def device_cookie_name(secure: bool) -> str:
    """`__Host-` over https, as the CSRF cookie: no other host, a sibling subdomain included, can plant one."""
    return "__Host-" + DEVICE_COOKIE if secure else DEVICE_COOKIE


def safe_next(target: Optional[str]) -> str:
    """Where to go after logging in: an inbox path only, never another site."""
    target = target or ""
    if target.startswith(PREFIX) and not target.startswith("//") and "\\" not in target and "\n" not in target:
        return target
    return f"{PREFIX}/leads"


def asks_for_json(request: Request) -> bool:
    """A script's request (fetch with `Accept: application/json`): it reads errors as JSON, never as a page."""
    return "application/json" in request.headers.get("accept", "")


def authenticated(handler: Callable) -> Callable:
    """An Inbox page for a logged-in staff member: the handler gets who it is; anyone else goes to the login."""
    async def wrapped(self: Inbox, request: Request) -> Response:
        who = await self.current(request)
        if who is None and asks_for_json(request):  # a script following a redirect would take the login page as done
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        if who is None:
            waiting = await run_in_threadpool(staff.session_stage, self.settings, request.cookies.get(COOKIE))
            if waiting and waiting[1] in STEP_PAGES:  # the password was right: its second step, nothing else
                return RedirectResponse(STEP_PAGES[waiting[1]], status_code=303)
            return self.to_login(request)
        await run_in_threadpool(live.touch, self.settings, who)  # using the inbox keeps live chat availability on
        return await handler(self, request, who)
    return wrapped


class Inbox:
    """The inbox's routes, bound to one settings object and clinic directory."""

    def __init__(self, settings: Settings, clinics: ClinicDirectory) -> None:
        self.settings, self.clinics = settings, clinics
        # Like the CSRF cookie, named by STAFF_INBOX_BASE_URL: a cookie's name cannot follow each request's scheme.
        self.secure = settings.inbox_base_url.startswith("https://")
        self.device_cookie = device_cookie_name(self.secure)
        self.templates = Jinja2Templates(directory=str(HERE / "templates" / "inbox"))
        env = self.templates.env
        env.globals.update(words=inbox.words(), statuses=STATUSES, urgencies=URGENCIES, priority=PRIORITY,
                           note_required=NOTE_REQUIRED, clinic_name=self.clinic_name)
        env.filters["local"] = self.local_time
        env.filters["phone"] = display_phone
        gaps.vocabulary()  # a bad data/inbox.yml stops start-up, not a staff member's page

    # --- helpers ---

    def clinic_name(self, clinic_id: Optional[str]) -> str:
        clinic = self.clinics.get(clinic_id) if clinic_id else None
        return clinic.name if clinic else (clinic_id or "All clinics")

    def zone(self, clinic_id: Optional[str]) -> ZoneInfo:
        clinic = self.clinics.get(clinic_id) if clinic_id else None
        try:
            return ZoneInfo(clinic.timezone) if clinic and clinic.timezone else ZoneInfo("UTC")
        except (KeyError, ValueError):
            return ZoneInfo("UTC")

    def local_time(self, value: Any, clinic_id: Optional[str] = None) -> str:
        """A time in the clinic's own time zone, as staff read it."""
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            return ""
        local = value.astimezone(self.zone(clinic_id))
        return local.strftime("%d %b %Y, %H:%M ") + (local.tzname() or "")

    async def current(self, request: Request) -> Optional[Staff]:
        return await run_in_threadpool(staff.session_staff, self.settings, request.cookies.get(COOKIE))

    def page(self, request: Request, name: str, context: Dict[str, Any], status: int = 200) -> Response:
        context = {"csrf_token": request.state.csrf_token, **context}
        return self.templates.TemplateResponse(request, name, context, status_code=status, headers=HEADERS)

    def to_login(self, request: Request) -> Response:
        """Back to the login page, and after it, to where the visitor was going."""
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        reason = "&m=expired" if request.cookies.get(COOKIE) else ""
        response = RedirectResponse(f"{PREFIX}/login?next={quote(target, safe='')}{reason}", status_code=303)
        if reason:
            response.delete_cookie(COOKIE, path=PREFIX)
        return response

    def not_found(self, request: Request, who: Optional[Staff]) -> Response:
        return self.page(request, "not_found.html", {"staff": who}, status=404)

    @staticmethod
    def scope_of(who: Staff) -> Optional[str]:
        """The clinic whose leads (and audit log, for its admin) this person sees; None for an operator: every one."""
        return None if who.operator else who.clinic

    @staticmethod
    def address(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    async def audit(self, request: Request, action: str, actor: str, **details: Any) -> None:
        """One entry in the access audit log (bot/store/audit.py) for what this request did."""
        await run_in_threadpool(audit.write, self.settings, action, actor, address=self.address(request), **details)

    # --- logging in and out ---

    async def login(self, request: Request) -> Response:
        next_url = safe_next(request.query_params.get("next"))
        if request.method == "GET":
            if await self.current(request):
                return RedirectResponse(next_url, status_code=303)
            message = LOGIN_MESSAGES.get(request.query_params.get("m", ""))
            return self.page(request, "login.html", {"next": next_url, "message": message, "email": ""})
        form = await request.form()
        email, password = str(form.get("email") or "")[:254], str(form.get("password") or "")[:1000]
        next_url = safe_next(str(form.get("next") or ""))
        result = await run_in_threadpool(staff.log_in, self.settings, email, password, self.address(request),
                                         None, request.cookies.get(self.device_cookie))
        if result.token is None:
            # The same words for every email, known or not: which accounts exist is nobody's business.
            response = self.page(request, "login.html", {"next": next_url, "message": self.refusal(result, "wrong"),
                                                         "email": email, "error": True}, status=self.status(result))
            return self.alerting(response, result)
        target = f"{STEP_PAGES[result.stage]}?next={quote(next_url, safe='')}" if result.stage in STEP_PAGES \
            else next_url
        return self.logged_in(request, RedirectResponse(target, status_code=303), result)

    @staticmethod
    def status(result: LoginResult) -> int:
        return 429 if result.wait_seconds else 401

    def alerting(self, response: Response, result: LoginResult) -> Response:
        """A refused login's answer: the owner told of repeated failures, a wait's Retry-After."""
        if result.wait_seconds:
            response.headers["Retry-After"] = str(result.wait_seconds)
        if result.alert_owner:  # after the answer, so mail takes none of its time
            response.background = BackgroundTask(staff.tell_owner, self.settings, result.alert_owner)
        return response

    @staticmethod
    def refusal(result: LoginResult, otherwise: str) -> str:
        if result.wait_seconds:
            seconds = result.wait_seconds
            return LOGIN_MESSAGES["wait"].format(seconds=f"{seconds} second{'s' if seconds != 1 else ''}")
        return LOGIN_MESSAGES[otherwise]

    def logged_in(self, request: Request, response: Response, result: LoginResult) -> Response:
        """The response carries the session's cookie: a full one, or one waiting for its second step; after a
        whole login, the browser's new device cookie too."""
        assert result.token is not None
        minutes = self.settings.inbox_session_minutes if result.stage not in STEP_PAGES else staff.PENDING_MINUTES
        response.set_cookie(COOKIE, result.token, max_age=minutes * 60, path=PREFIX,
                            httponly=True, samesite="lax", secure=self.secure or request.url.scheme == "https")
        if result.device:  # Strict: only the inbox's own login form ever sends it; __Host- requires Path=/
            response.set_cookie(self.device_cookie, result.device, max_age=devices.MAX_AGE_DAYS * 86400,
                                path="/" if self.secure else PREFIX, httponly=True, samesite="strict",
                                secure=self.secure)
        return response

    # --- two-step login: a code after the password, enrolment (bot/staff/mfa.py) ---

    async def login_code(self, request: Request) -> Response:
        token = request.cookies.get(COOKIE)
        waiting = await run_in_threadpool(staff.session_stage, self.settings, token)
        if not waiting or waiting[1] != CODE:
            return RedirectResponse(f"{PREFIX}/login", status_code=303)
        next_url = safe_next(request.query_params.get("next"))
        if request.method == "GET":
            return self.page(request, "login_code.html", {"next": next_url, "message": None})
        form = await request.form()
        next_url = safe_next(str(form.get("next") or ""))
        result = await run_in_threadpool(mfa.second_step, self.settings, token, str(form.get("code") or "")[:64],
                                         self.address(request), None, request.cookies.get(self.device_cookie))
        if result.token is None:
            response = self.page(request, "login_code.html", {"next": next_url, "error": True,
                                                              "message": self.refusal(result, "code")},
                                 status=self.status(result))
            return self.alerting(response, result)
        return self.logged_in(request, RedirectResponse(next_url, status_code=303), result)

    async def mfa_setup(self, request: Request) -> Response:
        """Enrolment: for a session waiting to enrol (required), or any logged-in member turning it on."""
        token = request.cookies.get(COOKIE)
        waiting = await run_in_threadpool(staff.session_stage, self.settings, token)
        if not waiting or waiting[1] == CODE:
            return self.to_login(request)
        who, stage = waiting
        shown = who if stage != ENROL else None  # no inbox navigation before the login is whole
        next_url = safe_next(request.query_params.get("next"))
        error = ""
        if request.method == "POST":
            form = await request.form()
            next_url = safe_next(str(form.get("next") or ""))
            done = await run_in_threadpool(mfa.confirm_enrolment, self.settings, token,
                                           str(form.get("code") or "")[:64], self.address(request), None,
                                           request.cookies.get(self.device_cookie),
                                           str(form.get("password") or "")[:1000] if stage != ENROL else None)
            if done is not None and done.recovery_codes:
                response = self.page(request, "mfa_codes.html", {"staff": who, "codes": done.recovery_codes,
                                                                 "next": next_url})
                if done.token:
                    self.logged_in(request, response, LoginResult(token=done.token, device=done.device))
                return response
            error = self.refusal(LoginResult(wait_seconds=done.wait_seconds if done else 0),
                                 "password" if done and done.wrong_password else "code")
        enrolment = await run_in_threadpool(mfa.begin_enrolment, self.settings, who)
        # Markup: segno's SVG of our own otpauth URI, paths only; nothing a visitor or staff member typed.
        return self.page(request, "mfa_setup.html", {
            "staff": shown, "enrolment": enrolment, "required": stage == ENROL, "next": next_url,
            "error": error, "qr": Markup(enrolment.qr_svg) if enrolment else ""}, status=400 if error else 200)

    async def logout(self, request: Request) -> Response:
        who = await self.current(request)
        if who is not None:  # nobody is offered for live chat once they have left
            await run_in_threadpool(live.set_available, self.settings, who, False)
        await run_in_threadpool(staff.log_out, self.settings, request.cookies.get(COOKIE), self.address(request))
        response = RedirectResponse(f"{PREFIX}/login?m=out", status_code=303)
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    # --- the lead list, live ---

    @authenticated
    async def lead_list(self, request: Request, who: Staff) -> Response:
        wanted = inbox.LeadFilter.from_query(dict(request.query_params))
        scope = self.scope_of(who)
        zone = self.zone(who.clinic)
        rows, total = await run_in_threadpool(inbox.list_leads, self.settings, scope, wanted, zone)
        counts = await run_in_threadpool(inbox.status_counts, self.settings, scope, wanted)
        pinned = [r for r in rows if r["urgency"] in PRIORITY and r["status"] in ("new", "contacted")]
        live_chats = await run_in_threadpool(self.live_context, who)
        context = {"staff": who, "wanted": wanted, "pinned": pinned, "others": rows[len(pinned):],
                   "total": total, "shown": len(rows), "counts": counts, "query": wanted.as_query(),
                   "export_url": f"{PREFIX}/leads.csv?{urlencode(wanted.as_query())}",
                   "clinics": self.clinics.all() if who.operator else (), **live_chats,
                   "live_taken": request.query_params.get("live") == "taken"}
        name = "lead_region.html" if request.query_params.get("partial") else "leads.html"
        return self.page(request, name, context)

    def live_context(self, who: Staff) -> Dict[str, Any]:
        """The live-chat queue pinned on top of the list, the staff member's own chats, their availability."""
        return {"live_queue": live.queue(self.settings, self.scope_of(who)),
                "my_chats": live.my_chats(self.settings, who), "can_chat": who.clinic is not None,
                "live_available": live.is_available(self.settings, who)}

    def watched(self, scope: Optional[str]) -> Tuple[Any, Any]:
        """What the live stream compares: the newest leads, and the live-chat queue."""
        return inbox.latest(self.settings, scope), live.signature(self.settings, scope)

    async def events(self, request: Request) -> Response:
        """Server-sent events: `leads` whenever a lead in scope arrives or changes, or the live-chat queue does;
        `logout` when the session ends."""
        who = await self.current(request)
        if who is None:
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        scope, token = self.scope_of(who), request.cookies.get(COOKIE)

        async def stream():
            seen, queue = await run_in_threadpool(self.watched, scope)
            while True:
                await asyncio.sleep(self.settings.inbox_poll_seconds)
                if await run_in_threadpool(staff.session_staff, self.settings, token) is None:
                    yield {"event": "logout", "data": "{}"}
                    return
                try:
                    now, queue_now = await run_in_threadpool(self.watched, scope)
                except Exception as error:  # noqa: BLE001 - the database may be away for a moment: keep the stream
                    logger.warning("Inbox live update failed: %s", type(error).__name__)
                    continue
                if queue_now != queue:
                    asked = queue_now[0] > queue[0]
                    yield {"event": "leads", "data": json.dumps({"new": asked, "priority": asked, "live": asked})}
                    seen, queue = now, queue_now
                elif now != seen:
                    arrived = now[0] > seen[0]
                    yield {"event": "leads", "data": json.dumps({"new": arrived, "priority": arrived and now[2]})}
                    seen = now

        return EventSourceResponse(stream(), ping=15, headers={"Cache-Control": "no-store"})

    # --- one lead ---

    @authenticated
    async def lead_page(self, request: Request, who: Staff) -> Response:
        return await self._lead_page(request, who)

    async def _lead_page(self, request: Request, who: Staff, error: str = "", status: int = 200) -> Response:
        lead_id = request.path_params["lead_id"]
        record = await run_in_threadpool(inbox.lead_detail, self.settings, lead_id, self.scope_of(who))
        if record is None:
            return self.not_found(request, who)
        await self.audit(request, audit.LEAD_VIEW, who.email, lead_id=lead_id, clinic=record["clinic"])
        saved = {"status": "Status saved.", "note": "Note added."}.get(request.query_params.get("saved", ""))
        return self.page(request, "lead.html", {"staff": who, "lead": record, "error": error, "saved": saved,
                                                "screening": screening_list(record.get("screening"))},
                         status=status)

    @authenticated
    async def change_status(self, request: Request, who: Staff) -> Response:
        form = await request.form()
        return await self._change(request, who, "status", lambda scope: inbox.change_status(
            self.settings, request.path_params["lead_id"], scope, who.email, str(form.get("status") or ""),
            str(form.get("note") or ""), self.address(request)))

    @authenticated
    async def add_note(self, request: Request, who: Staff) -> Response:
        form = await request.form()
        return await self._change(request, who, "note", lambda scope: inbox.add_note(
            self.settings, request.path_params["lead_id"], scope, who.email, str(form.get("text") or ""),
            self.address(request)))

    async def _change(self, request: Request, who: Staff, what: str, change: Callable[[Optional[str]], bool]):
        try:
            found = await run_in_threadpool(change, self.scope_of(who))
        except StaffError as error:
            return await self._lead_page(request, who, error=str(error), status=400)
        if not found:
            return self.not_found(request, who)
        logger.info("Lead %s: %s changed by staff account %s", request.path_params["lead_id"], what, who.id)
        return RedirectResponse(f"{PREFIX}/leads/{request.path_params['lead_id']}?saved={what}", status_code=303)

    # --- export and content gaps ---

    @authenticated
    async def export(self, request: Request, who: Staff) -> Response:
        wanted = inbox.LeadFilter.from_query(dict(request.query_params))
        rows, _ = await run_in_threadpool(inbox.list_leads, self.settings, self.scope_of(who), wanted,
                                          self.zone(who.clinic), None)
        # Named from the clinic directory, never from the query: a header is no place for a visitor's text.
        clinic = self.clinics.get(who.clinic or wanted.clinic) if (who.clinic or wanted.clinic) else None
        name = f"leads-{clinic.id if clinic else 'all'}-{datetime.now().date().isoformat()}.csv"
        logger.info("Leads exported by staff account %s (%s rows)", who.id, len(rows))
        await self.audit(request, audit.LEADS_EXPORT, who.email, clinic=clinic.id if clinic else None,
                         detail=audit.export_detail([row["id"] for row in rows], "csv"))
        return Response(leads.export(rows, "csv"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

    @authenticated
    async def content_gaps(self, request: Request, who: Staff) -> Response:
        clinic = who.clinic if not who.operator else (request.query_params.get("clinic") or None)
        groups = await run_in_threadpool(gaps.grouped, self.settings, clinic)
        return self.page(request, "gaps.html", {"staff": who, "groups": groups, "clinic": clinic,
                                                "retention_days": self.settings.conversation_retention_days,
                                                "clinics": self.clinics.all() if who.operator else ()})

    # --- the access audit log: a clinic's admin reads the clinic's, an operator every one ---

    @authenticated
    async def audit_log(self, request: Request, who: Staff) -> Response:
        if not who.is_admin:
            return self.not_found(request, who)
        wanted = audit.AuditFilter.from_query(dict(request.query_params))
        rows, total = await run_in_threadpool(audit.entries, self.settings, self.scope_of(who), wanted)
        await self.audit(request, audit.AUDIT_VIEW, who.email, clinic=who.clinic or wanted.clinic or None,
                         detail=f"{len(rows)} of {total} entries")
        return self.page(request, "audit.html", {
            "staff": who, "rows": rows, "total": total, "wanted": wanted, "actions": audit.ACTIONS,
            "export_url": f"{PREFIX}/audit.csv?{urlencode(wanted.as_query())}",
            "retention_days": self.settings.audit_retention_days,
            "clinics": self.clinics.all() if who.operator else ()})

    @authenticated
    async def audit_export(self, request: Request, who: Staff) -> Response:
        if not who.is_admin:
            return self.not_found(request, who)
        wanted = audit.AuditFilter.from_query(dict(request.query_params))
        rows, total = await run_in_threadpool(audit.entries, self.settings, self.scope_of(who), wanted, None)
        clinic = who.clinic or (wanted.clinic if self.clinics.get(wanted.clinic) else None)
        await self.audit(request, audit.AUDIT_EXPORT, who.email, clinic=clinic, detail=f"{total} entries as csv")
        name = f"audit-{clinic or 'all'}-{datetime.now().date().isoformat()}.csv"
        return Response(audit.export(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

    # --- the API: a clinic's token or a staff session ---

    async def api_caller(self, request: Request) -> Optional[Tuple[Optional[str], str, bool]]:
        """(clinic scope, who for the audit log, whether by token) for a valid Bearer token or session; else None."""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            owner = await run_in_threadpool(staff.token_owner, self.settings, header[7:].strip())
            return (owner[1], f"api token {owner[0]}", True) if owner else None
        who = await self.current(request)
        return (self.scope_of(who), who.email, False) if who else None

    @staticmethod
    def unauthorised() -> Response:
        return JSONResponse({"error": "unauthorised", "message": "Send a clinic API token as 'Authorization: "
                                                                 "Bearer <token>', or log in to the inbox."},
                            status_code=401, headers={"WWW-Authenticate": 'Bearer realm="medius-inbox"',
                                                      "Cache-Control": "no-store"})

    async def api_leads(self, request: Request) -> Response:
        caller = await self.api_caller(request)
        if caller is None:
            return self.unauthorised()
        wanted = inbox.LeadFilter.from_query(dict(request.query_params))
        rows, total = await run_in_threadpool(inbox.list_leads, self.settings, caller[0], wanted)
        await self.audit(request, audit.TOKEN_USE if caller[2] else audit.LEADS_EXPORT, caller[1], clinic=caller[0],
                         detail=audit.export_detail([row["id"] for row in rows], "json from /inbox/api/leads"))
        return JSONResponse({"total": total, "leads": rows}, headers={"Cache-Control": "no-store"})

    async def api_lead(self, request: Request) -> Response:
        caller = await self.api_caller(request)
        if caller is None:
            return self.unauthorised()
        record = await run_in_threadpool(inbox.lead_detail, self.settings, request.path_params["lead_id"], caller[0])
        if record is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        await self.audit(request, audit.TOKEN_USE if caller[2] else audit.LEAD_VIEW, caller[1],
                         lead_id=record["id"], clinic=record["clinic"],
                         detail="lead from /inbox/api/leads/<id>" if caller[2] else "")
        return JSONResponse(json.loads(json.dumps(record, default=str)), headers={"Cache-Control": "no-store"})

    async def static(self, request: Request) -> Response:
        return FileResponse(HERE / "static" / request.url.path.rsplit("/", 1)[-1],
                            headers={"Cache-Control": "no-cache"})

    async def home(self, request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/leads", status_code=303)

    def routes(self) -> List[Route]:
        return [
            Route(PREFIX, self.home),
            Route(f"{PREFIX}/", self.home),
            Route(f"{PREFIX}/login", self.login, methods=["GET", "POST"]),
            Route(f"{PREFIX}/login/code", self.login_code, methods=["GET", "POST"]),
            Route(f"{PREFIX}/mfa", self.mfa_setup, methods=["GET", "POST"]),
            Route(f"{PREFIX}/logout", self.logout, methods=["POST"]),
            Route(f"{PREFIX}/leads", self.lead_list),
            Route(f"{PREFIX}/leads.csv", self.export),
            Route(f"{PREFIX}/leads/{{lead_id:lead_id}}", self.lead_page),
            Route(f"{PREFIX}/leads/{{lead_id:lead_id}}/status", self.change_status, methods=["POST"]),
            Route(f"{PREFIX}/leads/{{lead_id:lead_id}}/notes", self.add_note, methods=["POST"]),
            Route(f"{PREFIX}/events", self.events),
            Route(f"{PREFIX}/gaps", self.content_gaps),
            Route(f"{PREFIX}/audit", self.audit_log),
            Route(f"{PREFIX}/audit.csv", self.audit_export),
            Route(f"{PREFIX}/api/leads", self.api_leads),
            Route(f"{PREFIX}/api/leads/{{lead_id:lead_id}}", self.api_lead),
            Route(f"{PREFIX}/static/inbox.css", self.static),
            Route(f"{PREFIX}/static/inbox.js", self.static),
        ]


def screening_list(screening: Optional[Dict[str, Any]]) -> List[tuple]:
    """The screening answers as (question, answer) pairs staff can read, in the screening's order."""
    if not screening:
        return []
    labels, answers = inbox.words()["screening"], inbox.words()["answer_words"]
    ordered = [key for key in labels if key in screening] + [key for key in screening if key not in labels]
    return [(labels.get(key, key.replace("_", " ").capitalize()),
             answers.get(str(screening[key]), str(screening[key]))) for key in ordered]
