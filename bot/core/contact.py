"""Visitors' contact details: found in free text, validated and normalised."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional, Tuple

import phonenumbers
import yaml
from email_validator import EmailNotValidError, validate_email

from bot.core.paths import DATA

MAX_TEXT = 200  # the longest detail kept
MAX_SEARCH = 2000  # how much of a message is searched for one: a long story may end with the number
_TRUNK = re.compile(r"(?<![\d.,:/])\(?0\d")
_EMAIL_LIKE = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+")


@dataclass(frozen=True)
class Found:
    """What a message held: a normalised phone and/or email, or the code of the problem.

    Problem codes name the responses `utter_invalid_contact/<code>`.
    """

    phone: Optional[str] = None
    email: Optional[str] = None
    problem: Optional[str] = None


def find_phone(text: str, region: str = "US") -> Optional[str]:
    """The first valid phone number in the text, in E.164 form: the clinic's country's first, then one
    written as at home by a visitor from abroad ("07700 900461" from Leeds: data/details.yml)."""
    for match in phonenumbers.PhoneNumberMatcher(text[:MAX_SEARCH], region):
        if phonenumbers.is_valid_number(match.number):
            return phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
    searched = text[:MAX_SEARCH]
    international = phonenumbers.PhoneNumberMatcher(searched, region, leniency=phonenumbers.Leniency.POSSIBLE) \
        if "+" in searched else ()  # most messages have no "+": no second scan of them
    for match in international:
        # With its country code, a number of that country's length is taken even where the library does not
        # know the range as allocated (the read-back's "+44 ..." of a home-style number it accepted below).
        if match.raw_string.startswith("+") and match.number.country_code != 1 and \
                phonenumbers.is_possible_number_with_reason(match.number) == phonenumbers.ValidationResult.IS_POSSIBLE:
            return phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
    if not _TRUNK.search(text[:MAX_SEARCH]):
        return None  # no "0" starting a number: nothing for the matchers abroad (most messages)
    possible = phonenumbers.Leniency.POSSIBLE
    for abroad in regions_abroad():
        for match in phonenumbers.PhoneNumberMatcher(text[:MAX_SEARCH], abroad, leniency=possible):
            # Only a whole number in that country's own trunk form ("0" and ten digits or more): a bare run
            # of digits is the clinic's country's, and a "+" number the matcher above already read.
            digits = sum(ch.isdigit() for ch in match.raw_string)
            if match.raw_string.lstrip("(").startswith("0") and digits >= 10 and \
                    phonenumbers.is_possible_number_with_reason(match.number) == \
                    phonenumbers.ValidationResult.IS_POSSIBLE:
                return phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
    return None


@lru_cache(maxsize=1)
def regions_abroad() -> Tuple[str, ...]:
    """Countries whose visitors' home-style numbers are read, in order (data/details.yml `phone_regions_abroad`)."""
    document = yaml.safe_load((DATA / "details.yml").read_text(encoding="utf-8"))
    return tuple(document.get("phone_regions_abroad") or ())


def looks_like_phone(text: str) -> bool:
    return sum(ch.isdigit() for ch in text) >= 5


def find_email(text: str) -> Optional[str]:
    """The first syntactically valid email address in the text, normalised."""
    for candidate in _EMAIL_LIKE.findall(text[:MAX_SEARCH]):
        try:
            return validate_email(candidate.strip("."), check_deliverability=False).normalized
        except EmailNotValidError:
            continue
    return None


def find_contact(text: str, region: str = "US") -> Found:
    """A phone and/or email from a visitor's answer, or a plain-words problem."""
    phone, email = find_phone(text, region), find_email(text)
    if phone or email:
        return Found(phone=phone, email=email)
    if "@" in text:
        return Found(problem="email")
    if looks_like_phone(text):
        return Found(problem="phone")
    return Found(problem="missing")


def display_phone(e164: str, home: str = "US") -> str:
    """A phone number as a visitor would write it; one from abroad with its country code, so staff can dial it."""
    number = phonenumbers.parse(e164, None)
    at_home = number.country_code == phonenumbers.country_code_for_region(home)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL if at_home
                                      else phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# Answers to "what name?" that are not names: greetings, thanks, yes / no, fillers.
NOT_NAMES = re.compile(
    r"(hi|hello|hey|hiya|good (morning|afternoon|evening)|thanks?|thank you|thx|cheers|ta|ok|okay|k|sure|fine|"
    r"yes|yeah|yep|yup|no|nope|nah|not sure|maybe|whatever|none|nothing|idk|dunno|n/?a|test|name|my name)"
    r"( (you|very much|please|thanks|then|there))*", re.I)


def clean_name(text: str) -> Optional[str]:
    """A plausible name from an answer, or None: letters required; questions, greetings and yes/no refused."""
    name = re.sub(r"^(my name is|my name's|i am|i'm|it's|it is|this is|call me)\s+", "", text.strip(), flags=re.I)
    name = " ".join(name.split()).strip(" .!,")
    if not name or len(name) > 80 or "?" in name or "@" in name or looks_like_phone(name):
        return None
    if NOT_NAMES.fullmatch(name):
        return None
    if not re.search(r"[^\W\d_]", name) or len(name.split()) > 6:
        return None
    return name
