"""New staff passwords: famous passphrases, breached passwords and the account's own words are refused."""
import pytest

from bot.staff import accounts as staff
from bot.staff.passwords import StaffError, check_password, load_known_passphrases

STL = "stl More 4 Life Physical Therapy St. Louis 3149413970"  # what accounts._clinic_name gives for stl


@pytest.mark.parametrize("password, email, clinic", [
    ("correcthorsebatterystaple", "ann@stl.example", STL),
    ("Correct Horse Battery Staple", "ann@stl.example", STL),
    ("correct-horse-battery-staple-1", "ann@stl.example", STL),
    ("Tr0ub4dor&3", "ann@stl.example", STL),
    ("passwordpassword", "ann@stl.example", STL),
    ("No Pain No Gain!", "ann@stl.example", STL),
    ("nopainnogain2026", "ann@stl.example", STL),
    ("More4Life2026", "ann@stl.example", STL),
    ("more4life123456", "ann@stl.example", STL),
    ("stl1234567890", "ann@stl.example", STL),
    ("ann12345678", "ann@stl.example", STL),
    ("annann12345", "ann@stl.example", STL),
    ("tj20262026", "tj@stl.example", STL),
    ("xq19871987", "xq@stl.example", STL),
    ("M0re4L1fe!!", "ann@stl.example", STL),  # the clinic's name in l33t, where its own "4" is a letter too
    ("Mor3-4-L1fe!", "ann@stl.example", STL),
    ("Medius2024!!", "ann@stl.example", STL),
    ("staplebatteryhorsecorrect", "ann@stl.example", STL),  # a famous phrase's words in another order
    ("Battery-Staple-Correct-H0rse!", "ann@stl.example", STL),
    ("gain no pain no 4ever", "ann@stl.example", STL),
    ("Benjamin2026!", "bea@boston.example", "boston Ben E. Benjamin, PhD - Muscular Therapy"),
])
def test_famous_breached_and_personal_passwords_are_refused(password, email, clinic):
    with pytest.raises(StaffError):
        check_password(password, email, clinic)


@pytest.mark.parametrize("password", [
    "plum vortex gideon saddle", "mauve-tundra-pickle-orbit-41", "Kelp7!Quasar?Wren", "correct horse battery",
    "battery horse correct", "notebook orbit beetle tower"])
def test_random_looking_long_passphrases_pass(password):
    assert check_password(password, "ann@stl.example", STL) == password


def test_a_famous_phrase_is_refused_through_the_account_commands_too(settings):
    with pytest.raises(StaffError, match="famous phrase"):
        staff.add_account(settings, "ann@stl.example", "correcthorsebatterystaple", "stl")


def test_a_malformed_phrase_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "phrases.yml"
    bad.write_text("phrases: [correct horse, 3]\n")
    with pytest.raises(ValueError, match="phrases"):
        load_known_passphrases(bad)
    assert "correcthorsebatterystaple" in load_known_passphrases()


@pytest.mark.parametrize("password", ["StLouis2024!!", "3149413970ab"])
def test_the_clinics_city_and_phone_are_its_words_too(settings, password):
    with pytest.raises(StaffError, match="clinic's name"):
        staff.add_account(settings, "ann@stl.example", password, "stl")
