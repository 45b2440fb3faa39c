"""Pages and callbacks called as functions on the session's app, with the known children."""

from __future__ import annotations

import json

import pytest
from dash import html
from dash.exceptions import PreventUpdate
from plotly.io.json import to_json_plotly

from pace_dash.components import shell
from pace_dash.figures.child_timeline import OVERDUE_TRACE
from pace_dash.store.scope import Scope
from pace_dash.web import services
from tests.conftest import (
    EMPTY_REFERENCE,
    ON_TRACK_REFERENCE,
    OTHER_AUTHORITY_REFERENCE,
    SAMPLE_NAME,
    SAMPLE_REFERENCE,
    TODAY,
    request_as,
)
from tests.figures.sample import EXPECTED_OVERDUE


@pytest.fixture
def request_context(dash_app):
    """Run the test inside a request to the session's app, as a callback runs."""
    with request_as(dash_app):
        yield dash_app


def find(component, component_id):
    """Return the component with this id inside a layout tree, or None."""
    if getattr(component, "id", None) == component_id:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            found = find(child, component_id)
            if found is not None:
                return found
    return None


def text_of(component) -> str:
    """Return all the text a layout tree shows, as one string."""
    return json.dumps(component.to_plotly_json(), cls=_ComponentEncoder)


class _ComponentEncoder(json.JSONEncoder):
    def default(self, o):
        return o.to_plotly_json() if hasattr(o, "to_plotly_json") else json.loads(to_json_plotly(o))


def overview_page():
    from pace_dash.pages import home

    return home.overview(services().store, Scope.everything(), TODAY)


def test_overview_counts_children_and_those_overdue_now(request_context):
    page = overview_page()
    # Four children; three accommodated (the one with no events has no episode of care).
    assert '"4"' in text_of(find(page, "kpi-children"))
    assert "3 looked after now" in text_of(find(page, "kpi-children"))
    # The sample child and the other authority's child are overdue; the on-track one is not.
    assert '"2"' in text_of(find(page, "kpi-overdue"))


def test_overview_lists_the_most_overdue_first_with_links(request_context):
    table = find(overview_page(), "most-overdue")
    links = [link for link in _links(table)]
    assert links == [f"/child/{SAMPLE_REFERENCE}", f"/child/{OTHER_AUTHORITY_REFERENCE}"]
    assert "395" in text_of(table)  # the sample's worst delay: the next LAC review
    assert ON_TRACK_REFERENCE not in text_of(table)


def _links(component):
    if getattr(component, "href", None):
        yield component.href
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            yield from _links(child)


def test_overview_with_no_children_in_scope_says_so(request_context):
    from pace_dash.pages import home

    page = home.overview(services().store, Scope.authorities(999), TODAY)
    assert "No children to show yet" in text_of(page)


def test_overview_callback_uses_the_server_side_scope(request_context):
    from pace_dash.pages import home

    assert "most-overdue" in text_of(home.show_overview(0))


def test_child_page_draws_the_sample_childs_overdue_spans(request_context):
    from pace_dash.pages import child

    page = child.layout(reference=SAMPLE_REFERENCE.lower())
    graph = find(page, child.GRAPH)
    overdue = next(t for t in graph.figure.data if t.name == OVERDUE_TRACE)
    assert sorted(overdue.base) == sorted(start for start, _end, _days in EXPECTED_OVERDUE.values())
    header = text_of(find(page, child.HEADER))
    assert "Awaiting panel" in header
    assert "5 years" in header  # born 1 Jun 2021, seen on 29 Nov 2026
    assert "697" in header  # days since accommodated on 1 Jan 2025
    assert "Next LAC review, due 30 Oct 2025" in header
    assert "395 days" in header
    assert SAMPLE_NAME in text_of(page)  # the demo scope may see names


def test_child_page_for_an_unknown_reference_is_a_friendly_not_found(request_context):
    from pace_dash.pages import child

    page = child.layout(reference="NOPE-123")
    assert find(page, "child-not-found") is not None
    assert "No child with reference NOPE-123" in text_of(page)


def test_child_outside_the_scope_is_not_found(request_context):
    from pace_dash.pages import child

    north_only = Scope.authorities(1, see_names=True)
    page = child.child_page(services().store, north_only, OTHER_AUTHORITY_REFERENCE, None, TODAY)
    assert find(page, "child-not-found") is not None


def test_child_without_events_gets_an_empty_state(request_context):
    from pace_dash.pages import child

    page = child.layout(reference=EMPTY_REFERENCE)
    assert find(page, "child-empty") is not None
    assert "No events recorded yet" in text_of(page)


def test_names_stay_hidden_from_a_scope_without_them(request_context):
    from pace_dash.pages import child

    page = child.child_page(services().store, Scope.authorities(1), SAMPLE_REFERENCE, None, TODAY)
    assert find(page, child.GRAPH) is not None
    assert SAMPLE_NAME not in text_of(page)


