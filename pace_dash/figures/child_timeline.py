"""The child's timeline: one Gantt-style picture of a child's journey, with every delay in red."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from pace_dash.domain import catalogue, journeys
from pace_dash.domain.rules import resolve_rules
from pace_dash.figures.styles import overdue_marker

MS_PER_DAY = 86_400_000
DAYS_PER_WEEK = 7
LANE_HEIGHT_PX = 44
DATE_FORMAT = "%-d %b %Y"

# Trace names: the browser tests and the legend both rely on them.
OVERDUE_TRACE = "Overdue (past target)"
ALLOWED_TRACE = "Time allowed by target"
DUE_TRACE = "Due, not yet reached"
PLAN_TRACE = "On-target path"
MILESTONE_TRACE = "Events"
STAGE_TRACE = "Waiting stage"
COURT_TRACE = "In court"
TODAY_TRACE = "Today"
EPISODE_TRACE = "New episode of care"
AGE_TRACE = "Age"

CALENDAR = "calendar"
WEEKS = "weeks"
LANES: tuple[str, ...] = (*catalogue.LANE_LABELS, catalogue.TARGETS_LANE)


@dataclass(frozen=True)
class ChildJourney:
    """Everything the chart draws for one child, as the domain layer computes it."""

    events: pd.DataFrame  # store.events
    periods: pd.DataFrame  # store.periods
    spans: pd.DataFrame  # journeys.stage_spans
    evaluation: pd.DataFrame  # journeys.evaluate
    rules: pd.DataFrame  # rules.resolve_rules for the child's authority
    path: pd.DataFrame  # journeys.on_target_path
    date_of_birth: pd.Timestamp | None = None


def build_child_journey(
    events: pd.DataFrame,
    periods: pd.DataFrame,
    rules: pd.DataFrame,
    today: dt.date,
    date_of_birth: pd.Timestamp | None = None,
) -> ChildJourney:
    """Compute what the chart needs for one child from its events, periods and the stored rules."""
    la_ids = sorted(set(events["la_id"]).union(periods["la_id"]))
    return ChildJourney(
        events=events,
        periods=periods,
        spans=journeys.stage_spans(events, today),
        evaluation=journeys.evaluate(events, rules, today),
        rules=resolve_rules(rules, [int(la_id) for la_id in la_ids]),
        path=journeys.on_target_path(events, rules, today),
        date_of_birth=date_of_birth,
    )


@dataclass(frozen=True)
class TimelineView:
    """How the reader asked to see the chart: which lanes, which axis, whether the planned path."""

    lanes: tuple[str, ...] = LANES
    axis: str = CALENDAR
    on_target: bool = True
    large_type: bool = False  # for projection in presentation mode


DEFAULT_VIEW = TimelineView()


class _Axis:
    """Place dates on the x axis: calendar dates, or weeks since the first day accommodated."""

    def __init__(self, view: TimelineView, origin: pd.Timestamp):
        self.weeks = view.axis == WEEKS
        self.origin = origin

    def x(self, dates: pd.Series) -> list:
        if self.weeks:
            return ((dates - self.origin) / pd.Timedelta(days=DAYS_PER_WEEK)).round(2).tolist()
        return dates.dt.strftime("%Y-%m-%d").tolist()

    def at(self, date: pd.Timestamp):
        return self.x(pd.Series([date]))[0]

    def length(self, start: pd.Series, end: pd.Series) -> list:
        unit = pd.Timedelta(days=DAYS_PER_WEEK) if self.weeks else pd.Timedelta(milliseconds=1)
        return ((end - start) / unit).round(3).tolist()


def _fmt(dates: pd.Series) -> pd.Series:
    return dates.dt.strftime(DATE_FORMAT).fillna("")


def _trace(kind: str, **properties) -> dict:
    # A plain trace dict: plotly's per-property validation cost more than the rest of the chart.
    # Unset (None) properties are left out, as plotly itself leaves them out.
    return {"type": kind, **{key: value for key, value in properties.items() if value is not None}}


def _bars(axis: _Axis, frame: pd.DataFrame, *, y, colours, text, hover, name, width, **extra) -> dict:
    # Bars are drawn as base + length (in ms on a date axis, as plotly draws Gantt bars).
    return _trace(
        "bar",
        name=name,
        orientation="h",
        base=axis.x(frame["start_date"]),
        x=axis.length(frame["start_date"], frame["end_date"]),
        y=y,
        width=width,
        marker={"color": colours, "line": {"color": "white", "width": 1}},
        text=text,
        textposition="inside",
        insidetextanchor="start",
        # Black or white per bar, whichever meets WCAG contrast on that bar's colour.
        textfont={
            "size": 11,
            "color": [catalogue.text_colour_on(c) for c in colours]
            if isinstance(colours, list)
            else catalogue.text_colour_on(colours),
        },
        hovertext=hover,
        hoverinfo="text",
        **extra,
    )


def lanes_for(evaluation: pd.DataFrame, view: TimelineView = DEFAULT_VIEW) -> list[tuple[str, str]]:
    """Return the (lane key, label) rows of the chart, top to bottom, for one child's evaluation."""
    fixed = [(lane, label) for lane, label in catalogue.LANE_LABELS.items() if lane in view.lanes]
    if catalogue.TARGETS_LANE not in view.lanes:
        return fixed
    applicable = evaluation[evaluation["status"] != "n/a"].sort_values(["start_date", "rule_key"])
    rules = applicable.drop_duplicates("rule_key")
    return fixed + [
        (f"rule:{row.rule_key}", f"{row.rule_label} ({row.target_days} d)") for row in rules.itertuples()
    ]


