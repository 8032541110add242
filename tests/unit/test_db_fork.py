"""A pooled database connection is never shared by a process forked after it was made."""
import multiprocessing
import os

from sqlalchemy import text

from bot.store.db import make_engine


def _pid_of_connection(engine, queue):
    with engine.connect() as connection:
        connection.execute(text("select 1"))
        queue.put(connection.connection._connection_record.info["pid"])


def test_a_forked_worker_makes_its_own_connection(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fork.db'}")
    with engine.connect() as connection:  # one connection made, and pooled, before the fork (as at start-up)
        connection.execute(text("select 1"))
    queue = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(target=_pid_of_connection, args=(engine, queue))
    child.start()
    child.join(30)
    assert queue.get(timeout=5) == child.pid != os.getpid()
