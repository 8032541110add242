"""What the chat endpoint refuses, checked on the plain functions behind it."""
import json

import pytest

from bot.core import data
from bot.core.guard import (
    MAX_MESSAGE_CHARS,
    AddressHasher,
    ChatRequest,
    OpenLimit,
    RateLimiter,
    Refusal,
    admit,
    as_typed_text,
    check_caller,
    hold,
    is_trusted_server,
    message_id_after,
    offered_payloads,
    parse_chat_request,
    release,
    slow_down,
)

CLINICS = data.clinics()
ORIGIN = "http://localhost:8000"


def body(**fields):
    document = {"sender": "visitor-0001", "message": "hello", "metadata": {"clinic": "stl"}}
    document.update(fields)
    return json.dumps(document).encode()


def test_a_good_request_names_its_clinic():
    parsed = parse_chat_request(body(metadata={"clinic": "boston"}), ORIGIN, CLINICS)
    assert isinstance(parsed, ChatRequest)
    assert (parsed.sender, parsed.message, parsed.clinic.id) == ("visitor-0001", "hello", "boston")


@pytest.mark.parametrize("metadata", ["boston", ["boston"], 7, True])
def test_metadata_that_is_not_an_object_is_a_broken_embed_not_the_default_clinic(metadata):
    refused = parse_chat_request(body(metadata=metadata), ORIGIN, CLINICS)
    assert isinstance(refused, Refusal) and refused.status == 400 and refused.code == "unknown_clinic"


def test_no_clinic_means_the_default_but_an_unknown_one_is_refused():
    assert parse_chat_request(body(metadata=None), ORIGIN, CLINICS).clinic.id == "stl"
    refused = parse_chat_request(body(metadata={"clinic": "atlantis"}), ORIGIN, CLINICS)
    assert isinstance(refused, Refusal) and refused.code == "unknown_clinic" and refused.status == 400


@pytest.mark.parametrize(
    "raw, status, code",
    [
        (b"", 400, "malformed"),
        (b"{not json", 400, "malformed"),
        (b"\xff\xfe\x00", 400, "malformed"),
        (b"[1, 2]", 400, "malformed"),
        (b"null", 400, "malformed"),
        (body(message=None), 400, "malformed"),
        (body(message=42), 400, "malformed"),
        (body(message=""), 400, "empty"),
        (body(message=" \n\t "), 400, "empty"),
        (body(message="x" * (MAX_MESSAGE_CHARS + 1)), 413, "too_long"),
        (b"x" * 20_000, 413, "too_large"),
        (body(sender=""), 400, "bad_sender"),
        (body(sender="../../etc/passwd"), 400, "bad_sender"),
        (body(sender=["a"]), 400, "bad_sender"),
        (body(sender="s" * 65), 400, "bad_sender"),
    ],
)
def test_bad_requests_get_a_status_and_a_sentence_for_the_visitor(raw, status, code):
    refused = parse_chat_request(raw, ORIGIN, CLINICS)
    assert isinstance(refused, Refusal)
    assert (refused.status, refused.code) == (status, code)
    assert refused.body()["message"].endswith(".") and len(refused.body()["message"]) > 15


def test_the_longest_allowed_message_passes():
    assert isinstance(parse_chat_request(body(message="x" * MAX_MESSAGE_CHARS), ORIGIN, CLINICS), ChatRequest)


def test_a_page_from_a_website_the_clinic_did_not_list_is_refused():
    refused = parse_chat_request(body(), "https://copycat.example.com", CLINICS)
    assert isinstance(refused, Refusal) and refused.status == 403
    # Requests without an Origin header come from programs, not from pages, and CORS does not apply.
    assert isinstance(parse_chat_request(body(), None, CLINICS), ChatRequest)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def admit_one(limiter, key):
    return admit([(limiter, key)])


def test_the_limiter_allows_the_limit_then_asks_to_wait_until_the_window_frees_up():
    clock = Clock()
    limiter = RateLimiter(limit=20, window=10, clock=clock)
    for _ in range(20):
        assert admit_one(limiter, "a") is None
        clock.now += 0.1
    wait = admit_one(limiter, "a")
    assert wait == pytest.approx(8.0)
    assert admit_one(limiter, "b") is None  # another visitor is not slowed
    clock.now += 8.01
    assert admit_one(limiter, "a") is None


def test_refused_messages_do_not_count_and_memory_stays_bounded():
    clock = Clock()
    limiter = RateLimiter(limit=2, window=10, clock=clock, max_keys=100)
    admit_one(limiter, "a"), admit_one(limiter, "a")
    for _ in range(50):
        assert admit_one(limiter, "a") is not None
    clock.now += 10.01
    assert admit_one(limiter, "a") is None
    for index in range(1000):
        admit_one(limiter, f"visitor-{index}")
    assert len(limiter._hits) <= 100


def test_slow_down_is_polite_and_says_how_long():
    refusal = slow_down(7.6)
    assert refusal.status == 429 and "8 seconds" in refusal.message and "Please" in refusal.message
    assert "1 second " in slow_down(0.2).message


