"""Alembic's environment: run the migrations on the connection pace_dash passes in.

Alembic executes this file for every command; pace_dash.store.migrations opens the connection
(on the engine made from Settings, PACE_DATABASE_URL) and passes it in config.attributes.
"""

from __future__ import annotations

from alembic import context

from pace_dash.store.schema import Base

config = context.config


def run_migrations(connection) -> None:
    """Run the pending migrations on one connection."""
    context.configure(
        connection=connection,
        target_metadata=config.attributes.get("target_metadata", Base.metadata),
        # New revisions alter tables in batch mode: SQLite needs it (it copies the table), and
        # PostgreSQL runs the same operations as plain ALTERs, so one script serves both.
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run on the connection pace_dash passed in: it holds the lock and the transaction."""
    connection = config.attributes.get("connection")
    if connection is None:
        raise SystemExit("Run migrations through `python -m pace_dash db ...`, which passes a connection.")
    run_migrations(connection)


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported: run them on a database.")
run_migrations_online()
