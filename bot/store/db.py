"""The one database session factory, and the migrations that shape the database."""
from __future__ import annotations

import os
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.core.paths import ROOT


def ensure_sqlite_folder(url: str) -> None:
    """SQLite creates its file but not the folder it goes in."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # for its owner only


def _one_process_per_connection(engine: Engine) -> None:
    """A pooled connection is never used by a process forked after it was made (SQLAlchemy's recipe for
    os.fork): the action server's and Rasa's workers fork after start-up has read the clinic profiles, and two
    processes on one PostgreSQL socket corrupt each other's results (a lead was lost to it under load)."""
    @event.listens_for(engine, "connect")
    def _remember_pid(_connection: Any, record: Any) -> None:
        record.info["pid"] = os.getpid()

    @event.listens_for(engine, "checkout")
    def _refuse_inherited(_connection: Any, record: Any, proxy: Any) -> None:
        if record.info.get("pid") != os.getpid():
            record.dbapi_connection = proxy.dbapi_connection = None
            raise DisconnectionError(f"connection made in process {record.info.get('pid')}, not this one")


def make_engine(url: str, timeout: float = 5.0) -> Engine:
    """An engine for the URL; SQLite files get their folder created and foreign keys on.

    `timeout` bounds connecting to PostgreSQL and waiting for a pooled connection,
    so an unreachable database fails fast (and the lead is spooled) instead of
    holding a visitor's turn.
    """
    ensure_sqlite_folder(url)
    options: Dict[str, Any] = {}
    if make_url(url).drivername.startswith("postgresql"):
        options.update(connect_args={"connect_timeout": max(1, round(timeout))}, pool_timeout=timeout)
    engine = create_engine(url, future=True, pool_pre_ping=True, **options)
    _one_process_per_connection(engine)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, _record: Any) -> None:  # DBAPI objects: the driver's own types
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()
    return engine


# PostgreSQL's error codes for a transaction it gave up on to let others through: a deadlock, a serialization
# failure, a lock not available in time.
_PG_BUSY = {"40P01", "40001", "55P03"}


def database_busy(error: BaseException) -> bool:
    """The database gave up on this transaction for others: SQLite's "database is locked" (other writers held the
    file past PRAGMA busy_timeout), or PostgreSQL breaking a deadlock between racing transactions.

    A burst of writers can starve one (SQLite's busy handler sleeps and retries, it does not queue); a caller
    that can answer "try again in a moment" (the login throttle) says so rather than failing with a 500."""
    if not isinstance(error, OperationalError):
        return False
    return "database is locked" in str(error.orig) or getattr(error.orig, "pgcode", None) in _PG_BUSY


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    from bot.core.settings import get_settings

    return make_engine(url, get_settings().database_timeout_seconds)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A transaction: committed if the block succeeds, rolled back if it raises."""
    session = sessionmaker(bind=engine_for(url), future=True, expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def migrate(url: str) -> None:
    """Bring the database to the newest schema (Alembic `upgrade head`)."""
    from alembic import command
    from alembic.config import Config

    ensure_sqlite_folder(url)
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")
