"""The settings page's forms as profile fields, and back: what an admin types is what the profile holds."""
from bot.web.clinic_settings import LABELS, SECTIONS, changes_from, form_value

PROFILE = {"name": "Clinic A", "phone": "314-555-0100", "offers_remote": True, "free_phone_consultation": False,
           "staff": {"emails": ["a@a.example", "b@a.example"], "webhook_url": None, "extra": "kept"},
           "services": ["knee pain", "hip pain"], "insurance": "Most plans."}


def fields(section):
    return SECTIONS[section][1]


def test_stored_values_fill_the_inputs():
    assert form_value(PROFILE, fields("notifications")[0]) == "a@a.example\nb@a.example"
    assert form_value(PROFILE, fields("notifications")[1]) == ""
    assert form_value(PROFILE, fields("contact")[3]) == "314-555-0100"
    flags = {field.path: form_value(PROFILE, field) for field in fields("contact") if field.kind == "flag"}
    assert flags == {"offers_remote": "on", "free_phone_consultation": ""}


def test_a_forms_values_become_the_profiles_fields():
    form = {"services": " knee pain \n\n back pain\n", "insurance": "  ", "medicare": "Part B only."}
    changes = changes_from(fields("practical"), form, PROFILE)
    assert changes["services"] == ["knee pain", "back pain"]
    assert changes["insurance"] is None and changes["medicare"] == "Part B only."  # empty: removed
    assert changes["telehealth"] is None  # a field left out of the post is emptied, as a browser sends all


def test_the_staff_block_keeps_what_the_page_does_not_show():
    changes = changes_from(fields("notifications"), {"staff_emails": "c@a.example", "staff_webhook_url": ""}, PROFILE)
    assert changes == {"staff": {"emails": ["c@a.example"], "webhook_url": None, "extra": "kept"}}


def test_an_unticked_box_is_false_and_a_ticked_one_true():
    changes = changes_from(fields("contact"), {"free_phone_consultation": "on"}, PROFILE)
    assert changes["offers_remote"] is False and changes["free_phone_consultation"] is True


def test_every_field_has_a_label_of_its_own():
    labels = [field.label for _, section in SECTIONS.values() for field in section]
    assert len(labels) == len(set(labels)) == len(LABELS)
