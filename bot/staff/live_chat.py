"""Live chats in the lead store: requests, the one accept, messages both ways, availability, within one clinic.

The database is the one source of truth, so several web processes share every
chat: a visitor on one and a staff member on another both read the same rows
(bot/web/live_visitor.py and bot/web/live_staff.py poll them). Message text is
encrypted field by field like the rest of the health data (bot/store/crypto.py).
A request no one accepts within HANDOFF_WAIT_SECONDS leaves the queue at once,
and is marked missed (with the message the visitor is told) by the first reader
that finds it overdue.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Set, Tuple, cast

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from bot.core.live_chat import first_name
from bot.core.settings import Settings
from bot.leads import live_transcript
from bot.staff.accounts import Staff
from bot.store import audit
from bot.store.db import session_scope
from bot.store.models import LIVE_OPEN, LiveChat, LiveMessage, LivePresence, StaffAccount, utcnow


@dataclass(frozen=True)
class ChatState:
    """A visitor's open chat, as the web server needs it to route a message."""

    id: int
    status: str  # "waiting" or "active"
    staff_name: Optional[str]
    staff_typing: bool = False  # the staff member typed within TYPING_SECONDS


# "Is typing" lasts this long after the last keystroke each side reports (the widget and the pane report one at
# most every few seconds while typing, and stop when the message is sent).
TYPING_SECONDS = 6.0


TIERS = ("emergency", "confirm", "urgent", "nerve", "")  # the gravest a chat's messages raised, first


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)  # SQLite gives naive UTC back


def _changed(result: Any) -> int:
    """The rows an UPDATE changed (SQLAlchemy 1.4's stubs know its result only as a Result)."""
    return cast(CursorResult, result).rowcount or 0


def _update() -> Any:
    """An UPDATE of chats decided in the database alone: SQLite's naive times never meet loaded objects'."""
    return update(LiveChat).execution_options(synchronize_session=False)


def _cutoff(settings: Settings, now: datetime) -> datetime:
    return now - timedelta(seconds=settings.handoff_wait_seconds)


def _recent(typed_at: Optional[datetime], now: datetime) -> bool:
    return typed_at is not None and _aware(typed_at) > now - timedelta(seconds=TYPING_SECONDS)


# --- availability ---

def set_available(settings: Settings, who: Staff, on: bool) -> None:
    """'Available for live chat' on or off for a clinic's staff member (operators see no one clinic's queue)."""
    with session_scope(settings.database_url) as session:
        session.execute(delete(LivePresence).where(LivePresence.account_id == who.id))
        if on and who.clinic:
            now = utcnow()
            session.add(LivePresence(account_id=who.id, clinic=who.clinic, since=now, active_at=now))


def is_available(settings: Settings, who: Staff, now: Optional[datetime] = None) -> bool:
    now = now or utcnow()
    with session_scope(settings.database_url) as session:
        active_at = session.execute(select(LivePresence.active_at).where(
            LivePresence.account_id == who.id)).scalar_one_or_none()
    return active_at is not None and _aware(active_at) > now - timedelta(minutes=settings.live_chat_idle_minutes)


def touch(settings: Settings, who: Staff) -> None:
    """The staff member used the inbox: their availability runs for another LIVE_CHAT_IDLE_MINUTES."""
    now = utcnow()
    with session_scope(settings.database_url) as session:
        session.execute(update(LivePresence).where(
            LivePresence.account_id == who.id,
            LivePresence.active_at > now - timedelta(minutes=settings.live_chat_idle_minutes)).values(active_at=now))


def anyone_available(settings: Settings, clinic: str, now: Optional[datetime] = None) -> bool:
    """Whether a staff member of the clinic (an enabled account) is available for live chat now."""
    now = now or utcnow()
    with session_scope(settings.database_url) as session:
        found = session.execute(
            select(LivePresence.account_id).join(StaffAccount, StaffAccount.id == LivePresence.account_id).where(
                LivePresence.clinic == clinic, StaffAccount.disabled.is_(False),
                LivePresence.active_at > now - timedelta(minutes=settings.live_chat_idle_minutes)).limit(1)
        ).first()
    return found is not None


