"""Persistence: tables, engines, migrations. Only this package and the engine modules talk SQL."""

from channelhub.store.db import Database, make_engine, open_database, upgrade

__all__ = ["Database", "make_engine", "open_database", "upgrade"]
