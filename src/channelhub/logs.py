"""Logging: structlog for the hub, with the standard library's loggers (APScheduler, paramiko, alembic) routed
through the same processors, so every line is rendered one way and passes the secret redaction.

`configure_logging(level=..., json=..., secrets=...)` may be called more than once (the CLI calls it with the
global options, then again once the config has named its secrets); each call replaces the previous setup.
Log lines go to stderr: stdout belongs to command output (tables, JSON) that people pipe elsewhere.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO, cast

import structlog
from structlog.typing import Processor

from channelhub.redact import redacting_processor, register_secrets

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Chatty libraries that say nothing a merchant needs at INFO.
QUIET_LOGGERS = {
    "apscheduler": logging.WARNING,
    "paramiko": logging.WARNING,
    "alembic": logging.WARNING,
    "uvicorn": logging.WARNING,
    # A line per request with the full URL: noise at INFO, and a plugin that puts a key in a query string
    # would leak it there (redaction masks only the secrets it was told of).
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
}

_HANDLER_NAME = "channelhub"


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a line is emitted, not when logging was set up: test runners
    (and anything else that swaps stderr) would otherwise leave the handler writing to a closed stream."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        return None


def configure_logging(
    *, level: str = "INFO", json: bool = False, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> None:
    """Set up structlog and the stdlib root logger: console (coloured on a terminal) or one JSON object a line.

    `secrets` are values that must never appear in output: they join the process's registered secrets
    (`channelhub.redact`), which the redaction processor masks on every event, the stdlib's included, after the
    message is formatted and before it is rendered.
    """
    level_name = level.upper()
    if level_name not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, not {level!r}")
    out = stream if stream is not None else sys.stderr
    register_secrets(secrets)
    redact = cast(Processor, redacting_processor())
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor
    if json:
        renderer = structlog.processors.JSONRenderer()
    else:
        colors = hasattr(out, "isatty") and out.isatty()
        # Plain tracebacks: a pretty one would print local variables, credentials among them.
        renderer = structlog.dev.ConsoleRenderer(colors=colors, exception_formatter=structlog.dev.plain_traceback)
    # Tracebacks become text before redaction, so a secret in an exception message is masked too.
    final: list[Processor] = [structlog.processors.format_exc_info, redact, renderer]

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _CurrentStderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)

    # Python warnings (urllib3's InsecureRequestWarning, say) go through the same handler and redaction.
    logging.captureWarnings(True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level_name)
    for name, quiet in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(logging.DEBUG if level_name == "DEBUG" else quiet)


def get_logger(name: str = "channelhub") -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
