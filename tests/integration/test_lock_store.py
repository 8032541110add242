"""The Redis lock store: one visitor's turns one after the other across processes, in few round trips."""
from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from typing import List

import pytest
import redis
from rasa.core.lock_store import LockError, RedisLockStore

from bot.core.settings import get_settings
from bot.ops.topology import local_redis, stop_local_services
from tests.support.helpers import run_async
from tests.support.servers import free_port


@pytest.fixture
def locks(tmp_path, monkeypatch):
    url = local_redis(tmp_path / "redis", free_port())
    monkeypatch.setenv("REDIS_URL", url)
    get_settings.cache_clear()
    from bot.rasa.lock_store import RedisLocks

    try:
        yield RedisLocks(), RedisLocks(), redis.StrictRedis.from_url(url)  # two Rasa processes, and Redis
    finally:
        get_settings.cache_clear()
        stop_local_services(tmp_path)


def calls(server: redis.StrictRedis) -> Counter:
    """Commands Redis has run, by name; a script's own GET, SET and DEL count too."""
    return Counter({name[len("cmdstat_"):]: stats["calls"] for name, stats in server.info("commandstats").items()})


def test_a_turn_takes_two_round_trips_and_leaves_no_lock_behind(locks):
    first, _, server = locks

    async def turn() -> None:
        async with first.lock("visitor-1"):
            pass

    run_async(turn())  # Redis learns the two scripts
    before = calls(server)
    run_async(turn())
    ran = calls(server) - before
    ran.pop("info", None)
    # Two scripts (issue, finish), and only their own GET each and SET or DEL each: nothing else from Rasa.
    assert ran == Counter({"evalsha": 2, "get": 2, "set": 1, "del": 1})
    assert not server.keys("*visitor-1*")


def test_the_steps_keep_rasas_ticket_rules(locks, monkeypatch):
    """Random issues, finished turns and passing time: the same tickets as Rasa's own TicketLock."""
    import rasa.core.lock
    from rasa.core.lock import TicketLock

    store, _, _ = locks
    clock = [1_800_000_000.0]
    monkeypatch.setattr(rasa.core.lock.time, "time", lambda: clock[0])
    model = TicketLock("visitor-3")
    chance = random.Random(12)
    for _ in range(400):
        step = chance.random()
        if step < 0.45:
            lifetime = chance.choice([0.5, 3.0, 60.0])
            number, lock = store.issue("visitor-3", lifetime, now=clock[0])
            assert number == model.issue_ticket(lifetime)
        elif step < 0.8:
            known = [t.number for t in model.tickets] or [0]
            number = chance.choice(known + [max(known) + 1])
            lock = store.finish("visitor-3", number, now=clock[0])
            model.remove_ticket_for(number)
        else:
            clock[0] += chance.choice([0.2, 1.0, 2.5])
            lock = store.finish("visitor-3", now=clock[0])
            model.remove_expired_tickets()
        assert [(t.number, round(t.expires, 3)) for t in lock.tickets] == \
            [(t.number, round(t.expires, 3)) for t in model.tickets]
        assert lock.now_serving == model.now_serving


def test_rasas_own_store_and_this_one_share_a_lock(locks):
    ours, _, server = locks
    rasas = RedisLockStore(key_prefix="medius")
    rasas.red = server
    held = rasas.issue_ticket("visitor-4")
    number, lock = ours.issue("visitor-4")
    assert (held, number) == (0, 1) and lock.is_locked(number)
    assert [t.number for t in rasas.get_lock("visitor-4").tickets] == [0, 1]
    rasas.cleanup("visitor-4", held)
    assert not ours.get_lock("visitor-4").is_locked(number)
    ours.cleanup("visitor-4", number)
    assert not server.keys("*visitor-4*")


def test_tickets_issued_at_the_same_moment_by_two_processes_are_all_kept(locks):
    """Rasa's store read, changed and wrote the lock back: a ticket issued meanwhile was lost."""
    first, second, _ = locks
    numbers: List[int] = []

    def issue(store, count: int) -> None:
        for _ in range(count):
            numbers.append(store.issue_ticket("visitor-5"))

    workers = [threading.Thread(target=issue, args=(store, 100)) for store in (first, second, first, second)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(numbers) == list(range(400))
    assert [t.number for t in first.get_lock("visitor-5").tickets] == list(range(400))


def test_a_lock_whose_turn_never_finished_goes_with_its_last_ticket(locks):
    first, _, server = locks
    first.issue_ticket("visitor-6", lock_lifetime=0.2)  # a process killed mid-turn never cleans up
    assert server.exists("medius:lock:visitor-6")
    time.sleep(1.5)  # the ticket's lifetime and a second
    assert not server.exists("medius:lock:visitor-6")


def test_a_turn_that_waited_past_its_tickets_life_gives_up_and_leaves_the_others_alone(locks):
    first, second, server = locks
    holder = first.issue_ticket("visitor-8")  # a long turn in another process

    async def late() -> None:
        async with second.lock("visitor-8", lock_lifetime=0.3, wait_time_in_seconds=0.1):
            raise AssertionError("ran beside the holder")

    started = time.monotonic()
    with pytest.raises(LockError):
        run_async(late())
    assert time.monotonic() - started < 2  # at its own ticket's end, not the holder's (a minute)
    assert [t.number for t in first.get_lock("visitor-8").tickets] == [holder]
    first.cleanup("visitor-8", holder)
    assert not server.exists("medius:lock:visitor-8")


def test_redis_gone_after_a_turn_ran_keeps_its_answer(locks, caplog):
    first, _, server = locks
    answered = []

    async def turn() -> None:
        async with first.lock("visitor-9"):
            server.shutdown(nosave=True)  # Redis goes while the turn runs
            answered.append("the turn's answer")

    with caplog.at_level("ERROR", logger="bot.rasa.lock_store"):
        run_async(turn())
    assert answered == ["the turn's answer"]
    assert "Lock store unavailable after a turn" in caplog.text and "visitor-9" not in caplog.text


def test_redis_down_fails_the_turn_before_it_starts(locks, tmp_path):
    first, _, server = locks
    server.shutdown(nosave=True)
    with pytest.raises(LockError):
        first.issue_ticket("visitor-7")


def test_turns_of_one_visitor_in_two_processes_run_one_after_the_other(locks):
    first, second, server = locks
    order = []

    async def turn(store, name: str, hold: float) -> None:
        async with store.lock("visitor-2", wait_time_in_seconds=0.05):
            order.append(f"{name} starts")
            await asyncio.sleep(hold)
            order.append(f"{name} ends")

    async def both() -> None:
        first_turn = asyncio.create_task(turn(first, "first", 0.3))
        await asyncio.sleep(0.05)
        await asyncio.gather(first_turn, turn(second, "second", 0.0), turn(first, "third", 0.0))

    started = time.monotonic()
    run_async(both())
    assert order == ["first starts", "first ends", "second starts", "second ends", "third starts", "third ends"]
    assert time.monotonic() - started < 5
    assert not server.keys("*visitor-2*")  # the last one out deleted the lock
