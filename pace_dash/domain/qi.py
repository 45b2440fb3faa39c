"""Quality Improvement measures: the series a run chart plots, built from the journey evaluation.

Two kinds of measure, over any target rule:

- an interval: weeks from the rule's `from` milestone to its `to` milestone (for the permanence
  recommendation: from becoming accommodated), for the milestones actually reached. A wait that
  ended without its milestone (closed by a later one, or by the end of the episode) measured no
  interval and is left out. Plotted per child in the date order of the milestone, or as the
  median per month or quarter of the milestone.
- the percentage meeting the rule within its target, grouped by the month (or quarter) the
  milestone fell due. Grouping by due date means every child counted has an outcome: met, or
  not met (reached late, missed, or still waiting past the date), so children still waiting
  are not silently dropped as they would be if grouped by the date the milestone was reached.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd

PER_CHILD = "per_child"
MEDIAN_MONTH = "median_month"
MEDIAN_QUARTER = "median_quarter"
PERCENT_MONTH = "percent_month"
PERCENT_QUARTER = "percent_quarter"
MEASURES: dict[str, str] = {
    PER_CHILD: "Weeks taken, each child in date order",
    MEDIAN_MONTH: "Median weeks taken, per month",
    MEDIAN_QUARTER: "Median weeks taken, per quarter",
    PERCENT_MONTH: "% within target, per month it fell due",
    PERCENT_QUARTER: "% within target, per quarter it fell due",
}
PERCENT_MEASURES = frozenset({PERCENT_MONTH, PERCENT_QUARTER})
PERIOD_OF: dict[str, str] = {
    MEDIAN_MONTH: "M",
    MEDIAN_QUARTER: "Q",
    PERCENT_MONTH: "M",
    PERCENT_QUARTER: "Q",
}
DAYS_PER_WEEK = 7

ROW_COLUMNS = [
    "child_id", "la_id", "episode", "occurrence", "route", "start_date", "due_date", "end_date",
    "status", "days_taken", "weeks", "met", "x",
]  # fmt: skip
SERIES_COLUMNS = ["x", "label", "value", "children", "child_id"]


def is_percent(measure: str) -> bool:
    """Say whether a measure is a percentage (higher is better) rather than a time (lower is better)."""
    return measure in PERCENT_MEASURES


def _period_start(dates: pd.Series, freq: str) -> pd.Series:
    return dates.dt.to_period(freq).dt.start_time.dt.as_unit("ns")


def _period_label(starts: pd.Series, freq: str) -> pd.Series:
    if freq == "Q":
        return "Q" + starts.dt.quarter.astype(str) + " " + starts.dt.year.astype(str)
    return starts.dt.strftime("%B %Y")


def measure_rows(
    evaluation: pd.DataFrame,
    rule_key: str,
    measure: str,
    today: dt.date,
    routes: Iterable[str] | None = None,
    since: dt.date | None = None,
) -> pd.DataFrame:
    """Return the children's rows behind a measure, each with the x (date or period) it is plotted at.

    `evaluation` comes from journeys.evaluate. `routes` keeps only episodes recommended for
    those permanence routes; `since` drops points plotted before that date.
    """
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}")
    rows = evaluation[evaluation["rule_key"] == rule_key]
    if routes:
        rows = rows[rows["route"].isin(list(routes))]
    today_ts = pd.Timestamp(today)
    if is_percent(measure):
        # Due by today, so each has an outcome; `open` rows are not due yet by definition.
        rows = rows[rows["status"].isin(["met", "late", "overdue"]) & (rows["due_date"] <= today_ts)]
        plotted_at = _period_start(rows["due_date"], PERIOD_OF[measure])
    else:
        rows = rows[rows["status"].isin(["met", "late"]) & rows["closed_by"].isna()]
        plotted_at = rows["end_date"]
        if measure != PER_CHILD:
            plotted_at = _period_start(plotted_at, PERIOD_OF[measure])
    rows = rows.assign(
        weeks=(rows["days_taken"].astype("float64") / DAYS_PER_WEEK).round(1),
        met=rows["status"] == "met",
        x=plotted_at,
    )
    if since is not None:
        rows = rows[rows["x"] >= pd.Timestamp(since)]
    ordered = rows.sort_values(["x", "end_date", "child_id", "episode", "occurrence"], kind="stable")
    return ordered[ROW_COLUMNS].reset_index(drop=True)


def series(rows: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Return the points of a run chart from measure_rows: x, label, value, children, child_id.

    Per child, each row is a point and `child_id` names it; otherwise one point per period with
    data (a period with no children has no point), and `child_id` is empty.
    """
    if rows.empty:
        return pd.DataFrame({column: pd.Series(dtype="object") for column in SERIES_COLUMNS})
    if measure == PER_CHILD:
        return pd.DataFrame(
            {
                "x": rows["x"],
                "label": rows["x"].dt.strftime("%-d %b %Y"),
                "value": rows["weeks"],
                "children": 1,
                "child_id": rows["child_id"],
            }
        ).reset_index(drop=True)
    grouped = rows.groupby("x", sort=True)
    values = (grouped["met"].mean() * 100).round(1) if is_percent(measure) else grouped["weeks"].median()
    points = pd.DataFrame({"value": values, "children": grouped.size()}).reset_index()
    points["label"] = _period_label(points["x"], PERIOD_OF[measure])
    points["child_id"] = pd.NA
    return points[SERIES_COLUMNS]


def rows_at_point(rows: pd.DataFrame, points: pd.DataFrame, measure: str, position: int) -> pd.DataFrame:
    """Return the children's rows behind one point of a series (an empty frame if there is no such point)."""
    if not 0 <= position < len(points):
        return rows.iloc[0:0]
    point = points.iloc[position]
    if measure == PER_CHILD:
        return rows.iloc[[position]]
    return rows[rows["x"] == point["x"]]


def aim_progress(rows: pd.DataFrame, today: dt.date, months: int = 3) -> tuple[int, int]:
    """Count (met, due) over the last `months` whole months before today, from percent measure rows.

    Recent whole months, not one, so that progress against an aim does not swing with a handful
    of children.
    """
    this_month = pd.Timestamp(today).to_period("M").start_time
    since = this_month - pd.DateOffset(months=months)
    recent = rows[(rows["due_date"] >= since) & (rows["due_date"] < this_month)]
    return int(recent["met"].sum()), len(recent)
