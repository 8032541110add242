"""The staff's side of a live chat, in the inbox: availability, accepting, the chat pane, messages, ending.

The queue itself is pinned on top of the lead list (bot/web/inbox.py), which
the inbox's live stream refreshes when a request arrives or leaves. The pane
reads new messages by long poll (`GET /inbox/live/<id>/messages?after=<id>`)
and shows every text as text (static/live.js). Accepting and ending are in the
access audit log, as are opening a chat's pane and reading its messages from the
start. What the pane's script calls answers errors in JSON.
"""
from __future__ import annotations

import asyncio
import logging
from typing import List, Optional

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.core.guard import MALFORMED, OpenLimit, RateLimiter, hold, message_id_after, release
from bot.core.handoff import transcript
from bot.core.live_chat import MAX_STAFF_TEXT
from bot.staff import live_chat as live
from bot.staff.accounts import Staff
from bot.store import audit
from bot.store.conversations import conversation_events
from bot.web.inbox import PREFIX, Inbox, asks_for_json, authenticated
from bot.web.live_visitor import BUSY_RETRY_SECONDS, LONG_POLL_SECONDS

logger = logging.getLogger(__name__)

STAFF_RATE = (10, 10.0)  # a staff member's messages: at most 10 in any 10 seconds
TYPING_EVERY_SECONDS = 2.0  # "is typing" written at most this often per staff member (it lasts TYPING_SECONDS)
NOT_FOUND = {"error": "not_found"}
# Said the same to a staff member of another clinic, a colleague, and the one who ended it: no chat's state leaks.
NOT_YOURS = {"error": "not_open", "message": "This chat is not yours or has ended."}
BUSY = {"error": "slow_down", "message": "Too many chat windows open at once: close one, or wait a moment."}
POLLS_PER_STAFF = 4  # a staff member's open panes (a few tabs); each long poll reads the database
TOO_LONG = {"error": "too_long", "message": f"That message is too long: keep it under {MAX_STAFF_TEXT} characters."}