def rule_hover(applicable: pd.DataFrame) -> pd.Series:
    """Describe each evaluated rule row: the rule, its target, strength, source and dates."""
    return (
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


def child_timeline(journey: ChildJourney, today: dt.date, view: TimelineView = DEFAULT_VIEW) -> go.Figure:
    """Draw one child's journey: periods, events, waiting stages, and each target's delay in red.

    One trace per kind of mark, whatever the number of events. Clicking a mark gives its
    customdata: ("rule", rule_key, episode, occurrence), ("event", event_id) or ("plan", rule_key,
    episode), which the page turns into the side panel.
    """
    today_ts = pd.Timestamp(today)
    events = journey.events[journey.events["on_date"] <= today_ts]
    starts = events.loc[events["code"] == "accommodated", "on_date"].sort_values()
    origin = starts.iloc[0] if not starts.empty else today_ts
    axis = _Axis(view, origin)
    lanes = lanes_for(journey.evaluation, view)
    position = {key: index for index, (key, _label) in enumerate(lanes)}
    traces: list[dict] = []

    _add_periods(traces, axis, journey.periods, position, today_ts)
    _add_stages(traces, axis, journey.spans, position)
    applicable = journey.evaluation[journey.evaluation["status"] != "n/a"].merge(
        journey.rules[["la_id", "key", "strength", "source", "from_code", "to_code"]],
        left_on=["la_id", "rule_key"],
        right_on=["la_id", "key"],
        how="left",
    )
    _add_targets(traces, axis, applicable, position, today_ts)
    if view.on_target:
        _add_on_target_path(traces, axis, journey.path, position)
    _add_events(traces, axis, events, position)
    top, bottom = -0.5, len(lanes) - 0.5
    _add_reference_lines(traces, axis, starts.iloc[1:], today_ts, top, bottom)
    age_axis = (
        _add_age_axis(traces, axis, journey.date_of_birth, today_ts, top)
        if journey.date_of_birth is not None
        else {}
    )

    first = min(
        [d for d in (events["on_date"].min(), journey.periods["start_date"].min()) if pd.notna(d)]
        or [today_ts]
    )
    waiting = applicable[applicable["status"].isin(["open", "overdue"])]
    # A journey still open runs to today and shows the due dates ahead, so every hollow marker is
    # on the chart; a closed one ends where its last event or period does.
    ceased = events.loc[events["code"] == "ceased", "on_date"]
    closed = not starts.empty and bool((ceased >= starts.max()).any())
    ends = [events["on_date"].max(), journey.periods["end_date"].max(), waiting["due_date"].max()]
    last = max([day for day in ends if pd.notna(day)] + ([] if closed else [today_ts]) or [today_ts])
    whole = [axis.at(first - pd.Timedelta(days=30)), axis.at(last + pd.Timedelta(days=45))]
    layout = {
        "barmode": "overlay",
        "height": 170 + (LANE_HEIGHT_PX + (12 if view.large_type else 0)) * len(lanes),
        "margin": {"l": 250, "r": 70, "t": 70, "b": 40},
        "plot_bgcolor": "white",
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.08, "x": 0},
        "hoverlabel": {"align": "left"},
        "font": {
            "family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
            "size": 17 if view.large_type else 13,
        },
        "uirevision": view.axis,
        "clickmode": "event",
        "yaxis": {
            "tickvals": list(range(len(lanes))),
            "ticktext": [label for _key, label in lanes],
            "range": [bottom, top],
            "automargin": False,
            "showgrid": False,
            "zeroline": False,
            "fixedrange": True,
        },
        "xaxis": {
            "type": "linear" if axis.weeks else "date",
            **({"title": {"text": "Weeks since first accommodated"}} if axis.weeks else {}),
            "range": whole,
            "showgrid": True,
            "gridcolor": "#EEEEEE",
            "automargin": False,
            # The slider always spans the whole journey, whatever part of it the chart shows.
            "rangeslider": {"visible": True, "thickness": 0.06, "range": whole},
        },
        **age_axis,
    }
    # Built from plain dicts without plotly's validation, which took most of the chart's time;
    # tests/figures checks that plotly's validation accepts every chart drawn here.
    return go.Figure({"data": traces, "layout": layout}, _validate=False)


