"""The `[http]` table: defaults, the listen address, the public URL, the token through the secret mechanism."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from channelhub.config import InvalidConfig, load_config
from channelhub.config.models import DEFAULT_LISTEN, parse_listen
from channelhub.logs import configure_logging, get_logger

TOKEN = "http-token-8c1d5e77a0"


def write(tmp_path: Path, http: str) -> Path:
    path = tmp_path / "channelhub.toml"
    path.write_text(f"[http]\n{http}\n", encoding="utf-8")
    return path


def problems(tmp_path: Path, http: str) -> list[str]:
    with pytest.raises(InvalidConfig) as caught:
        load_config(write(tmp_path, http))
    return caught.value.problems


def test_defaults_serve_on_loopback(tmp_path: Path) -> None:
    (tmp_path / "channelhub.toml").write_text("", encoding="utf-8")
    http = load_config(tmp_path / "channelhub.toml").http
    assert (http.enabled, http.listen, http.host, http.port) == (True, DEFAULT_LISTEN, "127.0.0.1", 8787)
    assert http.public_url is None and http.token is None
    assert http.max_body_bytes == 1024 * 1024


@pytest.mark.parametrize(
    ("listen", "host", "port"),
    [("127.0.0.1:8787", "127.0.0.1", 8787), ("[::1]:9000", "::1", 9000), ("hub.internal:80", "hub.internal", 80),
     ("0.0.0.0:0", "0.0.0.0", 0), ("[::]:443", "::", 443)],
)  # fmt: skip
def test_listen_addresses(listen: str, host: str, port: int) -> None:
    assert parse_listen(listen) == (host, port)


@pytest.mark.parametrize(
    ("listen", "says"),
    [("8787", "host:port"), ("::1:8787", "brackets"), ("[nope]:80", "IPv6"), ("127.0.0.1:70000", "0 to 65535"),
     ("127.0.0.1:", "host:port"), ("bad host:80", "host name"), ("[::1]8787", "host:port")],
)  # fmt: skip
def test_a_bad_listen_address_names_the_key(tmp_path: Path, listen: str, says: str) -> None:
    found = problems(tmp_path, f'listen = "{listen}"')
    assert len(found) == 1 and "http.listen" in found[0] and says in found[0], found


def test_public_url_must_be_https(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, 'public_url = "https://hub.example.com/"')).http.public_url == (
        "https://hub.example.com"
    )
    assert "https://" in problems(tmp_path, 'public_url = "http://hub.example.com"')[0]


def test_unknown_keys_and_a_zero_cap_are_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, "max_body_bytes = 0\nlisten_port = 1")
    assert any("http.max_body_bytes" in p for p in found) and any("http.listen_port" in p for p in found)


def test_the_token_from_a_file_or_the_environment_is_a_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n", encoding="utf-8")
    config = load_config(write(tmp_path, 'token_file = "token"'))
    assert config.http.token is not None and config.http.token.get_secret_value() == TOKEN
    assert TOKEN in config.secret_values()
    assert TOKEN not in repr(config) and TOKEN not in config.model_dump_json()

    monkeypatch.setenv("HUB_TOKEN", TOKEN + "-env")
    config = load_config(write(tmp_path, 'token = "${HUB_TOKEN}"'))
    assert config.http.token is not None and config.http.token.get_secret_value() == TOKEN + "-env"
    assert TOKEN + "-env" in config.secret_values()


def test_a_literal_token_is_a_secret_too_and_is_never_logged(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, f'token = "{TOKEN}"'))
    assert TOKEN in config.secret_values()
    out = io.StringIO()
    configure_logging(level="INFO", secrets=config.secret_values(), stream=out)
    try:
        get_logger("test").info("starting", http=str(config.http.token.get_secret_value()))  # type: ignore[union-attr]
    finally:
        configure_logging(level="WARNING")
    assert TOKEN not in out.getvalue() and "***" in out.getvalue()


def test_token_problems(tmp_path: Path) -> None:
    assert "at least 16" in problems(tmp_path, 'token = "short"')[0]
    (tmp_path / "token").write_text(TOKEN, encoding="utf-8")
    assert "not both" in problems(tmp_path, f'token = "{TOKEN}"\ntoken_file = "token"')[0]
    assert "cannot read secret file" in problems(tmp_path, 'token_file = "missing"')[0]
    (tmp_path / "empty").write_text("\n", encoding="utf-8")
    assert "is empty" in problems(tmp_path, 'token_file = "empty"')[0]


def test_the_example_config_documents_the_table() -> None:
    example = Path(__file__).parents[2] / "config" / "channelhub.example.toml"
    assert "[http]" in example.read_text(encoding="utf-8")