def test_search_goes_to_the_typed_reference_and_ignores_blanks(request_context):
    assert shell.open_child(1, None, " nth-0001 ") == f"/child/{SAMPLE_REFERENCE}"
    with pytest.raises(PreventUpdate):
        shell.open_child(1, None, "   ")


def run_in_callback(function, *args, triggered: str | None = None):
    """Call a callback as Dash would, with the given input marked as the one that fired."""
    from contextvars import copy_context

    from dash._callback_context import context_value
    from dash._utils import AttributeDict

    def call():
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": triggered or "", "value": 1}]))
        return function(*args)

    return copy_context().run(call)


def sample_child_id():
    return int(services().store.find_children(Scope.everything(), SAMPLE_REFERENCE).iloc[0]["child_id"])


def test_redraw_shows_only_the_lanes_the_reader_keeps(request_context):
    from pace_dash.pages import child

    figure = child.redraw(["placement", "targets"], "weeks", False, sample_child_id())
    assert figure.layout.yaxis.ticktext[0] == "Placement"
    assert "Legal status" not in list(figure.layout.yaxis.ticktext)
    assert figure.layout.xaxis.type == "linear"
    assert "On-target path" not in {t.name for t in figure.data}


def test_callbacks_refuse_a_child_outside_the_scope_or_unknown(request_context):
    from pace_dash.pages import child

    with pytest.raises(PreventUpdate):
        child.redraw(["placement"], "calendar", True, 999_999)


def test_zoom_to_the_last_twelve_months(request_context):
    from pace_dash.pages import child

    patch = run_in_callback(
        child.zoom, 0, 0, 1, "calendar", sample_child_id(), triggered="child-zoom-year.n_clicks"
    )
    operations = patch.to_plotly_json()["operations"]
    # 29 Nov 2026 less 365 days is 29 Nov 2025, less a fortnight's margin; 45 days after today.
    assert operations[0]["params"]["value"] == ["2025-11-15", "2027-01-13"]


def test_clicking_an_overdue_span_opens_the_rule_behind_it(request_context):
    from pace_dash.pages import child

    click = {"points": [{"customdata": ["rule", "panel", 1, 1]}]}
    is_open, title, body = child.open_details(click, sample_child_id())
    text = text_of(html.Div(body))
    assert (is_open, title) == (True, "Adoption & Permanence Panel")
    assert "Aberdeen City" in text  # the rule's source
    assert "national default" in text
    assert "24 Nov 2025" in text  # due 84 days after the recommendation of 1 Sep 2025
    assert "370" in text


def test_clicking_a_milestone_shows_the_event(request_context):
    from pace_dash.pages import child

    journey, _today = child._journey_in_scope(sample_child_id())
    recommendation = journey.events.loc[
        journey.events["code"] == "permanence_recommendation", "event_id"
    ].iloc[0]
    _open, title, body = child.open_details(
        {"points": [{"customdata": ["event", int(recommendation)]}]}, sample_child_id()
    )
    assert title == "Permanence recommendation"
    text = text_of(html.Div(body))
    assert "1 Sep 2025" in text
    assert "Adoption" in text
    assert "Reached late" in text  # the 26-week rule it ends was missed by 61 days


def test_event_table_lists_events_and_periods_with_flags(request_context):
    from pace_dash.pages import child

    page = child.layout(reference=SAMPLE_REFERENCE)
    grid = find(page, child.EVENT_TABLE)
    whats = [row["what"] for row in grid.rowData]
    assert len(grid.rowData) == 8  # four events and four periods
    assert "Prospective adopters" in whats
    assert grid.rowData[0]["date"] == "2025-01-01"


def test_panel_pack_export_sends_a_png_named_after_the_child(request_context):
    import base64

    from pace_dash.pages import child

    sent = run_in_callback(
        child.export_panel_pack, 0, 1, sample_child_id(), triggered="child-export-png.n_clicks"
    )
    assert sent["filename"] == f"panel-pack-{SAMPLE_REFERENCE}-{TODAY.isoformat()}.png"
    assert base64.b64decode(sent["content"]).startswith(b"\x89PNG")


def test_presentation_scope_page_carries_no_name_reference_or_birth_date(request_context):
    from pace_dash.pages import child

    presenting = Scope.presentation(b"presentation key")
    sample_id = services().store.find_children(Scope.everything(), SAMPLE_REFERENCE).iloc[0]["child_id"]
    shown = services().store.children(presenting, [int(sample_id)]).iloc[0]["reference"]
    page = child.child_page(services().store, presenting, shown, None, TODAY)
    text = text_of(page)
    assert shown in text
    for secret in (SAMPLE_REFERENCE, SAMPLE_NAME, "2021-06-01", "1 Jun 2021"):
        assert secret not in text
    graph = find(page, child.GRAPH)
    assert "xaxis2" not in graph.figure.layout.to_plotly_json()  # birthdays would give the birth date away
    assert "5 years" in text
