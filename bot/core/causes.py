"""The cause finder's reasoning: which common causes of weakness fit a visitor's answers."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional

import yaml

YES, NO, UNSURE = "yes", "no", "unsure"
# The cause that needs a clinician to rule it out rather than a self-help tip.
NERVE_CAUSE = "pinched_nerve"


@dataclass(frozen=True)
class Question:
    slot: str
    cause: str
    tip: str


@dataclass(frozen=True)
class Mention:
    """Words that tell of a cause in a visitor's own story, and the responses that answer them."""

    cause: str
    patterns: List["re.Pattern[str]"]
    say: List[str]
    screen: bool = False  # offer the nerve screening after the answer
    topics: List[str] = field(default_factory=list)  # FAQ topics that already answer this cause


@dataclass(frozen=True)
class CauseFinder:
    questions: List[Question]
    causes: Mapping[str, str]
    always_mention: str
    always_tip: str  # the TFL exercise: TFL dominance cannot be asked about
    mentions: List[Mention] = field(default_factory=list)
    mention_negations: List["re.Pattern[str]"] = field(default_factory=list)
    general_topics: List[str] = field(default_factory=list)  # too general to answer a story of a cause
    cause_questions: List["re.Pattern[str]"] = field(default_factory=list)  # "why is it weak", "what's causing it"
    weakness_words: Optional["re.Pattern[str]"] = None  # a question about the weakness, not the pain

    @property
    def slots(self) -> List[str]:
        return [question.slot for question in self.questions]


@dataclass
class Summary:
    """What the summary says: fitting causes with their tips, and what stays open."""

    causes: List[str] = field(default_factory=list)
    tips: List[str] = field(default_factory=list)
    unsure_causes: List[str] = field(default_factory=list)
    nerve_sign: bool = False
    answered: int = 0


def load_cause_finder(path: Path) -> CauseFinder:
    """Read data/causes.yml and check that every question names a known cause."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    causes = dict(document["causes"])
    questions = []
    for slot, raw in document["questions"].items():
        if raw["cause"] not in causes:
            raise ValueError(f"questions.{slot}.cause: unknown cause {raw['cause']!r}")
        questions.append(Question(slot=slot, cause=raw["cause"], tip=raw["tip"]))
    mentions = [Mention(cause=cause, patterns=[re.compile(p) for p in raw["patterns"]], say=list(raw["say"]),
                        screen=bool(raw.get("screen", False)), topics=list(raw.get("topics") or []))
                for cause, raw in (document.get("mentions") or {}).items()]
    return CauseFinder(questions=questions, causes=causes, always_mention=document["always_mention"],
                       always_tip=document["always_tip"], mentions=mentions,
                       mention_negations=[re.compile(p) for p in document.get("mention_negations") or []],
                       general_topics=list(document.get("general_topics") or []),
                       cause_questions=[re.compile(p) for p in document.get("cause_questions") or []],
                       weakness_words=re.compile(document["weakness_words"]) if "weakness_words" in document else None)


def asks_cause(finder: CauseFinder, text: str) -> bool:
    """Whether the message asks what is behind the weakness or pain, whatever FAQ topic its words suggest."""
    said = (text or "").lower()
    return any(pattern.search(said) for pattern in finder.cause_questions)


def asks_why_weak(finder: CauseFinder, text: str) -> bool:
    """Whether the message asks what lies behind the weakness itself (not the pain)."""
    said = (text or "").lower()
    return finder.weakness_words is not None and bool(finder.weakness_words.search(said)) and asks_cause(finder, said)


_CLAUSES = re.compile(r"[.;!?,]+|\b(?:but|and|although|though|however|whereas)\b")


def mentioned_causes(finder: CauseFinder, text: str) -> "tuple[List[Mention], List[str]]":
    """The causes a visitor's story tells of, and those it rules out ("I never cross my legs").

    A mention counts unless the clause it starts in has a negation, so "I cross
    my legs but my feet are fine" finds crossed legs and rules out the feet.
    """
    said = (text or "").lower().replace("\u2019", "'")
    bounds = [0] + [b for m in _CLAUSES.finditer(said) for b in (m.start(), m.end())] + [len(said)]
    clauses = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds) - 1, 2)]

    def negated(position: int) -> bool:
        """A negation in the mention's clause, or a bare one after it ("flat feet? not me")."""
        index = next((i for i, c in enumerate(clauses) if c[0] <= position <= c[1]), 0)
        start, end = clauses[index]
        if any(p.search(said[start:end]) for p in finder.mention_negations):
            return True
        after = said[clauses[index + 1][0]:clauses[index + 1][1]] if index + 1 < len(clauses) else ""
        return len(after.split()) <= 3 and any(p.search(after) for p in finder.mention_negations)

    found: Dict[str, Mention] = {}
    denied: List[str] = []
    for mention in finder.mentions:
        for match in (m for p in mention.patterns for m in p.finditer(said)):
            if negated(match.start()):
                denied.append(mention.cause)
            else:
                found.setdefault(mention.cause, mention)
    return list(found.values()), [cause for cause in dict.fromkeys(denied) if cause not in found]


def tips_for(finder: CauseFinder, causes: Optional[List[str]]) -> List[str]:
    """The tips for these causes, or for every cause when none is known; the TFL exercise always."""
    wanted = set(causes or finder.causes)
    tips = [question.tip for question in finder.questions if question.cause in wanted]
    return list(dict.fromkeys(tips)) + [finder.always_tip]


def summarise(finder: CauseFinder, answers: Mapping[str, Optional[str]]) -> Summary:
    """Which causes fit: a cause fits on any 'yes'; 'not sure' keeps it open."""
    summary = Summary()
    fitting: Dict[str, List[str]] = {}
    unsure: List[str] = []
    for question in finder.questions:
        answer = answers.get(question.slot)
        if answer in (YES, NO, UNSURE):
            summary.answered += 1
        if answer == YES:
            fitting.setdefault(question.cause, []).append(question.tip)
        elif answer == UNSURE and question.cause not in unsure:
            unsure.append(question.cause)
    for cause in finder.causes:  # the order of the data file
        if cause in fitting:
            summary.causes.append(cause)
            summary.tips.extend(fitting[cause])
    summary.unsure_causes = [cause for cause in unsure if cause not in fitting]
    summary.nerve_sign = NERVE_CAUSE in summary.causes
    return summary
