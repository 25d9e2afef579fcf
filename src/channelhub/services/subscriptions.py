"""Webhook subscriptions at a channel: `channelhub webhooks register|list|remove` (issue 9).

The hub's receiver listens at `POST /webhooks/<channel>`; these use cases ask the channel's connector to create,
show and delete the subscriptions pointing there. The address is the one given, else `<[http] public_url>/
webhooks/<channel>` when the config has a public URL. It must be https (the deliveries carry orders and
customers' addresses), unless it is loopback (a test or a tunnel on this machine). Each refusal is a ConfigError
(exit 2) saying what to do; the channel's own refusals come back as the connector raised them.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from channelhub.config.models import HubConfig
from channelhub.errors import ConfigError
from channelhub.logs import get_logger
from channelhub.ports import Capability, Connector, WebhookSubscription
from channelhub.runtime import Hub
from channelhub.services.channels import running_connector

log = get_logger("channelhub.subscriptions")


def public_url(config: HubConfig) -> str | None:
    """`[http] public_url` of the config (without a trailing slash), or None."""
    value = config.http.public_url
    return str(value).rstrip("/") if value else None


def resolve_url(hub: Hub, channel: str, url: str | None) -> str:
    """The address to subscribe: `url`, else the receiver under `[http] public_url`; checked (see the module)."""
    if not url:
        base = public_url(hub.config)
        if base is None:
            raise ConfigError(
                "no webhook address: pass --url, or set public_url in the config's [http] table "
                "(the address at which the channel reaches this hub)",
                where=f"channel {channel}",
            )
        url = f"{base}/webhooks/{channel}"
    check_url(url, channel)
    return url


def check_url(url: str, channel: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"{url!r} is not an http(s) URL", where=f"channel {channel}")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ConfigError(
            f"{url} is plain http: deliveries carry orders and addresses, so the address must be https "
            "(behind a TLS reverse proxy), unless it is loopback",
            where=f"channel {channel}",
        )


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _capable(hub: Hub, channel: str) -> None:
    runtime = hub.channel(channel)
    if Capability.WEBHOOK_SUBSCRIPTIONS not in runtime.settings.capabilities:
        raise ConfigError(
            f"channel {channel} (kind {runtime.kind}) cannot manage webhook subscriptions: its connector does not "
            f"declare {Capability.WEBHOOK_SUBSCRIPTIONS.value}",
            where=str(hub.config_path),
        )


def _connector(hub: Hub, channel: str) -> Connector:
    _capable(hub, channel)
    return running_connector(hub, channel)


def register(hub: Hub, channel: str, url: str | None = None) -> list[WebhookSubscription]:
    """Subscribe the channel's topics at the address (idempotent); what is subscribed there now."""
    _capable(hub, channel)
    address = resolve_url(hub, channel, url)
    found = _connector(hub, channel).register_webhooks(address)
    log.info("webhooks registered", channel=channel, url=address, topics=[s.topic for s in found])
    return found


def list_(hub: Hub, channel: str) -> list[WebhookSubscription]:
    """Every subscription the channel holds for the hub's credentials."""
    return _connector(hub, channel).list_webhooks()


def remove(hub: Hub, channel: str, url: str | None = None) -> list[WebhookSubscription]:
    """Delete the subscriptions at the address; the ones removed."""
    _capable(hub, channel)
    address = resolve_url(hub, channel, url)
    removed = _connector(hub, channel).remove_webhooks(address)
    log.info("webhooks removed", channel=channel, url=address, count=len(removed))
    return removed
