"""The `channelhub` command line (typer + rich). The console script is `channelhub = "channelhub.cli:app"`.

Modules: `app` (the application and global options), `common` (opening the hub, errors, output), `views`
(read-only queries), and one module per command group: `ops` (run, sync, status, inspect, config, db, demo),
`orders` (orders, ship), `stock`, `outbox` (outbox, quarantine).
"""

from channelhub.cli import ops, orders, outbox, stock  # noqa: F401  (registers the commands)
from channelhub.cli.app import app

__all__ = ["app"]
