"""WooCommerce connector: orders in over the REST API v3 (polling and webhooks), stock and tracking out."""
