"""Secrets from the environment and from files reach the connector and nothing a person or a log can read."""

from __future__ import annotations

import io
import json
import logging
import shutil
from pathlib import Path

import pytest
import structlog
from pydantic import SecretStr

from channelhub.config import InvalidConfig, load_config
from channelhub.redact import REDACTED, is_sensitive_key, redact, redact_value, redacting_processor

FIXTURES = Path(__file__).parent.parent / "fixtures" / "plugins"
ENV_SECRET = "env-secret-7f3a9c"
FILE_SECRET = "file-secret-e41b02"
DB_PASSWORD = "db-pass-55d1c0"


@pytest.fixture
def config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHOP_TOKEN", ENV_SECRET)
    monkeypatch.setenv("DB_PASSWORD", DB_PASSWORD)
    (tmp_path / "connectors").mkdir()
    shutil.copy(FIXTURES / "fileshop.py", tmp_path / "connectors")
    (tmp_path / "token.txt").write_text(FILE_SECRET + "\n", encoding="utf-8")
    path = tmp_path / "channelhub.toml"
    path.write_text(
        'database = "postgresql+psycopg://hub:${DB_PASSWORD}@127.0.0.1/hub"\n'
        '[[channels]]\nname = "env-shop"\nkind = "fileshop"\n'
        'settings = { root = "a", token = "${SHOP_TOKEN}" }\n'
        '[[channels]]\nname = "file-shop"\nkind = "fileshop"\n'
        'settings = { root = "b", token_file = "token.txt" }\n',
        encoding="utf-8",
    )
    return path


def test_secrets_reach_the_connector_config(config_path: Path) -> None:
    config = load_config(config_path)
    assert config.channel("env-shop").connector_config.token.get_secret_value() == ENV_SECRET  # type: ignore[attr-defined]
    assert config.channel("file-shop").connector_config.token.get_secret_value() == FILE_SECRET  # type: ignore[attr-defined]
    assert DB_PASSWORD in config.database_url  # the runtime needs the real URL
    assert {ENV_SECRET, FILE_SECRET, DB_PASSWORD} <= config.secret_values()


def test_secrets_never_appear_in_repr_or_dumps(config_path: Path) -> None:
    config = load_config(config_path)
    for text in (repr(config), str(config), config.model_dump_json(), repr(config.model_dump()), repr(config.channels)):
        for secret in (ENV_SECRET, FILE_SECRET, DB_PASSWORD):
            assert secret not in text
    dumped = json.loads(config.model_dump_json())
    assert dumped["database_url"] == "postgresql+psycopg://hub:***@127.0.0.1/hub"
    assert dumped["channels"][0]["settings"]["token"] == "${SHOP_TOKEN}"


def test_secrets_never_appear_in_config_problems(config_path: Path) -> None:
    # A connector that echoes a bad value in its error message must not leak the expanded secret.
    text = config_path.read_text().replace('root = "a"', 'root = "a", currency = "${SHOP_TOKEN}"')
    config_path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidConfig) as caught:
        load_config(config_path)
    assert ENV_SECRET not in str(caught.value)


def test_a_log_line_rendered_through_the_processor_has_no_secret(config_path: Path) -> None:
    config = load_config(config_path)
    out = io.StringIO()
    logger = structlog.wrap_logger(
        structlog.PrintLogger(out),
        processors=[
            structlog.processors.format_exc_info,
            redacting_processor(config.secret_values),
            structlog.processors.JSONRenderer(),
        ],
    )
    try:
        raise ConnectionError(f"login refused for token {ENV_SECRET}")
    except ConnectionError:
        logger.error(
            f"pull failed with {FILE_SECRET}",
            url=config.database_url,
            headers={"Authorization": "Bearer abc-not-known-before", "X-Request": "r1"},
            api_key="k-unknown-to-config",
            idempotency_key="stock:amazon-uk:SKU-1:42",
            exc_info=True,
        )
    line = out.getvalue()
    for secret in (ENV_SECRET, FILE_SECRET, DB_PASSWORD, "abc-not-known-before", "k-unknown-to-config"):
        assert secret not in line
    event = json.loads(line)
    assert event["headers"] == {"Authorization": REDACTED, "X-Request": "r1"}
    assert event["idempotency_key"] == "stock:amazon-uk:SKU-1:42"  # what operators follow writes by stays
    assert "ConnectionError: login refused for token ***" in event["exception"]


def test_the_stdlib_logging_path_is_redacted_too(config_path: Path) -> None:
    config = load_config(config_path)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                redacting_processor(config.secret_values),
                structlog.processors.JSONRenderer(),
            ]
        )
    )
    vendor = logging.getLogger("channelhub.test.vendor")
    vendor.addHandler(handler)
    vendor.propagate = False
    try:
        vendor.warning("connecting with password %s", FILE_SECRET)
    finally:
        vendor.removeHandler(handler)
    assert FILE_SECRET not in out.getvalue() and "connecting with password ***" in out.getvalue()


def test_redact_replaces_embedded_and_overlapping_values() -> None:
    assert redact("a=secret-long; b=secret", ["secret", "secret-long"]) == "a=***; b=***"
    assert redact("port 22 on", ["22", "", "on"]) == "port 22 on"  # too short to be a secret: left alone
    assert redact("x.y+z (literal)", ["y+z (lit"]) == "x.***eral)"


def test_redact_value_walks_containers_and_masks_secret_types() -> None:
    value = {"list": ["tok-abcdef", 3], "password": "anything", "nested": {"token": 1}, "s": SecretStr("q")}
    assert redact_value(value, ["tok-abcdef"]) == {
        "list": ["***", 3],
        "password": "***",
        "nested": {"token": "***"},
        "s": "***",
    }


@pytest.mark.parametrize(
    ("key", "sensitive"),
    [
        ("password", True),
        ("sftp_password", True),
        ("Authorization", True),
        ("api_key", True),
        ("apiKey", True),
        ("client_secret", True),
        ("access_token", True),
        ("key", True),
        ("idempotency_key", False),
        ("sku", False),
        ("channel", False),
        ("keyboard", False),
    ],
)
def test_sensitive_key_names(key: str, sensitive: bool) -> None:
    assert is_sensitive_key(key) is sensitive


def test_the_processor_accepts_fixed_values_and_follows_a_changing_provider() -> None:
    fixed = redacting_processor(["fixed-secret"])
    assert fixed(None, "info", {"event": "x fixed-secret"}) == {"event": "x ***"}
    current: list[str] = []
    follow = redacting_processor(lambda: current)
    assert follow(None, "info", {"event": "late-secret"}) == {"event": "late-secret"}
    current.append("late-secret")
    assert follow(None, "info", {"event": "late-secret"}) == {"event": "***"}
