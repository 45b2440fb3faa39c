"""Browser fixtures: the session's app on a free loopback port, in a desktop-sized window."""

from __future__ import annotations

import pytest

from tests.conftest import free_port


@pytest.fixture
def browser(dash_duo, dash_app):
    """Serve the session's app and return dash_duo with a window the size of a laptop screen."""
    dash_duo.driver.set_window_size(1400, 1000)
    dash_duo.start_server(dash_app, port=free_port())
    return dash_duo
