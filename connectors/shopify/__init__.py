"""The Shopify connector: orders in over the GraphQL Admin API (polling, bulk backfill, webhooks), stock and
tracking out, within Shopify's cost-based rate limits."""
