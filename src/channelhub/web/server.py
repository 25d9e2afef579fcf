"""Serving the app: uvicorn in a background thread, so the daemon's main thread keeps its scheduler and signals.

`WebServer(app, host, port).start()` returns once the socket listens (or raises WebServerError saying why: the
port is taken, the app's startup failed); `stop()` asks uvicorn to finish (in-flight requests complete, idle
keep-alive connections close, the app's lifespan ends: the applier's pass in flight finishes) and joins the
thread. Port 0 binds a free port, read back as `port`.

uvicorn installs signal handlers only on the main thread, and this one never is; `capture_signals` is made a
no-op all the same, so SIGINT and SIGTERM always reach the hub's own handlers (the daemon's graceful stop, or
`serve_until_signalled`, where SIGUSR1 writes every thread's stack to stderr as in the daemon), which then stop
the server.
"""

from __future__ import annotations

import contextlib
import faulthandler
import gc
import signal
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

import uvicorn

from channelhub.errors import ChannelhubError
from channelhub.logs import get_logger
from channelhub.runtime import Hub

log = get_logger("channelhub.web.server")

START_TIMEOUT = 60.0  # generous: a loaded machine may take seconds to import and bind
STOP_TIMEOUT = 30.0
GRACEFUL_SECONDS = 5  # in-flight requests get this long to finish once a stop is asked
# How long a thread may hold the GIL while another waits for it. Python's 5 ms default means a request, which
# hops between the event loop and a worker thread several times, waits up to 5 ms at each hop whenever the
# applier or the dispatcher is busy in Python: tens of milliseconds in all. 1 ms keeps the answer near its
# own cost; the busy threads lose a little throughput to the extra switches.
GIL_SWITCH_SECONDS = 0.001


class WebServerError(ChannelhubError):
    """The HTTP server could not start."""

    exit_code = 2


class _ThreadServer(uvicorn.Server):
    """uvicorn.Server that never touches signal handlers (the hub's main thread owns them)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def install_signal_handlers(self) -> None:  # older uvicorn releases call this instead
        return None


def tune_for_answers() -> None:
    """Tune this process for answering requests beside busy threads (the hub's own servers do, once
    listening; a test's servers do not, as freezing would keep every later test's garbage alive):

    - the GIL switch interval shortened to GIL_SWITCH_SECONDS (never lengthened);
    - what is alive now (modules, the schema, the app, the connectors, the scheduler), which lives as long as
      the process, frozen out of the garbage collector's sight (`gc.freeze`, after one collection so that
      garbage is freed, not frozen). Every later full collection then scans a few thousand objects instead of
      150,000: a pause of every thread for a few ms instead of ~100 ms, which was the whole p99 of a webhook
      answer (bench/webhooks.py: p99 72-103 ms before, 13-18 ms after, at 200 requests/s).
    """
    sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_SECONDS))
    gc.collect()
    gc.freeze()


def display_address(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class WebServer:
    def __init__(self, app: Any, host: str, port: int, *, tune_process: bool = False) -> None:
        self.app = app
        self.host = host
        self.tune_process = tune_process
        self.requested_port = port
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,  # the hub's logging (structlog, redaction) handles uvicorn's loggers
            lifespan="on",
            access_log=False,  # a line per request drowns the log; the app logs refusals itself
            server_header=False,
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
        )
        self.server = _ThreadServer(config)
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    @property
    def port(self) -> int:
        """The bound port (the system's pick when 0 was asked); only once started."""
        for server in getattr(self.server, "servers", []):
            for sock in server.sockets or ():
                return int(sock.getsockname()[1])
        raise WebServerError("the HTTP server is not listening")

    @property
    def address(self) -> str:
        return display_address(self.host, self.port)

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start serving; return once the socket listens. WebServerError when it cannot. A server made with
        `tune_process` then tunes the process for answers (`tune_for_answers`)."""
        self._thread = threading.Thread(target=self._run, name="channelhub-web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                why = "it did not start in time" if self._failure is None else "see the log above (a port in use?)"
                raise WebServerError(
                    f"cannot serve HTTP on {display_address(self.host, self.requested_port)}: {why}",
                    where="http.listen",
                )
            time.sleep(0.02)
        if self.tune_process:
            tune_for_answers()
        log.info("http listening", address=self.address)

    def _run(self) -> None:
        try:
            self.server.run()
        except BaseException as exc:  # SystemExit from uvicorn when binding or the lifespan startup fails
            self._failure = exc

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Finish in-flight requests, close the socket, end the app's lifespan; join the thread."""
        thread = self._thread
        if thread is None:
            return
        self.server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            self.server.force_exit = True
            thread.join(timeout)
        self._thread = None
        log.info("http stopped")


def web_server(hub: Hub, *, scheduler_running: Any = None) -> WebServer:
    """The hub's app (with its applier) on `[http] listen`, tuning the process for answers once it listens."""
    from channelhub.web.app import create_app

    app = create_app(hub, scheduler_running=scheduler_running)
    return WebServer(app, hub.config.http.host, hub.config.http.port, tune_process=True)


def started_web_server(hub: Hub, *, scheduler_running: Any = None) -> WebServer:
    """A started server on `[http] listen`, or on a free port of the same host when that one is taken (the
    demo: a hub already running on the machine must not stop it). The app is built once, for either port."""
    server = web_server(hub, scheduler_running=scheduler_running)
    try:
        server.start()
    except WebServerError:
        server = WebServer(server.app, server.host, 0, tune_process=True)
        server.start()
    return server


def serve_until_signalled(server: WebServer, *, for_seconds: float | None = None) -> int:
    """`channelhub serve`: start the server, run until SIGINT/SIGTERM (or `for_seconds`), stop it. Exit code 0."""
    signalled: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        signalled.append(signum)  # no logging, no locks in a handler

    previous = {signum: signal.signal(signum, on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)  # a stop that seems stuck
    deadline = None if for_seconds is None else time.monotonic() + for_seconds
    try:
        server.start()
        while not signalled and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic())))
    finally:
        if signalled:
            log.info("signal received", signal=signal.Signals(signalled[0]).name)
        server.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        faulthandler.unregister(signal.SIGUSR1)
    return 0
