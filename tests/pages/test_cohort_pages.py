"""Cohort explorer and drift watch list callbacks, called as functions on the known children."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest
from dash.exceptions import PreventUpdate

from pace_dash.figures.cohort_timeline import ROW_TRACE
from pace_dash.store.scope import Scope
from pace_dash.web import services
from tests.conftest import (
    ON_TRACK_REFERENCE,
    OTHER_AUTHORITY_REFERENCE,
    SAMPLE_NAME,
    SAMPLE_REFERENCE,
    TODAY,
    request_as,
)
from tests.pages.test_pages import find, text_of

NO_FILTER = {
    "authorities": [], "accommodated_from": None, "accommodated_to": None, "age_bands": [], "routes": [],
    "stages": [], "state": "all", "placements": [], "overdue_rule": None,
}  # fmt: skip
EVERY_YEAR = {
    "a": {"authority": None, "years": [2014, 2026]},
    "b": {"authority": None, "years": [2014, 2026]},
}


@pytest.fixture
def request_context(dash_app):
    """Run the test inside a request to the session's app, as a callback runs."""
    with request_as(dash_app):
        yield dash_app


def _timeline(filters=NO_FILTER, sort="recommendation", group="none"):
    from pace_dash.pages import cohort

    return cohort.show_timeline(filters, "accommodated", sort, group, "permanence_recommendation", "timeline")


def test_the_timeline_has_one_row_per_accommodated_child(request_context):
    figure, _note, _links, _row_ids, count = _timeline()
    markers = next(trace for trace in figure.data if trace.name == ROW_TRACE)
    # The child with no events has no journey; NTH-0001 (recommended) sorts first, then the
    # waiting by longest wait: STH-0001 (52 days), NTH-0003 (10 days).
    assert list(markers.text) == [SAMPLE_REFERENCE, OTHER_AUTHORITY_REFERENCE, ON_TRACK_REFERENCE]
    assert count == "3 children"
    assert SAMPLE_NAME not in str(figure.to_plotly_json())


def test_filtering_by_authority_keeps_only_its_children(request_context):
    figure, _note, links, _row_ids, count = _timeline({**NO_FILTER, "authorities": ["STH"]})
    assert count == "1 child"
    assert list(next(trace for trace in figure.data if trace.name == ROW_TRACE).text) == [
        OTHER_AUTHORITY_REFERENCE
    ]
    assert f"/child/{OTHER_AUTHORITY_REFERENCE}" in text_of(links[0])


def test_an_empty_cohort_says_so(request_context):
    _figure, note, _links, _row_ids, count = _timeline({**NO_FILTER, "state": "ceased"})
    assert count == "0 children"
    assert "No children match" in note


def test_clicking_a_row_opens_that_childs_timeline(request_context):
    from pace_dash.pages import cohort

    _figure, _note, _links, row_ids, _count = _timeline(group="authority")
    # Grouped by authority: NTH's header (row 0), its two children, STH's header (row 3), STH-0001.
    assert row_ids[0] is None
    assert row_ids[3] is None
    assert cohort.open_clicked_child({"points": [{"curveNumber": 0, "y": 4}]}, row_ids) == (
        f"/child/{OTHER_AUTHORITY_REFERENCE}"
    )
    # An overdue mark sits 0.3 below its row and opens the same child.
    assert cohort.open_clicked_child({"points": [{"y": 1.3}]}, row_ids) == f"/child/{SAMPLE_REFERENCE}"
    for header_or_outside in (0, 3, 99, -1):
        with pytest.raises(PreventUpdate):
            cohort.open_clicked_child({"points": [{"y": header_or_outside}]}, row_ids)


def test_summaries_report_the_recommendation_rule(request_context):
    from pace_dash.pages import cohort

    table, survival, _durations = cohort.show_summaries(
        NO_FILTER, "accommodated", "recommendation", "authority", "permanence_recommendation", "summaries"
    )
    rule_table = find(table, "cohort-rule-table")
    text = text_of(rule_table)
    # The sample child was recommended 61 days late; the other two are not yet due: 0% (0 of 1).
    assert "0% (0)" in text
    assert {trace.name for trace in survival.data} >= {"NTH", "STH"}
    with pytest.raises(PreventUpdate):
        cohort.show_summaries(NO_FILTER, "accommodated", "recommendation", "none", "panel", "timeline")


