"""The access audit log through the real web server: one entry per audited action, never a lead's content,
readable and exportable by a clinic's admin (their clinic only) and an operator, by no plain staff member."""
import csv
import io

import pytest
import requests
from sqlalchemy import select

from bot.staff import accounts as staff
from bot.store import audit
from bot.store.db import session_scope
from bot.store.models import AuditEntry
from tests.support.inbox import PASSWORD, csrf, enrol, log_in
from tests.unit.test_inbox import add

# What the lead and the staff write: none of it may reach an entry.
CONTENT = ("Quentin Lowery", "Lowery", "5550188", "555-0188", "evenings after six", "weekday mornings",
           "prefers the left hip looked at", "Last topic")


@pytest.fixture
def clinic_admin(site):
    staff.add_account(site.settings, "chief@stl.example", PASSWORD, "stl", admin=True)
    enrol(site.settings, "chief@stl.example")
    return site


def rows(site, action=None):
    with session_scope(site.settings.database_url) as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        return [audit.as_row(entry) for entry in session.execute(query).scalars()]


def assert_no_content(site):
    every = repr(rows(site))
    for words in CONTENT:
        assert words not in every, words


def one_more(site, action, do):
    """Run `do`, then the single entry of `action` it added (exactly one)."""
    before = len(rows(site, action))
    result = do()
    after = rows(site, action)
    assert len(after) == before + 1, [r for r in after[before:]]
    return after[-1], result


def test_every_audited_action_leaves_exactly_one_entry_and_no_lead_content(site):
    lead_id = add(site.settings, name="Quentin Lowery", phone="+13145550188", preferred_time="evenings after six")
    entry, _ = one_more(site, audit.LOGIN_FAILED, lambda: log_in(site, password="not the password at all"))
    assert entry["actor"] == "ann@stl.example" and entry["clinic"] == "stl" and entry["address"]
    entry, _ = one_more(site, audit.LOGIN_FAILED, lambda: log_in(site, email="nobody@stl.example"))
    assert entry["actor"] == "unknown account" and entry["clinic"] == ""  # a mistyped email is never stored
    entry, (browser, _) = one_more(site, audit.LOGIN, lambda: log_in(site))
    assert entry["actor"] == "ann@stl.example" and entry["clinic"] == "stl"

    entry, page = one_more(site, audit.LEAD_VIEW, lambda: browser.get(f"{site.url}/inbox/leads/{lead_id}"))
    assert "Quentin Lowery" in page.text and (entry["lead_id"], entry["clinic"]) == (lead_id, "stl")
    token = csrf(page)
    entry, changed = one_more(site, audit.LEAD_STATUS, lambda: browser.post(
        f"{site.url}/inbox/leads/{lead_id}/status", data={"status": "contacted", "csrf_token": token}))
    assert changed.ok and (entry["lead_id"], entry["detail"]) == (lead_id, "new to contacted")
    entry, noted = one_more(site, audit.LEAD_NOTE, lambda: browser.post(
        f"{site.url}/inbox/leads/{lead_id}/notes", data={"text": "prefers the left hip looked at",
                                                          "csrf_token": token}))
    assert noted.ok and entry["lead_id"] == lead_id
    entry, exported = one_more(site, audit.LEADS_EXPORT, lambda: browser.get(f"{site.url}/inbox/leads.csv"))
    assert "Quentin Lowery" in exported.text and entry["detail"] == f"1 leads as csv; lead ids {lead_id}"

    token_id, api_token = staff.add_token(site.settings, "stl", "crm")
    bearer = {"Authorization": f"Bearer {api_token}"}
    entry, listed = one_more(site, audit.TOKEN_USE, lambda: requests.get(f"{site.url}/inbox/api/leads",
                                                                         headers=bearer))
    assert listed.json()["total"] == 1 and entry["actor"] == f"api token {token_id}" and entry["clinic"] == "stl"
    entry, _ = one_more(site, audit.TOKEN_USE, lambda: requests.get(f"{site.url}/inbox/api/leads/{lead_id}",
                                                                    headers=bearer))
    assert entry["lead_id"] == lead_id
    entry, _ = one_more(site, audit.LOGOUT, lambda: browser.post(f"{site.url}/inbox/logout",
                                                                 data={"csrf_token": token}))
    # Admin actions (the command line's and the inbox's account changes).
    entry, _ = one_more(site, audit.TOKEN_REVOKE, lambda: staff.revoke_token(site.settings, token_id))
    entry, _ = one_more(site, audit.ACCOUNT_ADD, lambda: staff.add_account(
        site.settings, "cal@stl.example", PASSWORD, "stl"))
    assert entry["detail"] == "cal@stl.example as staff" and entry["clinic"] == "stl"
    one_more(site, audit.ACCOUNT_PASSWORD, lambda: staff.reset_password(
        site.settings, "cal@stl.example", "another horse battery staple"))
    one_more(site, audit.ACCOUNT_DISABLE, lambda: staff.disable_account(site.settings, "cal@stl.example"))
    assert_no_content(site)


