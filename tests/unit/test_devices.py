"""Device cookies: the owner's browser gets in while an attacker keeps the email waiting; a thief's is throttled."""
import dataclasses
from datetime import datetime, timedelta, timezone

import itsdangerous
import pytest

from bot.staff import accounts as staff, devices

PASSWORD = "a long enough password"
EMAIL = "ann@clinic.example"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def keyed_settings(settings):
    return dataclasses.replace(settings, internal_token="i" * 32)


def attacked(settings, failures=8):
    """An attacker's failures for Ann's email from many addresses; the time just after."""
    for n in range(failures):
        staff.log_in(settings, EMAIL, f"guess {n}", address=f"203.0.113.{n}", now=T0 + timedelta(seconds=n))
    return T0 + timedelta(seconds=failures)


def test_a_whole_login_gives_a_device_cookie_for_that_email_only(keyed_settings):
    staff.add_account(keyed_settings, EMAIL, PASSWORD, "stl")
    cookie = staff.log_in(keyed_settings, EMAIL, PASSWORD, now=T0).device
    assert cookie and EMAIL not in cookie and "ann" not in cookie
    assert devices.nonce_for(keyed_settings, cookie, EMAIL)
    assert devices.nonce_for(keyed_settings, cookie, "bea@clinic.example") is None
    assert staff.log_in(keyed_settings, EMAIL, "wrong", now=T0).device is None


def test_the_owners_device_gets_in_at_once_while_the_email_waits(keyed_settings):
    staff.add_account(keyed_settings, EMAIL, PASSWORD, "stl")
    cookie = staff.log_in(keyed_settings, EMAIL, PASSWORD, address="10.0.0.1", now=T0 - timedelta(days=3)).device
    now = attacked(keyed_settings)
    assert staff.log_in(keyed_settings, EMAIL, PASSWORD, address="10.0.0.1", now=now).wait_seconds > 0
    owner = staff.log_in(keyed_settings, EMAIL, PASSWORD, address="10.0.0.1", now=now, device_cookie=cookie)
    assert owner.token and owner.wait_seconds == 0 and owner.device != cookie  # a new nonce each login
    # ... and the attacker's failures still stand for a browser without the cookie.
    assert staff.log_in(keyed_settings, EMAIL, PASSWORD, address="10.0.0.2", now=now).wait_seconds > 0


@pytest.mark.parametrize("spoil", [
    lambda cookie: cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"),  # the signature changed
    lambda cookie: "x" + cookie[1:],                                              # the claim changed
    lambda cookie: "",
    lambda cookie: "not a cookie at all",
])
def test_a_forged_or_tampered_cookie_does_not_help(keyed_settings, spoil):
    staff.add_account(keyed_settings, EMAIL, PASSWORD, "stl")
    cookie = staff.log_in(keyed_settings, EMAIL, PASSWORD, now=T0 - timedelta(days=3)).device
    now = attacked(keyed_settings)
    assert staff.log_in(keyed_settings, EMAIL, PASSWORD, now=now, device_cookie=spoil(cookie)).wait_seconds > 0


def test_a_cookie_for_another_email_or_signed_with_another_secret_does_not_help(keyed_settings):
    staff.add_account(keyed_settings, EMAIL, PASSWORD, "stl")
    staff.add_account(keyed_settings, "bea@clinic.example", PASSWORD, "boston")
    beas = staff.log_in(keyed_settings, "bea@clinic.example", PASSWORD, now=T0 - timedelta(days=3)).device
    other_site = devices.issue(dataclasses.replace(keyed_settings, internal_token="j" * 32), EMAIL)
    now = attacked(keyed_settings)
    for cookie in (beas, other_site):
        assert staff.log_in(keyed_settings, EMAIL, PASSWORD, now=now, device_cookie=cookie).wait_seconds > 0


def test_an_old_cookie_does_not_help(keyed_settings, monkeypatch):
    cookie = devices.issue(keyed_settings, EMAIL)
    assert devices.nonce_for(keyed_settings, cookie, EMAIL)
    later = datetime.now(timezone.utc) + timedelta(days=devices.MAX_AGE_DAYS + 1)
    monkeypatch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda self: int(later.timestamp()))
    assert devices.nonce_for(keyed_settings, cookie, EMAIL) is None


def test_failures_with_the_cookie_throttle_that_device_not_the_email(keyed_settings):
    staff.add_account(keyed_settings, EMAIL, PASSWORD, "stl")
    stolen = staff.log_in(keyed_settings, EMAIL, PASSWORD, now=T0 - timedelta(days=3)).device
    thief = [staff.log_in(keyed_settings, EMAIL, f"guess {n}", address=f"198.51.100.{n}", now=T0,
                          device_cookie=stolen) for n in range(6)]
    assert [r.wait_seconds for r in thief] == [0, 0, 0, 0, 0, 2]
    assert thief[4].alert_owner == EMAIL  # the owner is told, as for the email's failures
    # The device waits, even with the right password; the email, tried from a browser without it, does not.
    assert staff.log_in(keyed_settings, EMAIL, PASSWORD, now=T0, device_cookie=stolen).wait_seconds > 0
    assert staff.log_in(keyed_settings, EMAIL, PASSWORD, address="10.0.0.3", now=T0).token


def test_unknown_and_known_emails_still_wait_alike_with_a_cookie_for_neither(keyed_settings):
    staff.add_account(keyed_settings, EMAIL, PASSWORD, "stl")
    staff.add_account(keyed_settings, "bea@clinic.example", PASSWORD, "boston")
    beas = staff.log_in(keyed_settings, "bea@clinic.example", PASSWORD, now=T0).device
    waits = {email: [staff.log_in(keyed_settings, email, "wrong", address=f"10.0.4.{n}", now=T0,
                                  device_cookie=beas).wait_seconds for n in range(6)]
             for email in (EMAIL, "nobody@clinic.example")}
    assert waits[EMAIL] == waits["nobody@clinic.example"] == [0, 0, 0, 0, 0, 2]
