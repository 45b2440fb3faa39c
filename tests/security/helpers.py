"""Signing in through the real form with Flask's test client, as a browser would."""

from __future__ import annotations

import json
import re

from pace_dash.security.guard import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from tests.conftest import TEST_PASSWORD

HOME_CALLBACK = {
    "output": "home-content.children",
    "outputs": {"id": "home-content", "property": "children"},
    "inputs": [{"id": "shell-url", "property": "pathname", "value": "/"}],
    "changedPropIds": [],
    "state": [],
}


def form_token(client) -> str:
    """Open the sign-in page and return the CSRF token of its form."""
    page = client.get("/login")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def sign_in(client, username: str, password: str = TEST_PASSWORD, address: str = "127.0.0.1"):
    """Post the sign-in form from an address and return the response."""
    token = form_token(client)
    return client.post(
        "/login",
        data={"csrf_token": token, "username": username, "password": password, "next": "/"},
        environ_base={"REMOTE_ADDR": address},
    )


def callback(client, body: dict = HOME_CALLBACK, **kwargs):
    """Post a callback with the CSRF header Dash's renderer sends."""
    cookie = client.get_cookie(CSRF_COOKIE)
    headers = {CSRF_HEADER: cookie.value} if cookie else {}
    return client.post("/_dash-update-component", json=body, headers=headers, **kwargs)


def dependencies(client) -> list[dict]:
    """Return the callbacks the app declares to the browser (the renderer's own list)."""
    return client.get("/_dash-dependencies").get_json()


def outputs_of(spec: dict):
    """Return the `outputs` field of a callback request for a declared callback."""
    parsed = [
        {"id": _parse_id(part.rsplit(".", 1)[0]), "property": part.rsplit(".", 1)[1].split("@")[0]}
        for part in (
            spec["output"].strip(".").split("...") if spec["output"].startswith("..") else [spec["output"]]
        )
    ]
    return parsed if spec["output"].startswith("..") else parsed[0]


def _parse_id(raw: str):
    return json.loads(raw) if raw.startswith("{") else raw


def request_body(spec: dict, value_for) -> dict:
    """Build a request for a declared callback, each value chosen by value_for(id, property)."""

    def filled(items):
        return [{**item, "value": value_for(item["id"], item["property"])} for item in items]

    inputs = filled(spec["inputs"])
    return {
        "output": spec["output"],
        "outputs": outputs_of(spec),
        "inputs": inputs,
        "state": filled(spec["state"]),
        "changedPropIds": [f"{item['id']}.{item['property']}" for item in inputs[:1]],
    }


def session_cookie(client):
    """Return the session cookie the client holds, or None."""
    return client.get_cookie(SESSION_COOKIE)
