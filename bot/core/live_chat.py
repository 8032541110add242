"""Live chat with a clinic's staff member: when a message asks for a person, and what the visitor reads.

The web server decides, before the assistant sees the message, so that no
retraining is needed and the assistant never answers a visitor a person is
talking to (bot/web/live_visitor.py). The phrases and every text are in
data/live_chat.yml.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Mapping, Pattern, Tuple

import yaml

from bot.core.paths import DATA

TEXTS = ("consent", "asking", "cancel_button", "waiting_note", "nobody", "missed", "callback_button", "cancelled",
         "joined", "ended", "staff_label", "staff_typing", "request_button")
MAX_STAFF_TEXT = 1000  # characters of one staff message, as for a visitor's


@dataclass(frozen=True)
class LiveChatWords:
    """The phrases that ask for a person, and the texts of a live chat."""

    requests: Tuple[Pattern[str], ...]
    not_requests: Tuple[Pattern[str], ...]
    texts: Mapping[str, str]
    callback_payload: str
    cancel_payload: str
    request_payload: str

    def asks_for_a_person(self, message: str) -> bool:
        """Whether a message asks to talk to a person (and not, say, for the clinic's phone number)."""
        text = " ".join(message.lower().split())
        return any(p.search(text) for p in self.requests) and not any(p.search(text) for p in self.not_requests)

    def say(self, name: str, **values: str) -> str:
        """One text, with the values it names filled in."""
        return self.texts[name].format_map(_Blank(values))


class _Blank(Dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def load_live_chat_words(path: Path = DATA / "live_chat.yml") -> LiveChatWords:
    """data/live_chat.yml, checked: a missing text or a pattern that does not compile stops start-up."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    texts = document.get("texts") or {}
    missing = set(TEXTS) - set(texts)
    if missing:
        raise ValueError(f"{path}: live chat texts missing: {', '.join(sorted(missing))}")

    def patterns(key: str) -> Tuple[Pattern[str], ...]:
        try:
            return tuple(re.compile(str(p)) for p in document.get(key) or [])
        except re.error as error:
            raise ValueError(f"{path}: {key}: {error}") from None

    if not document.get("requests"):
        raise ValueError(f"{path}: no request phrases")
    return LiveChatWords(patterns("requests"), patterns("not_requests"), {k: str(v) for k, v in texts.items()},
                         str(document.get("callback_payload") or ""), str(document.get("cancel_payload") or ""),
                         str(document.get("request_payload") or ""))


@lru_cache(maxsize=1)
def live_chat_words() -> LiveChatWords:
    return load_live_chat_words()


def first_name(email: str) -> str:
    """The name a visitor sees for a staff member: the first word of their email's local part."""
    local = email.split("@", 1)[0]
    word = re.split(r"[._+\-0-9]", local, maxsplit=1)[0] or local
    return word[:30].capitalize() or "Staff"


def wait_words(seconds: float) -> str:
    """HANDOFF_WAIT_SECONDS as a visitor reads it: '2 minutes', 'a minute', '45 seconds'."""
    seconds = round(seconds)
    if seconds < 60:
        return "a second" if seconds <= 1 else f"{seconds} seconds"
    minutes = round(seconds / 60)
    return "a minute" if minutes == 1 else f"{minutes} minutes"


def buttons(*pairs: Tuple[str, str]) -> List[Dict[str, str]]:
    """Quick replies as the widget reads them."""
    return [{"title": title, "payload": payload} for title, payload in pairs if payload]
