"""The `channelhub` command line (typer + rich). The console script is `channelhub = "channelhub.cli:app"`.

Modules: `app` (the application and global options), `common` (opening the hub, errors, redacted output), and one
module per command group: `ops` (run, sync, status, inspect, config, db, demo), `orders` (orders, ship, cancel),
`stock`, `skus` (SKU master data), `outbox` (outbox, quarantine), `webhooks` (the channel's webhook
subscriptions), `serve` (the HTTP app alone). Commands parse, call `channelhub.services` and print.
"""

from channelhub.cli import ops, orders, outbox, serve, skus, stock, webhooks  # noqa: F401  (registers the commands)
from channelhub.cli.app import app

__all__ = ["app"]
