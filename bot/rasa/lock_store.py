"""The lock store Rasa loads in production (endpoints-prod.yml): Rasa's Redis ticket lock, each step atomic.

Several Rasa processes serve the same visitors; the lock keeps one visitor's
turns in order across all of them (a retry, a restart, a failover to another
process). One setting, REDIS_URL, instead of Rasa's host, port, db and
password fields. With Redis down a turn fails before it starts, so the visitor
gets the error line with the clinic's phone and nothing runs twice; with Redis
gone during a turn, the turn's answer still goes out and its ticket expires.

Rasa's RedisLockStore reads the lock, changes it in Python and writes it back:
two processes issuing tickets at the same moment could both read the same lock,
and the second write dropped the first one's ticket (that turn then waited for
a ticket no longer there, or ran beside the other), and a clean-up could delete
a lock another process had just queued on. Here each step (issue a ticket,
drop expired ones, finish a turn) is one Lua script that Redis runs atomically,
on the same stored form as Rasa's (a TicketLock's JSON under the same key), so
Rasa's own store and this one can share a lock. One round trip for each step:
a turn takes two (issue, finish) where Rasa's took seven, when the lock is free.
The key expires with its last ticket, so a process killed mid-turn leaves nothing behind.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Optional, Text, Tuple

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore

from bot.core.logs import install_logging_policy
from bot.core.settings import get_settings

logger = logging.getLogger(__name__)

SOCKET_TIMEOUT_SECONDS = 3.0

# Shared by the scripts: the lock at KEYS[1] without tickets expired at ARGV[1] (Rasa: expires < now
# is kept, time.time() > expires has expired) and without ticket ARGV[2] (-1: none); saved with an
# expiry just after its last ticket's, or deleted when none is left. Tickets stay JSON strings, as Rasa has them.
_PRUNE = """
local now, drop = tonumber(ARGV[1]), tonumber(ARGV[2])
local raw = redis.call('GET', KEYS[1])
local lock = raw and cjson.decode(raw) or {tickets = {}}
if lock.conversation_id == nil then lock.conversation_id = ARGV[3] end
local kept, numbers, latest = {}, {}, now
for _, text in ipairs(lock.tickets or {}) do
  local ticket = cjson.decode(text)
  if ticket.expires >= now and ticket.number ~= drop then
    kept[#kept + 1] = text
    numbers[#numbers + 1] = ticket.number
    if ticket.expires > latest then latest = ticket.expires end
  end
end
"""

_SAVE = """
local function save()
  if #kept == 0 then
    redis.call('DEL', KEYS[1])
    return '{"tickets": []}'
  end
  lock.tickets = kept
  local text = cjson.encode(lock)
  redis.call('SET', KEYS[1], text, 'PX', math.ceil((latest - now) * 1000) + 1000)
  return text
end
"""

# ARGV: now, -1, conversation id, lifetime. Returns the new ticket's number and the lock as saved.
ISSUE = _PRUNE + _SAVE + """
local number = (#numbers > 0 and numbers[#numbers] or -1) + 1
local expires = now + tonumber(ARGV[4])
kept[#kept + 1] = cjson.encode({number = number, expires = expires})
numbers[#numbers + 1] = number
if expires > latest then latest = expires end
return {number, save()}
"""

# ARGV: now, the finished ticket (or -1), conversation id. Returns the lock as saved.
FINISH = _PRUNE + _SAVE + "return save()\n"


class RedisLocks(RedisLockStore):
    def __init__(self, endpoint_config: Any = None, **kwargs: Any) -> None:
        settings = get_settings()
        install_logging_policy(settings.log_level)
        if not settings.redis_url:
            raise SystemExit("REDIS_URL must name the Redis server of the lock store (endpoints-prod.yml).")
        super().__init__(key_prefix="medius", socket_timeout=SOCKET_TIMEOUT_SECONDS)
        self.red = redis.StrictRedis.from_url(settings.redis_url, socket_timeout=SOCKET_TIMEOUT_SECONDS,
                                              socket_connect_timeout=SOCKET_TIMEOUT_SECONDS)
        # EVALSHA, loading the script again if Redis lost it (a restart).
        self._issue_script = self.red.register_script(ISSUE)
        self._finish_script = self.red.register_script(FINISH)

    def issue(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME,
              now: Optional[float] = None) -> Tuple[int, TicketLock]:
        """A new ticket for the conversation, and the lock with it, in one atomic step."""
        try:
            number, saved = self._issue_script(
                keys=[self.key_prefix + conversation_id],
                args=[_time(now), -1, conversation_id, repr(float(lock_lifetime))])
        except Exception as error:  # as Rasa's issue_ticket: the turn fails before it starts
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error
        return int(number), TicketLock.from_dict(json.loads(saved))

    def finish(self, conversation_id: Text, ticket_number: int = -1,
               now: Optional[float] = None) -> TicketLock:
        """The lock without that ticket and without expired ones (deleted if none is left), atomically."""
        saved = self._finish_script(keys=[self.key_prefix + conversation_id],
                                    args=[_time(now), ticket_number, conversation_id])
        return TicketLock.from_dict(json.loads(saved))

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        return self.issue(conversation_id, lock_lifetime)[0]

    def update_lock(self, conversation_id: Text) -> None:
        self.finish(conversation_id)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """The turn's ticket handed back. If Redis fails here the turn has run and is saved: its answer
        still goes out (an error would have the visitor send it again), and the ticket expires."""
        try:
            self.finish(conversation_id, ticket_number)
        except redis.RedisError as error:
            logger.error("Lock store unavailable after a turn (%s); its ticket will expire", type(error).__name__)

    @asynccontextmanager
    async def lock(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = 1) -> AsyncGenerator[TicketLock, None]:
        """Rasa's lock; a ticket served at once (the usual case) needs no second read of the lock.

        A turn that waited past its own ticket's lifetime gives up (LockError) instead of polling on:
        its number may have been issued again, and it would run beside that turn (as in Rasa's).
        """
        ticket, lock = self.issue(conversation_id, lock_lifetime)
        held = True
        try:
            while True:
                if all(waiting.number != ticket for waiting in lock.tickets):
                    held = False  # expired: the number is no longer ours to hand back
                    raise LockError("This turn's ticket expired while it waited for the lock.")
                if not lock.is_locked(ticket):
                    break
                await asyncio.sleep(wait_time_in_seconds)
                lock = self.finish(conversation_id)  # expired tickets dropped, the lock as it is now
            yield lock
        finally:
            if held:
                self.cleanup(conversation_id, ticket)


def _time(now: Optional[float]) -> str:
    """Each process's own clock, as Rasa's tickets use it."""
    return repr(time.time() if now is None else float(now))
