"""What the inbox reads and changes, within one staff member's clinic."""
from datetime import date, datetime, timedelta, timezone

import pytest

from bot.core.data import clinics_for
from bot.core.days import BadFilter
from bot.leads.store import export, submit
from bot.staff import worklist as inbox
from bot.staff.accounts import StaffError
from bot.store import audit
from tests.unit.test_leads import lead

T0 = datetime(2026, 11, 20, 15, 0, tzinfo=timezone.utc)


def add(settings, **changes):
    values = dict(sender_id=f"visitor-{changes.get('name', 'x')}-{changes.get('clinic', 'stl')}",
                  submitted_at=T0.isoformat())
    values.update(changes)
    return submit(settings, clinics_for(settings), lead(**values)).lead_id


@pytest.fixture
def leads(settings):
    return {
        "routine_old": add(settings, name="Rita Routine", submitted_at=(T0 - timedelta(days=3)).isoformat()),
        "nerve": add(settings, name="Ned Nerve", urgency="nerve_review", phone="+13145550177",
                     submitted_at=(T0 - timedelta(days=2)).isoformat()),
        "routine_new": add(settings, name="Nora New"),
        "emergency": add(settings, name="Emma Emergency", urgency="emergency", phone=None, email=None,
                         submitted_at=(T0 - timedelta(days=1)).isoformat()),
        "boston": add(settings, name="Bo Boston", clinic="boston", urgency="urgent"),
    }


def names(rows):
    return [row["name"] for row in rows]


def test_open_priority_leads_are_pinned_on_top_most_urgent_first(settings, leads):
    rows, total = inbox.list_leads(settings, "stl", inbox.LeadFilter())
    assert names(rows) == ["Emma Emergency", "Ned Nerve", "Nora New", "Rita Routine"] and total == 4
    inbox.change_status(settings, leads["emergency"], "stl", "ann@clinic.example", "closed", "sent to ER")
    rows, _ = inbox.list_leads(settings, "stl", inbox.LeadFilter())
    assert names(rows) == ["Ned Nerve", "Nora New", "Emma Emergency", "Rita Routine"]  # closed: back in date order


def test_filters_by_status_urgency_dates_and_name_or_phone(settings, leads):
    def found(**query):
        return names(inbox.list_leads(settings, "stl", inbox.LeadFilter.from_query(query))[0])

    inbox.change_status(settings, leads["routine_new"], "stl", "ann@clinic.example", "contacted")
    assert found(status="contacted") == ["Nora New"]
    assert found(urgency="nerve_review") == ["Ned Nerve"]
    assert found(q="nerve") == ["Ned Nerve"] and found(q="555-0177") == ["Ned Nerve"]
    assert found(**{"from": (T0 - timedelta(days=2)).date().isoformat(),
                    "to": (T0 - timedelta(days=1)).date().isoformat()}) == ["Emma Emergency", "Ned Nerve"]
    assert found(status="", urgency="", q="") == names(inbox.list_leads(settings, "stl", inbox.LeadFilter())[0])
    assert found(urgency="NERVE_REVIEW") == ["Ned Nerve"]  # any case
    for query in ({"status": "bogus"}, {"urgency": "nope"}):
        with pytest.raises(BadFilter):  # a mistyped filter is refused, never taken for "everything"
            inbox.LeadFilter.from_query(query)


def test_a_day_beyond_the_calendar_means_what_it_says_and_a_malformed_one_is_refused(settings, leads):
    def found(**query):
        return names(inbox.list_leads(settings, "stl", inbox.LeadFilter.from_query(query))[0])

    assert found(**{"from": "9999-12-31"}) == [] and found(to="0001-01-01") == []
    assert len(found(**{"from": "0001-01-01", "to": "9999-12-31"})) == 4
    for query in ({"from": "yesterday"}, {"to": "2026-13-01"}, {"from": "20261120"[:6]}):
        with pytest.raises(BadFilter):
            inbox.LeadFilter.from_query(query)
    with pytest.raises(BadFilter):
        audit.AuditFilter.from_query({"to": "soon"})
    assert audit.AuditFilter.from_query({"from": "9999-12-31"}).date_from == date(9998, 12, 31)


def test_date_filters_are_days_in_the_clinics_time_zone(settings):
    # 03:00 UTC on the 21st is still the 20th in St. Louis.
    add(settings, name="Late Night", submitted_at=datetime(2026, 11, 21, 3, 0, tzinfo=timezone.utc).isoformat())
    wanted = inbox.LeadFilter(date_from=date(2026, 11, 20), date_to=date(2026, 11, 20))
    chicago = inbox.ZoneInfo("America/Chicago")
    assert names(inbox.list_leads(settings, "stl", wanted, chicago)[0]) == ["Late Night"]
    assert names(inbox.list_leads(settings, "stl", wanted)[0]) == []  # in UTC it is the 21st


