"""The child's timeline figure: trace data checked against delays worked out by hand."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from PIL import Image

from pace_dash.figures.child_timeline import (
    ALLOWED_TRACE,
    DEFAULT_VIEW,
    DUE_TRACE,
    MILESTONE_TRACE,
    MS_PER_DAY,
    OVERDUE_TRACE,
    PLAN_TRACE,
    TODAY_TRACE,
    WEEKS,
    TimelineView,
    build_child_journey,
    child_timeline,
    lanes_for,
)
from tests.figures.sample import (
    EXPECTED_OVERDUE,
    TODAY,
    sample_events,
    sample_periods,
    sample_rules,
)


def build(events=None, periods=None, view=DEFAULT_VIEW):
    """Draw the sample child (or given events) the way the child page does."""
    events = sample_events() if events is None else events
    periods = sample_periods() if periods is None else periods
    journey = build_child_journey(events, periods, sample_rules(), TODAY, pd.Timestamp("2021-06-01"))
    return child_timeline(journey, TODAY, view), journey.evaluation


def trace(figure, name):
    """Return the one trace with this name."""
    (found,) = [t for t in figure.data if t.name == name]
    return found


def test_overdue_spans_sit_at_the_hand_worked_dates_with_their_lengths():
    figure, evaluation = build()
    overdue = trace(figure, OVERDUE_TRACE)
    lanes = [key for key, _label in lanes_for(evaluation)]
    drawn = {
        lanes[int(y)].removeprefix("rule:"): (base, length / MS_PER_DAY, text)
        for base, length, y, text in zip(overdue.base, overdue.x, overdue.y, overdue.text, strict=True)
    }
    assert set(drawn) == set(EXPECTED_OVERDUE)
    for key, (start, _end, days) in EXPECTED_OVERDUE.items():
        assert drawn[key] == (start, days, f"+{days} d")


def test_overdue_is_marked_by_pattern_and_outline_not_colour_alone():
    figure, _ = build()
    marker = trace(figure, OVERDUE_TRACE).marker
    assert marker.pattern.shape == "/"
    assert marker.line.width >= 2


def test_hover_on_an_overdue_span_names_the_rule_target_and_source():
    figure, _ = build()
    hover = trace(figure, OVERDUE_TRACE).hovertext
    panel = next(
        text
        for text in hover
        if "Adoption &amp; Permanence Panel" in text or "Adoption & Permanence Panel" in text
    )
    assert "target 84 days" in panel
    assert "Aberdeen City" in panel  # the rule's source
    assert "370 days overdue" in panel
    assert "still waiting today" in panel


def test_milestones_not_reached_get_hollow_markers_at_their_due_dates():
    figure, _ = build()
    due = trace(figure, DUE_TRACE)
    assert sorted(due.x) == ["2025-10-30", "2025-11-24"]  # next review, panel
    assert due.marker.symbol == "circle-open"


def test_time_allowed_by_each_target_ends_at_its_due_date_or_when_reached():
    figure, evaluation = build()
    allowed = trace(figure, ALLOWED_TRACE)
    lanes = [key for key, _label in lanes_for(evaluation)]
    first_review_bar = next(
        (base, length / MS_PER_DAY)
        for base, length, y in zip(allowed.base, allowed.x, allowed.y, strict=True)
        if lanes[int(y)] == "rule:first_review"
    )
    assert first_review_bar == ("2025-01-01", 42)


def test_placements_and_legal_statuses_are_bars_and_open_ones_run_to_today():
    figure, _ = build()
    placements = trace(figure, "Placement")
    assert list(placements.base) == ["2025-01-01", "2025-07-01"]
    assert list(placements.text) == ["Foster", "Prospective adopters"]
    adopters_days = (pd.Timestamp(TODAY) - pd.Timestamp("2025-07-01")).days
    assert placements.x[1] / MS_PER_DAY == adopters_days


def test_rules_that_do_not_apply_get_no_row():
    _, evaluation = build()
    keys = [key for key, _label in lanes_for(evaluation)]
    assert "rule:panel" in keys
    assert "rule:adm_decision" not in keys  # no panel yet, so the ADM clock has not started
    assert keys[:6] == ["legal_status", "placement", "milestones", "reviews", "court", "process"]


def test_one_trace_per_kind_of_mark_however_many_events():
    small, _ = build()
    events = sample_events()
    many_reviews = pd.concat(
        [events]
        + [
            pd.DataFrame(
                {
                    "event_id": 100 + number,
                    "child_id": 1,
                    "la_id": 1,
                    "code": "lac_review",
                    "on_date": [day],
                    "attribute": None,
                    "note": None,
                }
            )
            for number, day in enumerate(pd.date_range("2025-06-01", periods=10, freq="20D", unit="ns"))
        ],
        ignore_index=True,
    )
    large, _ = build(events=many_reviews)
    assert [t.name for t in small.data] == [t.name for t in large.data]
    assert len(trace(large, MILESTONE_TRACE).x) == len(many_reviews)
    assert not large.layout.shapes  # overdue spans are traces, never layout shapes


def test_today_line_is_drawn_at_today():
    figure, _ = build()
    assert list(trace(figure, TODAY_TRACE).x) == [TODAY.isoformat()] * 2


def test_re_entry_draws_an_episode_boundary():
    events = pd.concat(
        [
            sample_events(),
            pd.DataFrame(
                {
                    "child_id": 1,
                    "la_id": 1,
                    "event_id": [100, 101],
                    "code": ["ceased", "accommodated"],
                    "on_date": pd.to_datetime(["2025-10-01", "2026-01-15"]).as_unit("ns"),
                    "attribute": ["home", None],
                    "note": None,
                }
            ),
        ],
        ignore_index=True,
    )
    figure, _ = build(events=events)
    boundary = trace(figure, "New episode of care")
    assert [x for x in boundary.x if x] == ["2026-01-15", "2026-01-15"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_exported_image_is_not_blank_and_bars_sit_at_their_dates():
    """Export through kaleido and find the red bar where its dates say (old releases drew bars at 1970)."""
    figure, _ = build()
    width, height, left, right = 1200, 600, 260, 60
    start, end = pd.Timestamp("2025-01-01"), pd.Timestamp("2027-01-01")
    figure.update_layout(width=width, height=height, margin={"l": left, "r": right}, showlegend=False)
    figure.update_xaxes(range=[start.isoformat(), end.isoformat()])
    figure.update_traces(text=None, selector={"name": OVERDUE_TRACE})
    png = pio.to_image(figure, format="png", width=width, height=height, scale=1)
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    assert pixels.std() > 10, "the exported image is blank"
    vermillion = (abs(pixels[..., 0] - 0xD5) < 30) & (abs(pixels[..., 1] - 0x5E) < 30) & (pixels[..., 2] < 60)
    columns = np.flatnonzero(vermillion.any(axis=0))
    assert columns.size, "no overdue bar was drawn"
    day_width = (width - left - right) / (end - start).days
    first_red_day = start + pd.Timedelta(days=(columns.min() - left) / day_width)
    assert abs((first_red_day - pd.Timestamp("2025-02-12")).days) <= 4  # the first review's overdue span


def test_a_missed_step_says_what_closed_its_wait():
    events = sample_events()
    no_reviews = events[events["code"] != "lac_review"].reset_index(drop=True)
    figure, _ = build(events=no_reviews)
    hover = " ".join(trace(figure, OVERDUE_TRACE).hovertext)
    # No first review; the recommendation on 1 Sep 2025 ended the wait: 16 days left of February,
    # 184 from March to August, and 1 September: 201 days past 12 Feb.
    assert (
        "201 days overdue</b> (not recorded; the wait ended at Permanence recommendation, 1 Sep 2025)"
        in hover
    )


def test_on_target_path_marks_where_each_milestone_would_have_fallen():
    figure, _ = build()
    plan = trace(figure, PLAN_TRACE)
    # 1 Jan 2025 + 42 = 12 Feb (first review), + 182 = 2 Jul (recommendation), + 84 = 24 Sep
    # (panel), + 14 = 8 Oct (ADM), + 84 = 31 Dec (lodged), + 210 = 29 Jul 2026 (order).
    assert list(plan.x) == [
        "2025-02-12",
        "2025-07-02",
        "2025-09-24",
        "2025-10-08",
        "2025-12-31",
        "2026-07-29",
    ]
    assert [point[0] for point in plan.customdata] == ["plan"] * 6


def test_weeks_axis_counts_from_the_day_accommodated():
    figure, _ = build(view=TimelineView(axis=WEEKS))
    overdue = trace(figure, OVERDUE_TRACE)
    # The first review's overdue span starts 42 days = 6 weeks in and lasts 17 days.
    first = list(overdue.base).index(6.0)
    assert overdue.x[first] == round(17 / 7, 3)
    assert figure.layout.xaxis.type == "linear"
    assert list(trace(figure, TODAY_TRACE).x) == [round(697 / 7, 2)] * 2


def test_hidden_lanes_leave_the_chart():
    figure, evaluation = build(view=TimelineView(lanes=("placement", "process")))
    assert [label for _key, label in lanes_for(evaluation, TimelineView(lanes=("placement", "process")))] == [
        "Placement",
        "Permanence process",
    ]
    names = {t.name for t in figure.data}
    assert OVERDUE_TRACE not in names
    assert "Legal status" not in names
    assert list(figure.layout.yaxis.ticktext) == ["Placement", "Permanence process"]


def test_age_axis_marks_birthdays_on_top():
    figure, _ = build()
    assert figure.layout.xaxis2.side == "top"
    ticks = dict(zip(figure.layout.xaxis2.ticktext, figure.layout.xaxis2.tickvals, strict=True))
    assert ticks["age 4"] == "2025-06-01"
    assert ticks["age 5"] == "2026-06-01"


def test_clickable_marks_carry_what_the_side_panel_needs():
    figure, _ = build()
    assert ["rule", "panel", 1, 1] in [list(point) for point in trace(figure, OVERDUE_TRACE).customdata]
    assert [list(point) for point in trace(figure, MILESTONE_TRACE).customdata] == [
        ["event", n] for n in (1, 2, 3, 4)
    ]


def test_a_closed_journey_ends_where_it_ended_not_today():
    events = pd.concat(
        [
            sample_events(),
            pd.DataFrame(
                {
                    "event_id": [100, 101],
                    "child_id": 1,
                    "la_id": 1,
                    "code": ["panel", "ceased"],
                    "on_date": pd.to_datetime(["2025-10-01", "2025-12-01"]).as_unit("ns"),
                    "attribute": [None, "adoption"],
                    "note": None,
                }
            ),
        ],
        ignore_index=True,
    )
    periods = sample_periods().assign(
        end_date=lambda frame: frame["end_date"].fillna(pd.Timestamp("2025-12-01"))
    )
    figure, _ = build(events=events, periods=periods)
    # The last date is the day the child ceased to be looked after; the chart adds 45 days.
    assert figure.layout.xaxis.range[1] == "2026-01-15"


@pytest.mark.parametrize(
    "view",
    [
        DEFAULT_VIEW,
        TimelineView(axis=WEEKS),
        TimelineView(on_target=False, large_type=True),
        TimelineView(lanes=("placement", "process")),
    ],
)
def test_every_chart_drawn_is_one_plotly_validation_accepts(view):
    # The chart is built from plain dicts without validation; plotly's own check raises
    # ValueError on any property or value it does not know.
    figure, _ = build(view=view)
    checked = go.Figure(figure.to_dict())
    assert json.loads(pio.to_json(checked)) == json.loads(pio.to_json(figure))


def test_event_hover_names_the_event_its_date_and_route_only_where_there_is_one():
    figure, _ = build()
    assert list(trace(figure, MILESTONE_TRACE).hovertext) == [
        "<b>Looked after and accommodated</b><br>1 Jan 2025<br>",
        "<b>LAC review</b><br>1 Mar 2025<br>",
        "<b>LAC review</b><br>1 May 2025<br>",
        "<b>Permanence recommendation</b><br>1 Sep 2025<br>Adoption",
    ]
