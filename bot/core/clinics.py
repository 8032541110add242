"""Clinic profiles: loaded from data, validated at start, and rendered in one place."""
from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Tuple
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import yaml
from email_validator import EmailNotValidError, validate_email

logger = logging.getLogger(__name__)


class ClinicProfileError(ValueError):
    """A clinic profile file that cannot be used; the message names the field."""

    @property
    def field(self) -> Optional[str]:
        """The profile field the message names ("colour", "staff.emails"), for a form to show it beside."""
        found = _FIELD_IN_MESSAGE.match(str(self))
        return found.group(1) if found else None


_FIELD_IN_MESSAGE = re.compile(r"clinics\.[^.:\s]+\.([a-z_]+(?:\.[a-z_]+)?): ")


@dataclass(frozen=True)
class Clinic:
    id: str
    name: str
    city: str
    address: Optional[str]
    phone: Optional[str]
    booking_url: Optional[str]
    offers_remote: bool
    free_phone_consultation: bool
    hours: str
    timezone: str
    callback_time: str
    staff_emails: Tuple[str, ...]
    staff_webhook_url: Optional[str]
    allowed_origins: Tuple[str, ...]
    colour: str
    privacy_url: str
    greeting: str
    # The practical questions visitors ask (data/practical.yml); each optional: a missing one is
    # answered "the clinic can tell you" with the contact line.
    practical: Mapping[str, str] = dataclasses.field(default_factory=dict, hash=False)
    services: Tuple[str, ...] = ()
    not_offered: Tuple[str, ...] = ()
    lead_retention_days: Optional[int] = None  # None: LEAD_RETENTION_DAYS for every clinic that sets none
    staff_mfa: bool = False  # every staff account of the clinic logs in with a second factor

    def keeps_leads_for(self, default_days: int) -> int:
        """Days a lead of this clinic is kept before retention deletes it."""
        return self.lead_retention_days or default_days

    def contact_phrase(self) -> str:
        """How a visitor reaches this clinic, as words that fit after 'you can'."""
        if self.phone and self.booking_url:
            return f"call {self.name} at {self.phone} or book at {self.booking_url}"
        if self.phone:
            return f"call {self.name} at {self.phone}"
        if self.booking_url:
            return f"book with {self.name} at {self.booking_url}"
        return f"contact {self.name} through its website"

    def slots(self) -> Dict[str, Any]:
        """The conversation slots that responses use to speak for this clinic."""
        return {
            "clinic": self.id,
            "clinic_name": self.name,
            "clinic_contact": self.contact_phrase(),
            "clinic_hours": self.hours,
            "clinic_offers_remote": self.offers_remote,
            "clinic_callback_time": self.callback_time,
            "clinic_location": f"at {self.address}" if self.address else f"in {self.city}",
            "clinic_free_call": self.free_phone_consultation,
        }


_CLINIC_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_REQUIRED_TEXT = ("name", "city", "hours", "timezone", "callback_time", "privacy_url")
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# White text on the clinic's colour must stay readable: WCAG 2.1 AA for normal text.
_MIN_CONTRAST_WITH_WHITE = 4.5
_OPTIONAL_TEXT = ("address", "phone", "booking_url")
_FLAGS = ("offers_remote", "free_phone_consultation")
# Optional answers to the practical questions (data/practical.yml): text, read at run time.
PRACTICAL_TEXT = ("insurance", "medicare", "prices", "parking", "languages", "what_to_bring", "telehealth",
                  "visit_length")
_PRACTICAL_LISTS = ("services", "not_offered")


