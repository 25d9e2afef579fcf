"""Dashboard sessions: the login cookie, the CSRF token of each session, and the one-shot flash messages.

A person logs in once with `[http] token` (compared in constant time, as `channelhub.web.auth` compares a
bearer token); the cookie they get back never holds the token. It holds a random session id and an HMAC-SHA256
of that id keyed by a per-process key derived from the token and a random nonce. So:

- the cookie proves nothing to another process, nor after a restart or a token change (people log in again);
- a session is live only while this process lists it (`logout` forgets it; sessions expire after
  `SESSION_SECONDS`), so a copied cookie stops working at logout;
- the CSRF token of a session is another HMAC of its id under the same key: a page puts it in a hidden field
  of every POST form, and an action refuses a POST whose field does not match (a cross-site form cannot read
  it). A request that authenticates with `Authorization: Bearer` (API use) needs no CSRF token: a browser
  never attaches that header to a cross-site request by itself.

The cookie is HttpOnly, SameSite=Strict, Path=/, and Secure when the request came over https (directly or
through a proxy uvicorn trusts for X-Forwarded-Proto).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

from channelhub.web.auth import token_matches

COOKIE = "channelhub_session"
SESSION_SECONDS = 12 * 3600
MAX_SESSIONS = 1000  # a bound on memory; the oldest sessions go first
MAX_FLASHES = 5
SID_LENGTH = 64  # secrets.token_hex(32)
HEX = frozenset("0123456789abcdef")


@dataclass
class _Session:
    expires: float
    flashes: list[str] = field(default_factory=list)


class Sessions:
    """The live dashboard sessions of this process, for the token `token` (None: no login possible)."""

    def __init__(self, token: str | None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._token = token
        self._clock = clock
        nonce = secrets.token_bytes(32)
        # Keyed by the token: a token change (a restart with a new one) ends every session.
        self._key = hmac.new((token or "").encode("utf-8"), b"channelhub-dashboard:" + nonce, hashlib.sha256).digest()
        self._live: dict[str, _Session] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """False when no token is configured: nobody can log in and nothing guarded is served."""
        return bool(self._token)

    def _now(self) -> float:
        return self._clock()

    def _sign(self, purpose: bytes, sid: str) -> str:
        return hmac.new(self._key, purpose + sid.encode("ascii"), hashlib.sha256).hexdigest()

    # --- login ----------------------------------------------------------------------------------------------

    def token_is(self, offered: str) -> bool:
        """True when `offered` is the configured token (constant time; always False without a token)."""
        return token_matches(f"Bearer {offered}", self._token) if offered else False

    def open(self) -> str:
        """A new session; returns the cookie value to set."""
        sid = secrets.token_hex(32)
        with self._lock:
            self._expire()
            while len(self._live) >= MAX_SESSIONS:
                self._live.pop(next(iter(self._live)))
            self._live[sid] = _Session(expires=self._now() + SESSION_SECONDS)
        return f"{sid}.{self._sign(b'session:', sid)}"

    def close(self, cookie: str | None) -> None:
        sid = self.session_id(cookie)
        if sid is not None:
            with self._lock:
                self._live.pop(sid, None)

    def _expire(self) -> None:
        now = self._now()
        for sid in [sid for sid, s in self._live.items() if s.expires <= now]:
            del self._live[sid]

    def session_id(self, cookie: str | None) -> str | None:
        """The id of the live session `cookie` carries, or None (no cookie, a forged or stale one)."""
        if not self.enabled or not cookie:
            return None
        sid, _, signature = cookie.partition(".")
        if len(sid) != SID_LENGTH or not all(c in HEX for c in sid):
            return None
        expected = self._sign(b"session:", sid).encode()
        if not hmac.compare_digest(signature.encode("ascii", "replace"), expected):
            return None
        with self._lock:
            live = self._live.get(sid)
            if live is None or live.expires <= self._now():
                self._live.pop(sid, None)
                return None
        return sid

    # --- CSRF and flashes -----------------------------------------------------------------------------------

    def csrf_token(self, sid: str) -> str:
        return self._sign(b"csrf:", sid)

    def csrf_ok(self, sid: str, offered: str | None) -> bool:
        return bool(offered) and hmac.compare_digest((offered or "").encode("utf-8"), self.csrf_token(sid).encode())

    def flash(self, sid: str | None, message: str) -> None:
        """Keep `message` for the session's next page (dropped for a request without a session)."""
        if sid is None:
            return
        with self._lock:
            live = self._live.get(sid)
            if live is not None:
                live.flashes = [*live.flashes, message][-MAX_FLASHES:]

    def take_flashes(self, sid: str | None) -> list[str]:
        if sid is None:
            return []
        with self._lock:
            live = self._live.get(sid)
            if live is None:
                return []
            taken, live.flashes = live.flashes, []
        return taken


@dataclass(frozen=True)
class Caller:
    """Who a request comes from: a logged-in session (`sid`), or an API client with the bearer token."""

    sid: str | None
    bearer: bool


def caller(request: Request, sessions: Sessions, token: str | None) -> Caller | None:
    """The request's caller, or None when it carries neither the bearer token nor a live session cookie."""
    if token_matches(request.headers.get("authorization"), token):
        return Caller(sid=sessions.session_id(request.cookies.get(COOKIE)), bearer=True)
    sid = sessions.session_id(request.cookies.get(COOKIE))
    return None if sid is None else Caller(sid=sid, bearer=False)


def set_session_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        COOKIE, value, max_age=SESSION_SECONDS, path="/", httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )  # fmt: skip


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")
