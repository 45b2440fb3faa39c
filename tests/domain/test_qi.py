"""QI measures from the journey evaluation of four hand-made children, worked out by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from pace_dash.domain import journeys, qi
from tests.figures.sample import sample_rules

TODAY = dt.date(2024, 12, 31)
RULE = "permanence_recommendation"

# The recommendation is due 182 days after becoming accommodated.
# 1: accommodated 1 Jan 2024, recommended (home) 1 Mar: 31 + 29 = 60 days, 8.6 weeks; due 1 Jul; met.
# 2: accommodated 15 Jan 2024, recommended (adoption) 15 Sep: 244 days, 34.9 weeks; due 15 Jul; late.
# 3: accommodated 1 Feb 2024, went home 1 May before anything was due: no interval, no outcome (n/a).
# 4: accommodated 10 Mar 2024, still waiting on 31 Dec: due 8 Sep; overdue, no interval measured.
EVENTS = [
    (1, "accommodated", "2024-01-01", None),
    (1, "permanence_recommendation", "2024-03-01", "home"),
    (2, "accommodated", "2024-01-15", None),
    (2, "permanence_recommendation", "2024-09-15", "adoption"),
    (3, "accommodated", "2024-02-01", None),
    (3, "ceased", "2024-05-01", "home"),
    (4, "accommodated", "2024-03-10", None),
]


@pytest.fixture(scope="module")
def evaluation() -> pd.DataFrame:
    events = pd.DataFrame(
        [(child, 1, code, pd.Timestamp(day), attribute) for child, code, day, attribute in EVENTS],
        columns=["child_id", "la_id", "code", "on_date", "attribute"],
    )
    events["on_date"] = events["on_date"].dt.as_unit("ns")
    return journeys.evaluate(events, sample_rules(), TODAY)


def test_per_child_weeks_in_date_order_of_the_milestone(evaluation):
    rows = qi.measure_rows(evaluation, RULE, qi.PER_CHILD, TODAY)
    points = qi.series(rows, qi.PER_CHILD)
    assert points["child_id"].tolist() == [1, 2]
    assert points["value"].tolist() == [8.6, 34.9]
    assert points["label"].tolist() == ["1 Mar 2024", "15 Sep 2024"]
    assert rows["met"].tolist() == [True, False]


def test_median_per_quarter_of_the_milestone(evaluation):
    points = qi.series(qi.measure_rows(evaluation, RULE, qi.MEDIAN_QUARTER, TODAY), qi.MEDIAN_QUARTER)
    assert points["label"].tolist() == ["Q1 2024", "Q3 2024"]
    assert points["value"].tolist() == [8.6, 34.9]
    assert points["children"].tolist() == [1, 1]


def test_percent_within_target_by_month_due_counts_those_still_waiting(evaluation):
    # July: children 1 (met) and 2 (late): 50%. September: child 4, overdue: 0%. Child 3: n/a.
    rows = qi.measure_rows(evaluation, RULE, qi.PERCENT_MONTH, TODAY)
    points = qi.series(rows, qi.PERCENT_MONTH)
    assert points["label"].tolist() == ["July 2024", "September 2024"]
    assert points["value"].tolist() == [50.0, 0.0]
    assert points["children"].tolist() == [2, 1]
    assert sorted(qi.rows_at_point(rows, points, qi.PERCENT_MONTH, 0)["child_id"]) == [1, 2]
    assert qi.rows_at_point(rows, points, qi.PERCENT_MONTH, 5).empty


def test_percent_leaves_out_milestones_not_yet_due(evaluation):
    # On 1 Aug 2024 child 4 (due 8 Sep) is not due yet, and child 2's recommendation not known yet.
    early = qi.measure_rows(evaluation, RULE, qi.PERCENT_MONTH, dt.date(2024, 8, 1))
    assert sorted(early["child_id"]) == [1, 2]


def test_route_and_start_date_filters(evaluation):
    adoption = qi.measure_rows(evaluation, RULE, qi.PER_CHILD, TODAY, routes=["adoption"])
    assert adoption["child_id"].tolist() == [2]
    later = qi.measure_rows(evaluation, RULE, qi.PER_CHILD, TODAY, since=dt.date(2024, 6, 1))
    assert later["child_id"].tolist() == [2]


def test_aim_progress_counts_recent_whole_months(evaluation):
    rows = qi.measure_rows(evaluation, RULE, qi.PERCENT_MONTH, TODAY)
    # The last 3 whole months before December: September to November: child 4, not met.
    assert qi.aim_progress(rows, TODAY) == (0, 1)
    # Six months, June to November: children 1 (met), 2 and 4.
    assert qi.aim_progress(rows, TODAY, months=6) == (1, 3)


def test_an_empty_measure_gives_an_empty_series(evaluation):
    rows = qi.measure_rows(evaluation, "court_decision", qi.MEDIAN_MONTH, TODAY)
    assert rows.empty
    assert qi.series(rows, qi.MEDIAN_MONTH).empty


def test_unknown_measures_are_refused(evaluation):
    with pytest.raises(ValueError, match="measure"):
        qi.measure_rows(evaluation, RULE, "mean_month", TODAY)
