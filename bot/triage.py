"""Red flags and nerve signs in visitors' words, and the outcome of a nerve screening.

The rule layer of the safety net: spaCy Matcher patterns from data/triage.yml
over a small English pipeline (rule tokenizer, lookup lemmatizer, sentencizer),
with negation ("no numbness") and past ("years ago") handled per match. It works
beside the NLU intent, so an emergency is caught even when the classifier misses it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import yaml

EMERGENCY, URGENT, NERVE_REVIEW, ROUTINE = "emergency", "urgent", "nerve_review", "routine"
SEVERITY = (ROUTINE, NERVE_REVIEW, URGENT, EMERGENCY)
YES, NO, UNSURE = "yes", "no", "unsure"


@dataclass(frozen=True)
class Finding:
    rule: str
    outcome: str
    evidence: str  # the words that matched


@dataclass(frozen=True)
class Rule:
    id: str
    outcome: str
    what: str
    source: str
    concepts: Tuple[Tuple[str, ...], ...]
    sentence: bool = False  # all concepts in one sentence, not just one message


def _normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("`", "'")
    return re.sub(r"(\w)'(\w)", r"\1\2", text)[:5000]


class Triage:
    """Finds red flags and nerve signs in free text."""

    def __init__(self, table: Mapping[str, Any]) -> None:
        import spacy
        from spacy.matcher import Matcher

        self.nlp = spacy.blank("en")
        self.nlp.tokenizer.rules = {}  # keep "cant", "dont" as one token each
        self.nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        self.nlp.add_pipe("sentencizer")
        self.nlp.initialize()
        negation = table["negation"]
        self.negation_cues = {self._lemma(cue) for cue in negation["cues"]} | set(negation["cues"])
        self.window = int(negation["window"])
        self.breaks = set(negation["breaks"])
        self.past_cues = [re.compile(c) for c in table["past"]["cues"]]
        self.current_cues = [re.compile(rf"\b{re.escape(c)}\b") for c in table["past"]["current"]]
        self.rules = [Rule(r["id"], r["outcome"], r["what"], r["source"],
                           tuple(tuple(concept) for concept in r["concepts"]), r.get("scope") == "sentence")
                      for r in table["red_flags"]]
        for rule in self.rules:
            if rule.outcome not in (EMERGENCY, URGENT):
                raise ValueError(f"rules.{rule.id}.outcome: must be emergency or urgent")
        self.matcher = Matcher(self.nlp.vocab)
        for rule in self.rules:
            for index, concept in enumerate(rule.concepts):
                self.matcher.add(f"{rule.id}#{index}", [self._compile(p) for p in concept])
        self.matcher.add("nerve", [self._compile(p) for p in table["nerve_signs"]])

    def _lemma(self, word: str) -> str:
        doc = self.nlp(word)
        return doc[0].lemma_ if len(doc) == 1 else word

    def _compile(self, pattern: str) -> List[Dict[str, Any]]:
        tokens: List[Dict[str, Any]] = []
        for slot in pattern.split():
            if slot == "*":
                tokens += [{"IS_SENT_START": False, "TEXT": {"NOT_IN": [".", "!", "?"]}, "OP": "?"}] * 3
                continue
            optional = slot.endswith("?") and len(slot) > 1
            words = slot.rstrip("?").split("|")
            if all(word.startswith("=") for word in words):  # exact words: "=buttocks" is not "buttock"
                token: Dict[str, Any] = {"LOWER": {"IN": [word[1:] for word in words]}}
            else:
                token = {"LEMMA": {"IN": sorted({self._lemma(w) for w in words} | set(words))}}
            if optional:
                token["OP"] = "?"
            tokens.append(token)
        return tokens

    def _negated(self, doc, start: int) -> bool:
        sentence_start = doc[start].sent.start
        for i in range(start - 1, max(sentence_start, start - self.window) - 1, -1):
            token = doc[i]
            if token.text in self.breaks or token.lemma_ in self.breaks:
                return False
            if token.text in self.negation_cues or token.lemma_ in self.negation_cues:
                return True
        return False

    def _only_past(self, sentence: str) -> bool:
        return any(c.search(sentence) for c in self.past_cues) and not any(c.search(sentence) for c in self.current_cues)

    def _live_matches(self, text: str) -> Dict[str, List[Tuple[int, str]]]:
        """(sentence start, words) of matches by key, leaving out negated ones and those only in the past."""
        doc = self.nlp(_normalise(text))
        found: Dict[str, List[Tuple[int, str]]] = {}
        for match_id, start, end in self.matcher(doc):
            span = doc[start:end]
            if self._negated(doc, start) or self._only_past(span.sent.text):
                continue
            found.setdefault(self.nlp.vocab.strings[match_id], []).append((span.sent.start, span.text))
        return found

    @staticmethod
    def _fires(rule: Rule, found: Mapping[str, List[Tuple[int, str]]]) -> Optional[str]:
        """The evidence if every concept of the rule is present (in one sentence, if the rule says so)."""
        keys = [f"{rule.id}#{i}" for i in range(len(rule.concepts))]
        if not all(key in found for key in keys):
            return None
        if not rule.sentence:
            return " / ".join(found[key][0][1] for key in keys)
        for sentence in {s for s, _ in found[keys[0]]}:
            words = [next((w for s, w in found[key] if s == sentence), None) for key in keys]
            if all(words):
                return " / ".join(words)
        return None

    def red_flags(self, text: str) -> List[Finding]:
        """Every rule whose concepts all appear, live, in the text; emergencies first."""
        if not text or not text.strip():
            return []
        found = self._live_matches(text)
        findings = []
        for rule in self.rules:
            evidence = self._fires(rule, found)
            if evidence:
                findings.append(Finding(rule.id, rule.outcome, evidence))
        return sorted(findings, key=lambda f: -SEVERITY.index(f.outcome))

    def nerve_signs(self, text: str) -> List[str]:
        """Nerve-like symptoms described (and not denied) in the text."""
        if not text or not text.strip():
            return []
        return [words for _, words in self._live_matches(text).get("nerve", [])]


def worst(findings: Iterable[Finding]) -> Optional[str]:
    """The most severe outcome among findings, or None."""
    outcomes = [f.outcome for f in findings]
    return max(outcomes, key=SEVERITY.index) if outcomes else None


def load_triage(path: Path) -> Triage:
    return Triage(yaml.safe_load(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=2)
def cached_triage(path: str) -> Triage:
    return load_triage(Path(path))


def screening_outcome(answers: Mapping[str, Optional[str]], red_flag_outcome: Optional[str] = None) -> str:
    """emergency / urgent / nerve_review / routine from a screening's answers.

    A red flag decides first. Any weakness, numbness or tingling, or symptoms
    below the knee, means a clinician should rule out a pinched nerve: a
    reported weakness is never reassured away, and 'not sure' counts as a maybe.
    """
    if red_flag_outcome in (EMERGENCY, URGENT):
        return red_flag_outcome
    # The screening's last question lists emergency flags only: yes is an
    # emergency; not sure means a doctor within a day.
    if answers.get("red_flags") == YES:
        return EMERGENCY
    if answers.get("red_flags") == UNSURE:
        return URGENT
    maybe = (YES, UNSURE)
    if answers.get("weakness") in maybe or answers.get("numbness") in maybe:
        return NERVE_REVIEW
    if answers.get("where") in ("below_knee", "foot"):
        return NERVE_REVIEW
    return ROUTINE