def queue_full(settings: Settings, clinic: str) -> bool:
    """Whether the clinic's queue already holds LIVE_CHAT_MAX_WAITING requests: more would only bury the real
    ones under a flood (each holds its visitor's long polls while it waits). Only requests still within
    HANDOFF_WAIT_SECONDS count, as in the queue staff see: one whose visitor left stays "waiting" until
    that visitor comes back, and must not fill the queue for ever."""
    with session_scope(settings.database_url) as session:
        waiting = session.execute(select(func.count()).select_from(LiveChat).where(
            LiveChat.clinic == clinic, LiveChat.status == "waiting",
            LiveChat.requested_at > _cutoff(settings, utcnow()))).scalar_one()
    return waiting >= settings.live_chat_max_waiting


def _into_leads(session: Session, chat_id: int) -> None:
    """The chat's words into the transcript of its visitor's leads, in the same transaction as the message."""
    chat = session.get(LiveChat, chat_id)
    if chat is not None:
        live_transcript.refresh(session, chat.sender_id, chat.clinic)


# --- the visitor's side ---

def _expire(session: Session, settings: Settings, chat_ids: List[int], now: datetime) -> None:
    """Overdue requests become missed, each with the message its visitor is told; once, whoever gets there first."""
    for chat_id in chat_ids:
        done = _changed(session.execute(_update().where(
            LiveChat.id == chat_id, LiveChat.status == "waiting", LiveChat.requested_at <= _cutoff(settings, now))
            .values(status="missed", ended_at=now)))
        if done:
            session.add(LiveMessage(chat_id=chat_id, at=now, who="system", kind="missed"))


def open_senders(settings: Settings) -> Set[str]:
    """The visitors with a waiting or active chat: one query for all, so a message of anyone else costs none."""
    with session_scope(settings.database_url) as session:
        return set(session.execute(select(LiveChat.sender_id).where(LiveChat.status.in_(LIVE_OPEN))).scalars())


def open_chat(settings: Settings, sender_id: str, now: Optional[datetime] = None) -> Optional[ChatState]:
    """The visitor's waiting or active chat, if any; a request past its wait is first marked missed."""
    now = now or utcnow()
    with session_scope(settings.database_url) as session:
        chats = session.execute(select(LiveChat).where(
            LiveChat.sender_id == sender_id, LiveChat.status.in_(LIVE_OPEN)).order_by(LiveChat.id)).scalars().all()
        overdue = [c.id for c in chats if c.status == "waiting" and _aware(c.requested_at) <= _cutoff(settings, now)]
        _expire(session, settings, overdue, now)
        live = [c for c in chats if c.id not in overdue]
        if not live:
            return None
        chat = live[-1]
        return ChatState(chat.id, chat.status, chat.staff_name,
                         chat.status == "active" and _recent(chat.staff_typing_at, now))


def request(settings: Settings, sender_id: str, clinic: str, question: str) -> int:
    """A new request for a person, waiting in the clinic's queue; its id."""
    with session_scope(settings.database_url) as session:
        chat = LiveChat(clinic=clinic, sender_id=sender_id, status="waiting", requested_at=utcnow(),
                        question=question)
        session.add(chat)
        session.flush()
        session.add(LiveMessage(chat_id=chat.id, at=chat.requested_at, who="visitor", text=question))
        session.flush()
        live_transcript.refresh(session, sender_id, clinic)
        return chat.id


def cancel(settings: Settings, sender_id: str) -> bool:
    """The visitor withdraws a waiting request; False if there was none (or a staff member accepted meanwhile)."""
    with session_scope(settings.database_url) as session:
        return bool(_changed(session.execute(_update().where(
            LiveChat.sender_id == sender_id, LiveChat.status == "waiting").values(
            status="cancelled", ended_at=utcnow()))))


def add_visitor_message(settings: Settings, chat_id: int, text: str, triage: Optional[str]) -> int:
    with session_scope(settings.database_url) as session:
        message = LiveMessage(chat_id=chat_id, at=utcnow(), who="visitor", text=text, triage=triage)
        session.add(message)
        session.execute(_update().where(LiveChat.id == chat_id).values(visitor_typing_at=None))  # sent: done typing
        session.flush()
        _into_leads(session, chat_id)
        return message.id


def visitor_typing(settings: Settings, sender_id: str) -> bool:
    """The visitor is typing in their active chat; False if they have none."""
    with session_scope(settings.database_url) as session:
        return bool(_changed(session.execute(_update().where(
            LiveChat.sender_id == sender_id, LiveChat.status == "active").values(visitor_typing_at=utcnow()))))


