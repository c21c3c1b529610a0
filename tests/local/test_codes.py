"""The outbox alone: codes per user and purpose, single use, replaced by a new one, and expiry
with AWS's two answers."""

from __future__ import annotations

from local_stack import Clock

from cogapi.local.codes import EXPIRED, MISMATCH, PASSWORD, SIGN_IN, SIGN_UP, Message, Outbox


def test_a_code_is_checked_for_its_user_and_purpose_and_used_once() -> None:
    seen: list[Message] = []
    outbox = Outbox(seen.append)
    sent = outbox.send("pool", "alice", SIGN_UP, "email", "alice@example.com")
    assert seen == [sent] and len(sent.code) == 6 and sent.code.isdigit()
    assert sent.line() == (f"[cognito] sign-up code for alice@example.com (pool pool): {sent.code}")
    wrong = f"{(int(sent.code) + 1) % 1_000_000:06d}"
    assert outbox.check("pool", "alice", SIGN_UP, wrong) == MISMATCH
    assert outbox.check("pool", "alice", PASSWORD, sent.code) == MISMATCH  # another purpose
    assert outbox.check("pool", "bob", SIGN_UP, sent.code) == MISMATCH  # another user
    assert outbox.check("other", "alice", SIGN_UP, sent.code) == MISMATCH  # another pool
    assert outbox.check("pool", "alice", SIGN_UP, "é") == MISMATCH  # not even ASCII
    assert outbox.check("pool", "alice", SIGN_UP, sent.code) == sent  # says where it went
    assert outbox.check("pool", "alice", SIGN_UP, sent.code) == MISMATCH  # used up
    assert outbox.check("pool", "carol", SIGN_UP, "123456") == MISMATCH  # none sent


def test_a_new_code_replaces_the_last() -> None:
    outbox = Outbox()
    first = outbox.send("pool", "alice", PASSWORD, "email", "alice@example.com").code
    second = outbox.send("pool", "alice", PASSWORD, "phone_number", "+15550100").code
    if first != second:
        assert outbox.check("pool", "alice", PASSWORD, first) == MISMATCH
    accepted = outbox.check("pool", "alice", PASSWORD, second)
    assert isinstance(accepted, Message) and accepted.attribute == "phone_number"


def test_codes_expire_as_awss_do() -> None:
    clock = Clock(1_000_000.0)
    outbox = Outbox(clock=clock)
    reset = outbox.send("pool", "alice", PASSWORD, "email", "a@example.com").code
    signup = outbox.send("pool", "alice", SIGN_UP, "email", "a@example.com").code
    clock.now += 3601  # a password-reset code lasts an hour
    assert outbox.check("pool", "alice", PASSWORD, reset) == EXPIRED
    assert isinstance(outbox.check("pool", "alice", SIGN_UP, signup), Message)  # a day
    again = outbox.send("pool", "alice", SIGN_UP, "email", "a@example.com").code
    clock.now += 24 * 3600 + 1
    assert outbox.check("pool", "alice", SIGN_UP, again) == EXPIRED


def test_the_outbox_lists_the_latest_messages_per_pool() -> None:
    outbox = Outbox()
    for i in range(120):
        outbox.send("a" if i % 2 else "b", f"user{i}", SIGN_UP, "email", f"user{i}@example.com")
    everything = outbox.messages()
    assert len(everything) == 100 and everything[-1]["username"] == "user119"
    assert {m["pool_id"] for m in outbox.messages("a")} == {"a"}


def test_a_sign_in_code_lasts_three_minutes() -> None:
    """An SMS MFA code lasts as long as its challenge's session."""
    clock = Clock(1_000_000.0)
    outbox = Outbox(clock=clock)
    sent = outbox.send("pool", "alice", SIGN_IN, "phone_number", "+15555550123").code
    clock.now += 179
    assert isinstance(outbox.check("pool", "alice", SIGN_IN, sent), Message)
    again = outbox.send("pool", "alice", SIGN_IN, "phone_number", "+15555550123").code
    clock.now += 181
    assert outbox.check("pool", "alice", SIGN_IN, again) == EXPIRED
