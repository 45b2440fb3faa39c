"""Browser fixtures: a desktop-sized headless Chromium window."""

from __future__ import annotations

import pytest


@pytest.fixture
def browser(dash_duo, dash_app):
    """Serve the session's app and return dash_duo with a window the size of a laptop screen."""
    dash_duo.driver.set_window_size(1400, 1000)
    dash_duo.start_server(dash_app)
    return dash_duo
