"""Browser tests: Playwright (sync API) driving Debian's chromium against the real app on a real server.

The browser is /usr/bin/chromium (or `chromium` on PATH, or $CHANNELHUB_CHROMIUM); `.ci/run` installs it with
apt-get when missing. Without the browser or Playwright these tests skip on a developer's machine and FAIL under
CI (the CI variable set): a missing browser must never pass quietly there.

Each test gets a fresh browser context (no cookies) on a freshly seeded hub (tests/dashboard_seed.py) served by
`channelhub.web.server.WebServer` on 127.0.0.1, port 0, and leaves a full-page screenshot of where it ended in
the artefact folder: $CHANNELHUB_ARTIFACTS, else tests/browser/artifacts/ (ignored by git).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import Site, screenshot

from channelhub.web.app import create_app
from channelhub.web.server import WebServer
from dashboard_seed import seed

TIMEOUT_MS = 30_000  # generous: a loaded 2-core machine; every wait is on a condition, never a fixed sleep


def chromium_path() -> str | None:
    """$CHANNELHUB_CHROMIUM when set (and only it), else /usr/bin/chromium, else `chromium` on PATH."""
    named = os.environ.get("CHANNELHUB_CHROMIUM")
    candidates = [named] if named else ["/usr/bin/chromium", shutil.which("chromium")]
    return next((c for c in candidates if c and Path(c).is_file()), None)


def unavailable(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run under CI: {why} (.ci/run installs chromium with apt-get)")
    pytest.skip(why)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        unavailable(f"Playwright is not installed: {exc}")
    executable = chromium_path()
    if executable is None:
        where = os.environ.get("CHANNELHUB_CHROMIUM") or "/usr/bin/chromium or on PATH"
        unavailable(f"no chromium at {where} (apt-get install chromium)")
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    manager = sync_playwright().start()
    try:
        launched = manager.chromium.launch(executable_path=executable, args=["--no-sandbox"], headless=True)
    except Exception as exc:
        manager.stop()
        unavailable(f"chromium at {executable} did not start: {exc}")
    try:
        yield launched
    finally:
        launched.close()
        manager.stop()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    seeded = seed(tmp_path / "hub")
    server = WebServer(create_app(seeded.hub), "127.0.0.1", 0)
    server.start()
    try:
        yield Site(server.address, seeded)
    finally:
        server.stop()
        seeded.hub.close()


@pytest.fixture
def dialogs() -> list[str]:
    """The messages of the JavaScript dialogs the test's page opened (an escaped page opens none)."""
    return []


@pytest.fixture
def page(browser: Any, site: Site, dialogs: list[str], request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page in a fresh context (no cookies); its dialogs go to `dialogs`; a screenshot of where it ended is
    saved when the test ends, pass or fail."""
    context = browser.new_context(base_url=site.url)
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    opened.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        yield opened
    finally:
        try:
            screenshot(opened, request.node.name)
        finally:
            context.close()
