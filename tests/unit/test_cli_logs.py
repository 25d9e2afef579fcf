"""Logging: one rendering for structlog and the standard library's loggers, and secrets never in a line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from channelhub.cli import app
from channelhub.logs import configure_logging, get_logger

SECRET = "s3cr3t-Pa55word"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    yield
    configure_logging(level="WARNING")


def emit_everything() -> None:
    log = get_logger("channelhub.test")
    log.warning("login refused", detail=f"user=hub password={SECRET}")
    try:
        raise RuntimeError(f"SFTP auth failed for hub:{SECRET}@host")
    except RuntimeError:
        log.error("pull failed", exc_info=True)
    logging.getLogger("paramiko.transport").warning("auth with %s", SECRET)
    log.warning("settings", api_key="not-in-the-secret-list")


@pytest.mark.parametrize("as_json", [False, True])
def test_no_secret_reaches_a_log_line(as_json: bool, restore_logging: None) -> None:
    out = io.StringIO()
    configure_logging(level="INFO", json=as_json, secrets=[SECRET], stream=out)
    emit_everything()
    text = out.getvalue()
    assert SECRET not in text
    assert "not-in-the-secret-list" not in text  # a credential-named key is masked whatever its value
    assert text.count("***") >= 4
    assert "login refused" in text and "pull failed" in text and "auth with ***" in text
    if as_json:
        events = [json.loads(line) for line in text.splitlines()]
        assert {e["logger"] for e in events} == {"channelhub.test", "paramiko.transport"}
        assert "RuntimeError" in next(e["exception"] for e in events if e["event"] == "pull failed")


def test_config_check_masks_the_database_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_logging: None
) -> None:
    monkeypatch.setenv("HUB_DB_PASSWORD", SECRET)
    config = tmp_path / "channelhub.toml"
    config.write_text('database = "postgresql://hub:${HUB_DB_PASSWORD}@127.0.0.1:1/hub"\n')
    result = CliRunner().invoke(app, ["config", "check", "--config", str(config)])
    # Nothing listens on port 1: run could not start, so config check refuses too, naming the URL masked.
    assert result.exit_code == 2, result.output
    assert SECRET not in result.output
    assert "cannot open the database postgresql://hub:***@127.0.0.1:1/hub" in result.stderr


def test_a_secret_is_masked_in_its_url_encoded_forms_too() -> None:
    """A logged URL carries a secret quoted (urllib3 logs request lines at DEBUG)."""
    from urllib.parse import quote, quote_plus

    from channelhub.redact import register_secrets, scrub

    secret = "p@ss/w rd+1=x"
    register_secrets([secret])
    for form in (secret, quote(secret, safe=""), quote_plus(secret)):
        assert scrub(f"GET /orders?consumer_secret={form}&page=2") == "GET /orders?consumer_secret=***&page=2"


def test_http_clients_do_not_log_every_request_at_info(restore_logging: None) -> None:
    """httpx logs each request with its full URL at INFO; the hub's INFO log must not carry them."""
    out = io.StringIO()
    configure_logging(level="INFO", stream=out)
    logging.getLogger("httpx").info('HTTP Request: GET https://shop.example/orders?consumer_key=ck_1 "200 OK"')
    logging.getLogger("httpx").warning("a retry")
    assert "consumer_key" not in out.getvalue() and "a retry" in out.getvalue()
