"""Names and dates of birth never sit in what browsers keep: stores, URLs and the initial layout."""

from __future__ import annotations

import json

import pytest

from pace_dash.store.scope import Scope
from pace_dash.web import EXTENSION_KEY
from tests.conftest import ADMIN, SAMPLE_NAME, SAMPLE_REFERENCE
from tests.security.helpers import callback, dependencies, request_body, sign_in

# The sample child's name and birth date (1 June 2021) in every form a page could write them.
PERSONAL = (SAMPLE_NAME, "Skye", "2021-06-01", "1 Jun 2021", "01/06/2021", "1 June 2021")
PAGES = ("/", f"/child/{SAMPLE_REFERENCE}", "/cohort", "/watchlist", "/qi", "/imports", "/admin/audit")
ROUTER = ".._pages_content.children..._pages_store.data.."
KEPT_PROPERTIES = {"href", "pathname", "search", "data"}


@pytest.fixture
def admin_client(dash_app):
    """Return a test client signed in as the administrator, who may see names."""
    client = dash_app.server.test_client()
    assert sign_in(client, ADMIN, address="10.99.0.1").status_code == 302
    return client


def found(text: str) -> list[str]:
    """Return the personal details present in a text."""
    return [secret for secret in PERSONAL if secret in text]


def components(tree):
    """Yield every component (as JSON) inside a layout or callback response."""
    if isinstance(tree, dict):
        if "type" in tree and "props" in tree:
            yield tree
        for value in tree.values():
            yield from components(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from components(value)


def page_content(client, spec: dict, path: str) -> dict:
    """Return the router's answer for a page, as the browser receives it."""
    values = {"pathname": path, "search": ""}
    response = callback(client, request_body(spec, lambda _id, prop: values.get(prop)))
    assert response.status_code == 200, path
    return response.get_json()


def test_pages_and_the_initial_layout_carry_no_name_or_birth_date(admin_client):
    for path in PAGES:
        assert found(admin_client.get(path).text) == [], path  # the HTML, with Dash's validation layout
    assert found(admin_client.get("/_dash-layout").text) == []


def test_stores_and_links_of_every_page_carry_no_name_or_birth_date(admin_client):
    router = next(spec for spec in dependencies(admin_client) if spec["output"] == ROUTER)
    child_page = page_content(admin_client, router, f"/child/{SAMPLE_REFERENCE}")
    assert found(json.dumps(child_page)), "the child's own page should show the name: the check must see it"
    for path in PAGES:
        content = page_content(admin_client, router, path)
        for component in components(content):
            props = component["props"]
            if component["type"] == "Store":
                assert found(json.dumps(props.get("data"))) == [], (path, props.get("id"))
            for name in ("href", "pathname", "search"):
                assert found(str(props.get(name, ""))) == [], (path, props.get("id"), name)


def test_callback_answers_write_no_name_or_birth_date_to_stores_or_urls(admin_client, dash_app):
    store = dash_app.server.extensions[EXTENSION_KEY].store
    child_id = int(store.find_children(Scope.everything(), SAMPLE_REFERENCE)["child_id"].iloc[0])
    values = {
        "pathname": f"/child/{SAMPLE_REFERENCE}",
        "href": f"http://localhost/child/{SAMPLE_REFERENCE}",
        "data": child_id,
        "value": "NTH",
        "n_clicks": 1,
        "n_submit": 1,
        "clickData": {"points": [{"customdata": [child_id], "pointIndex": 0, "curveNumber": 0}]},
    }
    answered = 0
    for spec in dependencies(admin_client):
        if spec.get("clientside_function"):
            continue
        response = callback(admin_client, request_body(spec, lambda _id, prop: values.get(prop)))
        if response.status_code != 200 or not response.is_json:
            continue
        answered += 1
        for component_id, props in response.get_json().get("response", {}).items():
            for name, value in props.items():
                if name in KEPT_PROPERTIES:
                    assert found(json.dumps(value)) == [], (spec["output"], component_id, name)
    assert answered >= 10
