"""The tracker store Rasa loads (endpoints.yml): its SQLTrackerStore, set up from Medius's settings.

One setting, CONVERSATIONS_DATABASE_URL, instead of Rasa's separate dialect,
host, port and database fields; see bot/store/conversations.py for retention.

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
A visitor's next turn in the same process goes on with the tracker its last
turn saved, after one indexed look-up of the visitor's last event id (the insert
returns it on PostgreSQL): reading the session's events and replaying them into
a new tracker took 1.0 ms of a short conversation's turn against 0.45 for the
look-up (PostgreSQL, one process), more as the conversation grows. A turn
another process saved meanwhile (a failover, a restart) changes that id, and
the turn reads the database as before. The kept tracker and the copy begin
where a read of the database begins (the latest session, without its start
action), so counts taken from either agree with the database's.
On PostgreSQL a pooled connection idle for a while is checked before use, so
the first turns after a database restart do not fail on connections the server
dropped; one in use a moment ago is not (a round trip on each of a turn's two
or three checkouts: 3% of a Rasa process's time under load, measured). A turn's
look-up and insert each run on their own there (autocommit): psycopg2 sent a
BEGIN before each and a COMMIT or ROLLBACK after, three round trips for one.
"""
from __future__ import annotations

import copy
import itertools
import json
import logging
import time
import weakref
from collections import OrderedDict
from typing import Any, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple, cast

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import event
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bot.core.files import secure_for
from bot.core.logs import install_logging_policy
from bot.core.settings import get_settings
from bot.store.conversations import store_arguments

logger = logging.getLogger(__name__)

# The copy is kept for conversations active in the last quarter of an hour, at most a thousand:
# about 70 KiB each (tracemalloc, the 300 longest conversations of the visitor set), so at most
# about 70 MiB of a Rasa process's memory. A conversation idle for longer waits for the database.
RECENT_SECONDS = 900.0
RECENT_MAX = 1000


