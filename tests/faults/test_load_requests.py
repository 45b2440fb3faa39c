"""The load test's requests are the ones the Dash renderer sends, and its leak check finds leaks."""

from __future__ import annotations

from benchmarks.cache import SignedInClient
from benchmarks.load import Browser, User, callback_body
from tests.conftest import ADMIN, TEST_PASSWORD

# What Chromium sent for the share link when the cohort explorer opened (recorded through a hook on
# the server): every input of the callback, in the order of its dependency, with the page's values.
RECORDED_SHARE_LINK = {
    "output": "cohort-share-link.href",
    "outputs": {"id": "cohort-share-link", "property": "href"},
    "inputs": [
        {"id": "cohort-filter-authority", "property": "value", "value": []},
        {"id": "cohort-filter-accommodated", "property": "start_date", "value": None},
        {"id": "cohort-filter-accommodated", "property": "end_date", "value": None},
        {"id": "cohort-filter-age", "property": "value", "value": []},
        {"id": "cohort-filter-route", "property": "value", "value": []},
        {"id": "cohort-filter-stage", "property": "value", "value": []},
        {"id": "cohort-filter-state", "property": "value", "value": "all"},
        {"id": "cohort-filter-placement", "property": "value", "value": []},
        {"id": "cohort-filter-overdue", "property": "value", "value": None},
        {"id": "cohort-align", "property": "value", "value": "accommodated"},
        {"id": "cohort-sort", "property": "value", "value": "recommendation"},
        {"id": "cohort-group", "property": "value", "value": "authority"},
        {"id": "cohort-rule", "property": "value", "value": "permanence_recommendation"},
        {"id": "cohort-tabs", "property": "active_tab", "value": "timeline"},
        {"id": "cohort-compare-a-authority", "property": "value", "value": None},
        {"id": "cohort-compare-a-years", "property": "value", "value": [2014, 2026]},
        {"id": "cohort-compare-b-authority", "property": "value", "value": None},
        {"id": "cohort-compare-b-years", "property": "value", "value": [2014, 2026]},
    ],
    "changedPropIds": [],
    "parsedChangedPropsIds": [],
}
RECORDED_MULTI_OUTPUTS = [
    {"id": "cohort-timeline-graph", "property": "figure"},
    {"id": "cohort-timeline-note", "property": "children"},
    {"id": "cohort-row-list", "property": "children"},
    {"id": "cohort-row-ids", "property": "data"},
    {"id": "cohort-count", "property": "children"},
]


def test_a_callback_body_is_built_as_the_renderer_builds_it(dash_app):
    client = SignedInClient(dash_app, ADMIN, TEST_PASSWORD)
    client.open_page("/cohort")
    body = callback_body(client.dependency("cohort-share-link.href"), client.values, [])
    # The year sliders end at the app's today; everything else is what the browser sent.
    years = [item["value"] for item in body["inputs"] if item["id"].endswith("-years")]
    recorded = {
        **RECORDED_SHARE_LINK,
        "inputs": [
            {**item, "value": years[0]} if item["id"].endswith("-years") else item
            for item in RECORDED_SHARE_LINK["inputs"]
        ],
    }
    assert {key: value for key, value in body.items() if key != "state"} == recorded
    assert body["state"] == []
    timeline = callback_body(client.dependency("cohort-timeline-graph.figure"), client.values, [])
    assert timeline["outputs"] == RECORDED_MULTI_OUTPUTS
    assert client.post("cohort-share-link.href", []).status_code == 200


def test_the_leak_check_finds_another_authoritys_reference_and_only_that():
    browser = Browser("http://127.0.0.1:1", User(0, "viewer", "", "viewer", ("GLM",)), lambda result: None)
    assert browser._leak('{"children": "GLM-00001 and STC-00007"}') == "STC-00007"
    assert browser._leak('{"children": "GLM-00001"}') is None
    assert browser._leak('"placeholder": "Child reference, e.g. STC-00012"') is None
    browser.values[("_pages_location", "pathname")] = "/child/LAR-00003"
    assert browser._leak("No child with reference LAR-00003") is None  # the user's own words
    assert browser._leak("No child with reference LAR-00004") == "LAR-00004"