def for_visitor(settings: Settings, sender_id: str, after: int,
                now: Optional[datetime] = None) -> Tuple[Optional[ChatState], List[Dict[str, Any]]]:
    """What the visitor has not yet seen (messages after id `after`, theirs left out), and the open chat if any."""
    state = open_chat(settings, sender_id, now)
    with session_scope(settings.database_url) as session:
        rows = session.execute(
            select(LiveMessage, LiveChat.clinic, LiveChat.staff_name).join(LiveChat, LiveChat.id == LiveMessage.chat_id)
            .where(LiveChat.sender_id == sender_id, LiveMessage.id > after, LiveMessage.who != "visitor")
            .order_by(LiveMessage.id).limit(100)).all()
        messages = [{"id": m.id, "who": m.who, "kind": m.kind, "text": m.text, "clinic": clinic,
                     "staff_name": staff_name or ""} for m, clinic, staff_name in rows]
    return state, messages


# --- the staff's side: always within the caller's clinic (None: an operator, every clinic) ---

def _in_scope(query: Any, scope: Optional[str]) -> Any:
    return query if scope is None else query.where(LiveChat.clinic == scope)


def queue(settings: Settings, scope: Optional[str], now: Optional[datetime] = None) -> List[Dict[str, Any]]:
    """Requests waiting for a staff member, oldest first; overdue ones are already out."""
    now = now or utcnow()
    with session_scope(settings.database_url) as session:
        chats = session.execute(_in_scope(select(LiveChat).where(
            LiveChat.status == "waiting", LiveChat.requested_at > _cutoff(settings, now)), scope)
            .order_by(LiveChat.id)).scalars().all()
        flags: Dict[int, str] = {}
        for chat_id, level in session.execute(select(LiveMessage.chat_id, LiveMessage.triage).where(
                LiveMessage.chat_id.in_([c.id for c in chats]), LiveMessage.triage.is_not(None))).all():
            if TIERS.index(level) < TIERS.index(flags.get(chat_id, "")):
                flags[chat_id] = level
        return [{"id": c.id, "clinic": c.clinic, "question": c.question or "", "requested_at": _aware(c.requested_at),
                 "triage": flags.get(c.id)} for c in chats]


def my_chats(settings: Settings, who: Staff) -> List[Dict[str, Any]]:
    """The staff member's chats still going on."""
    with session_scope(settings.database_url) as session:
        chats = session.execute(select(LiveChat).where(
            LiveChat.staff_id == who.id, LiveChat.status == "active").order_by(LiveChat.id)).scalars().all()
        return [{"id": c.id, "question": c.question or "", "accepted_at": c.accepted_at} for c in chats]


def signature(settings: Settings, scope: Optional[str], now: Optional[datetime] = None) -> Tuple[int, int]:
    """(newest waiting request, how many wait): what the inbox's live stream watches for a change."""
    now = now or utcnow()
    with session_scope(settings.database_url) as session:
        newest, count = session.execute(_in_scope(select(func.max(LiveChat.id), func.count(LiveChat.id)).where(
            LiveChat.status == "waiting", LiveChat.requested_at > _cutoff(settings, now)), scope)).one()
    return int(newest or 0), int(count or 0)


def accept(settings: Settings, chat_id: int, who: Staff, address: Optional[str] = None) -> bool:
    """Take a waiting request: one conditional UPDATE, so of two staff members racing only one wins."""
    if who.clinic is None:
        return False  # an operator reads every clinic's queue but speaks for none
    now = utcnow()
    with session_scope(settings.database_url) as session:
        # The name visitors read: the account's display name (`staff add --name`), else one from the email.
        name = session.execute(select(StaffAccount.display_name).where(StaffAccount.id == who.id)).scalar()
        won = _changed(session.execute(_update().where(
            LiveChat.id == chat_id, LiveChat.clinic == who.clinic, LiveChat.status == "waiting",
            LiveChat.requested_at > _cutoff(settings, now)).values(
            status="active", accepted_at=now, staff_id=who.id, staff_email=who.email,
            staff_name=name or first_name(who.email)))) == 1
        if won:
            session.add(LiveMessage(chat_id=chat_id, at=now, who="system", kind="joined"))
            audit.record(session, settings, audit.LIVE_ACCEPT, who.email, clinic=who.clinic,
                         detail=f"live chat {chat_id}", address=address)
    return won


