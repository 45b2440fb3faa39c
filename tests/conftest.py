"""Shared fixtures: real databases (a SQLite file, and PostgreSQL when PACE_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import flask
import plotly.graph_objects as go
import pytest
from sqlalchemy.orm import Session

from pace_dash.app import create_app
from pace_dash.domain.rules import load_rules_file
from pace_dash.figures.export import ImageExporter, figure_image
from pace_dash.security.access import SignedInUser
from pace_dash.security.guard import CALLBACK_PATH, USER_KEY
from pace_dash.security.passwords import hash_password
from pace_dash.settings import PROJECT_ROOT, TARGETS_FILE, Settings
from pace_dash.store.accounts import Accounts
from pace_dash.store.db import bump_data_version, create_schema, drop_schema, load_default_rules, make_engine
from pace_dash.store.schema import Child, Event, LocalAuthority, Period
from pace_dash.web import EXTENSION_KEY, services

# Every test that needs a date uses the sample's TODAY, so known answers stay known.
from tests.figures.sample import EVENT_ROWS, PERIOD_ROWS, TODAY

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


# The children the page and browser tests know by heart (see tests/figures/sample.py).
SAMPLE_REFERENCE = "NTH-0001"  # overdue on four rules, see EXPECTED_OVERDUE
EMPTY_REFERENCE = "NTH-0002"  # no events or periods
ON_TRACK_REFERENCE = "NTH-0003"  # accommodated recently, nothing due yet
OTHER_AUTHORITY_REFERENCE = "STH-0001"  # 10 days overdue on the first review
SAMPLE_NAME = "Skye Fictional"

# The accounts of the page and browser tests, all with one password.
ADMIN = "test-admin"  # every authority
NORTH_VIEWER = "north-viewer"  # Northshire only, no exports
NORTH_MANAGER = "north-manager"  # Northshire only, with cohorts, run charts and exports
TEST_PASSWORD = "purple tractor under the bridge"


def seed_accounts(engine) -> None:
    """Create the test accounts (one Argon2id hash, made once, serves all three)."""
    accounts = Accounts(engine)
    password_hash = hash_password(TEST_PASSWORD, ADMIN)
    accounts.create_user(ADMIN, password_hash, "admin", [])
    accounts.create_user(NORTH_VIEWER, password_hash, "viewer", ["NTH"])
    accounts.create_user(NORTH_MANAGER, password_hash, "manager", ["NTH"])


def known_children_database(url: str):
    """Create a database at url holding the default rules, the known children and the test accounts."""
    engine = make_engine(url)
    create_schema(engine)
    with Session(engine) as session, session.begin():
        load_default_rules(session, load_rules_file(TARGETS_FILE))
    seed_known_children(engine)
    seed_accounts(engine)
    return engine


@contextlib.contextmanager
def request_as(app, username: str = ADMIN):
    """Run a block inside a callback request of a signed-in user, as Dash runs a callback."""
    with app.server.test_request_context(CALLBACK_PATH, method="POST"):
        account = services().accounts.account(username)
        setattr(flask.g, USER_KEY, SignedInUser.of(account, session_id=0, csrf_token="not-checked-here"))
        yield app


def seed_known_children(engine) -> None:
    """Store two authorities and the known children of the page and browser tests."""

    with Session(engine) as session, session.begin():
        north = LocalAuthority(code="NTH", name="Northshire Council (fictional)")
        south = LocalAuthority(code="STH", name="Southvale Council (fictional)")
        session.add_all([north, south])
        session.flush()
        sample = Child(
            la_id=north.id, reference=SAMPLE_REFERENCE, name=SAMPLE_NAME, date_of_birth=dt.date(2021, 6, 1)
        )
        empty = Child(la_id=north.id, reference=EMPTY_REFERENCE, date_of_birth=dt.date(2020, 1, 1))
        on_track = Child(la_id=north.id, reference=ON_TRACK_REFERENCE, date_of_birth=dt.date(2022, 3, 3))
        other = Child(la_id=south.id, reference=OTHER_AUTHORITY_REFERENCE, date_of_birth=dt.date(2019, 9, 9))
        session.add_all([sample, empty, on_track, other])
        session.flush()
        for code, day, attribute in EVENT_ROWS:
            session.add(
                Event(child_id=sample.id, code=code, on_date=dt.date.fromisoformat(day), attribute=attribute)
            )
        for lane, category, start, end in PERIOD_ROWS:
            session.add(
                Period(
                    child_id=sample.id,
                    lane=lane,
                    category=category,
                    start_date=dt.date.fromisoformat(start),
                    end_date=dt.date.fromisoformat(end) if end else None,
                )
            )
        session.add(Event(child_id=on_track.id, code="accommodated", on_date=TODAY - dt.timedelta(days=10)))
        # Accommodated 52 days ago with no review: 10 days past the 42-day first-review target.
        session.add(Event(child_id=other.id, code="accommodated", on_date=TODAY - dt.timedelta(days=52)))
        bump_data_version(session)


@pytest.fixture(scope="session")
def image_exporter():
    """Yield one kept-running export browser for the test session."""
    exporter = ImageExporter()
    yield exporter
    exporter.close()


@pytest.fixture(scope="session")
def dash_app(tmp_path_factory):
    """Build the one app of the test session on a SQLite file holding the known children."""

    settings = Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('app') / 'app.db'}", today=TODAY)
    app = create_app(settings)
    seed_known_children(make_engine(settings.database_url))
    seed_accounts(make_engine(settings.database_url))
    # dash_duo stops its server by killing every thread started after the server, which would
    # take the export browser's threads with it: start them first, so they serve every test.
    figure_image(go.Figure(), "png", 10, exporter=app.server.extensions[EXTENSION_KEY].exporter)
    return app


def free_port() -> int:
    """Return a loopback port nothing listens on, so parallel test runs never collide."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving(environment: dict[str, str], log: Path):
    """Run `python -m pace_dash serve` in its own process (so its own app) and yield its address."""
    port = free_port()
    settings = {**os.environ, "PACE_PORT": str(port), "PACE_TODAY": TODAY.isoformat(), **environment}
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "pace_dash", "serve"],
            cwd=PROJECT_ROOT,
            env=settings,
            stdout=output,
            stderr=output,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail(f"the server did not start: {log.read_text()[-2000:]}")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)
