"""Where conversations are kept, and for how long.

Rasa's SQLTrackerStore (bot/rasa/tracker_store.py), configured from CONVERSATIONS_DATABASE_URL (SQLite in
var/ by default, PostgreSQL by URL), so conversations neither vanish on a
restart nor grow the Rasa process's memory with every visitor. A conversation
idle for CONVERSATION_RETENTION_DAYS is deleted by `purge`, which the notifier
runs every hour and `python -m bot leads purge` runs on demand.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import bindparam, inspect, text
from sqlalchemy.engine import make_url

from bot.core.settings import Settings, get_settings
from bot.store.db import engine_for, ensure_sqlite_folder
from bot.store.models import utcnow

logger = logging.getLogger(__name__)

EVENTS_TABLE = "events"  # Rasa's SQLTrackerStore table: one row per event, with sender_id and timestamp
_EXPIRED = text(f"SELECT sender_id FROM {EVENTS_TABLE} GROUP BY sender_id HAVING MAX(timestamp) < :cutoff")
_DELETE = text(f"DELETE FROM {EVENTS_TABLE} WHERE sender_id IN :ids").bindparams(bindparam("ids", expanding=True))


def store_arguments(url: str) -> dict:
    """SQLTrackerStore's keyword arguments for a SQLAlchemy URL."""
    ensure_sqlite_folder(url)
    parsed = make_url(url)
    query = dict(parsed.query)
    if parsed.drivername.startswith("postgresql"):  # an unreachable server fails the turn fast, not after minutes
        query.setdefault("connect_timeout", str(max(1, round(get_settings().database_timeout_seconds))))
    return {"dialect": parsed.drivername, "host": parsed.host, "port": parsed.port, "db": parsed.database,
            "username": parsed.username, "password": parsed.password, "query": query or None}


def purge(settings: Settings, now: Optional[datetime] = None) -> int:
    """Delete conversations whose last event is older than the retention period; returns how many."""
    cutoff = ((now or utcnow()) - timedelta(days=settings.conversation_retention_days)).timestamp()
    engine = engine_for(settings.conversations_url)
    if not inspect(engine).has_table(EVENTS_TABLE):
        return 0  # Rasa has not stored a conversation yet
    with engine.begin() as connection:
        expired = connection.execute(_EXPIRED, {"cutoff": cutoff}).scalars().all()
        for start in range(0, len(expired), 500):
            connection.execute(_DELETE, {"ids": expired[start:start + 500]})
    if expired:
        logger.info("Deleted %s conversation(s) idle for over %s days", len(expired),
                    settings.conversation_retention_days)
    return len(expired)


def conversation_events(settings: Settings, sender_id: str, limit: int = 2000) -> list:
    """A conversation's Rasa events, oldest first (the latest `limit`), as the tracker store keeps them."""
    engine = engine_for(settings.conversations_url)
    if not inspect(engine).has_table(EVENTS_TABLE):
        return []
    query = text(f"SELECT data FROM {EVENTS_TABLE} WHERE sender_id = :sender ORDER BY id DESC LIMIT :limit")
    with engine.connect() as connection:
        rows = connection.execute(query, {"sender": sender_id, "limit": limit}).scalars().all()
    events = []
    for row in reversed(rows):
        try:
            events.append(json.loads(row))
        except (TypeError, ValueError):
            continue
    return events
