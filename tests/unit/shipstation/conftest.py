"""Fixtures of the ShipStation tests; the helpers live in ss_helpers (a unique module name: every test folder's
conftest is called `conftest`)."""

from ss_helpers import build

__all__ = ["build"]
