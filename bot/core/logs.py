"""Logging that never carries visitors' personal data, the same in every process.

Our code never passes message texts, names or contact details to a logger.
Rasa, rasa-sdk and Sanic do at DEBUG (message texts, slot values, whole
trackers), so libraries never log below INFO in a Medius process, whatever
Rasa's LOG_LEVEL says; MEDIUS_LOG_LEVEL sets our own loggers only. As a last
line of defence every record is checked as it is made: anything shaped like an
email address or a phone number is masked, and a library's DEBUG record that
got past the levels is withheld.
"""
from __future__ import annotations

import logging
import re
import sys
from typing import Any, Callable, Optional

# An address however typed: "zq@example" with no domain ending, "zq at example dot com".
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)*|\b[\w.+-]+ (?:at|@) [\w-]+(?: dot [\w-]+)+\b", re.I)
_PHONE = re.compile(r"(?<![\w])\+?\(?\d[\d\s().-]{6,}\d(?![\w])")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

MEDIUS_LOGGERS = ("bot", "actions", "components")
LIBRARY_FLOOR = logging.INFO
QUIET = ("httpx", "httpcore")  # a line per forwarded message at INFO: noise, and a record of who chatted when
WITHHELD = "[library debug output withheld: it may carry visitors' words]"


def _mask_phone(match: "re.Match[str]") -> str:
    digits = sum(ch.isdigit() for ch in match.group())
    if _DATE.match(match.group()) or not 7 <= digits <= 15:
        return match.group()  # a date or an id, not a phone number
    return "[phone]"


def redact(text: str) -> str:
    return _PHONE.sub(_mask_phone, _EMAIL.sub("[email]", text))


def is_medius(name: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in MEDIUS_LOGGERS)


def clean_record(record: logging.LogRecord) -> logging.LogRecord:
    """Withhold a library's debug record; mask phones and emails in any record."""
    if record.levelno < LIBRARY_FLOOR and not is_medius(record.name):
        record.msg, record.args = WITHHELD, None
        return record
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed call: logging reports it itself when the record is emitted
        return record
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    return record


# Keys of Rasa's structured log events that carry what visitors typed or what was
# extracted from it (Rasa's own anonymizer list, which only Rasa Pro fills in).
VISITOR_KEYS = frozenset({
    "text", "response_text", "user_text", "slot_values", "parse_data_text", "parse_data_entities",
    "prediction_events", "tracker_latest_message", "prefilled_slots", "message", "response", "slot_candidates",
    "rasa_event", "rasa_events", "tracker_states", "current_states", "old_states", "successes", "current_entity",
    "next_entity", "states", "entity", "token_text", "user_message", "json_message",
})


def scrub_event(_logger: Any, _method: str, event: dict) -> dict:
    """A structlog processor: visitors' words out of Rasa's events; a known false error dropped."""
    import structlog

    # Rasa reads the JSON in a button payload ('/faq{"faq_topic": ...}') as a slot placeholder,
    # fails, and logs an error with the tracker's slots; the response itself goes out unchanged.
    if event.get("event") == "interpolator.interpolate.text" and str(event.get("placeholder_key", "")).startswith('"'):
        raise structlog.DropEvent
    for key in VISITOR_KEYS & event.keys():
        event[key] = "[withheld]"
    return event


def _harden_structlog() -> None:
    """Rasa's structlog setup renders exceptions with their local variables (slot values among them)."""
    import structlog
    from structlog.tracebacks import ExceptionDictTransformer

    processors = structlog.get_config()["processors"]  # changed in place: loggers already cached share this list
    if scrub_event in processors:
        return
    for index, processor in enumerate(processors):
        if processor is structlog.processors.dict_tracebacks:
            processors[index] = structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
        elif isinstance(processor, structlog.dev.ConsoleRenderer):
            processor._exception_formatter = structlog.dev.plain_traceback  # noqa: SLF001 - no public setter
    processors.insert(0, scrub_event)


_base_factory: Optional[Callable[..., logging.LogRecord]] = None


def _cleaning_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    assert _base_factory is not None  # set before this factory is installed
    return clean_record(_base_factory(*args, **kwargs))


def install_logging_policy(level: str = "INFO") -> None:
    """Medius's loggers at `level`; every other logger at INFO or above; every record cleaned as it is made.

    Idempotent; call it wherever a process first loads Medius code (the CLI,
    the action package, the Rasa channel), after Rasa has set up its logging.
    """
    global _base_factory
    for name in MEDIUS_LOGGERS:
        logging.getLogger(name).setLevel(level)
    root = logging.getLogger()
    if root.level < LIBRARY_FLOOR:
        root.setLevel(LIBRARY_FLOOR)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and not is_medius(name) and logger.level and logger.level < LIBRARY_FLOOR:
            logger.setLevel(LIBRARY_FLOOR)
    if _base_factory is None:
        _base_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_cleaning_factory)
    if "rasa" in sys.modules:
        _harden_structlog()


def configure_logging(level: str) -> None:
    """Our own processes (CLI, web server, notifier): a plain format, then the policy."""
    logging.basicConfig(level=LIBRARY_FLOOR, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_logging_policy(level)
