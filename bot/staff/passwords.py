"""New staff passwords: long, not breached, not the account's own words, not a famous passphrase.

zxcvbn estimates how many guesses a password takes; its dictionaries lack
famous passphrases ("correcthorsebatterystaple" scored 4 of 4), so they are
given to it as user inputs from data/known_passphrases.yml, with the
account's own words, as an attacker would try them. That is the principled
fix rather than a list of exact strings: zxcvbn's matchers then price the
variants (capitals, separators, l33t, digits added) as cheap too.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import FrozenSet, List, Tuple

import yaml
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from bot.core.paths import DATA

MIN_PASSWORD = 10
STRONG_ENOUGH = 3  # zxcvbn's score 0-4: 3 is "safely unguessable" against an online attack
MAX_SCORED = 72    # zxcvbn's own cap: its cost grows quickly with the length


class StaffError(ValueError):
    """A request the command line or the inbox refuses, with a message fit to show."""


@lru_cache(maxsize=1)
def _common_passwords() -> FrozenSet[str]:
    """zxcvbn's list of the 30,000 passwords seen most often in breaches (a maintained package, not our copy)."""
    return frozenset(FREQUENCY_LISTS["passwords"])


def _personal_words(email: str, clinic_name: str) -> List[str]:
    """What an attacker tries first for this account: its email and its parts, the clinic's id and name."""
    local, _, domain = email.lower().partition("@")
    from_email = [email.lower(), local, *re.split(r"[^a-z0-9]+", local), *domain.split(".")[:-1]]
    name_words = re.findall(r"[a-z0-9]+", clinic_name.lower())
    # Short words of a clinic's name ("More 4 Life") are in too many good passwords to refuse; zxcvbn weighs them.
    runs = ["".join(name_words[i:j]) for i in range(len(name_words)) for j in range(i + 2, len(name_words) + 1)]
    words = [w for w in from_email if len(w) >= 4] + [w for w in name_words if len(w) >= 5] + \
        [r for r in runs if len(r) >= 6] + list(known_passphrases())  # "more4life", "medius", a famous phrase
    return sorted(set(words), key=len, reverse=True)


def _attacker_words(email: str, clinic_name: str) -> List[str]:
    """zxcvbn's extra dictionary: every part of the email and of the clinic's name however short, each run of the
    name's words ("more4life"), and the known passphrases; zxcvbn then prices them with digits or l33t added."""
    local, _, domain = email.lower().partition("@")
    words = re.findall(r"[a-z0-9]+", clinic_name.lower())
    runs = ["".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)]
    personal = [email.lower(), local, *re.split(r"[^a-z0-9]+", local), *domain.split("."), *runs]
    return [w for w in dict.fromkeys(personal) if w] + list(known_passphrases())


# Characters l33t writes for one another ("M0re4L1fe" for "more4life"): each class to one letter, so a word
# and its l33t spellings meet, even where the word itself holds a digit zxcvbn's l33t table would change.
_LEET_CLASSES = str.maketrans({"0": "o", "1": "l", "i": "l", "!": "l", "|": "l", "3": "e", "4": "a", "@": "a",
                               "5": "s", "$": "s", "7": "t", "+": "t", "8": "b", "9": "g", "6": "g"})


def skeleton(text: str) -> str:
    """The text lower-cased, without separators, each l33t class as one letter."""
    return re.sub(r"[\s._-]+", "", text.lower()).translate(_LEET_CLASSES)


def load_phrase_words(path: Path = DATA / "known_passphrases.yml") -> Tuple[Tuple[str, ...], ...]:
    """The famous passphrases of data/known_passphrases.yml as their words; a malformed file stops the check."""
    phrases = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("phrases")
    if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
        raise ValueError(f"{path}: `phrases` must be a list of non-empty strings")
    return tuple(dict.fromkeys(tuple(p.lower().split()) for p in phrases))


def load_known_passphrases(path: Path = DATA / "known_passphrases.yml") -> Tuple[str, ...]:
    """The famous passphrases, spaces dropped."""
    return tuple(dict.fromkeys("".join(words) for words in load_phrase_words(path)))


@lru_cache(maxsize=1)
def known_passphrases() -> Tuple[str, ...]:
    return load_known_passphrases()


@lru_cache(maxsize=1)
def _shuffled_phrases() -> Tuple[Tuple[str, ...], ...]:
    """The skeletons of the words of each famous phrase of three words or more, to be found in any order:
    cracking lists hold "staplebatteryhorsecorrect" too. Two-word ones ("hello world") are words zxcvbn prices."""
    return tuple(tuple(skeleton(w) for w in words) for words in load_phrase_words() if len(words) >= 3)


def _reorders_a_phrase(bare: str) -> bool:
    """All of a famous phrase's words, in any order, making most of the password (so that short words such as
    "to" or "be" found inside unrelated ones refuse nothing)."""
    return any(all(word in bare for word in words) and len("".join(words)) >= 0.6 * len(bare)
               for words in _shuffled_phrases())


def check_password(password: str, email: str = "", clinic_name: str = "") -> str:
    """A password fit for an account that reads health data: long, not common, not guessable from the account.

    Strength is zxcvbn's estimate of guesses for an attacker who also knows the account's words and the famous
    passphrases (its user_inputs): a list of exact phrases would miss "CorrectHorseBatteryStaple1", zxcvbn's
    matchers do not. Scored with and without separators, since phrase lists are tried with any of them.
    """
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"the password must be at least {MIN_PASSWORD} characters long")
    lowered = password.lower()
    if lowered in _common_passwords() or lowered.rstrip("0123456789!?.*#@$ ") in _common_passwords():
        raise StaffError("that password is on a list of common passwords from data breaches: choose another")
    personal = _personal_words(email, clinic_name)
    bare = skeleton(password)
    found = next((word for word in personal if word in lowered or skeleton(word) in bare), None)
    if found or _reorders_a_phrase(bare):
        raise StaffError("the password must not contain the account's email address, the clinic's name or a "
                         "famous phrase, however spelt")
    known = _attacker_words(email, clinic_name)
    joined = re.sub(r"[\s._-]+", "", password)
    if min(zxcvbn(text[:MAX_SCORED], user_inputs=known)["score"] for text in {password, joined}) < STRONG_ENOUGH:
        raise StaffError("that password is too easy to guess (repeats, sequences, dates, common words or famous "
                         "phrases): a few unrelated words make a strong one")
    return password
