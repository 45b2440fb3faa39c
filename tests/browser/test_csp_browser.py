"""Every page works in headless Chromium under the app's Content-Security-Policy, with no console errors."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.keys import Keys

from tests.conftest import SAMPLE_REFERENCE

pytestmark = pytest.mark.browser

# Each page and an element that shows it has drawn its data.
PAGES = {
    "/": "#most-overdue a",
    f"/child/{SAMPLE_REFERENCE}": "#child-timeline-graph .main-svg",
    "/cohort": "#cohort-timeline-graph .gl-container canvas",
    "/watchlist": "#watch-grid .ag-row",
    "/qi": "#qi-graph .main-svg",
    "/imports": "#imports-history",
    "/admin/audit": "#audit-grid",
}


def test_every_page_draws_under_the_csp_without_console_errors(browser):
    policy = browser.driver.execute_script(
        "return fetch('/').then(r => r.headers.get('Content-Security-Policy'))"
    )
    assert "script-src 'self'" in policy
    scripts = policy.split("script-src")[1].split(";")[0]
    assert "'unsafe-inline'" not in scripts
    for path, drawn in PAGES.items():
        browser.driver.get(f"{browser.server_url}{path}")
        browser.wait_for_element(drawn, timeout=30)
        assert browser.get_logs() == [], path
        # Plotly says WebGL is unsupported when regl cannot compile under the policy: not an error.
        assert "WebGL is not supported" not in browser.find_element("body").text, path
    browser.driver.get(f"{browser.server_url}/cohort")
    browser.wait_for_element("#cohort-timeline-graph .gl-container canvas", timeout=30)


def test_a_page_whose_session_ended_goes_to_sign_in_and_back(browser):
    browser.driver.get(f"{browser.server_url}/watchlist")
    browser.wait_for_element("#watch-grid .ag-row", timeout=30)
    browser.driver.delete_cookie("pace_session")  # as if it had timed out on the server
    browser.find_element("#watch-within").send_keys("0", Keys.ENTER)  # any change runs a callback
    browser.wait_for_element("#sign-in-form", timeout=30)
    assert browser.driver.current_url.endswith("/login?next=%2Fwatchlist")
