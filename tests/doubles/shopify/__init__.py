"""The fake Shopify shop (`fake_shop.FakeShop`), checked against Shopify's published schema (`fake_schema`), and
sample orders in Shopify's two documented shapes (`samples`)."""