def test_counts_per_status_are_the_clinics_own(settings, leads):
    inbox.change_status(settings, leads["nerve"], "stl", "ann@clinic.example", "booked")
    assert inbox.status_counts(settings, "stl", inbox.LeadFilter()) == {"new": 3, "contacted": 0, "booked": 1,
                                                                         "closed": 0}
    assert inbox.status_counts(settings, "boston", inbox.LeadFilter())["new"] == 1
    assert sum(inbox.status_counts(settings, None, inbox.LeadFilter()).values()) == 5


def test_another_clinics_lead_is_not_found_for_reading_or_changing(settings, leads):
    assert inbox.lead_detail(settings, leads["boston"], "stl") is None
    assert not inbox.change_status(settings, leads["boston"], "stl", "ann@clinic.example", "contacted")
    assert not inbox.add_note(settings, leads["boston"], "stl", "ann@clinic.example", "hello")
    assert inbox.lead_detail(settings, leads["boston"], "boston")["status"] == "new"
    assert inbox.lead_detail(settings, leads["boston"], None)["name"] == "Bo Boston"  # an admin sees it


def test_closing_needs_a_note_and_the_history_says_who_did_what(settings, leads):
    lead_id = leads["nerve"]
    with pytest.raises(StaffError, match="note"):
        inbox.change_status(settings, lead_id, "stl", "ann@clinic.example", "closed", "   ")
    with pytest.raises(StaffError):
        inbox.change_status(settings, lead_id, "stl", "ann@clinic.example", "archived")
    inbox.change_status(settings, lead_id, "stl", "ann@clinic.example", "contacted")
    inbox.add_note(settings, lead_id, "stl", "bill@clinic.example", "Prefers a woman physio")
    inbox.change_status(settings, lead_id, "stl", "bill@clinic.example", "closed", "Booked elsewhere")
    record = inbox.lead_detail(settings, lead_id, "stl")
    assert record["status"] == "closed"
    assert [(h["who"], h["what"], h["note"]) for h in record["history"]] == [
        ("the assistant", "Lead created", None),
        ("ann@clinic.example", "Status New to Contacted", None),
        ("bill@clinic.example", "note", "Prefers a woman physio"),
        ("bill@clinic.example", "Status Contacted to Closed", "Booked elsewhere"),
    ]
    assert record["notes"][0]["text"] == "Prefers a woman physio"
    with pytest.raises(StaffError, match="empty"):
        inbox.add_note(settings, lead_id, "stl", "ann@clinic.example", "  ")


def test_latest_changes_when_a_lead_arrives_or_changes_and_says_if_it_is_a_priority(settings, leads):
    before = inbox.latest(settings, "stl")
    add(settings, name="Uma Urgent", urgency="urgent", sender_id="uma")
    arrived = inbox.latest(settings, "stl")
    assert arrived[0] > before[0] and arrived[2] is True
    assert inbox.latest(settings, "boston")[0] == leads["boston"]  # another clinic's lead is not news here
    inbox.change_status(settings, leads["nerve"], "stl", "ann@clinic.example", "contacted")
    assert inbox.latest(settings, "stl")[1] != arrived[1]


def test_the_csv_export_defuses_spreadsheet_formulas_but_keeps_phone_numbers(settings):
    add(settings, name="=HYPERLINK(\"http://evil.example\")", reason="@SUM(A1)")
    text = export(inbox.list_leads(settings, "stl", inbox.LeadFilter())[0], "csv")
    assert "'=HYPERLINK" in text and "'@SUM" in text and ",tel:+1-314-555-0123," in text


def test_a_button_press_in_the_transcript_reads_as_the_choice_made(settings):
    lead_id = add(settings, name="Bea Button", transcript=[
        {"who": "user", "text": '/choose_location{"location": "below_knee"}', "at": T0.isoformat()},
        {"who": "bot", "text": "/not a payload of the visitor's", "at": T0.isoformat()},
        {"who": "user", "text": "/affirm", "at": T0.isoformat()}])
    turns = [t["text"] for t in inbox.lead_detail(settings, lead_id, "stl")["transcript"]]
    assert turns == ["(button) below knee", "/not a payload of the visitor's", "(button) affirm"]
