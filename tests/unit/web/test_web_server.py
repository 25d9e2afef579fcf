"""WebServer: starts listening, refuses a port in use, leaves the process's signal handlers alone."""

from __future__ import annotations

import gc
import signal
import socket
import subprocess
import sys
from collections.abc import Callable

import pytest
from starlette.applications import Starlette
from web_helpers import Served

from channelhub.runtime import Hub
from channelhub.web.server import WebServer, WebServerError, display_address, web_server


def test_port_zero_binds_a_free_port(serve: Callable[..., Served]) -> None:
    served = serve()
    assert served.server.port > 0
    assert served.server.address == f"http://127.0.0.1:{served.server.port}"


def test_a_port_in_use_is_an_error_naming_the_address() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = WebServer(Starlette(), "127.0.0.1", port)
        with pytest.raises(WebServerError, match=f"127.0.0.1:{port}"):
            server.start(timeout=60)


def test_signal_handlers_are_left_alone(serve: Callable[..., Served]) -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    served = serve()
    assert {s: signal.getsignal(s) for s in before} == before
    served.server.stop()
    assert {s: signal.getsignal(s) for s in before} == before


def test_the_hubs_own_server_tunes_its_process_for_answers_and_a_bare_one_does_not(
    serve: Callable[..., Served], hub: Hub
) -> None:
    """The webhook p99 at 200/s was a full garbage collection (~100 ms) and GIL waits (bench/webhooks.py)."""
    frozen = gc.get_freeze_count()
    serve()  # a test's server: freezing here would keep every later test's garbage alive
    assert gc.get_freeze_count() == frozen
    assert web_server(hub).tune_process is True
    probe = "import gc, sys; from channelhub.web.server import tune_for_answers as t; t(); "
    probe += "print(gc.get_freeze_count() > 1000, sys.getswitchinterval() <= 0.001)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["True", "True"]


def test_display_address_brackets_ipv6() -> None:
    assert display_address("::1", 8787) == "http://[::1]:8787"
    assert display_address("127.0.0.1", 80) == "http://127.0.0.1:80"
