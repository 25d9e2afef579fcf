"""Alembic environment: runs on the connection (or engine) the hub hands over, never a URL in an ini file.

`channelhub.store.db.upgrade` passes the connection that holds the migration lock on PostgreSQL.
"""

from __future__ import annotations

from contextlib import nullcontext

from alembic import context

from channelhub.store.tables import Base

given = context.config.attributes.get("connection")
engine = context.config.attributes["engine"]

with nullcontext(given) if given is not None else engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    if given is not None:
        connection.commit()
