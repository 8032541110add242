"""The whole safety net for one message: the rules and the red-flag model, weighed by `Triage.assess`.

One object that every reader of visitors' words asks: the Rasa component
(components.red_flags), the content-gaps filter (actions/gaps.py, from the
verdict the component left on the message), and the web server when Rasa
cannot answer (bot/web/forwarder.py). The model is the one trained into the Rasa
model archive; without it the rules decide alone.
"""
from __future__ import annotations

import logging
import tarfile
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from bot.core.red_flag_model import RedFlagModel
from bot.core.triage import NO_FLAG, Assessment, Reading, Triage, clean

logger = logging.getLogger(__name__)

MODEL_FILE = "red_flag_model.joblib"
VERDICT_KEY = "safety_net"  # where the Rasa component leaves the verdict on the parsed message


@dataclass(frozen=True)
class Verdict:
    """What the whole net makes of one message."""

    reading: Reading
    assessment: Assessment
    scores: Dict[str, float] = field(default_factory=dict)

    @property
    def flag_probability(self) -> float:
        """The model's probability of any red flag; 0 with no model."""
        return 1.0 - self.scores.get(NO_FLAG, 1.0) if self.scores else 0.0

    def as_output(self) -> Dict[str, object]:
        """The verdict as carried on the parsed message, for readers after the NLU (the gaps filter)."""
        return {"level": self.assessment.level, "topic": self.assessment.topic, "rules": list(self.assessment.rules),
                "flag_probability": round(self.flag_probability, 4)}


class SafetyNet:
    """The rules and the red-flag model together."""

    def __init__(self, triage: Triage, model: Optional[RedFlagModel] = None) -> None:
        self.triage, self.model = triage, model

    def judge(self, text: str, classifier_says_red_flag: bool = False) -> Verdict:
        """One pass of the rules' pipeline and one of the model, weighed into a tier."""
        text = clean(text)
        reading = self.triage.read(text)
        scores = self.model.scores(text) if self.model and text.strip() else {}
        assessment = self.triage.assess(reading.findings, scores, classifier_says_red_flag, reading.discounted,
                                        len(text.split()))
        return Verdict(reading, assessment, scores)

    def keeps_private(self, text: str) -> bool:
        """Whether a message may hold symptoms a content gap must not store: any tier, any rule, or a model
        that gives red flags at least the policy's `keep_out_of_gaps` probability."""
        return keeps_private(self.judge(text), self.triage)


def keeps_private(verdict: Verdict, triage: Triage) -> bool:
    return carried_keeps_private(verdict.as_output(), triage) or bool(verdict.reading.findings)


def carried_keeps_private(carried: Mapping[str, Any], triage: Triage) -> bool:
    """The same decision from a verdict carried on a parsed message (`Verdict.as_output`)."""
    threshold = float(triage.model_policy.get("keep_out_of_gaps", 0.3))
    probability = carried.get("flag_probability")
    return bool(carried.get("level") or carried.get("rules") or
                (isinstance(probability, (int, float)) and probability >= threshold))


def model_from_archive(archive: Path) -> Optional[RedFlagModel]:
    """The red-flag model inside a trained Rasa model archive, as Rasa loads it; None if there is none.

    Read once per archive and version in a process: finding it means decompressing the whole archive.
    """
    try:
        version = archive.stat().st_mtime_ns
    except OSError:
        return None
    return _model_from_archive(str(archive), version)


@lru_cache(maxsize=2)
def _model_from_archive(path: str, version: int) -> Optional[RedFlagModel]:
    archive = Path(path)
    try:
        with tarfile.open(archive) as bundle:
            member = next((m for m in bundle if m.name.endswith(MODEL_FILE)), None)  # stops at it
            if member is None:
                return None
            with tempfile.TemporaryDirectory() as directory:
                member.name = MODEL_FILE
                bundle.extract(member, directory)
                return RedFlagModel.load(Path(directory) / MODEL_FILE)
    except (OSError, tarfile.TarError, ValueError) as error:
        logger.warning("No red-flag model read from %s (%s): the rules decide alone", archive, type(error).__name__)
        return None
