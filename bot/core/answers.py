"""Typed answers to a form's questions, for visitors who type instead of pressing a button.

The NLU reads "my arches are flat" as a question about flat feet, "Jean Hollis"
as an FAQ question and "ok go ahead" as nothing at all; in a form that has just
asked the matching question, each is an answer. Vocabulary in data/answers.yml.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

import yaml

from bot.core.contact import find_contact
from bot.core.paths import DATA

YES, NO, UNSURE = "yes", "no", "unsure"


def _normalise(text: str) -> str:
    text = re.sub(r"['\u2019`]", "", text.lower())
    return " " + " ".join(re.findall(r"[a-z0-9]+", text)) + " "


def _has(text: str, phrases: Iterable[str]) -> bool:
    return any(f" {phrase} " in text for phrase in phrases)


class TypedAnswers:
    def __init__(self, table: Mapping[str, Any]) -> None:
        self.words = {kind: [_normalise(p).strip() for p in table[kind]] for kind in (UNSURE, NO, YES)}
        self.mentions = {slot: [_normalise(p).strip() for p in words] for slot, words in table["mentions"].items()}
        self.negations: List[str] = list(table["negations"])
        self.stop_words = [_normalise(p).strip() for p in table["stop_words"]]

    def says_stop(self, text: str) -> bool:
        """Words that end the questions ("stop", "enough", "never mind"), not a firm "never"."""
        return _has(_normalise(text or ""), self.stop_words)

    def answer(self, text: str, slot: Optional[str] = None) -> Optional[str]:
        """yes, no or unsure from a typed answer, or None if it is not one."""
        said = _normalise(text or "")
        if self.negated_subject(text, slot):
            return YES  # "every night, no pillow": the question's own negated subject is a yes
        for kind in (UNSURE, NO, YES):
            if _has(said, self.words[kind]):
                return kind
        mentions: Sequence[str] = self.mentions.get(slot or "", [])
        if mentions and _has(said, mentions):
            return NO if _has(said, self.negations) else YES
        return None

    def negated_subject(self, text: str, slot: Optional[str]) -> bool:
        """The answer names the question's own negated subject ("no pillow" to "without a pillow?")."""
        mentions: Sequence[str] = self.mentions.get(slot or "", [])
        return _has(_normalise(text or ""), [m for m in mentions if _has(f" {m} ", self.negations)])

    def also_answered(self, text: str, slots: Iterable[str]) -> Dict[str, str]:
        """Other questions an answer settles by naming their subject ("no, and my feet are fine").

        Read per clause, so a negation answers only the subject it goes with.
        """
        found: Dict[str, str] = {}
        # "and" between two subjects ("my feet and ankles are fine") joins them; before a new clause it splits
        for clause in _CLAUSES.split(text or ""):
            said = _normalise(clause)
            for slot in slots:
                if slot not in found and _has(said, self.mentions.get(slot, [])):
                    found[slot] = NO if _has(said, self.negations) else YES
        return found


_CLAUSES = re.compile(r"[,.;!?]+|\b(?:but|though)\b|\band\b(?=\s+(?:i|im|i'm|ive|my|the|it|its|it's|no|not|yes)\b)",
                      re.I)

# A question rather than an answer: answered by the FAQ, and the form asks again.
QUESTION = re.compile(r"\?|(^|[,.;:!-]\s*)"
                      r"(what|whats|why|how|does|do|is|are|can|could|should|would|when|where|which|who)\b", re.I)


def is_question(text: str) -> bool:
    return bool(QUESTION.search(text or ""))


class BookingAnswers:
    """The booking form's typed answers: a time to call, consent (names: bot.core.details)."""

    def __init__(self, table: Mapping[str, Any]) -> None:
        self.time_words = [_normalise(p).strip() for p in table["time_words"]]
        consent: Mapping[str, List[str]] = table["consent"]
        self.consent_words = {kind: [_normalise(p).strip() for p in consent[kind]] for kind in (NO, YES)}

    def time(self, text: str) -> Optional[str]:
        """An answer to "when is a good time?": the visitor's words, when they name a time."""
        if not text or is_question(text) or text.startswith("/") or not find_contact(text).problem:
            return None
        return " ".join(text.split()) if _has(_normalise(text), self.time_words) else None

    def consent(self, text: str) -> Optional[bool]:
        """True or False from a typed answer to the consent question, or None."""
        if not text or is_question(text) or text.startswith("/"):
            return None
        said = _normalise(text)
        if _has(said, self.consent_words[NO]):
            return False
        # "please" is politeness, not an answer: "online please" says how, not yes. Alone, it is a yes.
        explicit = [word for word in self.consent_words[YES] if word != "please"]
        return True if _has(said, explicit) or said.strip() == "please" else None


def _table() -> Mapping[str, Any]:
    return yaml.safe_load((DATA / "answers.yml").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def typed_answers() -> TypedAnswers:
    return TypedAnswers(_table()["typed_answers"])


@lru_cache(maxsize=1)
def booking_answers() -> BookingAnswers:
    return BookingAnswers(_table()["booking"])
