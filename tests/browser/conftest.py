"""Browser fixtures: the session's app on a free loopback port, in a desktop-sized window."""

from __future__ import annotations

import socket

import pytest


def free_port() -> int:
    """Return a loopback port nothing listens on, so parallel test runs never collide."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def browser(dash_duo, dash_app):
    """Serve the session's app and return dash_duo with a window the size of a laptop screen."""
    dash_duo.driver.set_window_size(1400, 1000)
    dash_duo.start_server(dash_app, port=free_port())
    return dash_duo