def test_the_share_link_carries_filters_and_never_a_name(request_context):
    from pace_dash.pages import cohort

    href = cohort.share_view(
        {**NO_FILTER, "authorities": ["STH", "BAD"]}, "calendar", "age", "route", "panel", "delay", EVERY_YEAR
    )
    assert href == (
        "/cohort?la=STH&align=calendar&sort=age&group=route&rule=panel&tab=delay"
        "&a_years=2014-2026&b_years=2014-2026"
    )


def test_a_deep_link_sets_up_the_page(request_context):
    from pace_dash.pages import cohort

    page = cohort.layout(la="STH", align="calendar", tab="compare", b_la="NTH", b_years="2025-2026")
    assert find(page, cohort.FILTERS.authorities).value == ["STH"]
    assert find(page, cohort.ALIGN).value == "calendar"
    assert find(page, cohort.TABS).active_tab == "compare"
    assert find(page, "cohort-compare-b-years").value == [2025, 2026]


def test_pathway_delay_and_comparison_views(request_context):
    from pace_dash.pages import cohort

    assert "Accommodated" in text_of(cohort.show_pathway(NO_FILTER, "pathway"))
    delay = cohort.show_delay(NO_FILTER, "delay")
    assert find(delay, "cohort-delay-table") is not None
    compare = {
        "a": {"authority": "NTH", "years": [2014, 2026]},
        "b": {"authority": "STH", "years": [2014, 2026]},
    }
    table = text_of(
        find(cohort.show_comparison(NO_FILTER, "first_review", "compare", compare), "cohort-compare-table")
    )
    assert "NTH 2014\\u20132026: children" in table  # text_of escapes the en dash
    assert "STH 2014\\u20132026: children" in table


def test_watch_list_lists_overdue_children_most_overdue_first(request_context):
    from pace_dash.pages import watchlist

    rows, count, href = watchlist.show_watch_list(NO_FILTER, 28)
    # NTH-0001: next review 395 and panel 370 days overdue; STH-0001: first review 10 days.
    # NTH-0003's first review is due in 32 days: outside 28.
    assert [(row["reference"], row["days_overdue"]) for row in rows] == [
        (SAMPLE_REFERENCE, 395), (SAMPLE_REFERENCE, 370), (OTHER_AUTHORITY_REFERENCE, 10),
    ]  # fmt: skip
    assert rows[0]["link"] == f"/child/{SAMPLE_REFERENCE}"
    assert count == "3 milestones, 2 children"
    assert href == "/watchlist?within=28"
    rows, _count, _href = watchlist.show_watch_list(NO_FILTER, 40)
    assert (ON_TRACK_REFERENCE, 0, 32) in [
        (r["reference"], r["days_overdue"], r["days_until_due"]) for r in rows
    ]


def test_watch_list_exports_csv_and_xlsx(request_context, monkeypatch):
    import dash

    from pace_dash.pages import watchlist

    monkeypatch.setattr(dash, "ctx", type("Context", (), {"triggered_id": watchlist.CSV_BUTTON})())
    sent = watchlist.export(1, None, 28, NO_FILTER)
    assert sent["filename"] == f"drift-watch-list-{TODAY.isoformat()}.csv"
    csv = pd.read_csv(io.BytesIO(sent_bytes(sent)), encoding="utf-8-sig")
    assert csv["Child"].tolist() == [SAMPLE_REFERENCE, SAMPLE_REFERENCE, OTHER_AUTHORITY_REFERENCE]
    assert "child_id" not in csv.columns

    monkeypatch.setattr(dash, "ctx", type("Context", (), {"triggered_id": watchlist.XLSX_BUTTON})())
    sent = watchlist.export(None, 1, 28, NO_FILTER)
    sheet = openpyxl.load_workbook(io.BytesIO(sent_bytes(sent))).active
    assert sheet.cell(row=2, column=5).value == 395


def sent_bytes(sent: dict) -> bytes:
    import base64

    return base64.b64decode(sent["content"])


def test_a_scope_limits_the_cohort(request_context):
    from pace_dash.pages import cohort

    north = cohort.load_cohort(services().store, Scope.authorities(1), TODAY)
    assert sorted(north.children["reference"]) == [SAMPLE_REFERENCE, ON_TRACK_REFERENCE]
