"""Re-record the Shopify cassettes against the fake shop on 127.0.0.1 (never a real store).

    .venv/bin/python tests/cassettes/shopify/record.py [scenario ...]

Each cassette is written with the access token filtered, then the loopback host is rewritten to
https://acme.myshopify.com, so replay exercises the real URL shape. The fake shop checks every request and answer
against Shopify's schema: a recording in which it refused a request, or built an answer the schema forbids, is
not kept.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import vcr
from channelhub_connectors.shopify.connector import ShopifyConnector

from channelhub.errors import ConnectorError
from channelhub.ports import ConnectorContext

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]  # scenarios, and tests/ for the test doubles

from scenarios import SCENARIOS, SHOP, FakeClock  # noqa: E402

from doubles.shopify.fake_shop import Bucket, FakeShop  # noqa: E402

RECORDER = vcr.VCR(
    record_mode="all",
    match_on=["method", "scheme", "host", "port", "path", "query", "body"],
    filter_headers=[("x-shopify-access-token", "REDACTED")],
    decode_compressed_response=True,
)


def record(name: str) -> Path:
    scenario = SCENARIOS[name]
    clock = FakeClock()
    shop = FakeShop(bucket=Bucket(clock=clock))
    scenario.setup(shop)
    server, base = shop.serve()
    path = HERE / f"{name}.yaml"
    path.unlink(missing_ok=True)  # "all" would append to the old interactions
    try:
        with RECORDER.use_cassette(str(path)):
            connector = ShopifyConnector(
                scenario.settings,
                ConnectorContext(channel="shopify", transport=httpx.Client()),
                clock=clock,
                sleep=clock.sleep,
            )
            connector.client.endpoint = connector.client.endpoint.replace(SHOP, base)
            try:
                scenario.act(connector)
            except ConnectorError as exc:
                print(f"{name}: ended with {type(exc).__name__}: {exc}")
            finally:
                connector.close()
    finally:
        server.shutdown()
    if shop.refused or shop.broken:
        path.unlink(missing_ok=True)
        raise SystemExit(f"{name}: the schema refused {shop.refused[:3]} / the fake broke it {shop.broken[:3]}")
    text = path.read_text().replace(base, SHOP).replace(base.removeprefix("http://"), SHOP.removeprefix("https://"))
    assert "shpat_secret_token_value" not in text, "the token leaked into a cassette"
    path.write_text(text)
    return path


if __name__ == "__main__":
    for name in sys.argv[1:] or sorted(SCENARIOS):
        print("recorded", record(name).relative_to(HERE.parents[2]))
