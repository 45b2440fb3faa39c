"""A database that does not answer: the user reads a plain message, never a traceback."""

from __future__ import annotations

import pytest

from tests.conftest import serving
from tests.pages.test_health import UNREACHABLE

pytestmark = pytest.mark.browser


def test_sign_in_page_says_the_data_is_unavailable(dash_br, tmp_path):
    with serving({"PACE_DATABASE_URL": UNREACHABLE}, tmp_path / "server.log") as address:
        dash_br.driver.get(f"{address}/")
        dash_br.wait_for_contains_text("#sign-in-message", "The data is unavailable just now", timeout=30)
        assert dash_br.driver.current_url == f"{address}/login?next=/"
        assert "Traceback" not in dash_br.driver.page_source
