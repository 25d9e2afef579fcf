"""The marketplace connector: orders from flat files in an inbox folder, stock and shipping confirmations written
as flat files to an outbox, over a local folder or SFTP.

What the engine must know:

- `pull_orders` ignores the cursor (always None). It lists the inbox (sorted by name) and yields, per file, the
  file's orders in pages of at most `page_size` records. Only a file's LAST page carries `content_hash` (sha256 of
  the whole file) and `on_committed` (which moves the file to processed/). Earlier pages of a large file carry
  neither: their orders are idempotent upserts keyed by (channel, external_id), so re-reading them after a crash
  does no harm, while a hash on them would let a half-imported file be skipped as done.
- When the engine skips a page because its content_hash was imported before, it must still call `on_committed`,
  or a file whose import committed just before a crash stays in the inbox and is re-read on every pull.
- `on_committed` runs after the commit and may raise a ConnectorError from the move (processed/ that cannot be
  created or written, named as the error's `where`). The import stands; the file stays in the inbox, and the
  next pull skips it by its hash and calls `on_committed` again. A file that left the inbox meanwhile is not
  an error (logged; nothing to move).
- A problem record (`problem` set) is a malformed row or an order holding one; quarantine it as it is.
- Outbound files are named from the idempotency keys, so a retried write replaces its own earlier file.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from channelhub_connectors.marketplace import mapper, writer
from channelhub_connectors.marketplace.config import MarketplaceSettings
from channelhub_connectors.marketplace.layouts import Layout, find_layout, layout_search_path
from channelhub_connectors.marketplace.parser import FileParser, parse_all
from channelhub_connectors.marketplace.rows import read_lines
from channelhub_connectors.marketplace.transport import FileTransport, LocalFolderTransport, SourceMissing
from pydantic import BaseModel

from channelhub.errors import ConfigError, ConnectorError, Fatal, Skippable
from channelhub.model.money import check_currency
from channelhub.model.orders import Order
from channelhub.ports import (
    BatchLimits,
    Capability,
    Connector,
    ConnectorContext,
    FulfillmentRequest,
    PulledPage,
    PullRequest,
    RawRecord,
    StockUpdate,
    WriteResult,
    settings_as,
)

log = logging.getLogger(__name__)


class MarketplaceConnector(Connector):
    """Flat files (Amazon-style TSV reports and feeds, or a generic CSV) over a local folder or SFTP."""

    kind = "marketplace"
    capabilities = frozenset({Capability.PULL_ORDERS, Capability.PUSH_STOCK, Capability.PUSH_FULFILLMENT})
    config_model = MarketplaceSettings
    limits = BatchLimits(stock_per_call=500, fulfillments_per_call=1)

    def __init__(self, config: BaseModel | Mapping[str, Any], context: ConnectorContext) -> None:
        settings = settings_as(MarketplaceSettings, config, context.channel)
        super().__init__(settings, context)
        self.settings = settings
        self._search_path = layout_search_path(context.mapping_dirs)
        self._layouts: dict[str, Layout] = {}
        self.orders_layout = self._layout_of_kind(settings.orders_layout, "orders", "orders_layout")
        self.stock_layout = self._layout_of_kind(settings.stock_layout, "stock", "stock_layout")
        self.shipment_layout = self._layout_of_kind(settings.shipment_layout, "shipments", "shipment_layout")
        self._inspect_layout: str | None = None
        self.transport: FileTransport = context.transport if context.transport is not None else self._transport()

    @classmethod
    def for_inspection(
        cls, layout: str | None = None, mapping_dirs: Sequence[Path] = (), currency: str | None = None
    ) -> MarketplaceConnector:
        """An instance for `channelhub inspect`: default settings, a local folder transport on the current
        directory (never used to read or write: inspect works on the bytes it is given), no network.

        `currency` is the channel's `currency` setting (checked the same way): the currency of files whose rows
        carry none, such as Amazon's unshipped-orders report. ConfigError for an unknown layout or currency."""
        try:
            settings = MarketplaceSettings(currency=None if currency is None else check_currency(currency))
        except ValueError as exc:  # the setting's own check, without pydantic's wording around it
            raise ConfigError(str(exc), where="inspect: currency") from None
        context = ConnectorContext(
            channel="inspect", mapping_dirs=mapping_dirs, transport=LocalFolderTransport(Path.cwd())
        )
        connector = cls(settings, context)
        if layout is not None:
            connector.layout(layout)  # an unknown name fails here, before any file is read
            connector._inspect_layout = layout
        return connector

    # -- layouts and transport --------------------------------------------------------------------------------

    def layout(self, name: str) -> Layout:
        """The layout called `name` (the channel's mapping folders first, then the shipped ones), cached."""
        if name not in self._layouts:
            self._layouts[name] = find_layout(name, self._search_path)
        return self._layouts[name]

    def _layout_of_kind(self, name: str, kind: str, key: str) -> Layout:
        where = f"channel {self.channel}: settings.{key}"
        try:
            layout = self.layout(name)
        except ConfigError as exc:
            raise ConfigError(str(exc), where=where) from None
        if layout.kind != kind:
            raise ConfigError(f"layout {name!r} ({layout.path}) is a {layout.kind} layout, not {kind}", where=where)
        return layout

    def _transport(self) -> FileTransport:
        s, base = self.settings, self.context.base_dir
        if s.transport == "local":
            return LocalFolderTransport(s.local_root(base))
        assert s.host is not None and s.username is not None  # checked by the settings model
        # Imported here: paramiko costs a quarter of a second to import, and most channels read a local folder.
        from channelhub_connectors.marketplace.sftp import SftpTransport

        return SftpTransport(
            host=s.host,
            port=s.port,
            username=s.username,
            password=s.password,
            password_file=s.resolve(s.password_file, base) if s.password_file else None,
            key_file=s.resolve(s.key_file, base) if s.key_file else None,
            key_passphrase=s.key_passphrase,
            known_hosts=s.resolve(s.known_hosts, base),
            allow_unknown_hosts=s.allow_unknown_hosts,
            root=s.remote_root,
            timeout=s.timeout,
        )

    def preflight(self) -> list[str]:
        """What the first pull would refuse that can be known without the network, each problem naming the
        setting and the path: over a local folder, a root or inbox that does not exist (or cannot be listed:
        the same listing the pull does); over SFTP, a key_file or password_file that cannot be read, and a
        known_hosts file that does not exist (unless allow_unknown_hosts) or cannot be read, by the very checks
        the transport makes before it connects. processed/ and outbox/ are created when needed: no problem."""
        transport = self.transport
        if isinstance(transport, LocalFolderTransport):
            return self._local_folder_problems(transport)
        local_problems = getattr(transport, "local_problems", None)  # SftpTransport's checks before it connects
        if callable(local_problems):
            return [f"settings.{setting}: {problem}" for setting, problem in local_problems()]
        return []

    def _local_folder_problems(self, transport: LocalFolderTransport) -> list[str]:
        root = transport.root
        try:
            if not root.is_dir():
                what = f"{root} is not a folder" if root.exists() else f"folder {root} does not exist"
                return [f"settings.root: {what}"]
        except OSError as exc:
            return [f"settings.root: cannot look at {root}: {exc.strerror or exc}"]
        try:
            transport.list_files(self.settings.inbox, self.settings.patterns)
        except ConnectorError as exc:
            return [f"settings.inbox: {exc}"]
        return []

    # -- orders -----------------------------------------------------------------------------------------------

    def pull_orders(self, request: PullRequest) -> Iterator[PulledPage]:
        """Every file in the inbox, in name order; see the module docstring for pages, hashes and the move."""
        inbox = self.settings.inbox
        for name in self.transport.list_files(inbox, self.settings.patterns):
            if not self.transport.exists(inbox, name):
                # Taken away between the listing and now (by whoever put it there): nothing to import, no error.
                log.info("channel %s: %s/%s left the inbox before it was read", self.channel, inbox, name)
                continue
            yield from self._pull_file(name)

    def _pull_file(self, name: str) -> Iterator[PulledPage]:
        s = self.settings
        digest = hashlib.sha256()
        parser = FileParser(label=f"{s.inbox}/{name}", layout=self.orders_layout, encoding=s.encoding,
                            page_size=s.page_size)  # fmt: skip
        part = 0
        with self.transport.open_read(s.inbox, name) as stream:
            pages = parser.pages(read_lines(stream, digest.update))
            while True:
                try:
                    records = next(pages)
                except StopIteration as done:
                    last: list[RawRecord] = done.value
                    break
                part += 1
                yield PulledPage(records=records, label=f"{name} (part {part})")
        yield PulledPage(
            records=last,
            label=name if part == 0 else f"{name} (part {part + 1}, last)",
            content_hash=digest.hexdigest(),
            on_committed=partial(self._archive, name),
        )

    def _archive(self, name: str) -> None:
        """Move an imported file to processed/ (the page's on_committed). A file no longer in the inbox (taken
        away while it was imported) leaves nothing to move: that is logged, not an error. Other failures are the
        transport's, naming the folder that failed; the import they follow is committed either way."""
        s = self.settings
        try:
            final = self.transport.move(s.inbox, name, s.processed)
        except SourceMissing:
            log.info("channel %s: %s/%s left the inbox while it was imported; its orders are in, nothing to move",
                     self.channel, s.inbox, name)  # fmt: skip
            return
        log.info("channel %s: imported %s, moved to %s/%s", self.channel, name, s.processed, final)

    def map_order(self, record: RawRecord) -> Order:
        return mapper.map_order(
            record,
            channel=self.channel,
            layouts=self.layout,
            sku_map=self.context.sku_map,
            currency=self.settings.currency,
            encoding=self.settings.encoding,
        )

    def inspect(self, filename: str, data: bytes, options: Mapping[str, str]) -> Iterator[RawRecord]:
        """Records of a saved file, parsed with options["layout"] (else the inspect or orders layout) and
        options["encoding"] (else the channel's)."""
        layout = self.layout(options.get("layout") or self._inspect_layout or self.settings.orders_layout)
        encoding = options.get("encoding") or self.settings.encoding
        return parse_all(data, label=filename, layout=layout, encoding=encoding)

    # -- outbound ---------------------------------------------------------------------------------------------

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[WriteResult]:
        """One stock feed file per call in the outbox, named from the batch's keys (a retry rewrites it).

        Every written update is confirmed with the quantity written for its SKU (the last one given when a
        batch names a SKU twice); an update that cannot be written (a SKU holding a tab) fails alone."""
        if not updates:
            return []
        if len(updates) > self.limits.stock_per_call:
            raise Fatal(
                f"stock batch of {len(updates)} exceeds this connector's limit of {self.limits.stock_per_call}",
                where=f"channel {self.channel}",
            )
        content, written, refused = writer.stock_feed(updates, self.stock_layout, self.settings.encoding)
        if content is not None:
            name = writer.file_name("stock", (u.idempotency_key for u in updates), self.stock_layout)
            self.transport.write_atomic(self.settings.outbox, name, content)
            log.info("channel %s: wrote %s/%s (%d SKUs)", self.channel, self.settings.outbox, name, len(written))
        return [
            WriteResult(u.idempotency_key, error=refused[u.idempotency_key])
            if u.idempotency_key in refused
            else WriteResult(u.idempotency_key, confirmed_quantity=written[u.sku])
            for u in updates
        ]

    def push_fulfillment(self, request: FulfillmentRequest) -> None:
        """One shipping confirmation file per request, named from its idempotency key. Skippable when the
        request cannot be written (a shipped SKU without a channel line id)."""
        try:
            content = writer.shipment_confirmation(request, self.shipment_layout, self.settings.encoding)
        except ValueError as exc:
            raise Skippable(str(exc), where=f"channel {self.channel}") from None
        name = writer.file_name("shipment", [request.idempotency_key], self.shipment_layout)
        self.transport.write_atomic(self.settings.outbox, name, content)
        log.info("channel %s: wrote %s/%s for order %s", self.channel, self.settings.outbox, name,
                 request.order_external_id)  # fmt: skip

    def close(self) -> None:
        self.transport.close()
