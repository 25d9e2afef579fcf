"""Sessions on their own: expiry, the bound on how many are kept, the CSRF token's binding, flashes shown once."""

from __future__ import annotations

import pytest

from channelhub.web import session as sessions_module
from channelhub.web.session import SESSION_SECONDS, Sessions

TOKEN = "session-test-token-0123456789"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_expires() -> None:
    clock = Clock()
    sessions = Sessions(TOKEN, clock=clock)
    cookie = sessions.open()
    assert sessions.session_id(cookie) is not None
    clock.now += SESSION_SECONDS + 1
    assert sessions.session_id(cookie) is None


def test_the_oldest_sessions_go_first_past_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sessions_module, "MAX_SESSIONS", 3)
    sessions = Sessions(TOKEN)
    cookies = [sessions.open() for _ in range(4)]
    assert sessions.session_id(cookies[0]) is None
    assert all(sessions.session_id(c) for c in cookies[1:])


def test_the_csrf_token_belongs_to_its_session_and_its_process() -> None:
    sessions = Sessions(TOKEN)
    one = sessions.session_id(sessions.open())
    two = sessions.session_id(sessions.open())
    assert one and two
    assert sessions.csrf_ok(one, sessions.csrf_token(one))
    assert not sessions.csrf_ok(one, sessions.csrf_token(two))
    assert not sessions.csrf_ok(one, Sessions(TOKEN).csrf_token(one))  # another process, another key
    assert not sessions.csrf_ok(one, None) and not sessions.csrf_ok(one, "")


def test_flashes_are_shown_once_and_bounded() -> None:
    sessions = Sessions(TOKEN)
    sid = sessions.session_id(sessions.open())
    for n in range(8):
        sessions.flash(sid, f"message {n}")
    assert sessions.take_flashes(sid) == [f"message {n}" for n in range(3, 8)]
    assert sessions.take_flashes(sid) == []
    sessions.flash(None, "nobody")  # a bearer caller has no session: nothing kept, nothing raised


def test_without_a_token_no_session_opens_or_validates() -> None:
    sessions = Sessions(None)
    assert not sessions.enabled
    assert not sessions.token_is("")
    assert not sessions.token_is("anything-at-all-0000")
    assert sessions.session_id(sessions.open()) is None
