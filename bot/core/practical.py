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
    general_services: Optional["re.Pattern[str]"] = None  # "what do you treat?", beside a named service

    def asked_all(self, text: str) -> List[str]:
        """Every profile field a message asks about ("do you take Blue Cross? and Medicare?"), in data order."""
        said = _said(text)
        if not said or said.startswith("/"):
            return []
        return [field for field, when in self.questions.items() if when.search(said)]

    def asked(self, text: str) -> Optional[str]:
        """The first profile field a message asks about ("insurance", "services", ...), or None."""
        return next(iter(self.asked_all(text)), None)

    def answer(self, clinic: Clinic, field: str, text: str = "") -> List[str]:
        """The lines that answer one practical question for this clinic."""
        return self.answer_all(clinic, [field], text)

    def answer_all(self, clinic: Clinic, fields: List[str], text: str = "") -> List[str]:
        """The lines that answer each practical question asked, then the clinic's contact line once."""
        say = lambda key, value="": self.answers[key].format(  # noqa: E731
            clinic=clinic.name, value=value, contact=clinic.contact_phrase())
        lines: List[str] = []
        for field in fields:
            if field == SERVICES:
                found = self._services(clinic, text, say)
            else:
                value = clinic.hours if field == HOURS else clinic.practical.get(field)
                found = [say(field, value)] if value else [say("missing")]
            lines += [line for line in found if line not in lines]
        if lines and say("missing") not in lines:
            lines.append(say("more"))
        return lines

    def _services(self, clinic: Clinic, text: str, say: Callable[..., str]) -> List[str]:
        """What the clinic treats; a service asked about by name that it does not offer, said plainly
        (and the whole list too when the message also asks what it treats)."""
        said = _said(text)
        declined = [say("asked_not_offered", item) for item in clinic.not_offered
                    if any(len(word) > 3 and re.search(rf"\b{re.escape(word)}", said) for word in _said(item).split())]
        if declined and not self._asks_generally(said):
            return declined
        if not clinic.services:
            return declined or [say("missing")]
        lines = [say(SERVICES, ", ".join(clinic.services) + ".")]
        if clinic.not_offered and not declined:
            lines.append(say("not_offered", ", ".join(clinic.not_offered) + "."))
        return declined + lines

    def _asks_generally(self, said: str) -> bool:
        return bool(self.general_services and self.general_services.search(said))


def load_practical(path: str) -> Practical:
    document = yaml.safe_load(open(path, encoding="utf-8").read())
    questions = {str(k): re.compile(v["when"]) for k, v in (document.get("questions") or {}).items()}
    answers = {str(k): str(v) for k, v in (document.get("answers") or {}).items()}
    needed = set(questions) | {"not_offered", "asked_not_offered", "missing", "more"}
    missing = needed - set(answers)
    if missing:
        raise ValueError(f"{path}: answers missing for {', '.join(sorted(missing))}")
    general = document.get("general_services")
    return Practical(questions=questions, answers=answers, general_services=re.compile(general) if general else None)


@lru_cache(maxsize=1)
def practical() -> Practical:
    return load_practical(str(DATA / "practical.yml"))
