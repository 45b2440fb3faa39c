"""Shared fixtures: real databases (a SQLite file, and PostgreSQL when PACE_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from sqlalchemy.orm import Session

from pace_dash.domain.rules import load_rules_file
from pace_dash.settings import TARGETS_FILE
from pace_dash.store.db import create_schema, drop_schema, load_default_rules, make_engine

# Every test that needs a date uses this one, so known answers stay known.
TODAY = dt.date(2026, 11, 29)

BACKENDS = ["sqlite", "postgresql"]


def _backend_url(backend: str, tmp_path_factory) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    url = os.environ.get("PACE_TEST_DATABASE_URL", "")
    if not url:
        pytest.skip("PACE_TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    return url


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path_factory):
    """Yield an engine on an empty schema with the default rules, on each real backend."""
    engine = make_engine(_backend_url(request.param, tmp_path_factory))
    drop_schema(engine)
    create_schema(engine)
    with Session(engine) as session, session.begin():
        load_default_rules(session, load_rules_file(TARGETS_FILE))
    yield engine
    drop_schema(engine)
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path):
    """Yield an engine on an empty SQLite file with the default rules."""
    engine = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    create_schema(engine)
    with Session(engine) as session, session.begin():
        load_default_rules(session, load_rules_file(TARGETS_FILE))
    yield engine
    engine.dispose()