def test_a_clinics_admin_reads_and_exports_only_the_clinics_log(clinic_admin):
    site = clinic_admin
    stl_lead, boston_lead = add(site.settings, name="Quentin Lowery"), add(site.settings, name="Bo B", clinic="boston")
    ann, _ = log_in(site)
    ann.get(f"{site.url}/inbox/leads/{stl_lead}")
    bea, _ = log_in(site, email="bea@boston.example")
    bea.get(f"{site.url}/inbox/leads/{boston_lead}")
    chief, _ = log_in(site, email="chief@stl.example")
    page = chief.get(f"{site.url}/inbox/audit")
    assert page.status_code == 200 and "Access log for More 4 Life" in page.text
    assert "ann@stl.example" in page.text and "bea@boston.example" not in page.text
    assert "Quentin" not in page.text
    assert chief.get(f"{site.url}/inbox/audit?clinic=boston").text.count("bea@boston.example") == 0
    exported = chief.get(f"{site.url}/inbox/audit.csv")
    assert exported.headers["content-disposition"].startswith('attachment; filename="audit-stl-')
    entries = list(csv.DictReader(io.StringIO(exported.text)))
    assert entries and {e["clinic"] for e in entries} == {"stl"}
    assert {(e["actor"], e["action"], e["lead_id"]) for e in entries} >= {("ann@stl.example", "lead.view",
                                                                           str(stl_lead))}
    # The clinic's admin sees the clinic's leads only, as its staff do.
    assert chief.get(f"{site.url}/inbox/leads/{boston_lead}").status_code == 404
    assert rows(site, audit.AUDIT_VIEW)[-1]["actor"] == "chief@stl.example"
    assert rows(site, audit.AUDIT_EXPORT)[-1]["clinic"] == "stl"


def test_plain_staff_have_no_access_log_and_an_operator_reads_every_clinics(site):
    add(site.settings, name="Quentin Lowery")
    ann, _ = log_in(site)
    assert ann.get(f"{site.url}/inbox/audit").status_code == 404
    assert ann.get(f"{site.url}/inbox/audit.csv").status_code == 404
    assert 'href="/inbox/audit"' not in ann.get(f"{site.url}/inbox/leads").text
    log_in(site, email="bea@boston.example")
    operator, _ = log_in(site, email="op@medius.example")
    page = operator.get(f"{site.url}/inbox/audit")
    assert "ann@stl.example" in page.text and "bea@boston.example" in page.text
    only_boston = operator.get(f"{site.url}/inbox/audit?clinic=boston&action=login").text
    assert "bea@boston.example" in only_boston and "ann@stl.example" not in only_boston
    assert requests.get(f"{site.url}/inbox/audit", allow_redirects=False).status_code == 303  # no session: log in


def test_the_access_log_csv_defuses_formulas_an_account_email_could_carry(site):
    staff.add_account(site.settings, "=hyperlink@stl.example", PASSWORD, "stl")
    log_in(site, email="=hyperlink@stl.example")
    operator, _ = log_in(site, email="op@medius.example")
    entries = list(csv.DictReader(io.StringIO(operator.get(f"{site.url}/inbox/audit.csv?action=login").text)))
    assert "'=hyperlink@stl.example" in {e["actor"] for e in entries}
    assert not any(value.startswith(("=", "+", "-", "@")) for e in entries for value in e.values())
