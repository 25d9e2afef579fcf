"""The error tree, classified by what the engine should do next.

    ChannelhubError
    ├── ConfigError                 broken config: refuse to start, exit code 2
    ├── DatabaseUnavailable         the database cannot be reached: refuse to start, exit code 2
    ├── PluginError                 a connector that fails to import or breaks the contract
    ├── InvalidTransition           a lifecycle move the model forbids
    ├── StockError                  a ledger request that cannot be met
    │   ├── UnknownSku
    │   ├── UnknownLocation         a location the config does not declare (a typo never creates stock)
    │   └── InsufficientStock
    └── ConnectorError              raised by connectors at their boundary, never a vendor exception
        ├── Retryable               network, 5xx, lock conflict: try again later with backoff
        │   └── RateLimited         the channel said when: wait `retry_after` seconds
        ├── Fatal                   bad credentials, config refused: stop this channel and alert
        └── Skippable               one bad record: quarantine it and go on
            └── MappingError        a payload that does not map to the canonical model

Every error carries `where`: the file and line, channel and key, or payload id it came from, so a person can find
the thing that went wrong without reading a traceback, and `exit_code`: what the CLI exits with when it is the
reason a command failed (1: the command failed; 2: the config or the command line is wrong).
"""

from __future__ import annotations


class ChannelhubError(Exception):
    """Base of every error the hub raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, where: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ConfigError(ChannelhubError):
    """The configuration is invalid (or the database it names cannot be reached); `where` names the file,
    channel and key."""

    exit_code = 2


class DatabaseUnavailable(ChannelhubError):
    """The configured database cannot be opened (down, refused, a folder that does not exist): a start fails
    with one line naming it, password masked."""

    exit_code = 2


class PluginError(ChannelhubError):
    """A connector plugin failed to load or does not keep the contract; `where` names the file or entry point."""


class InvalidTransition(ChannelhubError):
    """A lifecycle transition the model forbids (cancelling a shipped order, for one)."""


class StockError(ChannelhubError):
    """A ledger request that cannot be met."""


class UnknownSku(StockError):
    pass


class UnknownLocation(StockError):
    """A stock change names a location that is not declared: refused like a bad command line."""

    exit_code = 2


class InsufficientStock(StockError):
    pass


class ConnectorError(ChannelhubError):
    """Raised by a connector to tell the engine what to do; vendor exceptions never cross the boundary."""


class Retryable(ConnectorError):
    """A transient failure: network, 5xx, a lock conflict. Retry with backoff."""


class RateLimited(Retryable):
    """The channel asked us to slow down; `retry_after` is in seconds (None: use the backoff)."""

    def __init__(self, message: str, *, retry_after: float | None = None, where: str = "") -> None:
        super().__init__(message, where=where)
        self.retry_after = retry_after


class Fatal(ConnectorError):
    """Retrying cannot help (bad credentials, missing scope, refused config): stop this channel and alert."""


class Skippable(ConnectorError):
    """One bad record: quarantine it with the reason and carry on with the rest."""


class MappingError(Skippable):
    """A payload that does not map to the canonical model."""
