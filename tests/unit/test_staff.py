"""Staff accounts, sessions and API tokens on a real database."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.staff import accounts as staff
from bot.staff.accounts import StaffError
from bot.store.db import session_scope
from bot.store.models import ApiToken, StaffAccount, StaffSession, utcnow

PASSWORD = "a long enough password"


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


def test_repeated_failures_lock_the_account_even_for_the_right_password_until_the_lock_ends(settings):
    staff.add_account(settings, "ann@clinic.example", PASSWORD, "stl")
    results = [staff.log_in(settings, "ann@clinic.example", f"wrong {n}") for n in range(5)]
    assert [r.locked_minutes for r in results] == [0, 0, 0, 0, settings.inbox_lockout_minutes]
    locked = staff.log_in(settings, "ann@clinic.example", PASSWORD)
    assert locked.token is None and 1 <= locked.locked_minutes <= settings.inbox_lockout_minutes
    assert staff.list_accounts(settings)[0]["locked"]
    later = utcnow() + timedelta(minutes=settings.inbox_lockout_minutes + 1)
    assert staff.log_in(settings, "ann@clinic.example", PASSWORD, now=later).token


def test_a_success_resets_the_failure_count(settings):
    staff.add_account(settings, "ann@clinic.example", PASSWORD, "stl")
    for _ in range(4):
        staff.log_in(settings, "ann@clinic.example", "wrong")
    assert staff.log_in(settings, "ann@clinic.example", PASSWORD).token
    for _ in range(4):
        assert staff.log_in(settings, "ann@clinic.example", "wrong").locked_minutes == 0


def test_reset_password_lifts_a_lock_and_ends_sessions(settings):
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
