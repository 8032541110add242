"""The visitor's side of a live chat: asking for a person, messages to staff, and staff's messages back.

Every message of the chat endpoint passes here first (ChatForwarder.forward).
A visitor with no open chat who asks for a person ("can I talk to a real
person?", data/live_chat.yml) is put in the clinic's queue if a staff member
is available, or offered the call-back request and the phone; the assistant
never sees that message. While a chat is waiting or active, the visitor's
messages go to the staff member, never to the assistant, but each passes the
safety net first: a red flag gets its advice in the same answer, at once, and
is flagged to staff.

Staff's messages reach the widget by long poll, `POST /chat/live` with the
conversation token in the body (never in a URL, where logs would keep it),
on the same origin as /chat: the widget says the last message id it has, and
gets every later one, so a reload or a dropped network neither loses nor
repeats one. The database is the source of truth, checked every
LIVE_CHAT_POLL_SECONDS, so any web process can serve any visitor.
"""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Set, Tuple, Union

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.core.clinics import Clinic, ClinicDirectory
from bot.core.guard import (
    MALFORMED,
    TOO_LARGE,
    AddressHasher,
    ChatRequest,
    OpenLimit,
    RateLimiter,
    Refusal,
    admit,
    check_caller,
    hold,
    is_trusted_server,
    message_id_after,
    release,
    slow_down,
)
from bot.core.live_chat import buttons, live_chat_words, wait_words
from bot.core.settings import Settings
from bot.core.triage import EMERGENCY
from bot.leads import emergency
from bot.staff import live_chat as live
from bot.web.bodies import read_capped
from bot.web.conversations import Conversations

logger = logging.getLogger(__name__)

LONG_POLL_SECONDS = 25.0  # under the widget's own wait, and under common proxies' idle timeouts
# Open long polls: a widget keeps one; two lets a reload's new poll in before the old one is seen to close.
POLLS_PER_CONVERSATION = 2
POLLS_PER_ADDRESS = 10  # a clinic's waiting room behind one address, each visitor in a live chat at once
# Every visitor's open long poll in this process: each reads the database every LIVE_CHAT_POLL_SECONDS, so
# many addresses together could still crowd out the chat and /healthz. Staff panes are not counted here (a
# flood of visitors must not lock staff out); each staff member has a cap of their own (bot/web/live_staff.py).
OPEN_POLLS = 200
ALL = "all"
BUSY_RETRY_SECONDS = 5.0
MAX_POLL_BYTES = 2048  # a conversation token, a clinic id and a message id: a few hundred bytes
FORBIDDEN = Refusal(403, "not_your_conversation", "Sorry, this chat could not be identified. Please reload the page.")
Advice = Callable[[str], Optional[Tuple[str, List[Dict[str, Any]], Tuple[str, ...]]]]
TYPING_EVERY_SECONDS = 2.0  # "is typing" written at most this often per conversation (it lasts TYPING_SECONDS)


@dataclass(frozen=True)
class Caller:
    """A checked caller of the live chat's endpoints: its clinic, its conversation, and what its body said."""

    clinic: Clinic
    sender: str
    after: int
    server: bool  # a clinic's server with the API token, relaying many visitors
    typing: bool  # the widget shows "<name> is typing…" now


