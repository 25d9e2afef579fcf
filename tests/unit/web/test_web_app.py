"""The app's routes on a real uvicorn: health, readiness, the webhook body cap and the receipt as the answer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
from web_helpers import FakeReceipt, Served

from channelhub.services import channels as channel_services
from waiting import wait_until


def test_healthz_answers_while_the_process_runs(serve: Callable[..., Served]) -> None:
    served = serve()
    with served.client() as client:
        answer = client.get("/healthz")
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


def test_readyz_is_ready_with_each_channels_state(serve: Callable[..., Served]) -> None:
    served = serve(scheduler=True)
    channel_services.stop_channel(served.hub, "other", "Fatal: the API key was revoked")
    with served.client() as client:
        answer = client.get("/readyz")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ready"
    assert body["database"] == {"ok": True, "error": ""}
    assert body["scheduler"] == "running"
    assert body["channels"]["files"] == {"state": "running", "reason": ""}
    assert body["channels"]["other"] == {"state": "stopped", "reason": "Fatal: the API key was revoked"}


def test_readyz_without_a_scheduler_is_ready_on_the_database_alone(serve: Callable[..., Served]) -> None:
    with serve().client() as client:
        answer = client.get("/readyz")
    assert answer.status_code == 200 and answer.json()["scheduler"] == "not run by this process"


def test_readyz_is_not_ready_when_the_scheduler_stopped(serve: Callable[..., Served]) -> None:
    served = serve(scheduler=True)
    served.scheduler["running"] = False
    with served.client() as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503 and answer.json()["status"] == "not ready"
    assert answer.json()["scheduler"] == "stopped"


def test_readyz_is_not_ready_when_the_database_is_gone(serve: Callable[..., Served]) -> None:
    served = serve(scheduler=True)
    database = served.hub.db.engine.url.database
    assert database is not None
    for suffix in ("", "-wal", "-shm"):
        Path(database + suffix).unlink(missing_ok=True)
    with served.client() as client:
        answer = client.get("/readyz")
        health = client.get("/healthz")
    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["database"]["ok"] is False and "gone" in body["database"]["error"]
    assert set(body["channels"]) == {"files", "other"}  # still shown, from what the process knows
    assert health.status_code == 200  # the process itself is alive


def test_a_webhook_is_handed_to_the_receiver_in_a_worker_thread(serve: Callable[..., Served]) -> None:
    served = serve()
    passes = served.applier.passes
    with served.client() as client:
        answer = client.post("/webhooks/files", content=b'{"id": 1}', headers={"X-Topic": "orders/create"})
    assert (answer.status_code, answer.json()) == (200, {"outcome": "stored"})
    channel, headers, body = served.receiver.calls[0]
    assert (channel, body, headers["x-topic"]) == ("files", b'{"id": 1}', "orders/create")
    assert served.receiver.threads[0] != "channelhub-web"  # not on the event loop's thread
    assert served.applier.wait_for_pass(passes, timeout=30), "a stored delivery wakes the applier"


def test_the_query_string_reaches_the_connector_as_a_pseudo_header_a_caller_cannot_forge(
    serve: Callable[..., Served],
) -> None:
    """An unsigned channel (ShipStation) authenticates by a secret in its receiver URL: the app hands the query
    string over as X-Channelhub-Query, and drops whatever a caller sent under the hub's pseudo-header names."""
    served = serve()
    forged = {"X-Channelhub-Url-Secret": "guess", "X-Channelhub-Query": "secret=guess", "X-Topic": "t"}
    with served.client() as client:
        client.post("/webhooks/files?secret=s3cret-in-url", content=b"{}", headers={"X-Topic": "t"})
        client.post("/webhooks/files", content=b"{}", headers=forged)
    (_, with_query, _), (_, forging, _) = served.receiver.calls
    assert with_query["x-channelhub-query"] == "secret=s3cret-in-url"
    assert "x-channelhub-query" not in forging and "x-channelhub-url-secret" not in forging
    assert forging["x-topic"] == "t"


def test_the_receipt_is_the_answer(serve: Callable[..., Served]) -> None:
    served = serve()
    with served.client() as client:
        for receipt in (
            FakeReceipt(401, "bad_signature"),
            FakeReceipt(404, "unknown_channel"),
            FakeReceipt(503, "unavailable"),
            FakeReceipt(200, "duplicate"),
        ):
            served.receiver.receipt = receipt
            answer = client.post("/webhooks/files", content=b"{}")
            assert (answer.status_code, answer.json()) == (receipt.status, {"outcome": receipt.outcome})


def test_only_the_routes_that_exist_answer(serve: Callable[..., Served]) -> None:
    with serve().client() as client:
        assert client.get("/webhooks/files").status_code == 405
        assert client.get("/dashboard").status_code == 404
        assert client.post("/healthz").status_code == 405


def test_a_body_over_the_cap_is_refused_by_its_content_length(serve: Callable[..., Served]) -> None:
    served = serve()
    with served.client() as client:
        answer = client.post("/webhooks/files", content=b"x" * 1025)
        at_cap = client.post("/webhooks/files", content=b"x" * 1024)
    assert (answer.status_code, answer.json()) == (413, {"outcome": "too_large"})
    assert at_cap.status_code == 200
    assert [len(body) for _, _, body in served.receiver.calls] == [1024]  # the refused one never reached it


def test_a_chunked_body_is_cut_off_once_it_passes_the_cap(serve: Callable[..., Served]) -> None:
    served = serve()

    def chunks() -> Iterator[bytes]:
        for _ in range(5):
            yield b"y" * 300

    with served.client() as client:
        answer = client.post("/webhooks/files", content=chunks())
        assert answer.request.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in answer.request.headers
        small = client.post("/webhooks/files", content=iter([b"a" * 500, b"b" * 500]))
    assert answer.status_code == 413
    assert small.status_code == 200
    assert [body for _, _, body in served.receiver.calls] == [b"a" * 500 + b"b" * 500]


def test_a_failing_receiver_answers_500_and_the_server_goes_on(serve: Callable[..., Served]) -> None:
    served = serve()
    served.receiver.error = RuntimeError("a bug")
    with served.client() as client:
        assert client.post("/webhooks/files", content=b"{}").status_code == 500
        assert client.get("/healthz").status_code == 200


def test_the_server_stops_and_frees_its_port(serve: Callable[..., Served]) -> None:
    served = serve()
    port = served.server.port
    served.server.stop()
    assert not served.applier.running

    def refused() -> bool:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
        except httpx.TransportError:
            return True
        return False

    assert wait_until(refused, timeout=30)