class LiveDesk:
    """The inbox's live-chat routes, beside the Inbox they share sessions, templates and audit with."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox, self.settings = inbox, inbox.settings
        self.per_staff = RateLimiter(*STAFF_RATE)
        self.polls_per_staff = OpenLimit(POLLS_PER_STAFF)
        self.typing_writes = RateLimiter(1, TYPING_EVERY_SECONDS)

    # `authenticated` asks these of the object it wraps a method of
    async def current(self, request: Request):
        return await self.inbox.current(request)

    def to_login(self, request: Request) -> Response:
        return self.inbox.to_login(request)

    @authenticated
    async def presence(self, request: Request, who: Staff) -> Response:
        form = await request.form()
        on = form.get("available") == "on"
        await run_in_threadpool(live.set_available, self.settings, who, on)
        logger.info("Staff account %s live chat availability %s", who.id, "on" if on else "off")
        return RedirectResponse(f"{PREFIX}/leads", status_code=303)

    @authenticated
    async def accept(self, request: Request, who: Staff) -> Response:
        chat_id = request.path_params["chat_id"]
        won = await run_in_threadpool(live.accept, self.settings, chat_id, who, self.inbox.address(request))
        if not won:
            return RedirectResponse(f"{PREFIX}/leads?live=taken", status_code=303)
        logger.info("Live chat %s accepted by staff account %s", chat_id, who.id)
        return RedirectResponse(f"{PREFIX}/live/{chat_id}", status_code=303)

    @authenticated
    async def pane(self, request: Request, who: Staff) -> Response:
        chat_id = request.path_params["chat_id"]
        chat = await run_in_threadpool(live.chat_detail, self.settings, chat_id, self.inbox.scope_of(who))
        if chat is None:
            return self.inbox.not_found(request, who)
        await self.inbox.audit(request, audit.LIVE_VIEW, who.email, clinic=chat["clinic"],
                               detail=f"live chat {chat_id}")
        before = await run_in_threadpool(self.conversation_before, chat["sender_id"])
        return self.inbox.page(request, "live.html", {"staff": who, "chat": chat, "before": before,
                                                      "mine": chat["staff_id"] == who.id})

    def conversation_before(self, sender_id: str) -> List[dict]:
        """What the visitor and the assistant said before; empty if the conversation store cannot be read."""
        try:
            return transcript(conversation_events(self.settings, sender_id))
        except Exception as error:  # noqa: BLE001 - the chat itself matters more than its history
            logger.warning("Conversation before a live chat unreadable: %s", type(error).__name__)
            return []

    async def messages(self, request: Request) -> Response:
        """Long poll for the pane: the chat's status and its messages after id `after`.

        Reading from the start (after=0 as the pane does when it opens, or any id before the
        chat's first message) shows the whole chat, so it is in the access audit log; the polls
        after it add only new messages and are not, or the log would hold one entry every
        LONG_POLL_SECONDS.
        """
        who = await self.inbox.current(request)
        if who is None:
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        chat_id = request.path_params["chat_id"]
        after = message_id_after(request.query_params.get("after"))
        if after is None:
            return JSONResponse(MALFORMED.body(), status_code=MALFORMED.status)
        scope = self.inbox.scope_of(who)
        chat = await run_in_threadpool(live.chat_detail, self.settings, chat_id, scope)
        if chat is None:
            return JSONResponse(NOT_FOUND, status_code=404)
        # From the start: any `after` below the chat's first message (ids are shared by every chat, so
        # after=1 reads a whole chat as after=0 does)
        if chat["first_message_id"] is None or after < chat["first_message_id"]:
            await self.inbox.audit(request, audit.LIVE_READ, who.email, clinic=chat["clinic"],
                                   detail=f"live chat {chat_id}")
        shown_typing = request.query_params.get("typing") == "1"  # what the pane shows: a change answers at once
        held = [(self.polls_per_staff, str(who.id))]
        if not hold(held):
            return JSONResponse(BUSY, status_code=429, headers={"Retry-After": str(round(BUSY_RETRY_SECONDS))})
        try:
            return await self.wait_for_messages(request, chat_id, scope, after, shown_typing)
        finally:
            release(held)

    async def wait_for_messages(self, request: Request, chat_id: int, scope: Optional[str], after: int,
                                shown_typing: bool = False) -> Response:
        """The chat's messages after `after`, as soon as there are any, the chat closes, the visitor's typing is
        not what the pane shows, the caller leaves, or LONG_POLL_SECONDS pass."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LONG_POLL_SECONDS
        while True:
            found = await run_in_threadpool(live.for_staff, self.settings, chat_id, scope, after)
            if found is None:
                return JSONResponse(NOT_FOUND, status_code=404)
            if found.messages or found.status not in ("waiting", "active") or loop.time() >= deadline \
                    or found.visitor_typing != shown_typing or await request.is_disconnected():
                return JSONResponse({"status": found.status, "messages": found.messages,
                                     "visitor_typing": found.visitor_typing}, headers={"Cache-Control": "no-store"})
            await asyncio.sleep(self.settings.live_chat_poll_seconds)

    @authenticated
    async def typing(self, request: Request, who: Staff) -> Response:
        """The staff member is typing: the visitor sees "<name> is typing…". Written at most once per
        TYPING_EVERY_SECONDS a staff member, however often the pane reports."""
        key = str(who.id)
        if self.typing_writes.wait(key) is None:
            self.typing_writes.hit(key)
            await run_in_threadpool(live.staff_typing, self.settings, request.path_params["chat_id"], who)
        return Response(status_code=204, headers={"Cache-Control": "no-store"})

    @authenticated
    async def say(self, request: Request, who: Staff) -> Response:
        chat_id = request.path_params["chat_id"]
        form = await request.form()
        text = str(form.get("text") or "").strip()
        wants_json = asks_for_json(request)
        key = str(who.id)
        if not text:
            return JSONResponse({"error": "empty"}, status_code=400) if wants_json else \
                RedirectResponse(f"{PREFIX}/live/{chat_id}", status_code=303)
        if len(text) > MAX_STAFF_TEXT:  # refused, not cut short: the visitor would read half a sentence
            return JSONResponse(TOO_LONG, status_code=413)
        if self.per_staff.wait(key) is not None:
            return JSONResponse({"error": "slow_down", "message": "Too many messages at once: wait a moment."},
                                status_code=429)
        self.per_staff.hit(key)
        sent = await run_in_threadpool(live.staff_says, self.settings, chat_id, who, text)
        if sent is None:
            return JSONResponse(NOT_YOURS, status_code=409)
        await run_in_threadpool(live.touch, self.settings, who)
        return JSONResponse({"id": sent}) if wants_json else \
            RedirectResponse(f"{PREFIX}/live/{chat_id}", status_code=303)

    @authenticated
    async def end(self, request: Request, who: Staff) -> Response:
        chat_id = request.path_params["chat_id"]
        if await run_in_threadpool(live.end, self.settings, chat_id, who, self.inbox.address(request)):
            logger.info("Live chat %s ended by staff account %s", chat_id, who.id)
        return RedirectResponse(f"{PREFIX}/live/{chat_id}", status_code=303)

    def routes(self) -> List[Route]:
        chat = f"{PREFIX}/live/{{chat_id:lead_id}}"
        return [
            Route(f"{PREFIX}/live/presence", self.presence, methods=["POST"]),
            Route(chat, self.pane),
            Route(f"{chat}/accept", self.accept, methods=["POST"]),
            Route(f"{chat}/messages", self.messages, methods=["GET"]),
            Route(f"{chat}/messages", self.say, methods=["POST"]),
            Route(f"{chat}/end", self.end, methods=["POST"]),
            Route(f"{chat}/typing", self.typing, methods=["POST"]),
            Route(f"{PREFIX}/static/live.js", self.inbox.static),
        ]
