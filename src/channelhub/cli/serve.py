"""`channelhub serve`: the HTTP app alone (webhooks, health), without the scheduler."""

from __future__ import annotations

from typing import Annotated

import typer

from channelhub.cli.app import ConfigOption, app
from channelhub.cli.common import fail, handle_errors, open_hub


@app.command()
@handle_errors
def serve(
    ctx: typer.Context,
    config: ConfigOption = None,
    for_seconds: Annotated[
        float | None, typer.Option("--for-seconds", help="Stop by itself after N seconds.", min=0)
    ] = None,
) -> None:
    """Serve the webhooks and health checks on the http.listen address, with no scheduler (no pulls, no
    dispatch), until SIGINT or SIGTERM. Received deliveries are applied in the background."""
    from channelhub.web.server import serve_until_signalled, web_server

    with open_hub(ctx, config, connect=True, long_running=True) as hub:
        if not hub.config.http.enabled:
            raise fail("http.enabled is false in the config: nothing to serve", 2)
        code = serve_until_signalled(web_server(hub), for_seconds=for_seconds)
    raise typer.Exit(code)