def _add_periods(traces, axis, periods, position, today_ts) -> None:
    for lane in ("legal_status", "placement"):
        if lane not in position:
            continue
        lane_periods = periods[periods["lane"] == lane].assign(
            end_date=lambda frame: frame["end_date"].fillna(today_ts)
        )
        labels = [catalogue.category_label(lane, category) for category in lane_periods["category"]]
        ends = _fmt(periods.loc[lane_periods.index, "end_date"]).replace("", "now")
        hover = [
            f"<b>{label}</b><br>{start} to {end}"
            for label, start, end in zip(labels, _fmt(lane_periods["start_date"]), ends, strict=True)
        ]
        traces.append(
            _bars(
                axis,
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


def _add_stages(traces, axis, spans, position) -> None:
    stage_colours = {stage.label: stage.colour for stage in catalogue.PROCESS_STAGES}
    hover = (
        "<b>"
        + spans["stage"]
        + "</b><br>"
        + _fmt(spans["start_date"])
        + " to "
        + _fmt(spans["end_date"])
        + "<br>"
        + spans["days"].astype(str)
        + " days"
    ).tolist()
    if "process" in position:
        traces.append(
            _bars(
                axis,
                spans,
                y=[position["process"]] * len(spans),
                colours=[stage_colours.get(stage, "#BDD7E7") for stage in spans["stage"]],
                text=spans["stage"].tolist(),
                hover=hover,
                name=STAGE_TRACE,
                width=0.6,
                showlegend=False,
            )
        )
    if "court" in position:
        in_court = spans[spans["code"] == "petition_lodged"]
        traces.append(
            _bars(
                axis,
                in_court,
                y=[position["court"]] * len(in_court),
                colours="#C6DBEF",
                text=None,
                hover=[
                    text for text, code in zip(hover, spans["code"], strict=True) if code == "petition_lodged"
                ],
                name=COURT_TRACE,
                width=0.35,
                showlegend=False,
            )
        )


def _add_targets(traces, axis, applicable, position, today_ts) -> None:
    if not any(key.startswith("rule:") for key in position):
        return
    rule_y = applicable["rule_key"].map(lambda key: position[f"rule:{key}"]).tolist()
    hover = rule_hover(applicable)
    keys = applicable[["rule_key", "episode", "occurrence"]].astype(object)
    customdata = [["rule", *row] for row in keys.itertuples(index=False)]

    allowed = applicable.assign(end_date=applicable[["due_date", "end_date"]].min(axis=1))
    traces.append(
        _bars(
            axis,
            allowed,
            y=rule_y,
            colours=catalogue.WITHIN_TARGET_COLOUR,
            text=None,
            hover=hover.tolist(),
            name=ALLOWED_TRACE,
            width=0.35,
            customdata=customdata,
        )
    )

    late = np.flatnonzero(applicable["days_overdue"].to_numpy() > 0)
    overdue = applicable.iloc[late]
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
    traces.append(
        _trace(
            "bar",
            name=OVERDUE_TRACE,
            orientation="h",
            base=axis.x(overdue["overdue_from"]),
            x=axis.length(overdue["overdue_from"], overdue["overdue_to"]),
            y=[rule_y[i] for i in late],
            width=0.5,
            marker=overdue_marker(outline_width=2, hatch_size=8),
            text=("+" + overdue["days_overdue"].astype(str) + " d").tolist(),
            textposition="outside",
            textfont={"color": catalogue.OVERDUE_OUTLINE, "size": 12},
            cliponaxis=False,
            hovertext=(
                hover.iloc[late]
                + "<br><b>"
                + overdue["days_overdue"].astype(str)
                + " days overdue</b> ("
                + ended
                + ")"
            ).tolist(),
            hoverinfo="text",
            customdata=[customdata[i] for i in late],
        )
    )

    waiting = np.flatnonzero(applicable["status"].isin(["open", "overdue"]).to_numpy())
    traces.append(
        _trace(
            "scatter",
            name=DUE_TRACE,
            x=axis.x(applicable["due_date"].iloc[waiting]),
            y=[rule_y[i] for i in waiting],
            mode="markers",
            marker={
                "symbol": "circle-open",
                "size": 13,
                "line": {"width": 2.5},
                "color": catalogue.DUE_MARKER_COLOUR,
            },
            hovertext=(hover.iloc[waiting] + "<br><b>Not reached yet</b>").tolist(),
            hoverinfo="text",
            customdata=[customdata[i] for i in waiting],
        )
    )


def _add_on_target_path(traces, axis, path, position) -> None:
    lanes = path["code"].map(lambda code: catalogue.EVENTS[code].lane)
    shown = path[lanes.isin(position)]
    traces.append(
        _trace(
            "scatter",
            name=PLAN_TRACE,
            x=axis.x(shown["planned_on"]),
            y=[position[catalogue.EVENTS[code].lane] for code in shown["code"]],
            mode="markers",
            marker={"symbol": "diamond-open", "size": 11, "color": "#8C8C8C", "line": {"width": 1.5}},
            opacity=0.8,
            hovertext=(
                "<b>On target:</b> "
                + shown["code"].map(catalogue.event_label)
                + " by "
                + _fmt(shown["planned_on"])
                + "<br>if every step had met its target"
            ).tolist(),
            hoverinfo="text",
            customdata=[
                ["plan", key, int(episode)]
                for key, episode in zip(shown["rule_key"], shown["episode"], strict=True)
            ],
        )
    )


def _add_events(traces, axis, events, position) -> None:
    lanes = events["code"].map(
        lambda code: catalogue.EVENTS[code].lane if code in catalogue.EVENTS else "milestones"
    )
    shown = events[lanes.isin(position)]
    details = [
        # A missing attribute is NaN in a str column: no detail, rather than "nan" for the whole hover.
        catalogue.attribute_label(code, attribute if isinstance(attribute, str) else None) or ""
        for code, attribute in zip(shown["code"], shown["attribute"], strict=True)
    ]
    notes = shown["note"].fillna("").map(lambda note: f"<br><i>{note}</i>" if note else "")
    traces.append(
        _trace(
            "scatter",
            name=MILESTONE_TRACE,
            x=axis.x(shown["on_date"]),
            y=[position[lane] for lane in lanes[shown.index]],
            mode="markers",
            marker={
                "symbol": [
                    catalogue.EVENTS[code].symbol if code in catalogue.EVENTS else "circle"
                    for code in shown["code"]
                ],
                "size": 12,
                "color": catalogue.MILESTONE_COLOUR,
                "line": {"color": "white", "width": 1},
            },
            hovertext=(
                "<b>"
                + shown["code"].map(catalogue.event_label)
                + "</b><br>"
                + _fmt(shown["on_date"])
                + "<br>"
                + pd.Series(details, index=shown.index)
                + notes
            ).tolist(),
            hoverinfo="text",
            customdata=[["event", int(event_id)] for event_id in shown["event_id"]],
        )
    )


def _add_reference_lines(traces, axis, re_entries, today_ts, top, bottom) -> None:
    episode_x: list = []
    episode_y: list = []
    for start in axis.x(re_entries):
        episode_x += [start, start, None]
        episode_y += [top, bottom, None]
    traces.append(
        _trace(
            "scatter",
            name=EPISODE_TRACE,
            x=episode_x,
            y=episode_y,
            mode="lines",
            line={"color": "#555555", "dash": "dot", "width": 1.5},
            hoverinfo="skip",
            showlegend=bool(episode_x),
        )
    )
    today_x = axis.at(today_ts)
    traces.append(
        _trace(
            "scatter",
            name=TODAY_TRACE,
            x=[today_x, today_x],
            y=[top, bottom],
            mode="lines",
            line={"color": catalogue.TODAY_COLOUR, "width": 2, "dash": "dash"},
            hoverinfo="skip",
        )
    )


def _add_age_axis(traces, axis, date_of_birth, today_ts, top) -> dict:
    """Add the birthdays' trace; return the layout of the age axis it is drawn on."""
    # Birthdays along a second axis on top, so the reader sees how old the child was at each step.
    years = range(0, today_ts.year - date_of_birth.year + 2)
    birthdays = pd.Series([date_of_birth + pd.DateOffset(years=age) for age in years])
    traces.append(
        _trace(
            "scatter",
            name=AGE_TRACE,
            x=axis.x(birthdays),
            y=[top] * len(birthdays),
            xaxis="x2",
            mode="markers",
            marker={"opacity": 0},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    return {
        "xaxis2": {
            "overlaying": "x",
            "matches": "x",
            "side": "top",
            "tickvals": axis.x(birthdays),
            "ticktext": [f"age {age}" for age in years],
            "showgrid": False,
            "tickfont": {"size": 11, "color": "#555555"},
            "type": "linear" if axis.weeks else "date",
        }
    }
