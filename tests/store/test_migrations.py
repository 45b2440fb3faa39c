"""Migrations on real databases: they build exactly the models' schema, and nothing less."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.orm import Session

from pace_dash.settings import PROJECT_ROOT
from pace_dash.store.db import create_schema, drop_schema, make_engine
from pace_dash.store.migrations import (
    MIGRATIONS_DIR,
    VERSION_TABLE,
    current_revision,
    head_revision,
    new_revision,
    upgrade_to_head,
)
from pace_dash.store.schema import Base, Child, DataVersion, Event, LocalAuthority

ACCOUNT_TABLES = {"app_user", "user_authority", "user_session", "login_attempt", "audit_event"}
# Revisions are numbered 0001, 0002, ...: the latest is the highest number among the scripts.
SCRIPTS = tuple(sorted(path.name for path in (MIGRATIONS_DIR / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")))
LATEST = SCRIPTS[-1][:4]
NEXT = f"{int(LATEST) + 1:04d}"


def differences(engine, metadata: sa.MetaData = Base.metadata) -> list:
    """Return Alembic's differences between a database and a set of models."""
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), metadata)


def reflected(engine) -> dict:
    """Return every table's columns, keys, constraints and indexes, names included, as reflected."""
    inspector = sa.inspect(engine)
    tables = {}
    for table in sorted(set(inspector.get_table_names()) - {VERSION_TABLE}):
        columns = inspector.get_columns(table)
        foreign_keys = inspector.get_foreign_keys(table)
        uniques = inspector.get_unique_constraints(table)
        tables[table] = {
            "columns": [(column["name"], str(column["type"]), column["nullable"]) for column in columns],
            "primary key": inspector.get_pk_constraint(table),
            "foreign keys": sorted(
                (key["name"] or "", key["constrained_columns"], key["referred_table"], key["options"])
                for key in foreign_keys
            ),
            "unique": sorted((key["name"] or "", key["column_names"]) for key in uniques),
            "indexes": sorted(
                (index["name"], index["column_names"], index["unique"])
                for index in inspector.get_indexes(table)
            ),
        }
    return tables


def test_migrating_an_empty_database_builds_the_models_schema(engine):
    drop_schema(engine)
    assert sa.inspect(engine).get_table_names() == []

    assert upgrade_to_head(engine) is True

    assert current_revision(engine) == head_revision() == LATEST
    assert set(sa.inspect(engine).get_table_names()) == {*Base.metadata.tables, VERSION_TABLE}
    assert differences(engine) == []
    assert upgrade_to_head(engine) is False  # at the latest revision: nothing to run


def test_the_comparison_sees_a_model_that_has_no_migration(engine):
    models = sa.MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(models)
    models.tables["child"].append_column(sa.Column("nickname", sa.String(40)))
    sa.Table("case_note", models, sa.Column("id", sa.Integer, primary_key=True), sa.Column("text", sa.Text))

    found = differences(engine, models)

    # ("add_column", schema, table, column) and ("add_table", table): name the last item of each.
    assert sorted((kind, item.name) for kind, *_, item in found) == [
        ("add_column", "nickname"),
        ("add_table", "case_note"),
    ]


def test_migrations_name_indexes_and_constraints_as_create_all_does(engine):
    drop_schema(engine)
    Base.metadata.create_all(engine)
    made_by_create_all = reflected(engine)
    drop_schema(engine)

    upgrade_to_head(engine)

    assert reflected(engine) == made_by_create_all
    assert "ix_event_child_date" in str(made_by_create_all["event"]["indexes"])  # the check sees names


def legacy_models(with_accounts: bool) -> sa.MetaData:
    """Return the models as create_all knew them before migrations, child.import_id still missing."""
    models = sa.MetaData()
    for table in Base.metadata.sorted_tables:
        if table.name != "child" and (with_accounts or table.name not in ACCOUNT_TABLES):
            table.to_metadata(models)
    sa.Table(
        "child",
        models,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("la_id", sa.ForeignKey("local_authority.id"), nullable=False, index=True),
        sa.Column("reference", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(200)),
        sa.Column("date_of_birth", sa.Date, nullable=False),
        sa.Column("sex", sa.String(16)),
        sa.Column("sibling_group", sa.String(64)),
        sa.UniqueConstraint("la_id", "reference"),
    )
    return models


