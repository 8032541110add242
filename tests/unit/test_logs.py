import logging

import pytest

from bot.core.logs import WITHHELD, clean_record, install_logging_policy, redact


def test_phones_and_emails_are_masked_but_dates_and_ids_are_not():
    text = redact("call 314-555-0123 or (314) 555 0123 or +442079460958, mail bob.smith@gmail.com; "
                  "lead 12345 at 2026-11-23 18:40:01")
    assert "555" not in text and "gmail" not in text
    assert text.count("[phone]") == 3 and "[email]" in text
    assert "12345" in text and "2026-11-23 18:40:01" in text


@pytest.mark.parametrize("text", ["write to zq@example", "it's zq at example dot com", "ZQ AT Example DOT org"])
def test_an_address_typed_without_its_ending_or_in_words_is_masked(text):
    assert "zq" not in redact(text).lower() and "[email]" in redact(text)


def test_ordinary_words_around_at_stay():
    assert redact("I looked at the exercise at home") == "I looked at the exercise at home"


def test_records_are_masked_as_they_are_made_with_arguments(caplog):
    install_logging_policy("INFO")
    logger = logging.getLogger("test.redaction")
    with caplog.at_level(logging.INFO):
        logger.info("visitor said %s", "my number is 314 555 0123, email pat@example.com")
    assert "314 555 0123" not in caplog.text and "pat@example.com" not in caplog.text
    assert "[phone]" in caplog.text and "[email]" in caplog.text


def record(name, level, msg, *args):
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


@pytest.mark.parametrize("name", ["rasa.core.processor", "rasa_sdk.executor", "sanic.root", "urllib3"])
def test_a_librarys_debug_record_is_withheld_whatever_its_level_says(name):
    cleaned = clean_record(record(name, logging.DEBUG, "Received user message '%s'", "my hip hurts, I'm Ann"))
    assert cleaned.getMessage() == WITHHELD


def test_our_own_debug_records_and_library_warnings_are_kept():
    assert clean_record(record("bot.leads.store", logging.DEBUG, "lead %s saved", 12)).getMessage() == "lead 12 saved"
    assert clean_record(record("rasa.core", logging.WARNING, "model %s", "x")).getMessage() == "model x"


def test_the_policy_keeps_libraries_at_info_even_when_rasa_asked_for_debug():
    rasa_logger = logging.getLogger("rasa")
    before = rasa_logger.level
    try:
        rasa_logger.setLevel(logging.DEBUG)
        install_logging_policy("DEBUG")
        assert not rasa_logger.isEnabledFor(logging.DEBUG)
        assert logging.getLogger("bot.leads.store").isEnabledFor(logging.DEBUG)
        made = logging.getLogger("rasa.core").makeRecord("rasa.core", logging.DEBUG, __file__, 1,
                                                          "text %s", ("ann@example.com",), None)
        assert made.getMessage() == WITHHELD
    finally:
        rasa_logger.setLevel(before)
        install_logging_policy("INFO")