class ConversationStore(SQLTrackerStore):
    engine: sa.engine.Engine  # SQLTrackerStore's, replaced in __init__

    def __init__(self, domain: Any = None, host: Optional[str] = None, event_broker: Any = None,
                 **kwargs: Any) -> None:
        settings = get_settings()
        install_logging_policy(settings.log_level)
        secure_for(settings)  # the conversations database, its WAL included, for this user only
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
        # A turn's statements (its look-up, its one insert) each run alone. PostgreSQL: without a BEGIN
        # before and a COMMIT or ROLLBACK after, two round trips fewer each. An insert is one statement up to
        # SQLAlchemy's page of 1,000 rows; a longer one (after an outage) may land page by page, and if a later
        # page fails, the next turn reads what landed and writes the rest from this process's copy (retrieve).
        self._statements = self.sessionmaker if url.get_backend_name() == "sqlite" else sessionmaker(
            bind=self.engine.execution_options(isolation_level="AUTOCOMMIT"))
        table = self.SQLEvent.__table__
        self._events_queries = {every: _events_query(table, every) for every in (False, True)}
        self._insert_returning = table.insert().returning(table.c.id)
        self._last_id_query = sa.select(sa.func.max(table.c.id)).where(table.c.sender_id == sa.bindparam("sender_id"))
        self._recent: "OrderedDict[str, Tuple[float, List[Any], List[Any]]]" = OrderedDict()
        self._unsaved: Set[str] = set()  # conversations with events the database has not got yet
        # How many of a tracker's events the database holds, and the id of the last one, as the retrieve
        # that began the turn read them or its last save wrote them (the lock store keeps the visitor's
        # other turns out meanwhile).
        # Tied to the tracker it describes: a read outside the turn (the channel's, for a button) or
        # an overlapping turn counts for its own tracker only.
        self._stored: "OrderedDict[str, Stored]" = OrderedDict()
        # Trackers as their last turn here saved them, with the id of the last event saved: the next
        # turn goes on with the same object when the database's last event for the visitor is still that one.
        # Each holds what a read of the database gives: the latest session (see _keep_live).
        self._live: "OrderedDict[str, Kept]" = OrderedDict()
        # New conversations' first events (the session start, the clinic's slots), saved by their first turn.
        self._beginnings: "OrderedDict[str, Tuple[List[Any], List[Any]]]" = OrderedDict()

    def _remember(self, tracker: DialogueStateTracker, left_out: Optional[int]) -> None:
        """Keeps a copy of the conversation, as a read of the database would give it (its latest session).

        left_out: _left_out(tracker.events), which the caller has at hand.
        """
        self._recent[tracker.sender_id] = (time.monotonic(), list(tracker.events)[left_out or 0:],
                                           list(tracker.slots.values()))
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
        tracker = _tracker(sender_id, events, slots)
        self._count_stored(tracker, 0, None)
        return tracker

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        self._stored.pop(sender_id, None)
        live = self._live.pop(sender_id, None)  # one turn at a time holds it: a failed turn leaves none behind
        try:
            if live is not None and self._still_latest(sender_id, live):
                self._count_stored(live.tracker, live.events, live.last_id)
                return live.tracker
            tracker, last_id = self._read(sender_id, all_sessions=False)
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
                self._count_stored(ahead, len(stored), last_id)  # the save writes the copy's turns after those
                return ahead
            self._unsaved.discard(sender_id)  # another process went on with the conversation: the database wins
        if tracker is None:
            # A new conversation, begun here or not begun at all (its first save then counts what is stored).
            return self._beginning(sender_id)
        self._beginnings.pop(sender_id, None)
        self._count_stored(tracker, len(tracker.events), last_id)
        self._remember(tracker, 0)  # read from the database: nothing of it to leave out
        return tracker

    def _still_latest(self, sender_id: str, live: "Kept") -> bool:
        """Whether the tracker this process saved last is the conversation as the database holds it.

        One indexed look-up of the visitor's last event instead of reading every
        event of the session and replaying them into a new tracker (PostgreSQL,
        one process: see the module's docstring). Another process that went on
        with the conversation (a failover, a restart), or a purge, changed the last event.
        """
        if (time.monotonic() - live.seen > RECENT_SECONDS or len(live.tracker.events) != live.events
                or sender_id in self._unsaved):
            return False
        with self._statements() as session:
            return session.execute(self._last_id_query, {"sender_id": sender_id}).scalar() == live.last_id

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool
                        ) -> Optional[DialogueStateTracker]:
        return self._read(sender_id, fetch_events_from_all_sessions)[0]

    def _read(self, sender_id: str, all_sessions: bool) -> Tuple[Optional[DialogueStateTracker], Optional[int]]:
        """SQLTrackerStore._retrieve, reading only each event's JSON, with a query built once; and the last
        event's id."""
        with self._statements() as session:
            rows = session.execute(self._events_queries[all_sessions], {"sender_id": sender_id}).all()
        if not self.domain or not rows:
            return None, None
        events = [json.loads(data) for (_id, data) in rows]
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots), rows[-1][0]

    async def _write(self, tracker: DialogueStateTracker) -> Tuple[Optional[int], bool]:
        """SQLTrackerStore.save, with the new events inserted in one statement.

        Returns the id of the visitor's last event, and whether this process knew
        how many of the tracker's events the database held (else Rasa's count decided).
        """
        await self.stream_events(tracker)
        table = self.SQLEvent.__table__
        with self._statements() as session:
            stored = self._stored.pop(tracker.sender_id, None)
            if stored is not None and stored.tracker() is not tracker:  # counted for another tracker
                stored = None
            rows = []
            for event_ in self._additional_events(session, tracker, stored):
                data = event_.as_dict()
                rows.append({"sender_id": tracker.sender_id, "type_name": event_.type_name,
                             "timestamp": data.get("timestamp"), "action_name": data.get("name"),
                             "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                             "data": json.dumps(data)})
            last_id = stored.last_id if stored is not None and not rows else None
            # PostgreSQL: the ids come back with the insert. (The stubs type a dialect as the bare Dialect.)
            if rows and cast(DefaultDialect, self.engine.dialect).full_returning:
                last_id = max(session.execute(self._insert_returning, rows).scalars())
            elif rows:
                session.execute(table.insert(), rows)
            if last_id is None:  # SQLite (in this process: no round trip), or nothing known here
                last_id = session.execute(self._last_id_query, {"sender_id": tracker.sender_id}).scalar()
            session.commit()
        return last_id, stored is not None

    def _count_stored(self, tracker: DialogueStateTracker, events: int, last_id: Optional[int]) -> None:
        self._stored[tracker.sender_id] = Stored(events, last_id, weakref.ref(tracker))
        self._stored.move_to_end(tracker.sender_id)
        while len(self._stored) > RECENT_MAX:
            self._stored.popitem(last=False)

    def _additional_events(self, session: Session, tracker: DialogueStateTracker,
                           stored: "Optional[Stored]" = None) -> Iterator:
        """The events to write: those after what this turn's retrieve (or save) stored, else Rasa's count.

        Rasa's count is right for a tracker that begins where a read of the
        database begins: one read from it, or this process's copy (see _remember).
        """
        if stored is None or stored.events > len(tracker.events):  # unknown here: ask the database
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, stored.events, len(tracker.events))

    async def save(self, tracker: DialogueStateTracker) -> None:
        left_out = _left_out(tracker.events)
        self._remember(tracker, left_out)  # first: if the database refuses, the copy is the latest
        try:
            last_id, counted = await self._write(tracker)  # writes every event the database has not got
        except SQLAlchemyError:
            self._unsaved.add(tracker.sender_id)
            raise
        self._unsaved.discard(tracker.sender_id)
        self._beginnings.pop(tracker.sender_id, None)  # in the database now
        self._live.pop(tracker.sender_id, None)
        # Kept for the visitor's next turn unless another turn or read of the visitor counted meanwhile, or a
        # read would not give just the tracker's last events (clocks): then the next turn reads the database.
        keep = counted and left_out is not None
        if keep:
            # As a read gives it, the latest session from its SessionStarted on: the events before it (the
            # session's start action, an earlier session) go. SessionStarted resets a tracker: same state.
            assert left_out is not None  # keep is true only with left_out
            for _ in range(left_out):
                tracker.events.popleft()
        self._count_stored(tracker, len(tracker.events), last_id)
        if keep:
            self._keep_live(Kept(time.monotonic(), tracker, len(tracker.events), last_id))

    def _keep_live(self, kept: "Kept") -> None:
        self._live[kept.tracker.sender_id] = kept
        while len(self._live) > RECENT_MAX or next(iter(self._live.values())).seen < kept.seen - RECENT_SECONDS:
            self._live.popitem(last=False)  # the oldest first; this one is the newest, never stale


class Kept(NamedTuple):
    """A tracker as its last turn here saved it, with how many events it had and the id of the last."""
    seen: float
    tracker: DialogueStateTracker
    events: int
    last_id: Optional[int]


class Stored(NamedTuple):
    """How many of a tracker's events the database holds, and the id of the last one."""
    events: int
    last_id: Optional[int]
    tracker: "weakref.ReferenceType[DialogueStateTracker]"


def _left_out(events: Sequence[Any]) -> Optional[int]:
    """How many of the first events a read of the latest session leaves out; None if not just first ones.

    The read (_events_query) takes the events stamped at or after the latest
    SessionStarted: the session's own start action, stamped a moment before
    it, is not among them.
    """
    starts = [index for index, event_ in enumerate(events) if isinstance(event_, SessionStarted)]
    if not starts:
        return 0
    start = starts[-1]
    begun = events[start].timestamp
    if any(event_.timestamp >= begun for event_ in itertools.islice(events, 0, start)) or any(
            event_.timestamp < begun for event_ in itertools.islice(events, start, None)):
        return None
    return start


def _events_query(table: sa.Table, all_sessions: bool) -> Any:
    """The query of SQLTrackerStore._event_query, for the JSON of each event, with the sender as a parameter.

    Rasa builds its query anew for every retrieve, through the ORM, which took
    half of a retrieve's time (0.9 ms a turn against 0.45 ms, measured).
    """
    sender: sa.sql.elements.BindParameter[Any] = sa.bindparam("sender_id")
    query = sa.select(table.c.id, table.c.data).where(table.c.sender_id == sender).order_by(table.c.id)
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
        dialect = cast(DefaultDialect, engine.dialect)  # what every dialect is; the stubs say only Dialect
        try:
            alive = dialect.do_ping(connection)
        except dialect.dbapi.Error:
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
