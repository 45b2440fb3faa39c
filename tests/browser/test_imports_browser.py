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


def test_a_file_over_the_size_limit_is_refused_in_the_browser_before_it_is_sent(
    dash_app, glm_browser, tmp_path
):
    from pace_dash.pages.imports import CHOOSE_FILE  # imported here: pages exist once the app does

    browser = glm_browser
    limit = dash_app.server.extensions[EXTENSION_KEY].settings.max_upload_bytes
    big = tmp_path / "too-big.csv"
    big.write_bytes(WIDE.read_bytes().ljust(limit + 1, b"\n"))
    browser.driver.get(f"{browser.server_url}/imports")
    browser.wait_for_element("#imports-authority", timeout=20)
    browser.select_dcc_dropdown("#imports-authority", value=f"{AUTHORITY_NAME} ({SAMPLE_AUTHORITY})")
    browser.find_element("#imports-upload input[type=file]").send_keys(str(big))

    browser.wait_for_contains_text("#imports-too-big", "The file is larger than the 10 MB limit.", timeout=30)
    # The server never saw the file: its own check would have said "files up to 10 MB can be imported".
    browser.wait_for_contains_text("#imports-preview", CHOOSE_FILE, timeout=10)
    assert "can be imported" not in browser.find_element("#imports-preview").text
    assert not browser.find_element("#imports-import").is_enabled()
    # A file within the limit afterwards is previewed as usual, and the warning goes.
    browser.find_element("#imports-upload input[type=file]").send_keys(str(WIDE))
    browser.wait_for_contains_text("#imports-verdict", "Ready to import.", timeout=20)
    until(lambda: not browser.find_elements("#imports-too-big"), timeout=10)
    assert browser.get_logs() == []
