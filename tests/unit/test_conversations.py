"""Who may continue a conversation: the token's holder, and a first message's retry within its window."""
import pytest

from bot.core import data
from bot.core.settings import settings_from
from bot.web.conversations import RETRY_WINDOW_SECONDS, Conversations

SETTINGS = settings_from({"MEDIUS_INTERNAL_TOKEN": "internal-token-0123456789abcdef"})
CLINICS = data.clinics()
STL, BOSTON = CLINICS.get("stl"), CLINICS.get("boston")
ID = "0123456789abcdef01234567"  # as the widget makes them: 24 random hex digits
NOW = 1_800_000_000.0


@pytest.fixture()
def conversations():
    return Conversations(SETTINGS)


def test_a_retry_of_a_first_message_gets_its_conversation(conversations):
    first = conversations.new_sender("addr", STL, "I'd like to book", ID, now=NOW)
    assert conversations.new_sender("addr", STL, "I'd like to book", ID, now=NOW + 1) == first
    assert Conversations(SETTINGS).new_sender("addr", STL, "I'd like to book", ID, now=NOW + 1) == first  # any worker


@pytest.mark.parametrize("address, clinic, message, message_id, later", [
    ("other", STL, "I'd like to book", ID, 0),  # another address
    ("addr", BOSTON, "I'd like to book", ID, 0),  # another clinic
    ("addr", STL, "what is the gluteus medius", ID, 0),  # another text
    ("addr", STL, "I'd like to book", ID, 2 * RETRY_WINDOW_SECONDS),  # after the retry window
])
def test_a_replay_that_is_no_plausible_retry_starts_its_own_conversation(conversations, address, clinic, message,
                                                                          message_id, later):
    first = conversations.new_sender("addr", STL, "I'd like to book", ID, now=NOW)
    assert conversations.new_sender(address, clinic, message, message_id, now=NOW + later) != first


def test_a_short_message_id_gives_a_random_sender_every_time(conversations):
    senders = {conversations.new_sender("addr", STL, "hello", "replay-id-0001", now=NOW) for _ in range(3)}
    assert len(senders) == 3


def test_a_retry_across_the_window_boundary_keeps_the_conversation_this_worker_answered(conversations):
    start = (NOW // RETRY_WINDOW_SECONDS + 1) * RETRY_WINDOW_SECONDS - 1  # a second before the window ends
    first = conversations.new_sender("addr", STL, "hello", ID, now=start)
    answered = {first}
    assert conversations.new_sender("addr", STL, "hello", ID, answered=answered.__contains__, now=start + 5) == first
    assert conversations.new_sender("addr", STL, "hello", ID, now=start + 5) != first  # not answered here: new


def test_a_token_names_its_sender_for_its_clinic_only(conversations):
    token = conversations.token("w1234", STL)
    assert conversations.sender(token, STL) == "w1234"
    assert conversations.sender(token, BOSTON) is None
    assert conversations.sender(token[:-3] + "AAA", STL) is None
    assert conversations.sender(None, STL) is None
