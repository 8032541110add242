"""The Redis lock store: one visitor's turns one after the other across processes, in few round trips."""
from __future__ import annotations

import asyncio
import time

import pytest
import redis

from bench.servers import free_port
from bot.settings import get_settings
from bot.topology import local_redis, stop_local_services
from tests.helpers import run_async


@pytest.fixture
def locks(tmp_path, monkeypatch):
    url = local_redis(tmp_path / "redis", free_port())
    monkeypatch.setenv("REDIS_URL", url)
    get_settings.cache_clear()
    from bot.lock_store import RedisLocks

    try:
        yield RedisLocks(), RedisLocks(), redis.StrictRedis.from_url(url)  # two Rasa processes, and Redis
    finally:
        get_settings.cache_clear()
        stop_local_services(tmp_path)


def calls(server: redis.StrictRedis) -> int:
    return sum(stats["calls"] for name, stats in server.info("commandstats").items()
               if name in ("cmdstat_get", "cmdstat_set", "cmdstat_del"))


def test_a_turn_takes_five_round_trips_and_leaves_no_lock_behind(locks):
    first, _, server = locks

    async def turn() -> None:
        async with first.lock("visitor-1"):
            pass

    before = calls(server)
    run_async(turn())
    assert calls(server) - before == 5  # issue (read, write), acquire (read), clean up (read, delete)
    assert not server.keys("*visitor-1*")


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
