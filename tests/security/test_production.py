"""Production guard, errors shown by reference, and logs that never hold names or dates of birth."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import subprocess
import sys

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pace_dash.settings import PROJECT_ROOT, load_settings
from pace_dash.store.schema import Child, LocalAuthority
from tests.conftest import NORTH_MANAGER, SAMPLE_NAME, SAMPLE_REFERENCE
from tests.security.helpers import callback, dependencies, request_body, sign_in

STRONG_KEY = "k" * 8 + "9f3b1c7e2a4d6f8091b3c5e7a9d1f3b5"


def start_in_production(tmp_path, **environment) -> subprocess.CompletedProcess:
    """Try to serve in production mode with some settings; return the finished process."""
    settings = {
        **os.environ,
        "PACE_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "PACE_PRODUCTION": "true",
        "PACE_PORT": "1",  # never reached: the guard stops it before serving
        **environment,
    }
    return subprocess.run(
        [sys.executable, "-m", "pace_dash", "serve"],
        cwd=PROJECT_ROOT,
        env=settings,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("environment", "problem"),
    [
        ({"PACE_DEBUG": "true", "PACE_SECRET_KEY": STRONG_KEY}, "PACE_DEBUG is on"),
        ({"PACE_SECRET_KEY": ""}, "PACE_SECRET_KEY is not set"),
        ({"PACE_SECRET_KEY": "too-short"}, "PACE_SECRET_KEY is not set"),
    ],
)
def test_production_refuses_to_start_unsafe_in_one_line(tmp_path, environment, problem):
    finished = start_in_production(tmp_path, **environment)
    assert finished.returncode != 0
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.stderr
    assert lines[0].startswith("Refusing to start in production:")
    assert problem in lines[0]


def test_production_settings_with_a_strong_key_and_no_debug_have_no_problems():
    settings = load_settings({"PACE_PRODUCTION": "true", "PACE_SECRET_KEY": STRONG_KEY})
    assert settings.production_problems() == []
    assert load_settings({"PACE_PRODUCTION": "false", "PACE_DEBUG": "true"}).production_problems() == []


def test_a_failing_callback_shows_a_reference_and_logs_the_details_under_it(dash_app, caplog):
    client = dash_app.server.test_client()
    sign_in(client, NORTH_MANAGER, address="10.66.0.1")
    export = next(spec for spec in dependencies(client) if spec["output"] == "watch-download.data")
    # A forged request: a number where the page sends lists makes the export fail inside.
    body = request_body(export, lambda _id, prop: 1 if prop in ("n_clicks", "value") else None)
    with caplog.at_level(logging.ERROR):
        answer = callback(client, body)
    message = answer.get_json()["sideUpdate"]["shell-error-alert"]["children"]
    reference = re.search(r"reference ([0-9A-F]{8})", message).group(1)
    assert "Traceback" not in answer.text
    logged = [record for record in caplog.records if reference in record.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info is not None  # the traceback is in the log, under the reference


def test_logs_hold_no_names_or_birth_dates_while_children_are_viewed(dash_app, caplog):
    client = dash_app.server.test_client()
    with caplog.at_level(logging.DEBUG):
        sign_in(client, NORTH_MANAGER, address="10.66.0.2")
        router = next(spec for spec in dependencies(client) if spec["output"].startswith(".._pages_content"))
        for path in (f"/child/{SAMPLE_REFERENCE}", "/watchlist", "/"):
            values = {"pathname": path, "search": ""}
            callback(client, request_body(router, lambda _id, prop, values=values: values.get(prop)))
    assert caplog.records, "nothing was logged: the check would prove nothing"
    assert SAMPLE_NAME not in caplog.text
    assert "2021-06-01" not in caplog.text


def test_database_errors_leave_the_values_out_of_their_message(sqlite_engine):
    with Session(sqlite_engine) as session, session.begin():
        authority = LocalAuthority(code="LOG", name="Logging Council (fictional)")
        session.add(authority)
        session.flush()
        la_id = authority.id
    twins = [
        Child(la_id=la_id, reference="LOG-1", name="Secret Name", date_of_birth=dt.date(2019, 4, 5))
        for _ in range(2)
    ]
    with pytest.raises(IntegrityError) as failure, Session(sqlite_engine) as session, session.begin():
        session.add_all(twins)
    assert "Secret Name" not in str(failure.value)
    assert "2019-04-05" not in str(failure.value)


def test_a_cache_directory_others_can_write_to_stops_the_start(tmp_path):
    shared = tmp_path / "cache"
    shared.mkdir()
    shared.chmod(0o777)
    finished = start_in_production(tmp_path, PACE_PRODUCTION="false", PACE_CACHE_DIR=str(shared))
    assert finished.returncode != 0
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.stderr
    assert lines[0].startswith(f"Refusing to start: the cache directory {shared} must belong to this user")
    assert lines[0].endswith(f"(chmod 700 {shared}).")
