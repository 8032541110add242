import logging
from pathlib import Path

import pytest

from bot.core.clinics import ClinicDirectory, ClinicProfileError, contrast_with_white, load_clinics
from bot.core.paths import DATA

GOOD = """
clinics:
  a:
    name: Clinic A
    city: Springfield
    phone: "314-555-0100"
    booking_url: null
    offers_remote: false
    free_phone_consultation: false
    hours: "Mon-Fri 9-5"
    timezone: America/Chicago
    callback_time: within a day
    colour: "#1d5c8c"
    privacy_url: https://a.example.com/privacy
    staff:
      emails: [desk@a.example.com]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "clinics.yml"
    path.write_text(text)
    return path


def test_sample_profiles_load_with_stl_phone_and_boston_remote_sessions():
    clinics = load_clinics(DATA / "clinics.yml")
    assert clinics["stl"].phone == "314-941-3970"
    assert clinics["stl"].offers_remote
    assert clinics["boston"].phone is None
    assert clinics["boston"].offers_remote and clinics["boston"].free_phone_consultation


def test_contact_phrase_uses_the_phone_when_there_is_one():
    clinics = load_clinics(DATA / "clinics.yml")
    assert "314-941-3970" in clinics["stl"].contact_phrase()
    assert "boston" not in clinics["stl"].contact_phrase().lower()
    assert clinics["boston"].contact_phrase() == f"contact {clinics['boston'].name} through its website"


@pytest.mark.parametrize(
    "change, field",
    [
        (("name: Clinic A", "name: ''"), "clinics.a.name"),
        (("timezone: America/Chicago", "timezone: Mars/Olympus"), "clinics.a.timezone"),
        (("offers_remote: false", "offers_remote: maybe"), "clinics.a.offers_remote"),
        (("phone: \"314-555-0100\"", "phone: 5550100"), "clinics.a.phone"),
        (("phone: \"314-555-0100\"", "phone: \"555-01\""), "clinics.a.phone: .555-01. is not a phone number"),
        (("hours: \"Mon-Fri 9-5\"", "hours: \"Mon-Fri 9-5\"\n    color: red"), "unknown field(s) color"),
        (("colour: \"#1d5c8c\"", "colour: blue"), "clinics.a.colour: expected a colour"),
        (("colour: \"#1d5c8c\"", "colour: \"#ffeb3b\""), "clinics.a.colour: white text on #ffeb3b"),
        (("privacy_url: https://a.example.com/privacy", "privacy_url: javascript:alert(1)"), "clinics.a.privacy_url"),
        (("privacy_url: https://a.example.com/privacy", "privacy_url: ''"), "clinics.a.privacy_url"),
        (("callback_time: within a day", "callback_time: within a day\n    greeting: 5"), "clinics.a.greeting"),
        (("emails: [desk@a.example.com]", "emails: [not-an-address]"), "clinics.a.staff.emails"),
        (("emails: [desk@a.example.com]", "emails: []"), "clinics.a.staff: needs at least one"),
        (("emails: [desk@a.example.com]", "webhook_url: ftp://x"), "clinics.a.staff.webhook_url"),
        (("callback_time: within a day", "callback_time: 3"), "clinics.a.callback_time"),
    ],
)
def test_a_bad_profile_names_the_field(tmp_path, change, field):
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ClinicProfileError, match=field.replace("(", r"\(").replace(")", r"\)")):
        load_clinics(path)


@pytest.mark.parametrize("text", ["", "clinics: []", "- a\n- b", "clinics: {a: [1, 2]}", ":\n  - ["])
def test_a_malformed_file_is_a_clear_error(tmp_path, text):
    with pytest.raises(ClinicProfileError):
        load_clinics(write(tmp_path, text))


def test_unknown_default_clinic_is_refused(tmp_path):
    with pytest.raises(ClinicProfileError, match="default clinic 'zzz'"):
        ClinicDirectory(load_clinics(write(tmp_path, GOOD)), "zzz")


def test_unknown_or_missing_clinic_id_falls_back_to_default_with_a_warning(caplog):
    directory = ClinicDirectory(load_clinics(DATA / "clinics.yml"), "stl")
    assert directory.resolve("boston").id == "boston"
    assert directory.resolve(None).id == "stl"
    with caplog.at_level(logging.WARNING):
        assert directory.resolve("x" * 5000).id == "stl"
    assert "Unknown clinic id" in caplog.text
    assert "x" * 41 not in caplog.text  # a hostile id is not copied whole into the log


def test_clinic_slots_carry_what_responses_need():
    slots = load_clinics(DATA / "clinics.yml")["boston"].slots()
    assert slots["clinic"] == "boston"
    assert slots["clinic_offers_remote"] is True
    assert set(slots) == {"clinic", "clinic_name", "clinic_contact", "clinic_hours", "clinic_offers_remote",
                          "clinic_callback_time", "clinic_location", "clinic_free_call"}
    assert slots["clinic_location"] == "in Boston, MA" and slots["clinic_free_call"] is True


def test_an_address_is_where_the_clinic_is_said_to_be(tmp_path):
    address = "address: 12 Elm Street, Springfield\n    hours:"
    clinic = load_clinics(write(tmp_path, GOOD.replace("hours:", address)))["a"]
    assert clinic.slots()["clinic_location"] == "at 12 Elm Street, Springfield"


def test_greeting_defaults_to_the_clinic_name_and_origins_are_gathered_for_cors(tmp_path):
    origins = "allowed_origins: [\"https://a.example.com/\"]\n    hours:"
    clinics = load_clinics(write(tmp_path, GOOD.replace("hours:", origins)))
    assert clinics["a"].greeting == "Hello! Welcome to Clinic A."
    directory = ClinicDirectory(clinics, "a")
    assert directory.allowed_origins() == ("https://a.example.com",)
    assert directory.get("a") is clinics["a"] and directory.get("b") is None and directory.get(["a"]) is None


def test_white_on_the_sample_colours_is_readable():
    for clinic in load_clinics(DATA / "clinics.yml").values():
        assert contrast_with_white(clinic.colour) >= 4.5
    assert contrast_with_white("#ffffff") == pytest.approx(1.0)
    assert contrast_with_white("#000000") == pytest.approx(21.0)


@pytest.mark.parametrize("origin", ["https://www.example.com/contact", "www.example.com", "https://x.example.com?a=1",
                                    "https://user@x.example.com", "https://x.example.com:port", "ftp://x.example.com"])
def test_an_allowed_origin_is_scheme_host_and_port_only(tmp_path, origin):
    text = GOOD.replace("hours:", f"allowed_origins: [\"{origin}\"]\n    hours:")
    with pytest.raises(ClinicProfileError, match="allowed_origins") as refused:
        load_clinics(write(tmp_path, text))
    assert refused.value.field == "allowed_origins"


def test_origins_with_a_port_or_a_trailing_slash_are_origins(tmp_path):
    origins = "allowed_origins: [\"http://localhost:8000/\", \"https://a.example.com\"]"
    text = GOOD.replace("hours:", f"{origins}\n    hours:")
    assert load_clinics(write(tmp_path, text))["a"].allowed_origins == ("http://localhost:8000", "https://a.example.com")


def test_a_clinic_id_is_short_lowercase_words(tmp_path):
    with pytest.raises(ClinicProfileError, match="clinic id"):
        load_clinics(write(tmp_path, GOOD.replace("  a:", "  'A B':")))


def test_a_live_directory_asks_for_the_newest_profiles_each_time(tmp_path):
    from bot.core.clinics import LiveDirectory

    first = ClinicDirectory(load_clinics(write(tmp_path, GOOD)), "a")
    second = ClinicDirectory(load_clinics(write(tmp_path, GOOD.replace("Clinic A", "Clinic Alpha"))), "a")
    current = [first]
    live = LiveDirectory(lambda: current[0])
    assert live.get("a").name == "Clinic A" and live.default.name == "Clinic A"
    current[0] = second
    assert live.resolve("a").name == "Clinic Alpha" and [c.name for c in live.all()] == ["Clinic Alpha"]
