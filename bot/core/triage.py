"""Red flags and nerve signs in visitors' words, and the outcome of a nerve screening.

The rule layer of the safety net: spaCy Matcher patterns from data/triage.yml
over a small English pipeline (rule tokenizer, lookup lemmatizer, sentencizer),
with negation ("no numbness") handled per match, and the past ("years ago") and
the unreal ("on TV") per clause. Its findings are weighed with the red-flag
model's view (`assess`) into one of two tiers: a clear red flag, or a possible
one that a confirming question settles.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Tuple, cast

import yaml

EMERGENCY, URGENT, NERVE_REVIEW, ROUTINE = "emergency", "urgent", "nerve_review", "routine"
CONFIRM = "confirm"  # a possible red flag: one confirming question decides
NO_FLAG = "none"  # the red-flag model's label for everything else
SEVERITY = (ROUTINE, NERVE_REVIEW, URGENT, EMERGENCY)
YES, NO, UNSURE = "yes", "no", "unsure"


@dataclass(frozen=True)
class Finding:
    rule: str
    topic: str
    outcome: str
    evidence: str  # the words that matched


@dataclass(frozen=True)
class Rule:
    id: str
    topic: str
    outcome: str
    what: str
    source: str
    concepts: Tuple[Tuple[str, ...], ...]
    sentence: bool = False  # all concepts in one sentence, not just one message
    history: Tuple[bool, ...] = ()  # per concept: counts even in the past (a history of cancer)
    unless: Tuple[str, ...] = ()  # patterns that, in the same sentence, make it everyday (numb after sitting)
    gradual: Optional[str] = None  # the outcome when it came on slowly (weeks, months): "nerve" or "urgent"
    mentions: Tuple[str, ...] = ()  # the topic named ("a stroke"): discounts the model's view when not live
    # Clear on the rule's own words, whatever the model says: help that must never wait on a confirming
    # question about other symptoms (thoughts of suicide; the model has no such topic to agree with).
    sure: bool = False


def _rule(entry: Mapping[str, Any]) -> Rule:
    concepts = [c if isinstance(c, Mapping) else {"patterns": c} for c in entry["concepts"]]
    gradual = entry.get("gradual")
    if gradual not in (None, "nerve", URGENT):
        raise ValueError(f"rules.{entry['id']}.gradual: must be nerve or urgent")
    return Rule(entry["id"], entry["topic"], entry["outcome"], entry["what"], entry["source"],
                tuple(tuple(c["patterns"]) for c in concepts), entry.get("scope") == "sentence",
                tuple(bool(c.get("history")) for c in concepts), tuple(entry.get("unless") or ()), gradual,
                tuple(entry.get("mentions") or ()), bool(entry.get("sure", False)))


@dataclass(frozen=True)
class Reading:
    """What the rules see in one message."""

    findings: List[Finding]  # rules that fire, emergencies first
    discounted: FrozenSet[str]  # topics whose words are negated, unreal or past
    nerve_signs: List[str]  # nerve-like symptoms, not denied


@dataclass(frozen=True)
class Assessment:
    """What the safety net makes of one message."""

    level: Optional[str]  # EMERGENCY, URGENT, CONFIRM, or None: no red flag
    topic: Optional[str] = None  # the red-flag topic, which words the confirming question
    rules: Tuple[str, ...] = ()


def clean(text: str) -> str:
    """The text with lone UTF-16 surrogates (which no encoder, and not spaCy, accepts) made replacement characters."""
    if not isinstance(text, str):
        return ""
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def normalise(text: str) -> str:
    text = clean(text).lower().replace("\u2019", "'").replace("`", "'")
    return re.sub(r"(\w)'(\w)", r"\1\2", text)[:5000]


class Triage:
    """Finds red flags and nerve signs in free text."""

    def __init__(self, table: Mapping[str, Any]) -> None:
        import spacy
        from spacy.matcher import Matcher
        from spacy.tokenizer import Tokenizer

        self.nlp = spacy.blank("en")
        # spacy.blank's tokenizer is a Tokenizer; Language types it as any callable.
        cast(Tokenizer, self.nlp.tokenizer).rules = {}  # keep "cant", "dont" as one token each
        self.nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        self.nlp.add_pipe("sentencizer")
        self.nlp.initialize()
        negation = table["negation"]
        # The cues as written: a token's lemma counts only when it is itself a cue ("denied" -> "deny"),
        # never a cue's lemma ("dont" -> "do" made every "do" and "did" a negation).
        self.negation_cues = set(negation["cues"])
        self.window = int(negation["window"])
        self.breaks = set(negation["breaks"])
        self.past_cues = [re.compile(c) for c in table["past"]["cues"]]
        self.current_cues = [re.compile(rf"\b{re.escape(c)}\b") for c in table["past"]["current"]]
        self.unreal_cues = [re.compile(c) for c in table["unreal"]["cues"]]
        self.clause_breaks = set(table["clause_breaks"])
        # ConText's "experienced by someone else": only what is over for them ("my neighbour had a stroke");
        # a carer's "my mum can't stand since this morning" is an emergency to act on.
        other = table["someone_else"]
        self.other_person = [re.compile(c) for c in other["cues"]]
        self.other_disclaimers = [re.compile(c) for c in other["disclaimers"]]
        self.other_ongoing = [re.compile(c) for c in other["ongoing"]]
        self.other_now = [re.compile(c) for c in other["now"]]
        self.first_person = re.compile(other["first_person"])
        # Onset: weakness or foot drop over hours is an emergency, over months a nerve review.
        self.sudden_cues = [re.compile(c) for c in table["tempo"]["sudden"]]
        self.gradual_cues = [re.compile(c) for c in table["tempo"]["gradual"]]
        self.model_policy: Mapping[str, Any] = table["model"]
        self.rules = [_rule(r) for r in table["red_flags"]]
        self.sure_rules = frozenset(rule.id for rule in self.rules if rule.sure)
        for rule in self.rules:
            if rule.outcome not in (EMERGENCY, URGENT):
                raise ValueError(f"rules.{rule.id}.outcome: must be emergency or urgent")
        self.topic_levels: Dict[str, str] = {}
        for rule in self.rules:  # a topic is as grave as its gravest rule
            self.topic_levels[rule.topic] = max(rule.outcome, self.topic_levels.get(rule.topic, ROUTINE),
                                                key=SEVERITY.index)
        patterns: Dict[str, List[List[Dict[str, Any]]]] = {}
        self.history_keys = set()
        for rule in self.rules:
            for index, concept in enumerate(rule.concepts):
                patterns[f"{rule.id}#{index}"] = [self._compile(p) for p in concept]
                if rule.history[index]:
                    self.history_keys.add(f"{rule.id}#{index}")
            if rule.unless:
                patterns[f"{rule.id}#unless"] = [self._compile(p) for p in rule.unless]
            if rule.mentions:  # words that never fire, but discount the topic when negated, past or another's
                patterns[f"{rule.id}#mention"] = [self._compile(p) for p in rule.mentions]
        patterns["nerve"] = [self._compile(p) for p in table["nerve_signs"]]
        # One matcher per key, run only when the message holds a word one of its patterns cannot match
        # without (its first slot that is not optional). spaCy's Matcher tries every pattern at every token,
        # each word list a Python call: with all the keys in one matcher, that was two thirds of the rules'
        # time, and it grows with every pattern added.
        self.matchers: List[Tuple[str, Any, Optional[List[Tuple[str, FrozenSet[str]]]]]] = []
        for key, compiled in patterns.items():
            matcher = Matcher(self.nlp.vocab)
            matcher.add(key, compiled)
            self.matchers.append((key, matcher, self._anchors(compiled)))

    @staticmethod
    def _anchors(compiled: List[List[Dict[str, Any]]]) -> Optional[List[Tuple[str, FrozenSet[str]]]]:
        """Per pattern, the attribute and words of its first slot that is not optional; None if a pattern
        has none (it must always run)."""
        anchors = []
        for pattern in compiled:
            slot = next((t for t in pattern if t.get("OP") != "?"), None)
            if slot is None:
                return None
            attr = "LEMMA" if "LEMMA" in slot else "LOWER"
            anchors.append((attr, frozenset(slot[attr]["IN"])))
        return anchors

    def _matches(self, doc) -> List[Tuple[str, int, int]]:
        """(key, start, end) of every pattern's matches, from the matchers whose anchor words are here."""
        lemmas, lowers = {t.lemma_ for t in doc}, {t.lower_ for t in doc}
        found = []
        for key, matcher, anchors in self.matchers:
            if anchors is None or any(not words.isdisjoint(lemmas if attr == "LEMMA" else lowers)
                                      for attr, words in anchors):
                found += [(key, start, end) for _, start, end in matcher(doc)]
        return found

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

    def _only_past(self, clause: str) -> bool:
        return any(c.search(clause) for c in self.past_cues) and not any(c.search(clause) for c in self.current_cues)

    def _clauses(self, doc) -> List[int]:
        """The clause number of each token: a new clause at each sentence, comma or joining word."""
        numbers, current = [], 0
        for token in doc:
            if token.is_sent_start or token.text in self.clause_breaks:
                current += 1
            numbers.append(current)
            if token.text in (",", ";", ":", "-"):
                current += 1
        return numbers

    def _someone_elses(self, before: str, rest: str, following: str, message: str) -> bool:
        """Whether words are another person's, and over for them.

        ConText's scope: from a named person (`before` the words, in their sentence) to the first word
        of the visitor's own ("I", "me"), or else to the end of the sentence and on through the next.
        Over: a disclaimer in the message ("that was him, not me"), or nothing in the scope saying it is
        going on now ("she can't stand", "since this morning"). Nerve signs are never discounted so: a
        relative's tingling foot is still worth the screening.
        """
        people = [m.end() for c in self.other_person for m in c.finditer(before)]
        if not people or self.first_person.search(before[max(people):]):
            return False
        if any(c.search(message) for c in self.other_disclaimers):
            return True
        own = self.first_person.search(rest)
        if own:
            scope = f"{before[max(people):]} {rest[:own.start()]}"
        else:
            own = self.first_person.search(following)
            scope = f"{before[max(people):]} {rest} {following[:own.start()] if own else following}"
        return not any(c.search(scope) for c in self.other_ongoing + self.other_now)

    @staticmethod
    def _next_end(doc, sentence) -> int:
        """Where the sentence after this one ends (or this one, if it is the last)."""
        return doc[sentence.end].sent.end if sentence.end < len(doc) else sentence.end

    def _tempo(self, text: str) -> Optional[str]:
        if any(c.search(text) for c in self.sudden_cues):
            return "sudden"
        return "gradual" if any(c.search(text) for c in self.gradual_cues) else None

    def _live_matches(self, doc, dropped: Optional[set] = None) -> Dict[str, List[Tuple[int, str]]]:
        """(sentence start, words) of matches by key, leaving out (into `dropped`) those negated, unreal, past
        or someone else's."""
        clause_of = self._clauses(doc)
        clause_text: Dict[int, str] = {}
        for token, number in zip(doc, clause_of):
            clause_text[number] = clause_text.get(number, "") + token.text_with_ws
        # Each clause is read for the unreal and the past once, not once per match in it; and with no other
        # person named anywhere, no words can be someone else's (a third of the rules' time went to these).
        unreal = {n: any(c.search(text) for c in self.unreal_cues) for n, text in clause_text.items()}
        past = {n: self._only_past(text) for n, text in clause_text.items()}
        others = any(c.search(doc.text) for c in self.other_person)
        found: Dict[str, List[Tuple[int, str]]] = {}
        for key, start, end in self._matches(doc):
            numbers = set(clause_of[start:end])
            live = not (self._negated(doc, start) or any(unreal[n] for n in numbers) or (
                key not in self.history_keys and all(past[n] for n in numbers)))
            sentence = doc[start].sent
            if live and others and key != "nerve" and not key.endswith("#unless"):
                live = not self._someone_elses(doc[sentence.start:start].text, doc[start:sentence.end].text,
                                               doc[sentence.end:self._next_end(doc, sentence)].text, doc.text)
            if not live:
                if dropped is not None:
                    dropped.add(key)
                continue
            found.setdefault(key, []).append((sentence.start, doc[start:end].text))
        return found

    @staticmethod
    def _fires(rule: Rule, found: Mapping[str, List[Tuple[int, str]]]) -> Optional[Tuple[str, List[int]]]:
        """The evidence, and the sentences it is in, if every concept of the rule is present (in one
        sentence, if the rule says so)."""
        keys = [f"{rule.id}#{i}" for i in range(len(rule.concepts))]
        if not all(key in found for key in keys):
            return None
        everyday = {s for s, _ in found.get(f"{rule.id}#unless", [])}
        if not rule.sentence:
            return None if everyday else (" / ".join(found[key][0][1] for key in keys), [s for s, _ in found[keys[0]]])
        for sentence in sorted({s for s, _ in found[keys[0]]} - everyday):
            words = [next((w for s, w in found[key] if s == sentence), None) for key in keys]
            if all(words):
                return " / ".join(w for w in words if w), [sentence]
        return None

    def read(self, text: str) -> Reading:
        """Everything the rules see in a message, from one pass of the pipeline and matcher."""
        if not text or not text.strip():
            return Reading([], frozenset(), [])
        dropped: set = set()
        doc = self.nlp(normalise(text))
        found = self._live_matches(doc, dropped)
        topics = {rule.id: rule.topic for rule in self.rules}
        slow: set = set()  # topics read as gradual: the model's view of them is not an emergency either
        findings, nerve = [], [words for _, words in found.get("nerve", [])]
        message_tempo = self._tempo(doc.text)
        for rule in self.rules:
            fired = self._fires(rule, found)
            if not fired:
                continue
            evidence, sentences = fired
            outcome = rule.outcome
            if rule.gradual:
                tempos = {self._tempo(doc[s].sent.text) or message_tempo for s in sentences}
                if tempos == {"gradual"}:
                    slow.add(rule.topic)
                    if rule.gradual == "nerve":
                        nerve.append(evidence)
                        continue
                    outcome = rule.gradual
            findings.append(Finding(rule.id, rule.topic, outcome, evidence))
        fired_topics = {f.topic for f in findings if f.outcome == EMERGENCY}
        return Reading(sorted(findings, key=lambda f: -SEVERITY.index(f.outcome)),
                       frozenset({topics[key.split("#")[0]] for key in dropped
                                  if key.split("#")[0] in topics and not key.endswith("#unless")}
                                 | (slow - fired_topics)),
                       nerve)

    def red_flags(self, text: str) -> List[Finding]:
        """Every rule whose concepts all appear, live, in the text; emergencies first."""
        return self.read(text).findings

    def discounted(self, text: str) -> FrozenSet[str]:
        """Topics whose words the rules read as negated, unreal or past ("watched a crash on TV")."""
        return self.read(text).discounted

    def assess(self, findings: Sequence[Finding], scores: Mapping[str, float],
               classifier_says_red_flag: bool = False, discounted: Iterable[str] = (), words: int = 99) -> Assessment:
        """Weigh the rules' findings with the red-flag model's scores (topic -> probability).

        Clear: a rule fired and the model sees a red flag too; emergency advice
        at once (or, for an urgent rule, a doctor within a day). Possible: an
        emergency rule fired but the model disagrees, or the model alone (or
        with the NLU classifier) sees an emergency topic; one confirming
        question decides, unless the rules read the model's topic as negated,
        unreal or past. An urgent rule the model disagrees with says nothing:
        "see a doctor within a day" is given only when it is clear.
        """
        policy = self.model_policy
        flag = 1.0 - scores.get(NO_FLAG, 0.0) if scores else 1.0  # no model: the rules alone
        rules = tuple(f.rule for f in findings)
        emergencies = [f for f in findings if f.outcome == EMERGENCY]
        if emergencies:
            sure = [f for f in emergencies if f.rule in self.sure_rules]
            if sure:
                return Assessment(EMERGENCY, sure[0].topic, rules)
            return Assessment(EMERGENCY if flag >= policy["agree"] else CONFIRM, emergencies[0].topic, rules)
        emergency_topics = {t: p for t, p in scores.items()
                            if self.topic_levels.get(t) == EMERGENCY and t not in set(discounted)}
        if emergency_topics and words >= policy["min_words"]:  # the model's emergency outranks an urgent rule
            topic, p = max(emergency_topics.items(), key=lambda item: item[1])
            threshold = policy["confirm_with_classifier"] if classifier_says_red_flag else policy["confirm"]
            if p >= threshold:
                return Assessment(CONFIRM, topic, rules)
        if findings and flag >= policy["agree"]:
            return Assessment(URGENT, findings[0].topic, rules)
        return Assessment(None)

    def nerve_signs(self, text: str) -> List[str]:
        """Nerve-like symptoms described (and not denied) in the text."""
        return self.read(text).nerve_signs


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
