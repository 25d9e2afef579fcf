"""Who gets in: the login form and its cookie, the bearer token, CSRF on every POST, no token = nothing served."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient
from web_helpers import csrf_of, log_in

from channelhub.runtime import Hub
from channelhub.store.tables import OutboxRow
from channelhub.web.app import create_app
from channelhub.web.dashboard import local_path
from channelhub.web.session import COOKIE, Sessions
from dashboard_seed import TOKEN, Seeded, write_config

PAGES = ("/", "/orders", "/orders/1", "/stock", "/channels", "/outbox", "/quarantine")
ACTIONS = ("/outbox/retry", "/quarantine/replay", "/channels/shop/resume")


def dead_status(seeded: Seeded) -> str:
    with seeded.hub.db.transaction() as session:
        row = session.get(OutboxRow, seeded.dead_write)
        assert row is not None
        return row.status


@pytest.mark.parametrize("page", PAGES)
def test_a_page_without_the_token_redirects_to_login_with_the_way_back(dash: TestClient, page: str) -> None:
    answer = dash.get(page, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")
    assert TOKEN not in answer.text


@pytest.mark.parametrize("action", ACTIONS)
def test_an_action_without_the_token_is_refused_and_changes_nothing(
    dash: TestClient, seeded: Seeded, action: str
) -> None:
    answer = dash.post(action, data={"all": "1"}, follow_redirects=False)
    assert answer.status_code == 401
    assert dead_status(seeded) == "dead"


def test_login_sets_a_strict_httponly_cookie_that_is_not_the_token(dash: TestClient) -> None:
    page = dash.get("/login?next=/outbox")
    assert page.status_code == 200 and 'name="token"' in page.text
    answer = dash.post("/login", data={"token": TOKEN, "next": "/outbox"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/outbox"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain http (the loopback default); see the https test below
    assert TOKEN not in cookie
    assert dash.get("/outbox").status_code == 200


def test_the_cookie_is_secure_over_https(seeded: Seeded) -> None:
    with TestClient(create_app(seeded.hub), base_url="https://testserver") as client:
        answer = log_in(client, TOKEN)
        assert answer.status_code == 303
        assert "Secure" in answer.headers["set-cookie"]


def test_a_wrong_token_is_refused_and_sets_no_cookie(dash: TestClient) -> None:
    answer = log_in(dash, TOKEN + "x")
    assert answer.status_code == 401
    assert "not the token" in answer.text
    assert "set-cookie" not in answer.headers
    assert dash.get("/", follow_redirects=False).status_code == 303


def test_a_forged_or_foreign_cookie_is_not_a_session(dash: TestClient) -> None:
    for value in ("a" * 64 + "." + "0" * 64, TOKEN, "garbage"):
        dash.cookies.set(COOKIE, value)
        assert dash.get("/", follow_redirects=False).status_code == 303
    dash.cookies.clear()
    latin = f"{COOKIE}={'é' * 64}.x".encode("latin-1")  # a header is bytes: not every cookie is ASCII
    assert dash.get("/", headers={"cookie": latin}, follow_redirects=False).status_code == 303
    other = Sessions(TOKEN).open()  # another process (or before a restart): another key
    dash.cookies.set(COOKIE, other)
    assert dash.get("/", follow_redirects=False).status_code == 303


def test_logout_ends_the_session_even_for_a_copy_of_the_cookie(dash: TestClient) -> None:
    log_in(dash, TOKEN)
    copied = dash.cookies.get(COOKIE)
    assert dash.get("/").status_code == 200
    answer = dash.post("/logout", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert dash.get("/", follow_redirects=False).status_code == 303
    dash.cookies.set(COOKIE, copied or "")
    assert dash.get("/", follow_redirects=False).status_code == 303


def test_the_bearer_token_opens_every_page_and_acts_without_csrf(dash: TestClient, seeded: Seeded) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for page in PAGES:
        assert dash.get(page, headers=headers).status_code in (200, 404), page
    assert (
        dash.get("/", headers={"Authorization": "Bearer wrong-token-0123456789"}, follow_redirects=False).status_code
        == 303
    )
    answer = dash.post("/outbox/retry", data={"id": str(seeded.dead_write)}, headers=headers, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["x-channelhub-result"].startswith("1 dead write(s) queued again")
    assert dead_status(seeded) == "pending"


@pytest.mark.parametrize("csrf", [None, "", "0" * 64])
def test_a_session_post_without_the_right_csrf_token_is_refused_and_changes_nothing(
    dash: TestClient, seeded: Seeded, csrf: str | None
) -> None:
    log_in(dash, TOKEN)
    form = {"id": str(seeded.dead_write)}
    if csrf is not None:
        form["csrf"] = csrf
    answer = dash.post("/outbox/retry", data=form, follow_redirects=False)
    assert answer.status_code == 403
    assert dead_status(seeded) == "dead"


def test_the_csrf_token_of_one_session_does_not_serve_another(dash: TestClient, seeded: Seeded) -> None:
    log_in(dash, TOKEN)
    stale = csrf_of(dash, "/outbox")
    dash.post("/logout")
    log_in(dash, TOKEN)
    answer = dash.post("/outbox/retry", data={"id": str(seeded.dead_write), "csrf": stale}, follow_redirects=False)
    assert answer.status_code == 403
    assert dead_status(seeded) == "dead"


def test_pages_forbid_scripts_and_framing_and_caching(dash: TestClient) -> None:
    log_in(dash, TOKEN)
    answer = dash.get("/")
    assert "script-src" not in answer.headers["content-security-policy"]  # default-src 'none' covers it
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["cache-control"] == "no-store"
    assert "<script" not in answer.text


def test_login_never_redirects_off_the_site() -> None:
    assert local_path("/orders?hold=any") == "/orders?hold=any"
    for value in (
        "//evil.example/x",
        "https://evil.example",
        "/\\evil.example",
        "orders",
        "",
        None,
        "/x\r\nSet-Cookie: a",
        "/\t/evil.example",
    ):
        assert local_path(value) == "/", value


def test_healthz_readyz_and_webhooks_need_no_login(dash: TestClient) -> None:
    assert dash.get("/healthz").status_code == 200
    assert dash.get("/readyz").status_code in (200, 503)
    # The webhook receiver answers for itself (this channel takes none), not with the dashboard's login.
    answer = dash.post("/webhooks/shop", content=b"{}", follow_redirects=False)
    assert (answer.status_code, answer.json()) == (404, {"outcome": "no_webhooks"})


def test_without_a_token_the_dashboard_is_off_and_nothing_is_served(tmp_path: Path) -> None:
    with Hub.open(write_config(tmp_path, token=None), connect=True) as hub, TestClient(create_app(hub)) as client:
        page = client.get("/login")
        assert page.status_code == 200 and "dashboard is off" in page.text and 'name="token"' not in page.text
        assert client.post("/login", data={"token": "anything-at-all-here"}, follow_redirects=False).status_code == 403
        for path in PAGES:
            assert client.get(path, follow_redirects=False).status_code == 303
            # Not even a bearer "token" of nothing works.
            assert client.get(path, headers={"Authorization": "Bearer "}, follow_redirects=False).status_code == 303
        assert client.post("/outbox/retry", data={"all": "1"}).status_code == 401