def chat_detail(settings: Settings, chat_id: int, scope: Optional[str]) -> Optional[Dict[str, Any]]:
    """A chat with its sender (for the conversation before it), or None outside the caller's clinic."""
    with session_scope(settings.database_url) as session:
        chat = session.execute(_in_scope(select(LiveChat).where(LiveChat.id == chat_id), scope)).scalar_one_or_none()
        if chat is None:
            return None
        first = session.execute(select(func.min(LiveMessage.id)).where(LiveMessage.chat_id == chat_id)).scalar()
        return {"id": chat.id, "clinic": chat.clinic, "sender_id": chat.sender_id, "status": chat.status,
                "first_message_id": first,
                "staff_id": chat.staff_id, "staff_email": chat.staff_email, "staff_name": chat.staff_name,
                "requested_at": _aware(chat.requested_at), "question": chat.question or ""}


@dataclass(frozen=True)
class StaffView:
    """What the staff pane polls: the chat's status, its new messages, and whether the visitor is typing."""

    status: str
    messages: List[Dict[str, Any]]
    visitor_typing: bool


def for_staff(settings: Settings, chat_id: int, scope: Optional[str], after: int = 0,
              now: Optional[datetime] = None) -> Optional[StaffView]:
    """The chat's status, its messages after id `after` and the visitor's typing; None outside the caller's clinic."""
    now = now or utcnow()
    with session_scope(settings.database_url) as session:
        found = session.execute(_in_scope(select(LiveChat.status, LiveChat.visitor_typing_at).where(
            LiveChat.id == chat_id), scope)).one_or_none()
        if found is None:
            return None
        status, typed_at = found
        rows = session.execute(select(LiveMessage).where(LiveMessage.chat_id == chat_id, LiveMessage.id > after)
                               .order_by(LiveMessage.id).limit(200)).scalars().all()
        return StaffView(status, [{"id": m.id, "who": m.who, "kind": m.kind, "text": m.text or "",
                                   "triage": m.triage, "at": _aware(m.at).isoformat()} for m in rows],
                         status == "active" and _recent(typed_at, now))


def staff_typing(settings: Settings, chat_id: int, who: Staff) -> bool:
    """The staff member is typing in an active chat they accepted; False otherwise."""
    with session_scope(settings.database_url) as session:
        return bool(_changed(session.execute(_update().where(
            LiveChat.id == chat_id, LiveChat.staff_id == who.id, LiveChat.status == "active").values(
            staff_typing_at=utcnow()))))


def staff_says(settings: Settings, chat_id: int, who: Staff, text: str) -> Optional[int]:
    """A staff message to the visitor, only in an active chat this staff member accepted; its id, or None."""
    with session_scope(settings.database_url) as session:
        mine = session.execute(select(LiveChat.id).where(
            LiveChat.id == chat_id, LiveChat.staff_id == who.id, LiveChat.status == "active")).scalar_one_or_none()
        if mine is None:
            return None
        message = LiveMessage(chat_id=chat_id, at=utcnow(), who="staff", text=text)
        session.add(message)
        session.execute(_update().where(LiveChat.id == chat_id).values(staff_typing_at=None))  # sent: done typing
        session.flush()
        _into_leads(session, chat_id)
        return message.id


def end(settings: Settings, chat_id: int, who: Staff, address: Optional[str] = None) -> bool:
    """The staff member who took the chat ends it: the assistant answers the visitor again."""
    now = utcnow()
    with session_scope(settings.database_url) as session:
        done = _changed(session.execute(_update().where(
            LiveChat.id == chat_id, LiveChat.staff_id == who.id, LiveChat.status == "active").values(
            status="ended", ended_at=now))) == 1
        if done:
            session.add(LiveMessage(chat_id=chat_id, at=now, who="system", kind="ended"))
            audit.record(session, settings, audit.LIVE_END, who.email, clinic=who.clinic,
                         detail=f"live chat {chat_id}", address=address)
    return done


def purge(settings: Settings, now: Optional[datetime] = None) -> int:
    """Delete live chats (and their messages) closed for longer than conversations are kept; how many."""
    cutoff = (now or utcnow()) - timedelta(days=settings.conversation_retention_days)
    with session_scope(settings.database_url) as session:
        old = session.execute(select(LiveChat.id).where(
            LiveChat.status.not_in(LIVE_OPEN), func.coalesce(LiveChat.ended_at, LiveChat.requested_at) < cutoff)
        ).scalars().all()
        if old:
            session.execute(delete(LiveMessage).where(LiveMessage.chat_id.in_(old)))
            session.execute(delete(LiveChat).where(LiveChat.id.in_(old)))
    return len(old)
