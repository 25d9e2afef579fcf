"""The bearer token check every guarded page and API call will use."""

from __future__ import annotations

import hmac

import pytest
from starlette.requests import Request

from channelhub.web import auth
from channelhub.web.auth import require_token, token_matches

TOKEN = "web-test-token-1234567890"


@pytest.mark.parametrize(
    ("header", "ok"),
    [(f"Bearer {TOKEN}", True), (f"bearer {TOKEN}", True), (f"  Bearer   {TOKEN} ", True),
     (f"Bearer {TOKEN}x", False), (f"Bearer {TOKEN[:-1]}", False), (f"Basic {TOKEN}", False), (TOKEN, False),
     ("Bearer ", False), ("", False), (None, False)],
)  # fmt: skip
def test_token_matches(header: str | None, ok: bool) -> None:
    assert token_matches(header, TOKEN) is ok


def test_no_configured_token_lets_nothing_through() -> None:
    assert not token_matches("Bearer ", None)
    assert not token_matches("Bearer anything", "")


def test_the_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    assert token_matches(f"Bearer {TOKEN}", TOKEN)
    assert compared == [(TOKEN.encode(), TOKEN.encode())]


def request(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/page", "headers": raw})


def test_require_token_on_a_request() -> None:
    assert require_token(request({"Authorization": f"Bearer {TOKEN}"}), TOKEN) is None
    for headers in ({}, {"Authorization": "Bearer wrong-token-000000000"}, {"Authorization": f"Basic {TOKEN}"}):
        answer = require_token(request(headers), TOKEN)
        assert answer is not None and answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert TOKEN.encode() not in answer.body


def test_require_token_without_a_configured_token_says_how_to_set_one() -> None:
    answer = require_token(request({"Authorization": "Bearer x"}), None)
    assert answer is not None and answer.status_code == 401 and b"token_file" in answer.body
