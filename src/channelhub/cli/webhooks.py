"""`channelhub webhooks register|list|remove --channel C [--url URL]`: the channel's webhook subscriptions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from channelhub.cli.app import app
from channelhub.cli.common import console, handle_errors, open_hub, print_json

if TYPE_CHECKING:
    from channelhub.ports import WebhookSubscription

webhooks_app = typer.Typer(
    help="Webhook subscriptions at a channel, pointing at this hub's receiver.", no_args_is_help=True
)
app.add_typer(webhooks_app, name="webhooks")

ChannelOption = Annotated[str, typer.Option("--channel", help="The channel (its name in the config).")]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="The receiver's address (default: <[http] public_url>/webhooks/<channel>). https, or loopback.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _show(title: str, found: list[WebhookSubscription], as_json: bool) -> None:
    if as_json:
        print_json([{"id": s.id, "topic": s.topic, "address": s.address, "status": s.status} for s in found])
        return
    from rich.table import Table

    table = Table(title=f"{title} ({len(found)})")
    for column in ("id", "topic", "address", "status"):
        table.add_column(column, overflow="fold")
    for s in found:
        table.add_row(s.id, s.topic, s.address, s.status or "-")
    console.print(table)


@webhooks_app.command("register")
@handle_errors
def register(ctx: typer.Context, channel: ChannelOption, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Subscribe the channel's order topics at the hub's receiver; repeating it subscribes nothing twice."""
    from channelhub.services import subscriptions

    with open_hub(ctx, connect=True) as hub:
        found = subscriptions.register(hub, channel, url)
    _show(f"subscribed at {channel}", found, as_json)


@webhooks_app.command("list")
@handle_errors
def list_(ctx: typer.Context, channel: ChannelOption, as_json: JsonOption = False) -> None:
    """Every webhook subscription the channel holds for the hub's credentials."""
    from channelhub.services import subscriptions

    with open_hub(ctx, connect=True) as hub:
        found = subscriptions.list_(hub, channel)
    _show(f"webhooks at {channel}", found, as_json)


@webhooks_app.command("remove")
@handle_errors
def remove(ctx: typer.Context, channel: ChannelOption, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Delete the channel's subscriptions that point at the address."""
    from channelhub.services import subscriptions

    with open_hub(ctx, connect=True) as hub:
        removed = subscriptions.remove(hub, channel, url)
    _show(f"removed at {channel}", removed, as_json)
