"""The tracker store Rasa loads (endpoints.yml): its SQLTrackerStore, set up from Medius's settings.

One setting, CONVERSATIONS_DATABASE_URL, instead of Rasa's separate dialect,
host, port and database fields; see bot/conversations.py for retention.

While the database is away, a conversation goes on from this process's copy of
it: Rasa's own fallback starts every turn of the outage from an empty
conversation, so a visitor halfway through the booking form lost the form (and
the clinic's details). Events saved during the outage reach the database with
the next save after it is back (Rasa writes every event it has not stored yet).

Costs of Rasa's store that a turn no longer pays (py-spy under `bench.load`):
SQLite conversations opened a new connection for every query (SQLAlchemy 1.4's
default for a SQLite file); every save first counted the conversation's stored
events, though the retrieve that began the turn had just read them all; and
reading and writing events went through the ORM, an object per event, where
the JSON text of each is all that is needed. The rows are the same as Rasa's.
On PostgreSQL a pooled connection idle for a while is checked before use, so
the first turns after a database restart do not fail on connections the server
dropped; one in use a moment ago is not (a round trip on each of a turn's two
or three checkouts: 3% of a Rasa process's time under load, measured).
"""
from __future__ import annotations

import copy
import itertools
import json
import logging
import time
from collections import OrderedDict
from typing import Any, Iterator, List, Optional, Set, Tuple

import sqlalchemy as sa

from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bot.conversations import store_arguments
from bot.logs import install_logging_policy
from bot.settings import get_settings


logger = logging.getLogger(__name__)

# The copy is kept for conversations active in the last quarter of an hour, at most a thousand:
# about 70 KiB each (tracemalloc, the 300 longest conversations of the visitor set), so at most
# about 70 MiB of a Rasa process's memory. A conversation idle for longer waits for the database.
RECENT_SECONDS = 900.0
RECENT_MAX = 1000


