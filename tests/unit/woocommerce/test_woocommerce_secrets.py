"""No error the WooCommerce client raises carries the consumer key or secret: not from an answer that echoes the
request (a proxy's 502 quoting the URL, with query_string_auth's keys or OAuth 1.0a's oauth_consumer_key in it),
not from a network error naming the URL."""

from __future__ import annotations

import html
import socket
from datetime import timedelta
from typing import Any

import pytest
import requests
from channelhub_connectors.woocommerce.connector import WooCommerceConnector
from woo_helpers import KEY, SECRET, connector, fake
from woo_scenarios import NOW

from channelhub.errors import ConnectorError, Retryable
from channelhub.ports import ConnectorContext, PullRequest
from doubles.woocommerce.fake_store import FakeStore, make_order, serve

PULL = PullRequest(None, timedelta(minutes=5), NOW)


def _echo_json(url: str) -> tuple[int, dict[str, str], Any]:
    return 502, {}, {"code": f"proxy_error {url}", "message": f"upstream failed for GET {url}"}


def _echo_html(url: str) -> tuple[int, dict[str, str], Any]:
    return 502, {}, f"<html><body><h1>502 Bad Gateway</h1><p>GET {html.escape(url)}</p></body></html>".encode()


def _raised(woo: WooCommerceConnector) -> ConnectorError:
    with pytest.raises(ConnectorError) as caught:
        list(woo.pull_orders(PULL))
    return caught.value


def _assert_clean(error: ConnectorError) -> None:
    text = f"{error} {error.message} {error.where}"
    assert KEY not in text and SECRET not in text, text
    assert "consumer_secret=" not in text and "oauth_signature=" not in text, text


@pytest.mark.parametrize("echo", [_echo_json, _echo_html], ids=["json", "html"])
def test_a_502_echoing_the_url_over_https_with_query_string_auth_names_no_key(echo) -> None:
    store, woo = fake(query_string_auth=True)
    store.scripted.append(("GET", "/wc/v3/orders", echo))
    error = _raised(woo)
    assert isinstance(error, Retryable) and "502" in str(error)
    assert KEY in store.log[-1][2]["consumer_key"][0]  # the request did carry the keys in its query string
    _assert_clean(error)


@pytest.mark.parametrize("echo", [_echo_json, _echo_html], ids=["json", "html"])
def test_a_502_echoing_the_oauth_url_over_plain_http_names_no_key(echo) -> None:
    store = FakeStore(consumer_key=KEY, consumer_secret=SECRET)
    store.orders[1] = make_order(1)
    store.scripted.append(("GET", "/wc/v3/orders", echo))
    server, base = serve(store)  # plain HTTP on 127.0.0.1: the package signs with OAuth 1.0a in the URL
    try:
        woo = connector(requests.Session(), store_url=base, allow_insecure_http=True)
        error = _raised(woo)
    finally:
        server.shutdown()
        server.server_close()
    assert "oauth_consumer_key" in store.log[-1][2]  # the key travelled in the URL
    _assert_clean(error)


def test_a_refused_connection_over_plain_http_names_no_key() -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = {
        "store_url": f"http://127.0.0.1:{port}",
        "consumer_key": KEY,
        "consumer_secret": SECRET,
        "allow_insecure_http": True,
        "timeout": 2,
    }
    woo = WooCommerceConnector(settings, ConnectorContext(channel="woo", transport=requests.Session()))
    error = _raised(woo)
    assert isinstance(error, Retryable)
    _assert_clean(error)


def test_a_refusal_quoting_the_secret_in_its_message_is_redacted() -> None:
    store, woo = fake()
    refusal = {"code": "woocommerce_rest_cannot_view", "message": f"key {KEY} with secret {SECRET} may not list"}
    store.scripted.append(("GET", "/wc/v3/orders", (403, {}, refusal)))
    _assert_clean(_raised(woo))
