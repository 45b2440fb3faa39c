"""Browser fixtures: the session's app on a free loopback port, in a desktop-sized window, signed in."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN, TEST_PASSWORD, free_port


def sign_in(browser, address: str, username: str = ADMIN, password: str = TEST_PASSWORD) -> None:
    """Sign in through the sign-in form, as a person would."""
    browser.driver.get(f"{address}/login")
    browser.wait_for_element("#sign-in-form", timeout=20)
    browser.find_element("#username").send_keys(username)
    browser.find_element("#password").send_keys(password)
    browser.find_element("#sign-in-button").click()


@pytest.fixture
def browser(dash_duo, dash_app):
    """Serve the session's app, sign in as the administrator and return dash_duo at the overview."""
    dash_duo.driver.set_window_size(1400, 1000)
    dash_duo.start_server(dash_app, port=free_port(), navigate=False)
    sign_in(dash_duo, dash_duo.server.url)
    dash_duo.server_url = dash_duo.server.url  # opens the overview and waits for Dash to load
    return dash_duo
