"""The access token travels only in its header: no error the Shopify client raises can carry it, even when an
answer or an exception quotes it back, and no pre-signed URL's query string reaches an error either."""

from __future__ import annotations

import json

import httpx
import pytest
from channelhub_connectors.shopify import queries
from channelhub_connectors.shopify.client import ShopifyClient
from scenarios import FakeClock

from channelhub.errors import ConnectorError

TOKEN = "shpat_0123456789abcdef0123456789abcdef"
SIGNED = "https://storage.example/bulk/1.jsonl?X-Goog-Signature=deadbeef0123&X-Goog-Credential=svc"


def _client(answer) -> ShopifyClient:
    clock = FakeClock()
    return ShopifyClient(
        endpoint="https://acme.myshopify.com/admin/api/2026-10/graphql.json",
        token=TOKEN,
        http=httpx.Client(transport=httpx.MockTransport(answer)),
        clock=clock,
        sleep=clock.sleep,
    )


def _echo(status: int):
    def answer(request: httpx.Request) -> httpx.Response:
        token = request.headers["X-Shopify-Access-Token"]
        message = f"token {token} refused for {request.url}?access_token={token}"
        return httpx.Response(status, json={"errors": [{"message": message}]})

    return answer


def _unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError(f"cannot reach {SIGNED} with {request.headers.get('X-Shopify-Access-Token', '')}")


def _assert_clean(error: ConnectorError) -> None:
    text = f"{error} {error.message}"
    assert TOKEN not in text and "deadbeef" not in text, text


@pytest.mark.parametrize("status", [200, 401, 403, 404, 422])
def test_an_answer_quoting_the_token_leaves_it_out_of_the_error(status: int) -> None:
    with pytest.raises(ConnectorError) as caught:
        _client(_echo(status)).execute(queries.ORDERS_COUNT, {"query": None})
    _assert_clean(caught.value)


def test_a_network_error_quoting_the_token_and_a_signed_url_leaves_both_out() -> None:
    client = _client(_unreachable)
    with pytest.raises(ConnectorError) as caught:
        client.execute(queries.ORDERS_COUNT, {"query": None})
    _assert_clean(caught.value)
    with pytest.raises(ConnectorError) as caught:
        list(client.stream_lines(SIGNED))
    _assert_clean(caught.value)


def test_the_token_is_sent_only_in_its_header() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {"ordersCount": {"count": 0, "precision": "EXACT"}}})

    _client(answer).execute(queries.ORDERS_COUNT, {"query": None})
    (request,) = seen
    assert TOKEN not in str(request.url) and TOKEN not in request.content.decode()
    assert request.headers["X-Shopify-Access-Token"] == TOKEN
    assert json.loads(request.content)["variables"] == {"query": None}