def parse_clinic(clinic_id: str, raw: Any) -> Clinic:
    """One clinic's profile validated: the one check every profile passes, from the file, an import or the inbox."""
    where = f"clinics.{clinic_id[:64]}"
    if not _CLINIC_ID.fullmatch(clinic_id):
        raise ClinicProfileError(f"{where}: a clinic id is 1 to 64 lowercase letters, digits, '-' or '_'")
    if not isinstance(raw, Mapping):
        raise ClinicProfileError(f"{where}: expected a mapping of fields")
    values: Dict[str, Any] = {"id": clinic_id}
    for field in _REQUIRED_TEXT:
        value = raw.get(field)
        if not isinstance(value, str) or not value.strip():
            raise ClinicProfileError(f"{where}.{field}: required text is missing or empty")
        values[field] = value.strip()
    for field in _OPTIONAL_TEXT:
        value = raw.get(field)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ClinicProfileError(f"{where}.{field}: must be text or null")
        values[field] = value.strip() if value else None
    if values["phone"] and not _is_phone(values["phone"]):
        raise ClinicProfileError(f"{where}.phone: {values['phone']!r} is not a phone number; write it as visitors "
                                 f"dial it, like \"314-555-0123\" or \"+44 20 7946 0958\"")
    for field in _FLAGS:
        value = raw.get(field)
        if not isinstance(value, bool):
            raise ClinicProfileError(f"{where}.{field}: must be true or false")
        values[field] = value
    try:
        ZoneInfo(values["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ClinicProfileError(f"{where}.timezone: unknown time zone {values['timezone']!r}") from None
    if not (_is_http_url(values["privacy_url"]) or values["privacy_url"].startswith("/")):
        raise ClinicProfileError(f"{where}.privacy_url: must be an http(s) URL or a path on the clinic's site")
    values["colour"] = _parse_colour(where, raw.get("colour"))
    greeting = raw.get("greeting")
    if greeting is not None and (not isinstance(greeting, str) or not greeting.strip()):
        raise ClinicProfileError(f"{where}.greeting: must be text or left out")
    values["greeting"] = greeting.strip() if greeting else f"Hello! Welcome to {values['name']}."
    values["practical"] = _parse_practical(where, raw)
    for name in _PRACTICAL_LISTS:
        items = raw.get(name)
        if items is not None and (not isinstance(items, list) or not all(
                isinstance(item, str) and item.strip() for item in items)):
            raise ClinicProfileError(f"{where}.{name}: expected a list of text, or left out")
        values[name] = tuple(item.strip() for item in items or ())
    values["lead_retention_days"] = _parse_days(where, "lead_retention_days", raw.get("lead_retention_days"))
    staff_mfa = raw.get("staff_mfa", False)
    if not isinstance(staff_mfa, bool):
        raise ClinicProfileError(f"{where}.staff_mfa: must be true or false")
    values["staff_mfa"] = staff_mfa
    values.update(_parse_staff(where, raw.get("staff")))
    values["allowed_origins"] = _parse_origins(where, raw.get("allowed_origins"))
    unknown = set(raw) - set(values) - {"staff"} - set(PRACTICAL_TEXT)
    if unknown:
        raise ClinicProfileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    return Clinic(**values)


def _parse_practical(where: str, raw: Mapping[str, Any]) -> Dict[str, str]:
    found = {}
    for name in PRACTICAL_TEXT:
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise ClinicProfileError(f"{where}.{name}: must be text, or left out")
        found[name] = " ".join(value.split())
    return found


MAX_RETENTION_DAYS = 36500


def _parse_days(where: str, field: str, raw: Any) -> Optional[int]:
    """A number of whole days, 1 or more, or None when left out."""
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_RETENTION_DAYS:
        raise ClinicProfileError(f"{where}.{field}: expected a whole number of days from 1 to {MAX_RETENTION_DAYS}")
    return raw


def _is_phone(text: str) -> bool:
    """A number that is valid in the US (the clinics' home) or, written with its +code, anywhere."""
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, "US"))
    except phonenumbers.NumberParseException:
        return False


def _is_http_url(value: Any) -> bool:
    parsed = urlparse(value) if isinstance(value, str) else None
    return bool(parsed and parsed.scheme in ("http", "https") and parsed.netloc)


