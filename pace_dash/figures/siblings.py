"""Siblings side by side: each child's waiting stages and delays on one calendar axis."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go

from pace_dash.domain import catalogue
from pace_dash.figures.styles import overdue_marker

MS = pd.Timedelta(milliseconds=1)
ROW_HEIGHT_PX = 48
OVERDUE_TRACE = "Overdue (past target)"
STAGE_TRACE = "Waiting stage"
EVENT_TRACE = "Events"


def _fmt(dates: pd.Series) -> pd.Series:
    return dates.dt.strftime("%-d %b %Y").fillna("")


def siblings_timeline(
    siblings: pd.DataFrame,
    summary: pd.DataFrame,
    spans: pd.DataFrame,
    evaluation: pd.DataFrame,
    events: pd.DataFrame,
    today: dt.date,
) -> go.Figure:
    """Draw one row per sibling: stages coloured, overdue time hatched red, events as markers.

    `siblings` has child_id and reference; `summary` (journeys.summarise) gives each one's route,
    so that differences in plan show in the row labels.
    """
    today_ts = pd.Timestamp(today)
    rows = siblings.merge(summary[["child_id", "route", "current_stage"]], on="child_id", how="left")
    rows = rows.sort_values("reference").reset_index(drop=True)
    row_of = {child_id: index for index, child_id in enumerate(rows["child_id"])}
    route_labels = rows["route"].map(catalogue.ROUTES).fillna("no route yet")
    labels = (rows["reference"] + " · " + route_labels).tolist()

    stage_colours = {stage.label: stage.colour for stage in catalogue.PROCESS_STAGES}
    traces: list[dict] = []
    traces.append(
        dict(
            type="bar",
            name=STAGE_TRACE,
            orientation="h",
            base=spans["start_date"].dt.strftime("%Y-%m-%d").tolist(),
            x=((spans["end_date"] - spans["start_date"]) / MS).tolist(),
            y=spans["child_id"].map(row_of).tolist(),
            width=0.6,
            marker={"color": [stage_colours.get(stage, "#BDD7E7") for stage in spans["stage"]]},
            hovertext=(
                "<b>"
                + spans["stage"]
                + "</b><br>"
                + _fmt(spans["start_date"])
                + " to "
                + _fmt(spans["end_date"])
            ).tolist(),
            hoverinfo="text",
            showlegend=False,
        )
    )
    overdue = evaluation[evaluation["days_overdue"] > 0]
    traces.append(
        dict(
            type="bar",
            name=OVERDUE_TRACE,
            orientation="h",
            base=overdue["overdue_from"].dt.strftime("%Y-%m-%d").tolist(),
            x=((overdue["overdue_to"] - overdue["overdue_from"]) / MS).tolist(),
            y=overdue["child_id"].map(row_of).tolist(),
            width=0.3,
            marker=overdue_marker(outline_width=1.5, hatch_size=6),
            hovertext=(
                "<b>"
                + overdue["rule_label"]
                + "</b>: "
                + overdue["days_overdue"].astype(str)
                + " days overdue"
            ).tolist(),
            hoverinfo="text",
        )
    )
    shown = events[events["on_date"] <= today_ts]
    traces.append(
        dict(
            type="scatter",
            name=EVENT_TRACE,
            x=shown["on_date"].dt.strftime("%Y-%m-%d").tolist(),
            y=shown["child_id"].map(row_of).tolist(),
            mode="markers",
            marker={
                "symbol": [catalogue.EVENTS[code].symbol for code in shown["code"]],
                "size": 10,
                "color": catalogue.MILESTONE_COLOUR,
                "line": {"color": "white", "width": 1},
            },
            hovertext=(
                "<b>" + shown["code"].map(catalogue.event_label) + "</b><br>" + _fmt(shown["on_date"])
            ).tolist(),
            hoverinfo="text",
        )
    )
    today_iso = today_ts.strftime("%Y-%m-%d")
    traces.append(
        dict(
            type="scatter",
            name="Today",
            x=[today_iso, today_iso],
            y=[-0.5, len(rows) - 0.5],
            mode="lines",
            line={"color": catalogue.TODAY_COLOUR, "dash": "dash", "width": 2},
            hoverinfo="skip",
        )
    )
    layout = {
        "barmode": "overlay",
        "height": 120 + ROW_HEIGHT_PX * len(rows),
        "margin": {"l": 260, "r": 30, "t": 40, "b": 40},
        "plot_bgcolor": "white",
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13},
        "yaxis": {
            "tickvals": list(range(len(rows))),
            "ticktext": labels,
            "range": [len(rows) - 0.5, -0.5],
            "automargin": False,
            "fixedrange": True,
            "showgrid": False,
            "zeroline": False,
        },
        "xaxis": {"type": "date", "automargin": False, "showgrid": True, "gridcolor": "#EEEEEE"},
    }
    # Plain dicts without plotly's per-property validation, which cost more than the rest of the
    # chart; tests/figures checks that plotly's validation accepts the charts drawn here.
    return go.Figure({"data": traces, "layout": layout}, _validate=False)
