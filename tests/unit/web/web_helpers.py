"""What the web tests share: a stand-in receiver, a served app (waiting: tests/waiting.py)."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from channelhub.runtime import Hub
from channelhub.web.applier import Applier
from channelhub.web.server import WebServer


@dataclass(frozen=True)
class FakeReceipt:
    status: int
    outcome: str
    delivery_id: str | None = None


@dataclass
class FakeReceiver:
    """Stands in for services.webhooks.receive: records what it got, answers the receipt it is given."""

    receipt: FakeReceipt = FakeReceipt(200, "stored")
    calls: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    threads: list[str] = field(default_factory=list)
    error: Exception | None = None

    def __call__(self, hub: Hub, channel: str, headers: Mapping[str, str], body: bytes) -> FakeReceipt:
        if self.error is not None:
            raise self.error
        self.calls.append((channel, dict(headers), body))
        self.threads.append(threading.current_thread().name)
        return self.receipt


@dataclass
class Served:
    hub: Hub
    server: WebServer
    receiver: FakeReceiver
    applier: Applier
    applied: list[int]
    scheduler: dict[str, bool]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0)


CSRF_FIELD = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def log_in(client: Any, token: str) -> Any:
    """POST /login with `token`; the client keeps the session cookie. Returns the answer (a 303 when right)."""
    return client.post("/login", data={"token": token, "next": "/"}, follow_redirects=False)


def csrf_of(client: Any, page: str) -> str:
    """The CSRF token the forms of `page` carry for the client's session."""
    found = CSRF_FIELD.search(client.get(page).text)
    assert found, f"no CSRF field on {page}"
    return found.group(1)
