"""The cohort timeline figure: WebGL traces whose numbers put each segment at its row and days."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from pace_dash.domain import cohort
from pace_dash.figures import cohort_timeline as timeline
from tests.domain.test_cohort import five_children
from tests.figures.sample import TODAY


@pytest.fixture(scope="module")
def five():
    return five_children()


def _figure(five, align="accommodated", group="none"):
    rows, groups = cohort.timeline_rows(five.children, "recommendation", group)
    stages, overdue = cohort.timeline_segments(five, rows, align)
    return timeline.cohort_timeline(stages, overdue, rows, groups, align, TODAY), rows


def _trace(figure, name, kind="scattergl"):
    return next(trace for trace in figure.data if trace.name == name and trace.type == kind)


def test_a_rows_segments_sit_at_its_days_since_accommodated(five):
    figure, rows = _figure(five)
    row_of_a = int(rows.set_index("reference").loc["NTH-A", "row"])
    waiting = _trace(figure, "Awaiting permanence recommendation")
    at_a = np.flatnonzero(np.asarray(waiting.y) == row_of_a)
    assert len(at_a) == 1
    # A waited from its first review on day 30 to its recommendation on day 100.
    assert waiting.x[at_a[0]] == 30
    assert waiting.error_x.array[at_a[0]] == 70


def test_overdue_time_is_one_trace_just_below_its_row(five):
    figure, rows = _figure(five)
    overdue = _trace(figure, timeline.OVERDUE_TRACE)
    row_of_e = int(rows.set_index("reference").loc["NTH-E", "row"])
    at_e = np.flatnonzero(np.isclose(overdue.y, row_of_e + timeline.OVERDUE_OFFSET))
    assert [(overdue.x[i], overdue.error_x.array[i]) for i in at_e] == [(121, 279)]
    assert overdue.error_x.color == timeline.catalogue.OVERDUE_COLOUR
    assert all(trace.type != "bar" for trace in figure.data)
    assert not figure.layout.shapes


def test_one_trace_per_kind_of_mark_never_one_per_child(five):
    figure, _rows = _figure(five)
    webgl = [trace.name for trace in figure.data if trace.type == "scattergl"]
    assert len(webgl) == len(set(webgl)) == 5  # three stages, overdue, the row markers
    markers = _trace(figure, timeline.ROW_TRACE)
    assert list(markers.text) == ["NTH-A", "NTH-B", "NTH-D", "NTH-E", "NTH-C"]
    assert list(markers.y) == [0, 1, 2, 3, 4]


def test_numbers_travel_as_compact_typed_arrays(five):
    figure, _rows = _figure(five)
    sent = json.loads(pio.to_json(figure))
    stage = next(trace for trace in sent["data"] if trace["name"] == "Awaiting first review")
    assert stage["x"]["dtype"] == "i2"
    assert stage["error_x"]["array"]["dtype"] == "i2"


def test_calendar_dates_are_day_numbers_with_year_ticks(five):
    figure, rows = _figure(five, align="calendar")
    waiting = _trace(figure, "Awaiting permanence recommendation")
    row_of_a = int(rows.set_index("reference").loc["NTH-A", "row"])
    at_a = np.flatnonzero(np.asarray(waiting.y) == row_of_a)[0]
    first_review = (np.datetime64(TODAY) - np.timedelta64(500 - 30, "D")).astype("int64")
    assert waiting.x[at_a] == first_review
    assert "2026" in figure.layout.xaxis.ticktext


def test_groups_are_labelled_on_their_header_rows(five):
    figure, _rows = _figure(five, group="route")
    labels = {annotation.y: annotation.text for annotation in figure.layout.annotations}
    assert labels == {
        0: "<b>Return or remain home</b> · 3 children",
        4: "<b>No recommendation yet</b> · 2 children",
    }


def test_compact_picks_the_narrowest_exact_type():
    assert timeline.compact([0, 30000]).dtype == np.int16
    assert timeline.compact([0, 40000]).dtype == np.int32
    assert timeline.compact([0.5]).dtype == np.float32


def test_bars_thin_to_a_pixel_once_rows_outnumber_pixels():
    assert timeline.segment_thickness(10) == 6.0
    assert timeline.segment_thickness(10_000) == 1.0


def test_changes_tested_are_drawn_on_calendar_dates_only(five):
    changes = pd.DataFrame(
        {
            "on_date": pd.to_datetime(["2017-04-01", "2019-04-01"]).as_unit("ns"),
            "kind": ["change", "pdsa"],
            "text": ["PACE programme starts", "Two-week review"],
        }
    )
    rows, groups = cohort.timeline_rows(five.children, "recommendation", "none")
    stages, overdue = cohort.timeline_segments(five, rows, "calendar")
    figure = timeline.cohort_timeline(stages, overdue, rows, groups, "calendar", TODAY, changes)
    (lines,) = [t for t in figure.data if t.name == timeline.CHANGES_TRACE]
    # 1 Apr 2017 is day 17,257 since 1 Jan 1970; 1 Apr 2019 is 730 days later.
    assert [x for x in lines.x if x is not None] == [17257, 17257, 17987, 17987]
    assert "CHANGE: PACE programme starts (1 Apr 2017)" in lines.text
    stages, overdue = cohort.timeline_segments(five, rows, "accommodated")
    aligned = timeline.cohort_timeline(stages, overdue, rows, groups, "accommodated", TODAY, changes)
    assert timeline.CHANGES_TRACE not in {t.name for t in aligned.data}


@pytest.mark.parametrize(("align", "group"), [("accommodated", "none"), ("calendar", "route")])
def test_the_chart_is_one_plotly_validation_accepts(five, align, group):
    # The chart is built from plain dicts without validation; plotly's own check raises
    # ValueError on any property or value it does not know.
    figure, _rows = _figure(five, align, group)
    checked = go.Figure(figure.to_dict())
    assert json.loads(pio.to_json(checked)) == json.loads(pio.to_json(figure))
