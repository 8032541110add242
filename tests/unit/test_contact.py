import pytest

from bot.core.contact import clean_name, display_phone, find_contact


@pytest.mark.parametrize("text, phone", [
    ("314-555-0123", "+13145550123"),
    ("(314) 555 0123", "+13145550123"),
    ("actually my number is 314.555.0123", "+13145550123"),
    ("+44 20 7946 0958", "+442079460958"),
    ("call me on 3145550123 please", "+13145550123"),
    ("my mobile is 07700 900461, I'm over from Leeds", "+447700900461"),  # at home's own form, from abroad
    ("ring 020 7946 0958 after six", "+442079460958"),
    # As the message frame hands it on: a home-style number it read, in its international form, reads again
    # (07700 900xxx is a range kept for fiction, which the library does not count as allocated)
    ("+447700900461", "+447700900461"),
    ("+33 6 12 34 56 78", "+33612345678"),
])
def test_phone_numbers_are_found_and_normalised(text, phone):
    assert find_contact(text).phone == phone


@pytest.mark.parametrize("text, email", [
    ("mary.green@gmail.com", "mary.green@gmail.com"),
    ("my email is Bob@Example.COM.", "Bob@example.com"),
])
def test_email_addresses_are_found_and_normalised(text, email):
    assert find_contact(text).email == email


def test_both_can_come_in_one_message():
    found = find_contact("314-555-0123 or pat@example.com")
    assert (found.phone, found.email, found.problem) == ("+13145550123", "pat@example.com", None)


@pytest.mark.parametrize("text, problem", [
    ("555-0123", "phone"), ("12345", "phone"), ("bob@", "email"), ("bob@localhost", "email"),
    ("", "missing"), ("weekday mornings", "missing"), ("<script>alert(1)</script>", "missing"),
    ("1" * 5000, "phone"), ("call 01234", "phone"), ("ref 0412345", "phone"), ("+1 555 0123", "phone"),
    ("+44 7700", "phone"),
])
def test_unusable_answers_name_the_problem(text, problem):
    found = find_contact(text)
    assert found.problem == problem and found.phone is None and found.email is None


@pytest.mark.parametrize("text, name", [
    ("Mary", "Mary"), ("my name is Linda Green", "Linda Green"), ("I'm Tom.", "Tom"),
    ("Dr. Anne-Marie O'Neil", "Dr. Anne-Marie O'Neil"), ("José", "José"),
])
def test_names_are_cleaned(text, name):
    assert clean_name(text) == name


@pytest.mark.parametrize("text", ["", "   ", "what is this?", "314-555-0123", "a@b.com", "12345", "x" * 81,
                                  "one two three four five six seven"])
def test_things_that_are_not_names_are_refused(text):
    assert clean_name(text) is None


def test_phone_display_is_national_and_a_number_from_abroad_has_its_country_code():
    assert display_phone("+13145550123") == "(314) 555-0123"
    assert display_phone("+447700900461") == "+44 7700 900461"
