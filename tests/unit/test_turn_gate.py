"""The web server's gate in front of each Rasa process: a few turns at a time, in order of arrival."""
import asyncio

import pytest

from bot.web.turn_gate import TurnGate
from tests.support.helpers import run_async


def run(coroutine):
    return run_async(coroutine)


async def _turns(gate, count, hold, log, started=None):
    async def turn(n):
        await gate.enter()
        try:
            log.append(("in", n, gate.running))
            await hold.wait()
        finally:
            gate.leave()
            log.append(("out", n))

    tasks = []
    for n in range(count):
        tasks.append(asyncio.create_task(turn(n)))
        await asyncio.sleep(0)  # each arrives after the one before
    return tasks


def test_no_more_than_its_size_run_and_the_others_go_in_the_order_they_came():
    async def scenario():
        gate, hold, log = TurnGate(2), asyncio.Event(), []
        tasks = await _turns(gate, 7, hold, log)
        await asyncio.sleep(0.01)
        assert [entry[1] for entry in log if entry[0] == "in"] == [0, 1]
        assert gate.running == 2 and gate.waiting == 5
        hold.set()
        await asyncio.gather(*tasks)
        assert [entry[1] for entry in log if entry[0] == "in"] == list(range(7))
        assert max(entry[2] for entry in log if entry[0] == "in") == 2
        assert gate.running == 0 and gate.waiting == 0
    run(scenario())


def test_a_newcomer_does_not_jump_the_queue_when_a_slot_frees():
    async def scenario():
        gate, order = TurnGate(1), []
        await gate.enter()
        waiter = asyncio.create_task(gate.enter())
        await asyncio.sleep(0)
        gate.leave()  # the slot goes to the waiter, not to whoever asks next
        newcomer = asyncio.create_task(gate.enter())
        waiter.add_done_callback(lambda _: order.append("waiter"))
        newcomer.add_done_callback(lambda _: order.append("newcomer"))
        await asyncio.sleep(0.01)
        assert order == ["waiter"] and gate.running == 1
        gate.leave()
        await asyncio.sleep(0.01)
        assert order == ["waiter", "newcomer"]
        gate.leave()
        assert gate.running == 0
    run(scenario())


def test_a_turn_that_gives_up_waiting_takes_no_slot_and_keeps_no_place():
    async def scenario():
        gate = TurnGate(1)
        await gate.enter()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(gate.enter(), 0.05)
        assert gate.waiting == 0
        gate.leave()
        assert gate.running == 0
        await asyncio.wait_for(gate.enter(), 0.05)  # free again: in at once
        assert gate.running == 1
    run(scenario())


def test_a_turn_cancelled_just_as_it_was_handed_the_slot_passes_it_on():
    async def scenario():
        gate = TurnGate(1)
        await gate.enter()
        first = asyncio.create_task(gate.enter())
        second = asyncio.create_task(gate.enter())
        await asyncio.sleep(0)
        gate.leave()   # hands the slot to `first`...
        first.cancel()  # ...which is cancelled before it runs again
        await asyncio.sleep(0.01)
        assert first.cancelled() and second.done() and gate.running == 1
        gate.leave()
        assert gate.running == 0
    run(scenario())


def test_a_gate_lets_in_at_least_one():
    with pytest.raises(ValueError):
        TurnGate(0)
