"""Helpers the benchmarks that run the hub in its own processes share: free ports, waiting for a process to answer,
stopping it, a fresh PostgreSQL database, WooCommerce's webhook signature, percentiles."""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_answering(port: int, process: subprocess.Popen[bytes], path: str = "/healthz", timeout: float = 90.0) -> None:
    """Return once `GET path` on the port answers 200; SystemExit if the process exits or nothing answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the process on port {port} exited with {process.returncode} before it answered")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"nothing answered 200 on port {port}{path} within {timeout:.0f}s")


def stop(process: subprocess.Popen[bytes], timeout: float = 60.0) -> int:
    """SIGTERM (the graceful stop), then SIGKILL if it has not exited within `timeout`; the exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return int(process.returncode)


def fresh_postgres(admin_url: str, prefix: str) -> tuple[str, Callable[[], None]]:
    """A new, empty database on the server of `admin_url`: (its URL, a function that drops it)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from channelhub.store.db import make_engine  # the hub's URL rule: postgresql:// means psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def woo_webhook_headers(secret: str, body: bytes, delivery_id: str, topic: str = "order.created") -> dict[str, str]:
    """The headers WooCommerce sends with a webhook delivery, signed (base64 HMAC-SHA256 of the body)."""
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    resource, _, event = topic.partition(".")
    return {
        "Content-Type": "application/json",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Delivery-ID": delivery_id,
        "X-WC-Webhook-Signature": signature,
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank q-quantile (q in 0..1) of `values` (not empty)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
