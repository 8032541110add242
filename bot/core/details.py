"""The booking details a message carries, wherever they appear: name, phone, email, best time, visit mode.

People write several things at once ("Hi, I'd like to see someone, Pat Moreno,
314 555 0123, mornings, in person"). Each detail is read from the words alone,
on every message, so the booking form keeps what was given anywhere and asks
only for what is missing. Vocabulary in data/details.yml and data/answers.yml.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Sequence

import yaml

from bot.core.answers import is_question
from bot.core.contact import MAX_SEARCH, MAX_TEXT, find_email, find_phone
from bot.core.paths import DATA

ONLINE, IN_PERSON = "online", "in_person"
_WORD = re.compile(r"[^\W\d_][\w'\u2019.-]*")
_CLAUSES = re.compile(r"(?<=[.!?;])\s+|,\s*|\s+-\s+|\n+|\s+(?:and|but|so|also|though)\s+", re.I)
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")


def first_sentence(text: str) -> str:
    return _SENTENCES.split((text or "").strip(), maxsplit=1)[0]
_CONTACT_TEXT = re.compile(r"\S+@\S+|\+?\(?\d[\d\s().-]{6,}\d")
# Words that lead into a time: "after my lunch", "any time in the afternoon", "on weekday mornings".
_GREETINGS = {"morning", "afternoon", "evening", "good morning", "good afternoon", "good evening"}
_LEAD_INS = {"after", "before", "between", "around", "about", "any", "in", "the", "on", "late", "early", "most",
             "by", "from", "until", "till", "my", "weekday", "weekend", "at", "mid", "every", "during", "time"}


def _norm(text: str) -> str:
    text = re.sub(r"['\u2019`]", "", (text or "").lower())
    return " " + " ".join(re.findall(r"[a-z0-9@.+-]+|[a-z0-9]+", text)) + " "


def _plain(text: str) -> str:
    text = re.sub(r"['\u2019`]", "", (text or "").lower())
    return " " + " ".join(re.findall(r"[a-z0-9]+", text)) + " "


def _has(said: str, phrases: Sequence[str]) -> bool:
    return any(f" {p} " in said for p in phrases)


@dataclass(frozen=True)
class Details:
    """What one message says for a booking; None where it says nothing."""

    name: Optional[str] = None
    phone: Optional[str] = None
    email: Optional[str] = None
    time: Optional[str] = None
    mode: Optional[str] = None
    request: bool = False     # asks for an appointment in so many words
    withdraw: bool = False    # withdraws the request in so many words ("don't call me")
    correction: bool = False  # "actually ...", "sorry, the number is ..."

    @property
    def contact(self) -> Optional[str]:
        """Phone and email as one value, as the booking form's contact question takes them."""
        return " ".join(v for v in (self.phone, self.email) if v) or None

    def count(self) -> int:
        return sum(1 for v in (self.name, self.contact, self.time, self.mode) if v)


