"""Staff accounts, sessions and API tokens on a real database."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.staff import accounts as staff
from bot.staff.accounts import StaffError
from bot.store.db import session_scope
from bot.store.models import ApiToken, StaffAccount, StaffSession, utcnow

PASSWORD = "a long enough password"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def test_a_password_is_stored_as_an_argon2id_hash_only(settings):
    staff.add_account(settings, "Ann@Clinic.example ", PASSWORD, "stl")
    with session_scope(settings.database_url) as session:
        account = session.execute(select(StaffAccount)).scalar_one()
    assert account.email == "ann@clinic.example"
    assert account.password_hash.startswith("$argon2id$") and PASSWORD not in account.password_hash


def test_accounts_refuse_short_passwords_duplicates_and_a_missing_clinic(settings):
    with pytest.raises(StaffError, match="at least 10"):
        staff.add_account(settings, "ann@clinic.example", "short", "stl")
    with pytest.raises(StaffError, match="--clinic"):
        staff.add_account(settings, "ann@clinic.example", PASSWORD, None)
    with pytest.raises(StaffError, match="not an email"):
        staff.add_account(settings, "ann", PASSWORD, "stl")
    staff.add_account(settings, "ann@clinic.example", PASSWORD, "stl")
    with pytest.raises(StaffError, match="already exists"):
        staff.add_account(settings, "ANN@clinic.example", PASSWORD, "boston")
    admin = staff.add_account(settings, "op@medius.example", PASSWORD, None, admin=True)
    assert admin.is_admin and admin.sees("stl") and admin.sees("boston")


def test_logging_in_gives_a_session_that_finds_its_staff_member_until_it_expires(settings):
    staff.add_account(settings, "ann@clinic.example", PASSWORD, "stl")
    result = staff.log_in(settings, "ANN@clinic.example", PASSWORD)
    assert result.staff.clinic == "stl" and result.token
    found = staff.session_staff(settings, result.token)
    assert found.email == "ann@clinic.example" and found.sees("stl") and not found.sees("boston")
    later = utcnow() + timedelta(minutes=settings.inbox_session_minutes + 1)
    assert staff.session_staff(settings, result.token, now=later) is None
    assert staff.session_staff(settings, result.token) is None  # an expired session is deleted, not revived
    with session_scope(settings.database_url) as session:
        assert session.execute(select(StaffSession.token_hash)).scalars().all() == []


def test_the_session_table_holds_a_hash_of_the_token_not_the_token(settings):
    staff.add_account(settings, "ann@clinic.example", PASSWORD, "stl")
    token = staff.log_in(settings, "ann@clinic.example", PASSWORD).token
    with session_scope(settings.database_url) as session:
        stored = session.execute(select(StaffSession.token_hash)).scalar_one()
    assert stored != token and stored == staff.token_hash(token)


def test_wrong_passwords_and_unknown_emails_get_no_session(settings):
    staff.add_account(settings, "ann@clinic.example", PASSWORD, "stl")
    assert staff.log_in(settings, "ann@clinic.example", "not the password").token is None
    assert staff.log_in(settings, "nobody@clinic.example", PASSWORD).token is None
    assert staff.log_in(settings, "", "").token is None
    assert staff.session_staff(settings, "made-up") is None and staff.session_staff(settings, None) is None


def test_repeated_failures_slow_an_email_down_the_same_whether_or_not_it_has_an_account(settings):
    staff.add_account(settings, "ann@clinic.example", PASSWORD, "stl")
    waits = {}
    for email in ("ann@clinic.example", "nobody@clinic.example"):
        results = [staff.log_in(settings, email, f"wrong {n}", address=f"10.0.0.{n}", now=T0) for n in range(6)]
        waits[email] = [r.wait_seconds for r in results]
        assert all(r.token is None for r in results)
    assert waits["ann@clinic.example"] == waits["nobody@clinic.example"] == [0, 0, 0, 0, 0, 2]
    later = T0 + timedelta(seconds=3)  # the owner waits seconds, not a lockout's quarter of an hour
    assert staff.log_in(settings, "ann@clinic.example", PASSWORD, address="10.0.0.9", now=later).token


def test_the_wait_grows_with_each_failure_up_to_the_emails_ceiling(settings):
    now, waits = T0, []
    for n in range(14):
        result = staff.log_in(settings, "nobody@clinic.example", "wrong", address=f"10.0.1.{n}", now=now)
        waits.append(result.wait_seconds)
        now += timedelta(seconds=result.wait_seconds or 0.001) + timedelta(milliseconds=1)
        staff.log_in(settings, "nobody@clinic.example", "wrong", address=f"10.0.1.{n}", now=now)
    assert max(waits) <= settings.inbox_account_delay_seconds


def test_one_address_trying_many_emails_is_slowed_down(settings):
    results = [staff.log_in(settings, f"guess{n}@clinic.example", "wrong", address="203.0.113.7", now=T0)
               for n in range(settings.inbox_lockout_attempts * 4 + 1)]
    assert results[-1].wait_seconds >= 1 and all(r.wait_seconds == 0 for r in results[:-1])
    assert staff.log_in(settings, "other@clinic.example", "wrong", address="198.51.100.1", now=T0).wait_seconds == 0


def test_the_owner_is_told_once_an_hour_when_their_account_is_attacked(settings):
    staff.add_account(settings, "ann@clinic.example", PASSWORD, "stl")
    told = [staff.log_in(settings, "ann@clinic.example", "wrong", address=f"10.0.2.{n}",
                         now=T0 + timedelta(seconds=70 * n)).alert_owner for n in range(8)]
    assert told.count("ann@clinic.example") == 1 and told[4] == "ann@clinic.example"
    assert not any(staff.log_in(settings, "ghost@clinic.example", "wrong", address=f"10.0.3.{n}",
                                now=T0 + timedelta(seconds=70 * n)).alert_owner for n in range(8))


def test_a_success_resets_the_failure_count(settings):
    staff.add_account(settings, "ann@clinic.example", PASSWORD, "stl")
    for _ in range(4):
        staff.log_in(settings, "ann@clinic.example", "wrong", now=T0)
    assert staff.log_in(settings, "ann@clinic.example", PASSWORD, now=T0).token
    for _ in range(4):
        assert staff.log_in(settings, "ann@clinic.example", "wrong", now=T0).wait_seconds == 0


def test_reset_password_ends_the_waits_and_the_sessions(settings):
    staff.add_account(settings, "ann@clinic.example", PASSWORD, "stl")
    old_session = staff.log_in(settings, "ann@clinic.example", PASSWORD).token
    for _ in range(5):
        staff.log_in(settings, "ann@clinic.example", "wrong")
    staff.reset_password(settings, "ann@clinic.example", "a brand new password")
    assert staff.session_staff(settings, old_session) is None
    assert staff.log_in(settings, "ann@clinic.example", PASSWORD).token is None
    assert staff.log_in(settings, "ann@clinic.example", "a brand new password").token


def test_disabling_an_account_ends_its_sessions_and_refuses_logins(settings):
    staff.add_account(settings, "ann@clinic.example", PASSWORD, "stl")
    token = staff.log_in(settings, "ann@clinic.example", PASSWORD).token
    staff.disable_account(settings, "ann@clinic.example")
    assert staff.session_staff(settings, token) is None
    assert staff.log_in(settings, "ann@clinic.example", PASSWORD).token is None
    with pytest.raises(StaffError, match="no account"):
        staff.disable_account(settings, "nobody@clinic.example")


def test_api_tokens_belong_to_one_clinic_are_stored_hashed_and_can_be_revoked(settings):
    token_id, token = staff.add_token(settings, "stl", "crm")
    assert staff.token_clinic(settings, token) == "stl"
    assert staff.token_clinic(settings, token + "x") is None and staff.token_clinic(settings, "") is None
    with session_scope(settings.database_url) as session:
        row = session.get(ApiToken, token_id)
        assert row.token_hash == staff.token_hash(token) and token not in row.token_hash
    assert staff.list_tokens(settings)[0]["last_used"]
    assert staff.revoke_token(settings, token_id)
    assert staff.token_clinic(settings, token) is None
    assert not staff.revoke_token(settings, 999)


def test_a_display_name_is_one_tidy_line_or_refused():
    assert staff.display_name("  Dana   Smith ") == "Dana Smith" and staff.display_name(None) is None
    for bad in ("", "   ", "x" * 65, "Dana\u202eevil", "Dana\nSmith\x00"):
        with pytest.raises(staff.StaffError):
            staff.display_name(bad)
