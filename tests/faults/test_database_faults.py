"""A database that is down, lost, locked or failing: the user reads a plain message, and the app recovers.

The PostgreSQL tests put a tiny TCP proxy between the app and the database, and stop and start
it: new connections are refused and pooled ones cut, as when a database server goes away.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from benchmarks.cache import SignedInClient
from benchmarks.load import Browser, Result, User
from pace_dash.app import DATA_BUSY, prepare_database
from pace_dash.settings import PROJECT_ROOT, Settings
from pace_dash.store.db import drop_schema, make_engine
from pace_dash.store.schema import Annotation, TargetRule
from pace_dash.web import services
from tests.conftest import (
    ADMIN,
    SAMPLE_REFERENCE,
    TEST_PASSWORD,
    seed_accounts,
    seed_known_children,
    serving,
)
from tests.faults.proxy import TcpProxy

UNAVAILABLE = "The data is unavailable just now"
RECOVERY_S = 30  # how long a test waits for the app to notice the database is back


@pytest.fixture
def postgres():
    """Yield an engine on the test PostgreSQL database with no schema at all."""
    url = os.environ.get("PACE_TEST_DATABASE_URL", "")
    if not url:
        pytest.skip("PACE_TEST_DATABASE_URL is not set: PostgreSQL fault tests skipped")
    engine = make_engine(url)
    drop_schema(engine)
    yield engine
    drop_schema(engine)
    engine.dispose()


def through(proxy: TcpProxy, engine) -> str:
    """Return the engine's URL with the proxy in the way."""
    return engine.url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


def proxy_for(engine) -> TcpProxy:
    """Return a proxy to the engine's database server, not yet listening."""
    return TcpProxy((engine.url.host or "127.0.0.1", engine.url.port or 5432))