class DetailReader:
    def __init__(self, table: Mapping[str, Any], booking: Mapping[str, Any]) -> None:
        words = lambda items: [_plain(p).strip() for p in items]  # noqa: E731
        self.strong_cues = sorted(words(table["name_cues"]["strong"]), key=len, reverse=True)
        cues = table["name_cues"]
        related = [f"{cue} {whose} {relation}" for cue in words(cues["weak"]) for whose in ("his", "her", "their")
                   for relation in words(cues["relations"])]
        self.weak_cues = sorted(words(cues["weak"]) + related, key=len, reverse=True)
        self.anywhere_cues = set(words(cues["anywhere"]))
        self.trailers = words(table["name_trailers"])
        self.titles = set(words(table["titles"]))
        self.not_names = set(words(table["not_names"])) | {_plain(w).strip() for w in booking["not_name_words"]}
        self.time_words = words(booking["time_words"])
        self.not_names |= set(self.time_words)
        self.number_words: Dict[str, str] = {str(k): str(v) for k, v in table["number_words"].items()}
        mode = table["mode"]
        self.online, self.in_person = words(mode["online"]), words(mode["in_person"])
        self.cannot_come, self.not_online = words(mode["cannot_come"]), words(mode["not_online"])
        self.request_words, self.correction_words = words(table["request"]), words(table["correction"])
        self.withdraw_words = words(table["withdraw"])
        self.bare_min, self.bare_max = int(table["bare_name_words"]["min"]), int(table["bare_name_words"]["max"])
        self.preference, self.not_times = words(table["preference"]), words(table["not_times"])

    # -- names ---------------------------------------------------------------------------------
    def _name_after(self, tokens: List[str], capital: bool) -> Optional[str]:
        """Up to four name words from the start of `tokens`, stopping at the first word that is no name."""
        taken: List[str] = []
        for token in tokens:
            word = token.rstrip(".,;:!?")
            key = _plain(word).strip()
            if key in self.titles and not taken:
                taken.append(token.rstrip(",;:!?"))  # "Dr. Alan Brooks": the title's full stop ends nothing
                continue
            if not key or not _WORD.fullmatch(word) or key in self.not_names and key not in self.titles:
                break
            if capital and not word[0].isupper():
                break
            taken.append(word)
            if token != word or len(taken) == 4:  # punctuation ends the name ("Pat Moreno, 314 ...")
                break
        while taken and _plain(taken[-1]).strip() in self.titles:
            taken.pop()  # "Dr" alone is not a name
        if not taken or all(_plain(w).strip() in self.titles for w in taken):
            return None
        name = " ".join(taken)
        return name.title() if name.islower() else name

    def name(self, text: str) -> Optional[str]:
        """A name given in words: after a cue ("my name is", "Name:", "it's Pat"), before one ("Pat Moreno here"),
        or a whole message of capitalised name words ("Frank Oduya")."""
        for sentence in _SENTENCES.split(text or ""):
            tokens = re.sub(r"[:=\u2013\u2014]|(?<![\w'])-(?![\w'])", " ", sentence).split()
            plain = [_plain(t).strip() for t in tokens]
            for i in range(len(tokens)):
                for cues, capital in ((self.strong_cues, False), (self.weak_cues, True)):
                    for cue in cues:
                        size = len(cue.split())
                        if " ".join(plain[i:i + size]) != cue or i + size >= len(tokens):
                            continue
                        if i and cue not in self.anywhere_cues \
                                and plain[i - 1] not in ("hi", "hello", "hey", "and", "yes", "ok", "well", "oh"):
                            if not re.search(r"[,.;:!]$", tokens[i - 1]):
                                continue  # "what name should they use", "I'm told": not at a clause start
                        found = self._name_after(tokens[i + size:], capital)
                        if found:
                            return found
            for i, word in enumerate(plain):
                if word in self.trailers and i:
                    for start in range(max(0, i - 3), i):  # the longest run of name words just before it
                        found = self._name_after(tokens[start:i], True)
                        if found and len(found.split()) == i - start:
                            return found
        for sentence in _SENTENCES.split(text or ""):
            tokens = sentence.split()
            if not tokens or not (find_phone(sentence) or "@" in sentence):
                continue
            found = self._name_after(tokens[:4], True)  # "Pat Moreno, 314 555 0123, mornings"
            size = len(found.split()) if found else 0
            after = tokens[size] if found and size < len(tokens) else ""
            if found and (re.search(r"[,;:]$", tokens[size - 1]) or re.match(r"[+(\d]", after) or "@" in after):
                return found
        words = (text or "").strip().rstrip(".!").split()
        if 1 <= len(words) <= 4 and all(w[0].isupper() for w in words):
            found = self._name_after(words, True)
            if found and len(found.split()) == len(words):
                return found
        return self._bare_clause_name(text or "")

    def _bare_clause_name(self, text: str) -> Optional[str]:
        """A clause that is nothing but two to four capitalised name words, in a message that asks for a
        booking or gives a phone or email ("please book me, Norma Fairweather, 314 555 0112")."""
        if not (find_phone(text) or "@" in text or _has(_plain(text), self.request_words)):
            return None
        for clause in re.split(r"[.,;:!?\n\u2013\u2014]|\s-\s", _CONTACT_TEXT.sub(" , ", text)):
            words = clause.split()
            if not self.bare_min <= len(words) <= self.bare_max or not all(w[0].isupper() for w in words):
                continue
            found = self._name_after(words, True)
            if found and len(found.split()) == len(words):
                return found
        return None

    def answer_name(self, text: str) -> Optional[str]:
        """A name typed in answer to the name question: found as anywhere else, or the message's first
        clause when it is nothing but name words, in any case ("lorraine huxtable. and afternoons are best")."""
        found = self.name(text)
        if found or not text or text.startswith("/"):
            return found
        if is_question(first_sentence(text)):  # "Carol Jenkins. do you take medicare?" still names her
            return None  # names the first sentence, the question comes after
        first = re.split(r"[.,;!\n]|\s+(?:and|but|or|&)\s+|\s+-\s+", _CONTACT_TEXT.sub(" , ", text.strip()),
                         maxsplit=1)[0]
        words = first.split()
        if not 1 <= len(words) <= 4:
            return None
        found = self._name_after(words, False)
        return found if found and len(found.split()) == len(words) else None

    # -- phone numbers typed as words ------------------------------------------------------------
    def _digits_from_words(self, text: str) -> str:
        """ "three one four five five five ..." as digits, where seven or more number words come in a row."""
        tokens = re.findall(r"[A-Za-z]+|\d+|[^\sA-Za-z\d]+", text)
        out: List[str] = []
        run: List[str] = []
        for token in tokens + [""]:
            if token.lower() in self.number_words or (run and token.isdigit()):
                run.append(self.number_words.get(token.lower(), token))
                continue
            if run and re.fullmatch(r"[,.\-]+", token):
                continue  # "three one four, five five five, ..."
            if sum(len(r) for r in run) >= 7:
                out.append("".join(run))
            elif run:
                out.extend(run)
            run = []
            if token:
                out.append(token)
        return " ".join(out)

    def phone(self, text: str) -> Optional[str]:
        found = find_phone(text)
        if found is None and sum(_plain(text).split().count(w) for w in self.number_words) >= 7:
            found = find_phone(self._digits_from_words(text))
        return found

    # -- best time and mode ----------------------------------------------------------------------
    def _answer_clauses(self, text: str) -> List[str]:
        """The message's clauses that are not questions ("can I do it online?" chooses nothing)."""
        clauses = []
        for sentence in _SENTENCES.split(text or ""):
            said = _plain(sentence)
            asks = sentence.strip().endswith("?") or is_question(sentence) and "?" in sentence
            if asks and not _has(said, self.request_words + self.preference):
                continue  # "can I do it online?" chooses nothing; "could someone call me mornings?" does
            clauses += [c.strip(" .!;") for c in _CLAUSES.split(sentence) if c and c.strip(" .!;")]
        return clauses

    def time(self, text: str) -> Optional[str]:
        """The clauses that name a time, in the visitor's words ("weekday mornings", "after 3pm")."""
        found = []
        for index, clause in enumerate(self._answer_clauses(text)):
            if index == 0 and _plain(clause).strip() in _GREETINGS:
                continue  # "Evening. Trying to book ...": a greeting, not a time to call
            said = _plain(re.sub(r"(\d)\s*([ap])\.?m\b", r"\1 \2m", clause, flags=re.I))
            if not re.search(r"\d\s*a\.?m\b", clause, re.I):
                said = said.replace(" am ", " ")  # "I am", not "9 am"
            if not _has(said, self.time_words) or _has(said, self.not_times):
                continue
            found.append(self._time_phrase(clause))
        phrase = ", ".join(found)
        return phrase[:MAX_TEXT] if phrase else None

    def _time_phrase(self, clause: str) -> str:
        """The words from the first time word (with the few that lead into it) to the clause's end:
        "I am usually free after my lunch" gives "after my lunch"."""
        clause = _CONTACT_TEXT.sub(" ", clause)
        words = clause.split()
        keys = [_plain(w).strip() for w in words]
        first = next((i for i, k in enumerate(keys) if k in self.time_words and not (k == "am" and i and not
                                                                                       keys[i - 1].isdigit())
                      or re.fullmatch(r"\d{1,2}(:\d\d)?([ap]m)?", k)), 0)
        while first and keys[first - 1] in _LEAD_INS:
            first -= 1
        return " ".join(words[first:]).strip(" ,.;!?")

    def mode(self, text: str) -> Optional[str]:
        """online or in_person from the words, or None if they say neither, or both without a reason."""
        said = _plain(" ".join(self._answer_clauses(text)))
        if _has(said, self.not_online):
            return IN_PERSON if _has(said, self.in_person) else None
        online, in_person = _has(said, self.online), _has(said, self.in_person)
        if online and in_person and _has(said, self.cannot_come):
            return ONLINE
        if online == in_person:
            return None
        return ONLINE if online else IN_PERSON

    def read(self, text: str, booking: bool = False) -> Details:
        """Everything a message carries for a booking; `booking`: a booking is under way, so a time or a mode
        in it is an answer ("in person, afternoons if poss" to the time question)."""
        text = (text or "")[:MAX_SEARCH]
        if not text.strip() or text.startswith("/"):
            return Details()
        said = _plain(text)
        request = _has(said, self.request_words)
        withdraw = _has(said, self.withdraw_words)
        correction = _has(said, self.correction_words)
        name, phone, email = self.name(text), self.phone(text), find_email(text)
        # A time or a mode in a message that says nothing else of a booking is not taken ("yes, most
        # evenings" answers the cause finder); a bare mode is ("online please"), and the form's own question
        # takes a bare time.
        context = (booking or request or correction or bool(name or phone or email) or _has(said, self.preference)
                   or _has(said, self.cannot_come))
        time = self.time(text) if context else None
        mode = self.mode(text) if context or len(said.split()) <= 4 else None
        if time and name and _plain(time).strip() == _plain(name).strip():
            time = None
        return Details(name=name, phone=phone, email=email, time=time, mode=mode, request=request and not withdraw,
                       correction=correction, withdraw=withdraw)


@lru_cache(maxsize=1)
def detail_reader() -> DetailReader:
    table = yaml.safe_load((DATA / "details.yml").read_text(encoding="utf-8"))
    booking = yaml.safe_load((DATA / "answers.yml").read_text(encoding="utf-8"))["booking"]
    return DetailReader(table, booking)


def answer_name(text: str) -> Optional[str]:
    """A name typed at the name question (see DetailReader.answer_name)."""
    return detail_reader().answer_name(text)


def read_details(text: str, booking: bool = False) -> Details:
    """What a message carries for a booking (see DetailReader)."""
    return detail_reader().read(text, booking)

