"""End to end in headless Chromium: an analyst uploads a tracker, previews it, imports it."""

from __future__ import annotations

import pytest
from dash.testing.wait import until

from pace_dash.settings import PROJECT_ROOT
from pace_dash.web import EXTENSION_KEY
from tests.pages.test_imports import AUTHORITY_NAME, SAMPLE_AUTHORITY, temporary_authority

pytestmark = pytest.mark.browser

WIDE = PROJECT_ROOT / "data" / "samples" / "wide.csv"
SCROLL_TO = "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});"


@pytest.fixture
def glm_browser(dash_app, browser):
    """Serve the session's app with the samples' authority stored for this test only."""
    with temporary_authority(dash_app.server.extensions[EXTENSION_KEY].store.engine):
        yield browser


def test_uploading_previewing_and_importing_a_tracker(glm_browser):
    browser = glm_browser
    browser.driver.get(f"{browser.server_url}/imports")
    browser.wait_for_element("#imports-authority", timeout=20)
    browser.select_dcc_dropdown("#imports-authority", value=f"{AUTHORITY_NAME} ({SAMPLE_AUTHORITY})")
    browser.find_element("#imports-upload input[type=file]").send_keys(str(WIDE))

    browser.wait_for_contains_text("#imports-verdict", "Ready to import.", timeout=20)
    assert "40" in browser.find_element("#imports-counts").text
    button = browser.find_element("#imports-import")
    until(lambda: button.is_enabled(), timeout=10)
    browser.driver.execute_script(SCROLL_TO, button)
    button.click()

    browser.wait_for_contains_text("#imports-outcome", "Imported: 6 new children, 40 new events.", timeout=20)
    browser.wait_for_contains_text("#imports-history", "wide.csv", timeout=20)
    assert browser.get_logs() == []
