"""Deny by default: every route of the app is classified, and each behaves as its class says."""

from __future__ import annotations

import re

import pytest

from pace_dash.security.access import (
    PUBLIC,
    PUBLIC_ENDPOINTS,
    REFUSED,
    REFUSED_ENDPOINTS,
    SIGNED_IN,
    SIGNED_IN_ENDPOINTS,
    route_access,
)
from pace_dash.security.guard import CALLBACK_PATH, SESSION_ENDED

# A value for each kind of path variable, so every route can be requested.
SAMPLE_VARIABLES = {
    "path": "cohort",
    "filename": "pace.css",
    "package_name": "dash",
    "fingerprinted_path": "x.js",
}


def app_rules(dash_app):
    """Return every rule of the app, after Dash has added the routes it adds on its first request."""
    dash_app.server.test_client().get("/login")
    return list(dash_app.server.url_map.iter_rules())


def sample_url(rule) -> str:
    """Return a URL that the rule matches."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda match: SAMPLE_VARIABLES[match.group(1)], rule.rule)


def test_every_route_of_the_app_is_classified(dash_app):
    classified = PUBLIC_ENDPOINTS | SIGNED_IN_ENDPOINTS | REFUSED_ENDPOINTS
    unclassified = sorted({rule.endpoint for rule in app_rules(dash_app)} - classified)
    assert unclassified == [], f"classify these routes in pace_dash/security/access.py: {unclassified}"


def test_a_route_nobody_classified_is_refused_to_everyone():
    assert route_access("a_route_added_tomorrow") == REFUSED
    assert route_access("health") == PUBLIC
    assert route_access("/_dash-update-component") == SIGNED_IN


def test_anonymous_requests_reach_only_the_public_routes(dash_app):
    client = dash_app.server.test_client()
    seen = set()
    for rule in app_rules(dash_app):
        method = "POST" if "POST" in rule.methods and "GET" not in rule.methods else "GET"
        response = client.open(sample_url(rule), method=method, json={} if method == "POST" else None)
        access = route_access(rule.endpoint)
        seen.add(access)
        if access == PUBLIC:
            assert response.status_code not in (302, 401, 403), rule.rule
        elif access == REFUSED:
            assert response.status_code == 404, rule.rule
        elif method == "GET" and rule.endpoint in ("/", "/<path:path>"):
            assert response.status_code == 302, rule.rule
            assert response.headers["Location"].startswith("/login?next=/"), rule.rule
        else:
            assert response.status_code == 401, rule.rule
            assert response.get_json()["message"] == SESSION_ENDED
    assert seen == {PUBLIC, SIGNED_IN, REFUSED}


@pytest.mark.parametrize("path", ["/login?next=https://evil.example/", "/login?next=//evil.example/x"])
def test_sign_in_never_sends_anyone_to_another_site(dash_app, path):
    page = dash_app.server.test_client().get(path)
    assert 'name="next" value="/"' in page.text


def test_callbacks_without_a_session_get_a_plain_refusal(dash_app):
    response = dash_app.server.test_client().post(CALLBACK_PATH, json={"output": "home-content.children"})
    assert response.status_code == 401
    assert "Traceback" not in response.text
