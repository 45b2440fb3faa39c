"""Schema migrations with Alembic, shipped inside the package and run through pace_dash.

The app brings its database to the latest revision whenever it prepares the schema
(pace_dash.store.db.create_schema), and `python -m pace_dash db upgrade` does the same from the
command line; `python -m pace_dash db current` says where a database stands.

To change the schema, edit the models in pace_dash/store/schema.py, then run

    .venv/bin/python -m pace_dash db revision -m "users and sessions"

It upgrades a scratch SQLite database to the latest revision, compares it with the models and
writes versions/NNNN_users_and_sessions.py with the differences. Read and tidy that script (check
the downgrade too), run tests/store/test_migrations.py (it fails while the models and the
migrations disagree) and commit the script with the models. Never edit a released revision:
add a new one.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData

MIGRATIONS_DIR = Path(__file__).resolve().parent
VERSION_TABLE = "alembic_version"
# Held by whoever migrates a PostgreSQL database, so two processes starting at once take turns.
ADVISORY_LOCK_KEY = 7_166_501
# Columns the models gained before migrations existed: a database made by create_all before
# them lacks them, and gets them before it is stamped (revision 0001 has them).
PRE_MIGRATION_COLUMNS = (
    ("target_rule", "effective_from", "ALTER TABLE target_rule ADD COLUMN effective_from DATE"),
    ("target_rule", "closed_by", "ALTER TABLE target_rule ADD COLUMN closed_by VARCHAR(200)"),
    ("child", "import_id", "ALTER TABLE child ADD COLUMN import_id INTEGER REFERENCES import_batch (id)"),
)


def alembic_config(
    connection: Connection | None = None,
    *,
    script_location: Path = MIGRATIONS_DIR,
    target_metadata: MetaData | None = None,
) -> Config:
    """Return Alembic's configuration, built in code: no alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    # New revisions come out formatted and with sorted imports, as ruff wants them.
    config.set_section_option("post_write_hooks", "hooks", "ruff_fix, ruff_format")
    config.set_section_option("post_write_hooks", "ruff_fix.type", "module")
    config.set_section_option("post_write_hooks", "ruff_fix.module", "ruff")
    config.set_section_option("post_write_hooks", "ruff_fix.options", "check --fix REVISION_SCRIPT_FILENAME")
    config.set_section_option("post_write_hooks", "ruff_format.type", "module")
    config.set_section_option("post_write_hooks", "ruff_format.module", "ruff")
    config.set_section_option("post_write_hooks", "ruff_format.options", "format REVISION_SCRIPT_FILENAME")
    config.attributes["connection"] = connection
    if target_metadata is not None:
        config.attributes["target_metadata"] = target_metadata
    return config


def head_revision(script_location: Path = MIGRATIONS_DIR) -> str | None:
    """Return the latest revision of the migration scripts."""
    return ScriptDirectory.from_config(alembic_config(script_location=script_location)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """Return the revision a database is at, or None before its first migration."""
    with engine.connect() as connection:
        return _current(connection)


def upgrade_to_head(engine: Engine, *, script_location: Path = MIGRATIONS_DIR) -> bool:
    """Bring a database to the latest revision; return whether anything was run.

    A database made by create_all before migrations existed is stamped first with the revision
    it matches (see _adopt), then upgraded like any other.
    """
    head = head_revision(script_location)
    if current_revision(engine) == head:
        return False
    with _migrating(engine) as connection:
        current = _current(connection)
        if current == head:  # another process got there first
            return False
        config = alembic_config(connection, script_location=script_location)
        if current is None and sa.inspect(connection).has_table("local_authority"):
            _adopt(connection, config)
        command.upgrade(config, "head")
    return True


def new_revision(
    message: str, *, script_location: Path = MIGRATIONS_DIR, target_metadata: MetaData | None = None
) -> Path | None:
    """Write the next revision from the models' differences with the latest one; return its path.

    Return None, writing nothing, when the models match the latest revision.
    """
    script = ScriptDirectory.from_config(alembic_config(script_location=script_location))
    rev_id = f"{len(list(script.walk_revisions())) + 1:04d}"
    with tempfile.TemporaryDirectory(prefix="pace-revision-") as scratch:
        from pace_dash.store.db import make_engine  # imported here: db imports this module

        engine = make_engine(f"sqlite:///{Path(scratch) / 'scratch.db'}")
        try:
            upgrade_to_head(engine, script_location=script_location)
            with engine.begin() as connection:
                config = alembic_config(
                    connection, script_location=script_location, target_metadata=target_metadata
                )
                written = command.revision(
                    config,
                    message,
                    autogenerate=True,
                    rev_id=rev_id,
                    process_revision_directives=_skip_if_empty,
                )
        finally:
            engine.dispose()
    # Alembic returns the one script written, or an empty list when the directives were cleared.
    return Path(written.path) if written else None


def drop_version_table(engine: Engine) -> None:
    """Drop Alembic's record of the revision, with the app's tables."""
    sa.Table(VERSION_TABLE, MetaData()).drop(engine, checkfirst=True)


def _current(connection: Connection) -> str | None:
    # Read directly: Alembic's MigrationContext would log two lines at every start of the app.
    if not sa.inspect(connection).has_table(VERSION_TABLE):
        return None
    versions = sa.Table(VERSION_TABLE, MetaData(), sa.Column("version_num", sa.String(32)))
    return connection.execute(sa.select(versions.c.version_num)).scalar_one_or_none()


def _skip_if_empty(_context, _revision, directives) -> None:
    if directives[0].upgrade_ops.is_empty():
        directives.clear()


@contextlib.contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode copies a table, drops it and renames the copy: with foreign keys on,
            # dropping a parent table would cascade-delete its children's rows.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                # One migrator at a time, and all of a migration or none of it: PostgreSQL runs DDL
                # in the transaction and takes this lock; SQLite does both once it holds the write
                # lock (the driver would otherwise run DDL outside any transaction).
                if sqlite:
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                else:
                    connection.execute(sa.select(sa.func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"the migration broke {len(broken)} foreign keys")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def _adopt(connection: Connection, config: Config) -> None:
    """Stamp a database that create_all made before migrations existed with the revision it matches."""
    inspector = sa.inspect(connection)
    for table, column, statement in PRE_MIGRATION_COLUMNS:
        if column not in {existing["name"] for existing in inspector.get_columns(table)}:
            # Plain SQL that SQLite and PostgreSQL both run as create_all would have made it.
            connection.execute(sa.text(statement))
    # The account tables came last, and all at once, before revision 0002 recorded them.
    command.stamp(config, "0002" if inspector.has_table("app_user") else "0001")
