"""Logging that never carries visitors' personal data.

Names are never passed to loggers by our code; as a second line of defence a
filter masks anything shaped like an email address or a phone number in every
record, whoever logged it (Rasa's own debug logs print message texts).
"""
from __future__ import annotations

import logging
import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w])\+?\(?\d[\d\s().-]{6,}\d(?![\w])")


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _mask_phone(match: "re.Match[str]") -> str:
    digits = sum(ch.isdigit() for ch in match.group())
    if _DATE.match(match.group()) or not 7 <= digits <= 15:
        return match.group()  # a date or an id, not a phone number
    return "[phone]"


def redact(text: str) -> str:
    return _PHONE.sub(_mask_phone, _EMAIL.sub("[email]", text))


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_redaction(logger: logging.Logger = logging.getLogger()) -> None:
    """Mask personal data in every handler of the logger (the root logger by default)."""
    for handler in logger.handlers or [logging.lastResort]:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_redaction()