@pytest.mark.parametrize("with_accounts", [False, True], ids=["before-accounts", "with-accounts"])
def test_a_database_made_by_create_all_is_stamped_then_upgraded_keeping_its_rows(engine, with_accounts):
    drop_schema(engine)
    legacy_models(with_accounts).create_all(engine)
    with engine.begin() as connection:
        connection.execute(sa.insert(DataVersion.__table__), {"id": 1, "version": 7})
        connection.execute(
            sa.insert(LocalAuthority.__table__), {"id": 1, "code": "NTH", "name": "Northshire"}
        )
        connection.execute(
            sa.insert(legacy_models(False).tables["child"]),
            {"id": 1, "la_id": 1, "reference": "NTH-0001", "date_of_birth": dt.date(2021, 6, 1)},
        )
        connection.execute(
            sa.insert(Event.__table__),
            {"child_id": 1, "code": "accommodated", "on_date": dt.date(2024, 1, 2)},
        )

    create_schema(engine)

    # Stamped with the wrong revision, 0002 would fail on tables that exist or never create them.
    assert set(sa.inspect(engine).get_table_names()) >= ACCOUNT_TABLES
    assert current_revision(engine) == LATEST
    assert differences(engine) == []
    with Session(engine) as session:
        assert session.get(DataVersion, 1).version == 7
        child = session.get(Child, 1)
        assert (child.reference, child.import_id) == ("NTH-0001", None)
        assert [event.code for event in session.scalars(sa.select(Event))] == ["accommodated"]


BROKEN_REVISION = '''
"""A migration that fails halfway."""

import sqlalchemy as sa
from alembic import op

revision = "{next}"
down_revision = "{latest}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create a table, then fail."""
    op.create_table("half_done", sa.Column("id", sa.Integer(), primary_key=True))
    op.add_column("child", sa.Column("nickname", sa.String(40)))
    raise RuntimeError("the migration failed halfway")


def downgrade() -> None:
    """Nothing to undo."""
'''


def copy_of_migrations(tmp_path):
    """Return a copy of the migration scripts that a test may add to."""
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_a_failing_migration_changes_nothing(engine, tmp_path):
    scripts = copy_of_migrations(tmp_path)
    broken = textwrap.dedent(BROKEN_REVISION).replace("{next}", NEXT).replace("{latest}", LATEST)
    (scripts / "versions" / f"{NEXT}_broken.py").write_text(broken)

    with pytest.raises(RuntimeError, match="failed halfway"):
        upgrade_to_head(engine, script_location=scripts)

    assert current_revision(engine) == LATEST
    assert not sa.inspect(engine).has_table("half_done")
    assert "nickname" not in {column["name"] for column in sa.inspect(engine).get_columns("child")}
    assert differences(engine) == []


def test_revision_writes_the_next_migration_for_a_new_model(tmp_path):
    scripts = copy_of_migrations(tmp_path)
    models = sa.MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(models)
    sa.Table("case_note", models, sa.Column("id", sa.Integer, primary_key=True), sa.Column("text", sa.Text))

    assert new_revision("nothing new", script_location=scripts) is None
    written = new_revision("Case notes", script_location=scripts, target_metadata=models)

    assert written.name == f"{NEXT}_case_notes.py"
    assert sorted(path.name for path in (scripts / "versions").glob("*.py")) == [*SCRIPTS, written.name]
    script = written.read_text()
    assert f'down_revision = "{LATEST}"' in script
    assert 'op.create_table(\n        "case_note"' in script
    engine = make_engine(f"sqlite:///{tmp_path / 'next.db'}")
    upgrade_to_head(engine, script_location=scripts)
    assert current_revision(engine) == NEXT
    assert differences(engine, models) == []
    engine.dispose()


def run_cli(*args: str, database_url: str) -> subprocess.CompletedProcess:
    """Run `python -m pace_dash ...` in its own process on a database."""
    return subprocess.run(
        [sys.executable, "-m", "pace_dash", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PACE_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_db_upgrade_on_the_command_line_creates_the_tables_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"

    assert run_cli("db", "current", database_url=url).returncode == 1
    first = run_cli("db", "upgrade", database_url=url)
    second = run_cli("db", "upgrade", database_url=url)
    current = run_cli("db", "current", database_url=url)

    assert first.returncode == 0, first.stderr
    assert first.stdout == f"Database upgraded from no revision to revision {LATEST}, the latest.\n"
    assert second.returncode == 0, second.stderr
    assert second.stdout == f"The database is already at the latest revision, {LATEST}.\n"
    assert (current.returncode, current.stdout) == (0, f"The database is at revision {LATEST}, the latest.\n")
    engine = make_engine(url)
    assert set(sa.inspect(engine).get_table_names()) == {*Base.metadata.tables, VERSION_TABLE}
    assert differences(engine) == []
    with Session(engine) as session:
        assert session.get(DataVersion, 1).version == 0
    engine.dispose()
