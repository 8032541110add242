"""Typed answers to yes / no / not sure questions, for visitors who type instead of pressing a button.

The NLU reads "my arches are flat" as a question about flat feet and "yeah a
bit" as something else; in a form that asks a yes/no question, both are answers.
Vocabulary in data/answers.yml.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable, List, Mapping, Optional, Sequence

import yaml

from bot.paths import DATA

YES, NO, UNSURE = "yes", "no", "unsure"


def _normalise(text: str) -> str:
    text = re.sub(r"['\u2019`]", "", text.lower())
    return " " + " ".join(re.findall(r"[a-z0-9]+", text)) + " "


def _has(text: str, phrases: Iterable[str]) -> bool:
    return any(f" {phrase} " in text for phrase in phrases)


class TypedAnswers:
    def __init__(self, table: Mapping[str, object]) -> None:
        self.words = {kind: [_normalise(p).strip() for p in table[kind]] for kind in (UNSURE, NO, YES)}
        self.mentions = {slot: [_normalise(p).strip() for p in words] for slot, words in table["mentions"].items()}
        self.negations: List[str] = list(table["negations"])

    def answer(self, text: str, slot: Optional[str] = None) -> Optional[str]:
        """yes, no or unsure from a typed answer, or None if it is not one."""
        said = _normalise(text or "")
        for kind in (UNSURE, NO, YES):
            if _has(said, self.words[kind]):
                return kind
        mentions: Sequence[str] = self.mentions.get(slot or "", [])
        if mentions and _has(said, mentions):
            return NO if _has(said, self.negations) else YES
        return None


@lru_cache(maxsize=1)
def typed_answers() -> TypedAnswers:
    table = yaml.safe_load((DATA / "answers.yml").read_text(encoding="utf-8"))["typed_answers"]
    return TypedAnswers(table)
