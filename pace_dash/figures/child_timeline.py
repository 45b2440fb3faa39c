"""The child's timeline: one Gantt-style picture of a child's journey, with every delay in red."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from pace_dash.domain import catalogue

MS_PER_DAY = 86_400_000
LANE_HEIGHT_PX = 46
DATE_FORMAT = "%-d %b %Y"

# Trace names: the browser tests and the legend both rely on them.
OVERDUE_TRACE = "Overdue (past target)"
ALLOWED_TRACE = "Time allowed by target"
DUE_TRACE = "Due, not yet reached"
MILESTONE_TRACE = "Milestones"
STAGE_TRACE = "Waiting stage"
TODAY_TRACE = "Today"
EPISODE_TRACE = "New episode of care"


def _fmt(dates: pd.Series) -> pd.Series:
    return dates.dt.strftime(DATE_FORMAT).fillna("")


def _duration_ms(start: pd.Series, end: pd.Series) -> np.ndarray:
    # Bars are drawn as base + length in milliseconds on a date axis (how plotly draws Gantt bars).
    return ((end - start) / pd.Timedelta(milliseconds=1)).to_numpy(dtype="float64")


def _bars(frame: pd.DataFrame, *, y, colours, text, hover, name, width, **extra) -> go.Bar:
    return go.Bar(
        name=name,
        orientation="h",
        base=frame["start_date"].dt.strftime("%Y-%m-%d").tolist(),
        x=_duration_ms(frame["start_date"], frame["end_date"]),
        y=y,
        width=width,
        marker={"color": colours, "line": {"color": "white", "width": 1}},
        text=text,
        textposition="inside",
        insidetextanchor="start",
        textfont={"size": 11},
        hovertext=hover,
        hoverinfo="text",
        **extra,
    )


def lanes_for(evaluation: pd.DataFrame) -> list[tuple[str, str]]:
    """Return the (lane key, label) rows of the chart, top to bottom, for one child's evaluation."""
    fixed = [(lane, label) for lane, label in catalogue.LANE_LABELS.items()]
    applicable = evaluation[evaluation["status"] != "n/a"].sort_values(["start_date", "rule_key"])
    rules = applicable.drop_duplicates("rule_key")
    return fixed + [
        (f"rule:{row.rule_key}", f"{row.rule_label} ({row.target_days} d)") for row in rules.itertuples()
    ]