def contrast_with_white(colour: str) -> float:
    """WCAG contrast ratio of white on `colour` (#rrggbb)."""
    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(colour[i:i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return 1.05 / (luminance + 0.05)


def _parse_colour(where: str, raw: Any) -> str:
    """The widget's brand colour; it carries white text, so it must be dark enough to read."""
    if not isinstance(raw, str) or not _HEX_COLOUR.fullmatch(raw.strip()):
        raise ClinicProfileError(f"{where}.colour: expected a colour like \"#1f5f8b\"")
    colour = raw.strip().lower()
    ratio = contrast_with_white(colour)
    if ratio < _MIN_CONTRAST_WITH_WHITE:
        raise ClinicProfileError(f"{where}.colour: white text on {colour} has contrast {ratio:.1f}:1, "
                                 f"below {_MIN_CONTRAST_WITH_WHITE}:1; choose a darker colour")
    return colour


def _parse_staff(where: str, raw: Any) -> Dict[str, Any]:
    """Where new leads are announced: at least one email address or a webhook."""
    if not isinstance(raw, Mapping):
        raise ClinicProfileError(f"{where}.staff: expected emails and/or webhook_url")
    emails = raw.get("emails") or []
    if not isinstance(emails, list):
        raise ClinicProfileError(f"{where}.staff.emails: expected a list of addresses")
    normalised = []
    for address in emails:
        try:
            normalised.append(validate_email(str(address), check_deliverability=False).normalized)
        except EmailNotValidError as error:
            raise ClinicProfileError(f"{where}.staff.emails: {address!r} is not an email address ({error})") from None
    webhook = raw.get("webhook_url")
    if webhook is not None and not _is_http_url(webhook):
        raise ClinicProfileError(f"{where}.staff.webhook_url: must be an http(s) URL")
    if not normalised and not webhook:
        raise ClinicProfileError(f"{where}.staff: needs at least one email or a webhook_url, or leads go unseen")
    return {"staff_emails": tuple(normalised), "staff_webhook_url": webhook}


def _is_origin(value: Any) -> bool:
    """scheme://host[:port] as a browser sends it in Origin: no path (a lone "/" aside), query or user."""
    if not _is_http_url(value):
        return False
    parsed = urlparse(value)
    try:
        parsed.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        return False
    return parsed.path in ("", "/") and not (parsed.query or parsed.fragment or parsed.params or "@" in parsed.netloc)


def _parse_origins(where: str, raw: Any) -> Tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ClinicProfileError(f"{where}.allowed_origins: expected a list of http(s) origins")
    for origin in raw:
        if not _is_origin(origin):
            raise ClinicProfileError(f"{where}.allowed_origins: {origin!r} is not an origin; write it as "
                                     f"scheme://host or scheme://host:port, like \"https://www.example.com\"")
    return tuple(origin.rstrip("/") for origin in raw)


def load_clinics(path: Path) -> Dict[str, Clinic]:
    """Read and validate every clinic profile in the file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ClinicProfileError(f"{path}: cannot read clinic profiles ({error})") from error
    return parse_clinics(document, str(path))


def parse_clinics(document: Any, source: str) -> Dict[str, Clinic]:
    """Validate a document in clinics.yml's shape ({"clinics": {id: profile}}), from a file or the database."""
    raw_clinics = document.get("clinics") if isinstance(document, Mapping) else None
    if not isinstance(raw_clinics, Mapping) or not raw_clinics:
        raise ClinicProfileError(f"{source}: 'clinics' must map clinic ids to profiles")
    return {str(key): parse_clinic(str(key), value) for key, value in raw_clinics.items()}


class ClinicDirectory:
    """The loaded profiles plus the default, so callers never handle a missing clinic."""

    def __init__(self, clinics: Mapping[str, Clinic], default_id: str) -> None:
        if default_id not in clinics:
            raise ClinicProfileError(f"default clinic {default_id!r} is not in the profiles")
        self._clinics = dict(clinics)
        self._default = clinics[default_id]

    @property
    def default(self) -> Clinic:
        return self._default

    def resolve(self, clinic_id: Any) -> Clinic:
        """The clinic for an id from message metadata; unknown or missing means the default."""
        if clinic_id is None or clinic_id == "":
            return self.default
        clinic = self._clinics.get(str(clinic_id))
        if clinic is None:
            # The id comes from a web page, so it is not personal data, but cap its length.
            logger.warning("Unknown clinic id %r; using default %r", str(clinic_id)[:40], self.default.id)
            return self.default
        return clinic

    def get(self, clinic_id: Any) -> Optional[Clinic]:
        """The clinic with exactly this id, or None: for callers that must refuse unknown ids."""
        return self._clinics.get(clinic_id) if isinstance(clinic_id, str) else None

    def all(self) -> Tuple[Clinic, ...]:
        return tuple(self._clinics.values())

    def allowed_origins(self) -> Tuple[str, ...]:
        """Every website that may embed the widget, for Rasa's CORS list."""
        return tuple(sorted({origin for clinic in self._clinics.values() for origin in clinic.allowed_origins}))


class LiveDirectory(ClinicDirectory):
    """A directory that stays current: each question goes to the newest profiles `current` gives (a cheap check of
    the settings version), for the objects that live as long as their process (the web app, Rasa's channel)."""

    def __init__(self, current: Callable[[], ClinicDirectory]) -> None:  # no super().__init__: it holds none
        self._current = current

    @property
    def default(self) -> Clinic:
        return self._current().default

    def resolve(self, clinic_id: Any) -> Clinic:
        return self._current().resolve(clinic_id)

    def get(self, clinic_id: Any) -> Optional[Clinic]:
        return self._current().get(clinic_id)

    def all(self) -> Tuple[Clinic, ...]:
        return self._current().all()

    def allowed_origins(self) -> Tuple[str, ...]:
        return self._current().allowed_origins()