class VisitorLiveChat:
    """Routes a visitor's message to a live chat when there is one, and serves staff's messages to the widget."""

    def __init__(self, settings: Settings, clinics: ClinicDirectory, conversations: Conversations,
                 advice: Advice, address_key: AddressHasher) -> None:
        self.settings, self.clinics, self.conversations, self.advice = settings, clinics, conversations, advice
        self.address_key = address_key
        # Each poll holds a database reader in the thread pool for up to LONG_POLL_SECONDS: without these,
        # a few hundred from one address took every reader, and /healthz waited with them.
        self.polls_per_conversation = OpenLimit(POLLS_PER_CONVERSATION)
        self.polls_per_address = OpenLimit(POLLS_PER_ADDRESS)
        self.open_polls = OpenLimit(OPEN_POLLS)
        self.poll_starts = RateLimiter(settings.chat_address_rate_limit, settings.chat_rate_window_seconds)
        self.typing_writes = RateLimiter(1, TYPING_EVERY_SECONDS)
        self.words = live_chat_words()
        # Who has an open chat, read from the database at most once a poll interval: the other visitors'
        # messages (nearly all of them) then cost no query. A request made here joins at once; one made on
        # another web process within the interval, as soon as it is read.
        self._open: Set[str] = set()
        self._open_read_at = -1e9

    async def may_have_open_chat(self, sender: str) -> bool:
        loop = asyncio.get_running_loop()
        if loop.time() - self._open_read_at >= self.settings.live_chat_poll_seconds:
            self._open = await run_in_threadpool(live.open_senders, self.settings)
            self._open_read_at = loop.time()
        return sender in self._open

    def reply(self, name: Union[str, Tuple[str, ...]], clinic: Clinic, live: str,
              offers: Tuple[Tuple[str, str], ...] = (), **values: str) -> Dict[str, Any]:
        """One of data/live_chat.yml's texts (or several, in one message) as a reply, with the chat's state."""
        text = " ".join(self.words.say(one, clinic_name=clinic.name, clinic_contact=clinic.contact_phrase(),
                                       wait=wait_words(self.settings.handoff_wait_seconds), **values)
                        for one in ((name,) if isinstance(name, str) else name))
        return {"text": text, "buttons": buttons(*offers), "custom": {"live": live}}

    def callback_offer(self) -> Tuple[Tuple[str, str], ...]:
        return ((self.words.say("callback_button"), self.words.callback_payload),)

    async def intercept(self, chat: ChatRequest) -> Optional[Tuple[int, Any]]:
        """The answer when the live chat takes the message; None when the assistant should answer it."""
        try:
            return await self._intercept(chat)
        except Exception as error:  # noqa: BLE001 - with the lead store away, the assistant answers as before
            logger.error("Live chat unavailable: %s", type(error).__name__)
            return None

    async def _intercept(self, chat: ChatRequest) -> Optional[Tuple[int, Any]]:
        assert chat.sender is not None
        words, clinic, message = self.words, chat.clinic, chat.message
        if message == words.cancel_payload:
            await run_in_threadpool(live.cancel, self.settings, chat.sender)
        state = await run_in_threadpool(live.open_chat, self.settings, chat.sender) \
            if message == words.cancel_payload or await self.may_have_open_chat(chat.sender) else None
        if message == words.cancel_payload:  # withdrawn; or accepted a moment before, and the chat goes on
            going_on = {"custom": {"live": state.status}} if state else None
            return 200, [going_on or self.reply("cancelled", clinic, "none")]
        by_control = bool(words.request_payload) and message == words.request_payload  # "Talk to a person"
        if state is None:
            if not by_control and (message.startswith("/") or not words.asks_for_a_person(message)
                                   or self.advice(message)):
                return None  # the assistant's, safety advice first of all
            if not await run_in_threadpool(live.anyone_available, self.settings, clinic.id) \
                    or await run_in_threadpool(live.queue_full, self.settings, clinic.id):
                return 200, [self.reply("nobody", clinic, "none", self.callback_offer())]
            question = words.say("request_button") if by_control else message
            await run_in_threadpool(live.request, self.settings, chat.sender, clinic.id, question)
            self._open.add(chat.sender)
            logger.info("Live chat requested for clinic %s", clinic.id)
            # The consent first, in the same message: no one of the clinic reads the chat before it is shown.
            return 200, [self.reply(("consent", "asking"), clinic, "waiting",
                                    ((words.say("cancel_button"), words.cancel_payload),))]
        if by_control:  # already asked (a second tab, a stale control): the chat goes on as it is
            return 200, [{"custom": {"live": state.status}}]
        found = self.advice(message)  # the safety net before anyone: staff may be busy or slow
        text = message.lstrip("/").strip() if message.startswith("/") else message
        await run_in_threadpool(live.add_visitor_message, self.settings, state.id, text, found[0] if found else None)
        if found:
            logger.warning("Red flag in a live chat (clinic %s): advice given, staff told", clinic.id)
        if found and found[0] == EMERGENCY:  # recorded as a lead and alerted as usual: staff may leave the pane
            await run_in_threadpool(emergency.record_live, self.settings, clinic.id, chat.sender, text, found[2])
        replies = [dict(reply, custom={**(reply.get("custom") or {}), "live": state.status}) for reply in
                   (found[1] if found else [])]
        if state.status == "waiting" and not found:
            replies.append(self.reply("waiting_note", clinic, "waiting"))
        if not replies:
            replies.append({"custom": {"live": state.status}})  # delivered; nothing to say
        return 200, replies

    # --- staff's messages to the widget ---

    async def caller(self, request: Request, needs_after: bool = True) -> Union[Response, Caller]:
        """Who calls /chat/live or /chat/live/typing, as /chat checks it; a refusal otherwise."""
        origin = request.headers.get("origin")
        server = is_trusted_server(request.headers.get("authorization"), self.settings.api_token)
        refusal = check_caller(origin, server)  # /chat's rule: only a server with the API token leaves Origin out
        if refusal:
            return self.refuse(refusal)
        body = await read_capped(request, MAX_POLL_BYTES)
        if body is None:
            return self.refuse(TOO_LARGE)
        try:
            document = json.loads(body or b"{}")
        except (ValueError, RecursionError):
            return self.refuse(MALFORMED)
        clinic = self.clinics.get(str(document.get("clinic") or "")) if isinstance(document, dict) else None
        after = message_id_after(document.get("after", None if needs_after else 0)) \
            if isinstance(document, dict) else None
        if clinic is None or after is None:
            return self.refuse(MALFORMED)
        if origin is not None and origin.rstrip("/") not in clinic.allowed_origins:
            return self.refuse(FORBIDDEN)
        sender = self.conversations.sender(document.get("conversation"), clinic)
        if sender is None and server:
            sender = document.get("sender") if isinstance(document.get("sender"), str) else None
        if sender is None:
            return self.refuse(FORBIDDEN)
        return Caller(clinic, sender, after, server, document.get("typing") is True)

    async def typing(self, request: Request) -> Response:
        """The visitor is typing: the staff member sees it. Written at most once per TYPING_EVERY_SECONDS a
        conversation, however often a widget reports; nothing to say back."""
        found = await self.caller(request, needs_after=False)
        if isinstance(found, Response):
            return found
        if self.typing_writes.wait(found.sender) is None:
            self.typing_writes.hit(found.sender)
            await run_in_threadpool(live.visitor_typing, self.settings, found.sender)
        return Response(status_code=204, headers={"Cache-Control": "no-store"})

    async def poll(self, request: Request) -> Response:
        """Long poll: the visitor's unseen live-chat messages after id `after`, within LONG_POLL_SECONDS; sooner
        when the staff member starts or stops typing (`typing`: whether the widget shows it now)."""
        found = await self.caller(request)
        if isinstance(found, Response):
            return found
        clinic, sender, after, server = found.clinic, found.sender, found.after, found.server
        address = self.address_key(request.client.host if request.client else "unknown")
        # A clinic's server relays many visitors from one address: its polls count per conversation only.
        wait = None if server else admit([(self.poll_starts, address)])
        if wait is not None:
            return self.refuse(slow_down(wait), wait)
        held = [(self.open_polls, ALL), (self.polls_per_conversation, sender)] + \
            ([] if server else [(self.polls_per_address, address)])
        if not hold(held):
            return self.refuse(slow_down(BUSY_RETRY_SECONDS), BUSY_RETRY_SECONDS)
        try:
            state, rows = await self.wait_for_messages(request, sender, after, found.typing)
        finally:
            release(held)
        typing = self.words.say("staff_typing", staff_name=state.staff_name or "") \
            if state and state.staff_typing else ""
        return JSONResponse({"live": state.status if state else "none", "typing": typing,
                             "messages": [self.shown(row, clinic) for row in rows]},
                            headers={"Cache-Control": "no-store"})

    async def wait_for_messages(self, request: Request, sender: str, after: int, shown_typing: bool = False
                                ) -> Tuple[Optional[live.ChatState], List[Dict[str, Any]]]:
        """The open chat and its messages after `after`, as soon as there are any, the chat closes, the staff
        member's typing is not what the widget shows, the caller leaves, or LONG_POLL_SECONDS pass."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LONG_POLL_SECONDS
        while True:
            state, rows = await run_in_threadpool(live.for_visitor, self.settings, sender, after)
            if rows or state is None or state.staff_typing != shown_typing or loop.time() >= deadline \
                    or await request.is_disconnected():
                return state, rows
            await asyncio.sleep(self.settings.live_chat_poll_seconds)

    def shown(self, row: Dict[str, Any], clinic: Clinic) -> Dict[str, Any]:
        """A stored message as the widget draws it: a staff member's words as theirs, events as the assistant's."""
        if row["who"] == "staff":
            label = self.words.say("staff_label", staff_name=row["staff_name"], clinic_name=clinic.name)
            return {"id": row["id"], "who": "staff", "name": label, "text": row["text"] or ""}
        offers = self.callback_offer() if row["kind"] == "missed" else ()
        reply = self.reply(row["kind"], clinic, "active" if row["kind"] == "joined" else "none", offers,
                           staff_name=row["staff_name"])
        return {"id": row["id"], "who": "bot", **reply}

    @staticmethod
    def refuse(refusal: Refusal, retry_after: Optional[float] = None) -> Response:
        headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after is not None else None
        return JSONResponse(refusal.body(), status_code=refusal.status, headers=headers)
