"""Secret redaction for anything a person, a log collector or the database may keep: ONE redactor.

Two rules, applied together:

- a known secret value (from `HubConfig.secret_values()`: every SecretStr in a connector config, every value
  expanded from `${ENV}` and every secret read from a `*_file`, the database password) is replaced with `***`
  wherever it appears in a string, embedded or whole;
- the value of a key named like a credential (password, secret, token, api key, authorization, cookie,
  credential, a name ending in `key`) is replaced with `***` whatever it is.

The secrets a process knows are registered once (`register_secrets`, called when a hub opens its config);
`scrub(text)` applies them to any text, and the log processor, every error text the engine stores
(channel_state, outbox.last_error, quarantine reasons) and every CLI message go through it, so what is masked in
a log line is masked everywhere.

Values shorter than `MIN_SECRET_LENGTH` are not treated as secrets: replacing every "1" or "on" in a log would
destroy the log and protect nothing.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

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


_registered: dict[str, _Matcher] = {"matcher": _Matcher(())}


def register_secrets(secrets: Iterable[str]) -> None:
    """Add values every later `scrub` (and log line) masks, with their URL-encoded forms (a secret in a logged
    URL's query string). Registered values are kept for the process's life: a value once secret stays masked even
    after its config is closed."""
    from urllib.parse import quote, quote_plus

    current = _registered["matcher"]
    plain = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}
    added = {form for s in plain for form in (s, quote(s, safe=""), quote_plus(s))} - current.values
    if added:
        _registered["matcher"] = _Matcher(current.values | added)


def registered_secrets() -> frozenset[str]:
    return _registered["matcher"].values


def scrub(text: str) -> str:
    """`text` with every registered secret replaced by `***`: for error texts that are stored or printed."""
    return _registered["matcher"].sub(text) if text else text


def redact_url(url: str) -> str:
    """A connection URL with its password masked (a URL that does not parse is masked by pattern)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:***@", url)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each secret value replaced by `***`."""
    return _Matcher(secrets).sub(text)


def redact_value(value: Any, secrets: Iterable[str]) -> Any:
    """A copy of `value` (str, mapping, list, tuple, set, SecretStr) with secrets and credential keys masked."""
    return _scrub(value, _Matcher(secrets))


def _scrub(value: Any, matcher: _Matcher) -> Any:
    if isinstance(value, str):
        return matcher.sub(value)
    if _is_pydantic_secret(value):
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


def redacting_processor(
    secret_values: SecretValues = registered_secrets,
) -> Callable[[Any, str, dict[str, Any]], dict[str, Any]]:
    """A structlog processor masking secrets in every event dict.

    `secret_values` is either the values themselves or a callable returning them (by default the registered
    secrets, the same ones `scrub` masks); a callable is asked on every event, and the compiled pattern is
    rebuilt only when its answer changes. Place the processor last before the renderer (after
    `format_exc_info`), so tracebacks are formatted text by the time it runs.
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


def _is_pydantic_secret(value: Any) -> bool:
    # pydantic is imported by whoever made a SecretStr; the CLI's --version must not import it just to ask.
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(value, pydantic.SecretStr | pydantic.SecretBytes)
