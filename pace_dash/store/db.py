"""Engine and session lifecycle, SQLite pragmas, and schema creation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, create_engine, event, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from pace_dash.store.migrations import drop_version_table, upgrade_to_head
from pace_dash.store.schema import Base, DataVersion, TargetRule

SQLITE_BUSY_TIMEOUT_MS = 5000
POSTGRESQL_CONNECT_TIMEOUT_S = 5


def make_engine(database_url: str) -> Engine:
    """Create the engine for a database URL, with SQLite pragmas or a pre-pinged pool.

    Error messages leave out the statement's parameters: they can hold names and dates of birth,
    and errors go to the log.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        # A host that does not answer must fail in seconds, so pages can say the data is unavailable.
        return create_engine(
            url,
            pool_pre_ping=True,
            hide_parameters=True,
            connect_args={"connect_timeout": POSTGRESQL_CONNECT_TIMEOUT_S},
        )
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, hide_parameters=True)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers work while one import writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS:d}")
    cursor.close()


def create_schema(engine: Engine) -> None:
    """Bring the schema to the latest migration, and create the data-version row."""
    upgrade_to_head(engine)
    with Session(engine) as session, session.begin():
        if session.get(DataVersion, 1) is None:
            session.add(DataVersion(id=1, version=0))


def drop_schema(engine: Engine) -> None:
    """Drop every table of the app, and Alembic's record of the revision."""
    Base.metadata.drop_all(engine)
    drop_version_table(engine)


def bump_data_version(session: Session) -> None:
    """Mark that the data changed, inside the writer's transaction."""
    session.execute(update(DataVersion).where(DataVersion.id == 1).values(version=DataVersion.version + 1))


def load_default_rules(session: Session, rules: pd.DataFrame) -> int:
    """Store the national default rules that are not in the database yet; return how many."""
    present = set(session.scalars(select(TargetRule.key).where(TargetRule.la_id.is_(None))))
    new_rows = [
        {
            **row,
            "la_id": None,
            "later_days": None if pd.isna(row["later_days"]) else int(row["later_days"]),
            "effective_from": None if pd.isna(row["effective_from"]) else row["effective_from"].date(),
        }
        for row in rules.to_dict("records")
        if row["key"] not in present
    ]
    if new_rows:
        session.execute(insert(TargetRule), new_rows)
        bump_data_version(session)
    return len(new_rows)
