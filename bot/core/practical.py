"""The clinic's practical questions (insurance, prices, parking, ...): which one a message asks, and its answer
from the clinic's profile, read at run time so a clinic's edit needs no retraining. Wording in data/practical.yml."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, List, Mapping, Optional

import yaml

from bot.core.clinics import Clinic
from bot.core.paths import DATA

SERVICES, HOURS = "services", "hours"


def _said(text: str) -> str:
    return " ".join(re.sub(r"['\u2019`]", "", (text or "").lower()).split())


@dataclass(frozen=True)
class Practical:
    questions: Mapping[str, "re.Pattern[str]"]
    answers: Mapping[str, str]

    def asked(self, text: str) -> Optional[str]:
        """The profile field a message asks about ("insurance", "services", ...), or None."""
        said = _said(text)
        if not said or said.startswith("/"):
            return None
        return next((field for field, when in self.questions.items() if when.search(said)), None)

    def answer(self, clinic: Clinic, field: str, text: str = "") -> List[str]:
        """The lines that answer a practical question for this clinic."""
        say = lambda key, value="": self.answers[key].format(  # noqa: E731
            clinic=clinic.name, value=value, contact=clinic.contact_phrase())
        if field == SERVICES:
            return self._services(clinic, text, say)
        value = clinic.hours if field == HOURS else clinic.practical.get(field)
        if not value:
            return [say("missing")]
        return [say(field, value), say("more")]

    def _services(self, clinic: Clinic, text: str, say: Callable[..., str]) -> List[str]:
        said = _said(text)
        for item in clinic.not_offered:
            if any(len(word) > 3 and re.search(rf"\b{re.escape(word)}", said) for word in _said(item).split()):
                return [say("asked_not_offered", item), say("more")]
        if not clinic.services:
            return [say("missing")]
        lines = [say(SERVICES, ", ".join(clinic.services) + ".")]
        if clinic.not_offered:
            lines.append(say("not_offered", ", ".join(clinic.not_offered) + "."))
        return lines + [say("more")]


def load_practical(path: str) -> Practical:
    document = yaml.safe_load(open(path, encoding="utf-8").read())
    questions = {str(k): re.compile(v["when"]) for k, v in (document.get("questions") or {}).items()}
    answers = {str(k): str(v) for k, v in (document.get("answers") or {}).items()}
    needed = set(questions) | {"not_offered", "asked_not_offered", "missing", "more"}
    missing = needed - set(answers)
    if missing:
        raise ValueError(f"{path}: answers missing for {', '.join(sorted(missing))}")
    return Practical(questions=questions, answers=answers)


@lru_cache(maxsize=1)
def practical() -> Practical:
    return load_practical(str(DATA / "practical.yml"))