def test_rotating_sender_ids_from_one_address_is_slowed_by_the_address_limit():
    clock = Clock()
    senders, addresses = RateLimiter(limit=5, window=10, clock=clock), RateLimiter(limit=8, window=10, clock=clock)
    outcomes = [admit([(senders, f"visitor-{n}"), (addresses, "one-address")]) for n in range(10)]
    assert outcomes[:8] == [None] * 8 and all(wait is not None for wait in outcomes[8:])
    assert admit([(senders, "visitor-x"), (addresses, "another-address")]) is None


def test_a_message_refused_by_one_limiter_counts_against_none():
    clock = Clock()
    senders, addresses = RateLimiter(limit=2, window=10, clock=clock), RateLimiter(limit=1, window=10, clock=clock)
    assert admit([(senders, "a"), (addresses, "ip")]) is None
    assert admit([(senders, "a"), (addresses, "ip")]) is not None  # the address is full
    assert admit([(senders, "a"), (addresses, "other-ip")]) is None  # so the sender still had one left


def test_client_addresses_are_kept_only_as_keyed_hashes():
    hasher = AddressHasher(b"k" * 32)
    key = hasher("203.0.113.7")
    assert key == hasher("203.0.113.7") and key != hasher("203.0.113.8")
    assert "203" not in key and key != AddressHasher(b"j" * 32)("203.0.113.7")


@pytest.mark.parametrize("origin, authorization, allowed", [
    ("https://clinic.example", None, True),     # a browser says where it is; the clinic check follows
    (None, None, False),                        # no Origin and no token
    (None, "Bearer s3cret-token-for-servers", True),
    (None, "Bearer wrong", False),
    (None, "Basic s3cret-token-for-servers", False),
])
def test_only_a_server_with_the_api_token_may_leave_origin_out(origin, authorization, allowed):
    refusal = check_caller(origin, is_trusted_server(authorization, "s3cret-token-for-servers"))
    assert (refusal is None) == allowed
    if refusal:
        assert refusal.status == 403 and refusal.code == "origin_required"


def test_without_an_api_token_set_no_request_may_leave_origin_out():
    assert not is_trusted_server("Bearer ", "") and not is_trusted_server(None, "")
    assert check_caller(None, is_trusted_server("Bearer ", "")) is not None


def bot_event(*payloads):
    return {"event": "bot", "text": "...", "data": {"buttons": [{"title": p, "payload": p} for p in payloads]}}


def test_the_offered_buttons_are_those_of_the_last_reply_only():
    events = [bot_event("/affirm"), {"event": "user", "text": "hi"}, bot_event("/choose_mode{\"mode\": \"online\"}"),
              {"event": "action", "name": "action_listen"}, bot_event("/deny")]
    assert offered_payloads(events) == {'/choose_mode{"mode": "online"}', "/deny"}
    assert offered_payloads([]) == set()


@pytest.mark.parametrize("typed, offered, expected", [
    ("/restart", set(), "restart"),
    ("/report_red_flag", {"/affirm"}, "report_red_flag"),
    ('/request_appointment{"lead_name": "x"}', set(), 'request_appointment{"lead_name": "x"}'),
    ("//deny", {"/deny"}, "deny"),
    ("/affirm", {"/affirm", "/deny"}, "/affirm"),          # a button the assistant just offered
    ("my hip hurts / aches", set(), "my hip hurts / aches"),
    ("/", set(), ""),
])
def test_a_typed_command_is_an_intent_only_if_it_was_offered_as_a_button(typed, offered, expected):
    assert as_typed_text(typed, offered) == expected


@pytest.mark.parametrize("value, expected", [
    (None, 0), (0, 0), (42, 42), ("42", 42), (2**63 - 1, 2**63 - 1), (str(2**63 - 1), 2**63 - 1),
    (2**63, None), (10**23, None), (-1, None), ("-1", None), (-2**63 - 1, None), (1e308, None), (1.0, None),
    (float("inf"), None), ("abc", None), ("", None), ("١٢", None), (True, None), (False, None), ([1], None),
    ({}, None), ("9" * 20, None)])
def test_a_poll_after_is_a_message_id_the_database_can_hold_or_refused(value, expected):
    assert message_id_after(value) == expected


def test_open_polls_are_bounded_per_key_and_all_or_none_count():
    conversation, address = OpenLimit(2), OpenLimit(3)
    assert hold([(conversation, "a"), (address, "ip")]) and hold([(conversation, "a"), (address, "ip")])
    assert not hold([(conversation, "a"), (address, "ip")])  # a third of one conversation
    assert hold([(conversation, "b"), (address, "ip")])
    assert not hold([(conversation, "c"), (address, "ip")])  # the address is full: "c" was not counted either
    assert hold([(conversation, "c")]) and not conversation.full("c")
    release([(conversation, "a"), (address, "ip")])
    assert hold([(conversation, "a"), (address, "ip")])


def test_a_key_leaves_the_open_count_with_its_last_request():
    limit = OpenLimit(1)
    hold([(limit, "a")])
    release([(limit, "a")])
    assert limit._open == {}