def child_timeline(
    events: pd.DataFrame,
    periods: pd.DataFrame,
    spans: pd.DataFrame,
    evaluation: pd.DataFrame,
    rules: pd.DataFrame,
    today: dt.date,
) -> go.Figure:
    """Draw one child's journey: legal status, placements, waiting stages, and each target's delay.

    One trace per kind of mark. `spans` comes from journeys.stage_spans, `evaluation` from
    journeys.evaluate, `rules` is the resolved rule table (for each rule's source in the hover).
    """
    today_ts = pd.Timestamp(today)
    lanes = lanes_for(evaluation)
    position = {key: index for index, (key, _label) in enumerate(lanes)}
    figure = go.Figure()

    for lane in ("legal_status", "placement"):
        lane_periods = periods[periods["lane"] == lane].assign(
            end_date=lambda frame: frame["end_date"].fillna(today_ts)
        )
        labels = [catalogue.category_label(lane, category) for category in lane_periods["category"]]
        hover = [
            f"<b>{label}</b><br>{start} to {end}"
            for label, start, end in zip(
                labels,
                _fmt(lane_periods["start_date"]),
                _fmt(periods.loc[lane_periods.index, "end_date"]).replace("", "now"),
                strict=True,
            )
        ]
        figure.add_trace(
            _bars(
                lane_periods,
                y=[position[lane]] * len(lane_periods),
                colours=[catalogue.category_colour(lane, c) for c in lane_periods["category"]],
                text=labels,
                hover=hover,
                name=catalogue.LANE_LABELS[lane],
                width=0.6,
                showlegend=False,
            )
        )

    stage_colours = {stage.label: stage.colour for stage in catalogue.PROCESS_STAGES}
    figure.add_trace(
        _bars(
            spans,
            y=[position["process"]] * len(spans),
            colours=[stage_colours.get(stage, "#BDD7E7") for stage in spans["stage"]],
            text=spans["stage"].tolist(),
            hover=(
                "<b>"
                + spans["stage"]
                + "</b><br>"
                + _fmt(spans["start_date"])
                + " to "
                + _fmt(spans["end_date"])
                + "<br>"
                + spans["days"].astype(str)
                + " days"
            ).tolist(),
            name=STAGE_TRACE,
            width=0.6,
            showlegend=False,
        )
    )

    applicable = evaluation[evaluation["status"] != "n/a"].merge(
        rules[["la_id", "key", "strength", "source", "from_code", "to_code"]],
        left_on=["la_id", "rule_key"],
        right_on=["la_id", "key"],
        how="left",
    )
    rule_y = applicable["rule_key"].map(lambda key: position[f"rule:{key}"]).tolist()
    rule_text = (
        "<b>"
        + applicable["rule_label"]
        + "</b><br>"
        + applicable["from_code"].map(catalogue.event_label)
        + " → "
        + applicable["to_code"].map(catalogue.event_label)
        + ", target "
        + applicable["target_days"].astype(str)
        + " days<br>"
        + "Strength: "
        + applicable["strength"]
        + "<br>Source: "
        + applicable["source"]
        + "<br>From "
        + _fmt(applicable["start_date"])
        + ", due "
        + _fmt(applicable["due_date"])
    )

    allowed = applicable.assign(end_date=applicable[["due_date", "end_date"]].min(axis=1))
    allowed["end_date"] = allowed["end_date"].fillna(allowed["due_date"].clip(upper=today_ts))
    figure.add_trace(
        _bars(
            allowed,
            y=rule_y,
            colours=catalogue.WITHIN_TARGET_COLOUR,
            text=None,
            hover=rule_text.tolist(),
            name=ALLOWED_TRACE,
            width=0.35,
        )
    )

    overdue = applicable[applicable["days_overdue"] > 0]
    overdue_y = [rule_y[i] for i in np.flatnonzero(applicable["days_overdue"].to_numpy() > 0)]
    closers = {code: event.label for code, event in catalogue.EVENTS.items()}
    closers["ceased"] = "the child ceased to be looked after"
    closed_label = overdue["closed_by"].map(closers).fillna("")
    ended = np.select(
        [overdue["status"] == "overdue", overdue["closed_by"].notna()],
        [
            "still waiting today",
            "not recorded; the wait ended at " + closed_label + ", " + _fmt(overdue["overdue_to"]),
        ],
        default="reached " + _fmt(overdue["overdue_to"]),
    )
    figure.add_trace(
        go.Bar(
            name=OVERDUE_TRACE,
            orientation="h",
            base=overdue["overdue_from"].dt.strftime("%Y-%m-%d").tolist(),
            x=_duration_ms(overdue["overdue_from"], overdue["overdue_to"]),
            y=overdue_y,
            width=0.5,
            marker={
                "color": catalogue.OVERDUE_COLOUR,
                "line": {"color": catalogue.OVERDUE_OUTLINE, "width": 2},
                "pattern": {
                    "shape": catalogue.OVERDUE_PATTERN,
                    "fgcolor": "white",
                    "size": 8,
                    "solidity": 0.25,
                },
            },
            text=("+" + overdue["days_overdue"].astype(str) + " d").tolist(),
            textposition="outside",
            textfont={"color": catalogue.OVERDUE_OUTLINE, "size": 12},
            cliponaxis=False,
            hovertext=(
                rule_text[overdue.index]
                + "<br><b>"
                + overdue["days_overdue"].astype(str)
                + " days overdue</b> ("
                + ended
                + ")"
            ).tolist(),
            hoverinfo="text",
            customdata=overdue[["rule_key", "episode", "occurrence"]].to_numpy().tolist(),
        )
    )

    waiting = applicable[applicable["status"].isin(["open", "overdue"])]
    figure.add_trace(
        go.Scatter(
            name=DUE_TRACE,
            x=waiting["due_date"].dt.strftime("%Y-%m-%d").tolist(),
            y=[rule_y[i] for i in np.flatnonzero(applicable["status"].isin(["open", "overdue"]).to_numpy())],
            mode="markers",
            marker={
                "symbol": "circle-open",
                "size": 13,
                "line": {"width": 2.5},
                "color": catalogue.DUE_MARKER_COLOUR,
            },
            hovertext=(rule_text[waiting.index] + "<br><b>Not reached yet</b>").tolist(),
            hoverinfo="text",
        )
    )

    marked = events[events["on_date"] <= today_ts]
    labels = marked["code"].map(catalogue.event_label)
    details = [
        catalogue.attribute_label(code, attribute) or ""
        for code, attribute in zip(marked["code"], marked["attribute"], strict=True)
    ]
    figure.add_trace(
        go.Scatter(
            name=MILESTONE_TRACE,
            x=marked["on_date"].dt.strftime("%Y-%m-%d").tolist(),
            y=[position["milestones"]] * len(marked),
            mode="markers",
            marker={
                "symbol": [
                    catalogue.EVENTS[code].symbol if code in catalogue.EVENTS else "circle"
                    for code in marked["code"]
                ],
                "size": 12,
                "color": catalogue.MILESTONE_COLOUR,
                "line": {"color": "white", "width": 1},
            },
            hovertext=(
                "<b>"
                + labels
                + "</b><br>"
                + _fmt(marked["on_date"])
                + "<br>"
                + pd.Series(details, index=marked.index)
            ).tolist(),
            hoverinfo="text",
        )
    )

    top, bottom = -0.5, len(lanes) - 0.5
    starts = marked.loc[marked["code"] == "accommodated", "on_date"].sort_values().iloc[1:]
    episode_x: list = []
    episode_y: list = []
    for start in starts.dt.strftime("%Y-%m-%d"):
        episode_x += [start, start, None]
        episode_y += [top, bottom, None]
    figure.add_trace(
        go.Scatter(
            name=EPISODE_TRACE,
            x=episode_x,
            y=episode_y,
            mode="lines",
            line={"color": "#555555", "dash": "dot", "width": 1.5},
            hoverinfo="skip",
            showlegend=bool(episode_x),
        )
    )
    today_iso = today_ts.strftime("%Y-%m-%d")
    figure.add_trace(
        go.Scatter(
            name=TODAY_TRACE,
            x=[today_iso, today_iso],
            y=[top, bottom],
            mode="lines+text",
            text=["Today", ""],
            textposition="top center",
            line={"color": catalogue.TODAY_COLOUR, "width": 2, "dash": "dash"},
            hoverinfo="skip",
        )
    )

    first = min(
        [d for d in (events["on_date"].min(), periods["start_date"].min()) if pd.notna(d)] or [today_ts]
    )
    # Show the due dates still ahead, so every hollow marker is on the chart.
    last = max(today_ts, waiting["due_date"].max() if not waiting.empty else today_ts)
    figure.update_layout(
        barmode="overlay",
        height=140 + LANE_HEIGHT_PX * len(lanes),
        margin={"l": 260, "r": 60, "t": 40, "b": 40},
        plot_bgcolor="white",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        hoverlabel={"align": "left"},
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13},
        uirevision="child",
        # Labels that do not fit their bar are hidden rather than shrunk to unreadable sizes.
        uniformtext={"minsize": 10, "mode": "hide"},
    )
    figure.update_yaxes(
        tickvals=list(range(len(lanes))),
        ticktext=[label for _key, label in lanes],
        range=[bottom, top - 0.4],
        automargin=False,
        showgrid=False,
        zeroline=False,
        fixedrange=True,
    )
    figure.update_xaxes(
        type="date",
        range=[
            (first - pd.Timedelta(days=30)).strftime("%Y-%m-%d"),
            (last + pd.Timedelta(days=45)).strftime("%Y-%m-%d"),
        ],
        showgrid=True,
        gridcolor="#EEEEEE",
        automargin=False,
    )
    return figure