class ConversationStore(SQLTrackerStore):
    def __init__(self, domain: Any = None, host: Optional[str] = None, event_broker: Any = None,
                 **kwargs: Any) -> None:
        settings = get_settings()
        install_logging_policy(settings.log_level)
        super().__init__(domain=domain, event_broker=event_broker, **store_arguments(settings.conversations_url))
        url = self.engine.url
        self.engine.dispose()
        if url.get_backend_name() == "sqlite":  # pooled connections, each set up once
            self.engine = sa.create_engine(url, poolclass=QueuePool, connect_args={"check_same_thread": False})
            event.listen(self.engine, "connect", _sqlite_for_many_writes)
        else:  # a connection the server dropped (a restart, a failover) is replaced, not handed to a turn
            self.engine = sa.create_engine(url, **create_engine_kwargs(url))
            _ping_when_idle(self.engine)
        self.sessionmaker = sessionmaker(bind=self.engine)
        self._events_queries = {every: _events_query(self.SQLEvent.__table__, every) for every in (False, True)}
        self._recent: "OrderedDict[str, Tuple[float, List[Any], List[Any]]]" = OrderedDict()
        self._unsaved: Set[str] = set()  # conversations with events the database has not got yet
        # How many of a tracker's events the database holds, as the retrieve that began the turn read
        # them or its last save wrote them (the lock store keeps the visitor's other turns out meanwhile).
        self._stored: "OrderedDict[str, int]" = OrderedDict()
        # New conversations' first events (the session start, the clinic's slots), saved by their first turn.
        self._beginnings: "OrderedDict[str, Tuple[List[Any], List[Any]]]" = OrderedDict()

    def _remember(self, tracker: DialogueStateTracker) -> None:
        self._recent[tracker.sender_id] = (time.monotonic(), list(tracker.events), list(tracker.slots.values()))
        self._recent.move_to_end(tracker.sender_id)
        stale = time.monotonic() - RECENT_SECONDS  # the oldest first; this one is the newest, never stale
        while len(self._recent) > RECENT_MAX or next(iter(self._recent.values()))[0] < stale:
            self._recent.popitem(last=False)

    def _copy(self, sender_id: str) -> Optional[DialogueStateTracker]:
        seen, events, slots = self._recent.get(sender_id, (0.0, None, []))
        if events is None or time.monotonic() - seen > RECENT_SECONDS:
            return None
        return _tracker(sender_id, events, slots)

    def begin(self, tracker: DialogueStateTracker) -> None:
        """Keeps a conversation's first events for its first turn to read (if the database has none) and save.

        One read and one write of the database instead of three and two: the
        turn, under the visitor's lock, reads the database anyway, and its save
        writes every event the database has not got. A conversation another
        process began meanwhile wins, as its events are in the database.
        """
        self._beginnings[tracker.sender_id] = (list(tracker.events), list(tracker.slots.values()))
        self._beginnings.move_to_end(tracker.sender_id)
        while len(self._beginnings) > RECENT_MAX:  # begun, and no turn of it was ever saved here
            self._beginnings.popitem(last=False)

    def _beginning(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """A new copy of the conversation's beginning, each time, until a save of it succeeds.

        Kept until then: a turn that fails before its save, or a read by the channel
        before the turn (a button's payload), must not lose the clinic's slots.
        """
        events, slots = self._beginnings.get(sender_id, (None, []))
        if events is None:
            return None
        self._count_stored(sender_id, 0)
        return _tracker(sender_id, events, slots)

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        self._stored.pop(sender_id, None)
        try:
            tracker = await super().retrieve(sender_id)
        except SQLAlchemyError as error:
            tracker = self._copy(sender_id) or self._beginning(sender_id)
            if tracker is None:
                raise
            logger.error("Conversation store unavailable (%s); going on from this process's copy",
                         type(error).__name__)
            return tracker
        if sender_id in self._unsaved:  # back after an outage: the copy may have turns the database missed
            ahead = self._copy(sender_id)
            stored = list(tracker.events) if tracker is not None else []
            if ahead is not None and _continues(list(ahead.events), stored):
                self._count_stored(sender_id, len(stored))  # the save writes the copy's turns after those
                return ahead
            self._unsaved.discard(sender_id)  # another process went on with the conversation: the database wins
        if tracker is None:
            # A new conversation, begun here or not begun at all (its first save then counts what is stored).
            return self._beginning(sender_id)
        self._beginnings.pop(sender_id, None)
        self._count_stored(sender_id, len(tracker.events))
        self._remember(tracker)
        return tracker

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool
                        ) -> Optional[DialogueStateTracker]:
        """SQLTrackerStore._retrieve, reading only each event's JSON, with a query built once."""
        with self.session_scope() as session:
            rows = session.execute(self._events_queries[fetch_events_from_all_sessions], {"sender_id": sender_id})
            events = [json.loads(data) for (data,) in rows]
        if not self.domain or not events:
            return None
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    async def _write(self, tracker: DialogueStateTracker) -> None:
        """SQLTrackerStore.save, with the new events inserted in one statement."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            rows = []
            for event_ in self._additional_events(session, tracker):
                data = event_.as_dict()
                rows.append({"sender_id": tracker.sender_id, "type_name": event_.type_name,
                             "timestamp": data.get("timestamp"), "action_name": data.get("name"),
                             "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                             "data": json.dumps(data)})
            if rows:
                session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()

    def _count_stored(self, sender_id: str, events: int) -> None:
        self._stored[sender_id] = events
        self._stored.move_to_end(sender_id)
        while len(self._stored) > RECENT_MAX:
            self._stored.popitem(last=False)

    def _additional_events(self, session: Session, tracker: DialogueStateTracker) -> Iterator:
        """The events to write: those after what this turn's retrieve (or save) stored, else Rasa's count."""
        stored = self._stored.pop(tracker.sender_id, None)
        if stored is None or stored > len(tracker.events):  # unknown here: ask the database
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, stored, len(tracker.events))

    async def save(self, tracker: DialogueStateTracker) -> None:
        self._remember(tracker)  # first: if the database refuses, the copy is the latest
        try:
            await self._write(tracker)  # writes every event the database has not got
        except SQLAlchemyError:
            self._unsaved.add(tracker.sender_id)
            raise
        self._unsaved.discard(tracker.sender_id)
        self._beginnings.pop(tracker.sender_id, None)  # in the database now
        self._count_stored(tracker.sender_id, len(tracker.events))


def _events_query(table: sa.Table, all_sessions: bool) -> Any:
    """The query of SQLTrackerStore._event_query, for the JSON of each event, with the sender as a parameter.

    Rasa builds its query anew for every retrieve, through the ORM, which took
    half of a retrieve's time (0.9 ms a turn against 0.45 ms, measured).
    """
    sender = sa.bindparam("sender_id")
    query = sa.select(table.c.data).where(table.c.sender_id == sender).order_by(table.c.id)
    if all_sessions:
        return query
    start = (sa.select(sa.func.max(table.c.timestamp).label("session_start"))
             .where(table.c.sender_id == sender, table.c.type_name == SessionStarted.type_name).subquery())
    return query.where(sa.or_(table.c.timestamp >= start.c.session_start, start.c.session_start.is_(None)))


def _tracker(sender_id: str, events: List[Any], slots: List[Any]) -> DialogueStateTracker:
    """A new tracker from kept events, on copies of the kept slots (the events set them again)."""
    fresh = [copy.copy(slot) for slot in slots]
    for slot in fresh:
        slot.reset()
    return DialogueStateTracker.from_events(sender_id, events, fresh)


def _continues(copy: List[Any], stored: List[Any]) -> bool:
    """Whether the stored events are the start of the copy's: nothing was saved meanwhile by another process."""
    return len(stored) <= len(copy) and all(
        (a.type_name, a.timestamp) == (b.type_name, b.timestamp) for a, b in zip(copy, stored))


IDLE_BEFORE_PING_SECONDS = 1.0  # a database restart takes longer than this


def _ping_when_idle(engine: sa.engine.Engine) -> None:
    """SQLAlchemy's pool_pre_ping, for connections idle since their last use for a second or more.

    The pessimistic disconnect handling of SQLAlchemy's documentation: a dead
    connection raises DisconnectionError at checkout, and the pool replaces it.
    """
    @event.listens_for(engine, "checkin")
    def _used(_connection: Any, record: Any) -> None:
        record.info["medius_used"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("medius_used", 0.0) < IDLE_BEFORE_PING_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(connection)
        except engine.dialect.dbapi.Error:
            alive = False
        if not alive:
            raise DisconnectionError()


def _sqlite_for_many_writes(connection: Any, _record: Any) -> None:
    """Write-ahead log, synced at checkpoints: each turn's commit no longer waits for the disk.

    A turn's events still survive a crash of any process (not a power cut of the
    machine); the file is shared safely by Rasa, the notifier's purge and tests.
    """
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
