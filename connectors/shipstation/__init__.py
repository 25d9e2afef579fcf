"""The ShipStation connector (API v1, ssapi.shipstation.com): confirmed orders out as ShipStation orders keyed by
the hub's order key, shipments and voided labels back, SHIP_NOTIFY / ORDER_NOTIFY webhooks, 40 requests a minute."""
