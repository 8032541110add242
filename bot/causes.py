"""The cause finder's reasoning: which common causes of weakness fit a visitor's answers."""
from __future__ import annotations

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
class CauseFinder:
    questions: List[Question]
    causes: Mapping[str, str]
    always_mention: str
    always_tip: str  # the TFL exercise: TFL dominance cannot be asked about

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
    return CauseFinder(questions=questions, causes=causes, always_mention=document["always_mention"],
                       always_tip=document["always_tip"])


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
