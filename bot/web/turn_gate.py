"""How many turns the web server lets into one Rasa process at a time, the rest waiting in order of arrival.

A Rasa process serves its turns on one event loop. With every turn let in at
once (50 visitors: about 25 turns in each process), the loop shares itself
out between them, and a turn that goes to the action server three times waits
its turn three times: the booking form's first question took 2 s at 50 visitors
while the median message took 0.8 s. With a few turns let in at a time, enough
to keep the process busy while one waits for the database or the action
server, every turn waits about as long as the others, in the order it came.
Measured with bench.load at 50 visitors on 2 cores (production topology):
p95 ÷ p50 fell from 1.65 with no limit to 1.3-1.37 with 3 or 4 turns at a
time, and the CPU per message fell with fewer turns interleaved.
"""
from __future__ import annotations

import asyncio
import collections
from typing import Deque


class TurnGate:
    """At most `size` turns at once, first come first served.

    asyncio.Semaphore would do, but on Python 3.10 a newcomer can take a freed
    slot before the turn that has waited longest.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a gate lets in at least one turn")
        self.size = size
        self.running = 0
        self._waiting: Deque[asyncio.Future] = collections.deque()

    @property
    def waiting(self) -> int:
        return sum(1 for turn in self._waiting if not turn.done())

    async def enter(self) -> None:
        """Returns when this turn may run; cancelled while waiting, it leaves the queue and takes no slot."""
        if self.running < self.size and not self.waiting:
            self.running += 1
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn  # the turn that leaves hands its slot over: `running` already counts this one
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # handed a slot in the same moment: pass it on
                self.leave()
            raise

    def leave(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.running -= 1
