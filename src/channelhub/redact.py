"""Secret redaction for anything a person or a log collector may read.

Two rules, applied together:

- a known secret value (from `HubConfig.secret_values()`: every SecretStr in a connector config, every value
  expanded from `${ENV}` and every secret read from a `*_file`) is replaced with `***` wherever it appears in a
  string, embedded or whole;
- the value of a key named like a credential (password, secret, token, api key, authorization, cookie,
  credential, a name ending in `key`) is replaced with `***` whatever it is.

Values shorter than `MIN_SECRET_LENGTH` are not treated as secrets: replacing every "1" or "on" in a log would
destroy the log and protect nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import SecretBytes, SecretStr

REDACTED = "***"
MIN_SECRET_LENGTH = 4

_SENSITIVE_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|authori[sz]ation|credential|cookie|signature|(^|[_-])api[_-]?key|"
    r"(^|[_-])key$|private[_-]?key|access[_-]?key",
    re.IGNORECASE,
)
# Keys whose names look sensitive but whose values are what an operator needs to follow a write.
_NOT_SECRET_KEYS = frozenset({"idempotency_key", "key_file", "sort_key", "cursor_key"})

SecretValues = Iterable[str] | Callable[[], Iterable[str]]


def is_sensitive_key(name: str) -> bool:
    """True when a key's name says its value is a credential ("password", "api_key", "Authorization"...)."""
    return name.lower() not in _NOT_SECRET_KEYS and bool(_SENSITIVE_KEY.search(name))


class _Matcher:
    """One compiled pattern for a set of secret values, longest first so a secret containing another is whole."""

    def __init__(self, secrets: Iterable[str]) -> None:
        values = sorted({s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}, key=len)
        self.values = frozenset(values)
        self.pattern = re.compile("|".join(re.escape(v) for v in reversed(values))) if values else None

    def sub(self, text: str) -> str:
        return self.pattern.sub(REDACTED, text) if self.pattern is not None else text


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each secret value replaced by `***`."""
    return _Matcher(secrets).sub(text)


def redact_value(value: Any, secrets: Iterable[str]) -> Any:
    """A copy of `value` (str, mapping, list, tuple, set, SecretStr) with secrets and credential keys masked."""
    return _scrub(value, _Matcher(secrets))


def _scrub(value: Any, matcher: _Matcher) -> Any:
    if isinstance(value, str):
        return matcher.sub(value)
    if isinstance(value, SecretStr | SecretBytes):
        return REDACTED
    if isinstance(value, Mapping):
        return {
            k: REDACTED if isinstance(k, str) and is_sensitive_key(k) else _scrub(v, matcher) for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return type(value)(_scrub(v, matcher) for v in value)
    if isinstance(value, BaseException) and matcher.pattern is not None:
        text = f"{type(value).__name__}: {value}"
        return matcher.sub(text) if matcher.pattern.search(text) else value
    return value


def redacting_processor(secret_values: SecretValues) -> Callable[[Any, str, dict[str, Any]], dict[str, Any]]:
    """A structlog processor masking secrets in every event dict.

    `secret_values` is either the values themselves or a callable returning them (for example
    `config.secret_values`); a callable is asked on every event, and the compiled pattern is rebuilt only when
    its answer changes. Place the processor last before the renderer (after `format_exc_info`), so tracebacks
    are formatted text by the time it runs.
    """
    provider: Callable[[], Iterable[str]]
    if callable(secret_values):
        provider = secret_values
    else:
        fixed = frozenset(secret_values)

        def provider() -> Iterable[str]:
            return fixed

    state: dict[str, _Matcher] = {"matcher": _Matcher(())}

    def processor(_logger: Any, _method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        current = frozenset(s for s in provider() if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH)
        if current != state["matcher"].values:
            state["matcher"] = _Matcher(current)
        matcher = state["matcher"]
        return {
            key: REDACTED if is_sensitive_key(key) and value is not None else _scrub(value, matcher)
            for key, value in event_dict.items()
        }

    return processor