def health(address: str) -> int:
    """Return the health check's status code."""
    try:
        with urllib.request.urlopen(f"{address}/healthz", timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


def signed_in(address: str, results: list[Result]) -> Browser:
    """Return a browser of the test administrator, signed in, with the callbacks loaded."""
    browser = Browser(address, User(0, ADMIN, TEST_PASSWORD, "admin", ()), results.append)
    browser.sign_in()
    browser.start()
    return browser


def overview(browser: Browser) -> str:
    """Open the overview and return its content as JSON text."""
    browser.open_page("/", "overview")
    return json.dumps(browser.values.get(("home-content", "children")))


def test_a_database_down_at_start_up_gets_its_schema_and_rules_when_it_comes_back(postgres, tmp_path):
    proxy = proxy_for(postgres)
    with serving({"PACE_DATABASE_URL": through(proxy, postgres)}, tmp_path / "server.log") as address:
        assert health(address) == 503
        try:
            proxy.start()
            # The next requests (one try every 2 s at most) create what start-up could not.
            deadline = time.monotonic() + RECOVERY_S
            while not inspect(postgres).has_table("target_rule") and time.monotonic() < deadline:
                health(address)
                time.sleep(0.5)
            with Session(postgres) as session:
                assert session.scalar(select(func.count()).select_from(TargetRule)) > 0
            assert health(address) == 200
            seed_known_children(postgres)
            seed_accounts(postgres)
            results: list[Result] = []
            assert SAMPLE_REFERENCE in overview(signed_in(address, results))
            assert results
            assert not [result for result in results if result.error]
        finally:
            proxy.stop()


def test_a_database_lost_mid_session_says_so_then_works_again_without_a_restart(postgres, tmp_path):
    prepare_database(Settings(database_url=postgres.url.render_as_string(hide_password=False)))
    seed_known_children(postgres)
    seed_accounts(postgres)
    proxy = proxy_for(postgres)
    proxy.start()
    try:
        with serving({"PACE_DATABASE_URL": through(proxy, postgres)}, tmp_path / "server.log") as address:
            results: list[Result] = []
            browser = signed_in(address, results)
            assert SAMPLE_REFERENCE in overview(browser)
            assert not [result for result in results if result.error]

            proxy.stop()
            results.clear()
            overview(browser)
            assert results
            assert all(UNAVAILABLE in (result.error or "") for result in results)
            assert health(address) == 503

            proxy.start()
            results.clear()
            assert SAMPLE_REFERENCE in overview(browser)  # the same session, no restart
            assert not [result for result in results if result.error]
            assert health(address) == 200
        log = (tmp_path / "server.log").read_text()
        assert "Traceback" not in "".join(result.error or "" for result in results)
        assert "callback failed" in log or "database is unavailable" in log
    finally:
        proxy.stop()


def test_a_database_missing_at_start_up_is_created_with_its_schema_and_rules(tmp_path):
    path = tmp_path / "not-yet" / "pace.db"
    store = prepare_database(Settings(database_url=f"sqlite:///{path}"))
    assert path.exists()
    assert store.available()
    with Session(store.engine) as session:
        assert session.scalar(select(func.count()).select_from(TargetRule)) > 0


def _annotations(dash_app) -> int:
    with dash_app.server.app_context(), Session(services().store.engine) as session:
        return session.scalar(select(func.count()).select_from(Annotation))


def test_a_write_while_another_writer_holds_the_database_waits_then_says_it_is_busy(dash_app, caplog):
    client = SignedInClient(dash_app, ADMIN, TEST_PASSWORD)
    client.open_page("/qi")
    client.values.update(
        {
            ("qi-note-save", "n_clicks"): 1,
            ("qi-note-authority", "value"): "NTH",
            ("qi-note-date", "value"): "2024-05-01",
            ("qi-note-kind", "value"): "change",
            ("qi-note-text", "value"): "Legal gateway meetings weekly",
        }
    )
    before = _annotations(dash_app)
    holder = sqlite3.connect(
        client.app.server.extensions["pace_dash"].store.engine.url.database, isolation_level=None
    )
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with caplog.at_level(logging.ERROR):
            answer = client.post("qi-note-feedback.children", ["qi-note-save.n_clicks"])
        # Reading still works while the other writer holds the database (write-ahead log).
        read = client.post("qi-notes.children", [])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert DATA_BUSY in text
    assert "Traceback" not in text
    assert "database is locked" in caplog.text  # the details are in the log
    assert read.status_code == 200
    assert "shell-error-alert" not in read.get_data(as_text=True)
    assert _annotations(dash_app) == before

    # Once the other writer is done, the same save goes through.
    saved = client.post("qi-note-feedback.children", ["qi-note-save.n_clicks"])
    assert "shell-error-alert" not in saved.get_data(as_text=True)
    assert _annotations(dash_app) == before + 1


def test_an_import_from_the_command_line_while_the_database_is_held_says_so_in_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'pace.db'}"
    prepare_database(Settings(database_url=url))
    holder = sqlite3.connect(tmp_path / "pace.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "pace_dash", "import", "data/samples/wide.csv", "--authority", "GLM",
             "--authority-name", "Glenmorven Council", "--confirm"],
            cwd=PROJECT_ROOT,
            env={**os.environ, "PACE_DATABASE_URL": url, "PACE_TODAY": "2026-11-29"},
            capture_output=True,
            text=True,
            timeout=120,
        )  # fmt: skip
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert finished.returncode == 1
    assert (
        "The database is busy or not answering (database is locked); nothing was changed." in finished.stderr
    )
    assert "Traceback" not in finished.stderr


def test_a_callback_that_fails_shows_a_friendly_message_and_logs_the_details(dash_app, caplog):
    client = SignedInClient(dash_app, ADMIN, TEST_PASSWORD)
    client.open_page("/cohort")
    # A click whose row is not a number, as a tampered request could send: the callback raises.
    client.values[("cohort-timeline-graph", "clickData")] = {"points": [{"y": "not a number"}]}
    client.values[("cohort-row-ids", "data")] = [1]
    with caplog.at_level(logging.ERROR):
        answer = client.post("cohort-navigate.href", ["cohort-timeline-graph.clickData"])
    text = answer.get_data(as_text=True)
    assert "Something went wrong while updating this view" in text
    assert "Traceback" not in text
    failure = next(record for record in caplog.records if "callback failed" in record.getMessage())
    assert failure.exc_info is not None
    assert failure.exc_info[0] is TypeError
    reference = failure.getMessage().split("[reference ")[1].rstrip("]")
    assert f"under reference {reference}" in text
