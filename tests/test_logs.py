import logging

from bot.logs import RedactingFilter, redact


def test_phones_and_emails_are_masked_but_dates_and_ids_are_not():
    text = redact("call 314-555-0123 or (314) 555 0123 or +442079460958, mail bob.smith@gmail.com; lead 12345 at 2026-11-23 18:40:01")
    assert "555" not in text and "gmail" not in text
    assert text.count("[phone]") == 3 and "[email]" in text
    assert "12345" in text and "2026-11-23 18:40:01" in text


def test_the_filter_masks_log_records_with_arguments(caplog):
    logger = logging.getLogger("test.redaction")
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO):
        logger.info("visitor said %s", "my number is 314 555 0123, email pat@example.com")
    assert "314 555 0123" not in caplog.text and "pat@example.com" not in caplog.text
    assert "[phone]" in caplog.text and "[email]" in caplog.text
