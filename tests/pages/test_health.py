"""Health and a database that is not there: the app starts, says so, and never shows a traceback."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from pace_dash.store.db import make_engine
from pace_dash.store.queries import Store
from tests.conftest import serving

# Nothing listens on port 1: connections are refused at once.
UNREACHABLE = "postgresql+psycopg://nobody:nothing@127.0.0.1:1/nowhere"


def test_health_reports_the_data_version_while_the_database_answers(dash_app):
    response = dash_app.server.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"
    assert response.get_json()["data_version"] >= 1


def test_store_says_whether_its_database_answers(sqlite_engine):
    assert Store(sqlite_engine).available()
    assert not Store(make_engine(UNREACHABLE)).available()


def test_app_starts_without_its_database_and_says_the_data_is_unavailable(tmp_path):
    with serving({"PACE_DATABASE_URL": UNREACHABLE}, tmp_path / "server.log") as address:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{address}/healthz", timeout=10)
        assert refused.value.code == 503
        assert b'"unavailable"' in refused.value.read()
        # Signed out, "/" leads to the sign-in page, which says why no one can sign in just now.
        with pytest.raises(urllib.error.HTTPError) as page:
            urllib.request.urlopen(f"{address}/", timeout=10)
        assert page.value.code == 503
        assert page.value.url.endswith("/login?next=/")
        body = page.value.read().decode()
    assert "Traceback" not in body
    assert "The data is unavailable just now" in body
