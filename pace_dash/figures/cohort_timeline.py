"""The cohort timeline: one row per child, thousands at once, drawn with WebGL from numeric arrays.

Each waiting stage is one WebGL trace whose segments are horizontal error bars: a point at the
segment's start, and an error bar reaching to its end. That needs three short numbers per
segment (start, row, length) sent as typed arrays, about a third of what line segments with
gap separators cost, so 10,000 children stay well under 1.5 MB.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from pace_dash.domain import catalogue

EPOCH = pd.Timestamp("1970-01-01")
ROW_TRACE = "Child (click to open)"
OVERDUE_TRACE = "Overdue (past target)"
TARGET_TRACE = "26-week target"
TODAY_TRACE = "Today"
CHANGES_TRACE = "Changes tested"
RECOMMENDATION_TARGET_DAYS = 182
OVERDUE_OFFSET = 0.3  # overdue marks sit just below their row: position, not colour alone
LABELLED_ROWS = 60  # at most this many rows get their reference as a tick label
PLOT_PIXELS = 600  # about how tall the plotting area is once the cohort outgrows it
STAGE_COLOURS: dict[str, str] = {
    **{stage.label: stage.colour for stage in catalogue.PROCESS_STAGES},
    catalogue.AWAITING_OUTCOME: "#74C476",
}
ALIGNED_TICKS: tuple[tuple[int, str], ...] = (
    (0, "0"),
    (182, "26 wk"),
    (365, "1 y"),
    (730, "2 y"),
    (1095, "3 y"),
    (1461, "4 y"),
    (1826, "5 y"),
    (2557, "7 y"),
    (3652, "10 y"),
)


def compact(values) -> np.ndarray:
    """Return numbers as the smallest typed array that holds them exactly (int16, int32 or float32).

    plotly sends numpy arrays as base64 typed arrays, so the narrower the type, the fewer bytes.
    """
    array = np.asarray(values, dtype="float64")
    if array.size and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
        for kind in ("int16", "int32"):
            limits = np.iinfo(kind)
            if array.min() >= limits.min and array.max() <= limits.max:
                return array.astype(kind)
    return array.astype("float32")


def _positions(frame: pd.DataFrame, align: str) -> tuple[np.ndarray, np.ndarray]:
    if align == "accommodated":
        return compact(frame["start"]), compact(frame["end"] - frame["start"])
    # Calendar dates as day numbers on a linear axis: plotly.js cannot draw WebGL error bars on a
    # date axis, and whole days fit in two bytes until 2059.
    start = (frame["start"] - EPOCH) // pd.Timedelta(days=1)
    end = (frame["end"] - EPOCH) // pd.Timedelta(days=1)
    return compact(start), compact(end - start)


def _segments(frame: pd.DataFrame, align: str, *, name: str, colour: str, thickness: float, offset: float):
    start, length = _positions(frame, align)
    return dict(
        type="scattergl",
        name=name,
        legendgroup=name,
        showlegend=False,
        x=start,
        y=compact(frame["row"] + offset),
        mode="markers",
        # The point only anchors the bar and its hover; the error bar draws the segment.
        marker={"size": 4, "color": colour, "opacity": 0},
        error_x={
            "type": "data",
            "symmetric": False,
            "array": length,
            "arrayminus": np.zeros(len(frame), dtype="int8"),
            "width": 0,
            "thickness": thickness,
            "color": colour,
        },
        hovertemplate=f"{name}<extra></extra>",
    )


def _legend_entry(name: str, colour: str) -> dict:
    # WebGL error bars show no swatch in the legend, so each kind of segment gets an empty
    # entry of its own colour; clicking it hides the segments of its group.
    return dict(
        type="scatter",
        name=name,
        legendgroup=name,
        x=[None],
        y=[None],
        mode="lines",
        line={"color": colour, "width": 6},
        hoverinfo="skip",
    )


def cohort_timeline(
    stages: pd.DataFrame,
    overdue: pd.DataFrame,
    rows: pd.DataFrame,
    groups: pd.DataFrame,
    align: str,
    today: dt.date,
    changes: pd.DataFrame | None = None,
) -> go.Figure:
    """Draw a cohort's journeys, one row per child: stages in blue shades, overdue time in red below.

    `stages` and `overdue` come from cohort.timeline_segments, `rows` and `groups` from
    cohort.timeline_rows; `align` is "accommodated" (days since accommodated) or "calendar".
    One WebGL trace per stage, one for overdue time, and one of row markers carrying each
    child's reference (for hover); group names label their header row. A click gives a row
    number (y), which the page maps back to the child. `changes` (store.qi.annotations: on_date,
    kind, text) are drawn as dotted lines on calendar dates; aligned on the day accommodated,
    a date means a different moment for every child, so they are left out there.
    """
    aligned = align == "accommodated"
    traces: list[dict] = []
    thickness = segment_thickness(len(rows))
    present = set(stages["stage"])
    kinds = [(stage, colour, thickness) for stage, colour in STAGE_COLOURS.items() if stage in present]
    for stage, colour, thickness in kinds:
        own = stages[stages["stage"] == stage]
        traces.append(_segments(own, align, name=stage, colour=colour, thickness=thickness, offset=0))
    traces.append(
        _segments(
            overdue, align, name=OVERDUE_TRACE, colour=catalogue.OVERDUE_COLOUR, thickness=thickness,
            offset=OVERDUE_OFFSET,
        )
    )  # fmt: skip
    for name, colour, _thickness in [*kinds, (OVERDUE_TRACE, catalogue.OVERDUE_COLOUR, thickness)]:
        traces.append(_legend_entry(name, colour))
    row_starts = rows.assign(start=rows["episode_start"], end=rows["episode_start"])
    traces.append(
        dict(
            type="scattergl",
            name=ROW_TRACE,
            x=np.zeros(len(rows), dtype="int8") if aligned else _positions(row_starts, align)[0],
            y=compact(rows["row"]),
            text=rows["reference"].tolist(),
            mode="markers",
            # Light and small: at thousands of rows they form a thin grey edge, not a black wall.
            marker={"size": 4, "color": "#8C8C8C", "symbol": "square"},
            hovertemplate="<b>%{text}</b>: click to open the timeline<extra></extra>",
        )
    )
    last_row = int(rows["row"].max()) if len(rows) else 0
    top, bottom = -1.0, last_row + 1.0
    marker_day = RECOMMENDATION_TARGET_DAYS if aligned else (pd.Timestamp(today) - EPOCH).days
    traces.append(
        dict(
            type="scatter",
            name=TARGET_TRACE if aligned else TODAY_TRACE,
            x=[marker_day, marker_day],
            y=[top, bottom],
            mode="lines",
            line={"color": catalogue.TODAY_COLOUR, "dash": "dash", "width": 1.5},
            hoverinfo="skip",
        )
    )
    if not aligned and changes is not None and len(changes):
        traces.append(_changes_trace(changes, top, bottom))
    labelled = len(rows) <= LABELLED_ROWS
    ticks = ALIGNED_TICKS if aligned else _year_ticks(stages, today)
    annotations = [
        {
            "x": 0,
            "xref": "paper",
            "xanchor": "left",
            "y": int(group.header_row),
            "yref": "y",
            "text": f"<b>{group.label}</b> · {group.children:,} children",
            "showarrow": False,
            "bgcolor": "rgba(255,255,255,0.85)",
        }
        for group in groups.itertuples()
        if len(groups) > 1
    ]
    layout = {
        "height": _height(last_row),
        "margin": {"l": 110 if labelled else 40, "r": 20, "t": 70, "b": 50},
        "plot_bgcolor": "white",
        "hovermode": "closest",
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.01, "x": 0},
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13},
        "uirevision": f"cohort-{align}",
        # An empty list is left out, as plotly leaves it out.
        **({"annotations": annotations} if annotations else {}),
        "yaxis": {
            "range": [bottom, top],
            "showgrid": False,
            "zeroline": False,
            "tickvals": rows["row"].tolist() if labelled else [],
            "ticktext": rows["reference"].tolist() if labelled else [],
            **(
                {}
                if labelled
                else {"title": {"text": f"{len(rows):,} children, one row each (drag to zoom in)"}}
            ),
        },
        "xaxis": {
            "title": {"text": "Time since accommodated" if aligned else "Date"},
            "tickvals": [day for day, _label in ticks],
            "ticktext": [label for _day, label in ticks],
            "showgrid": True,
            "gridcolor": "#EEEEEE",
            "zeroline": False,
        },
    }
    # Plain dicts without plotly's per-property validation, which cost more than the rest of the
    # chart; tests/figures checks that plotly's validation accepts the charts drawn here.
    return go.Figure({"data": traces, "layout": layout}, _validate=False)


def _changes_trace(changes: pd.DataFrame, top: float, bottom: float) -> dict:
    # One trace for every change: a dotted line from top to bottom at its date, with gaps between.
    days = ((changes["on_date"] - EPOCH) // pd.Timedelta(days=1)).tolist()
    labels = (
        changes["kind"].str.upper()
        + ": "
        + changes["text"]
        + " ("
        + changes["on_date"].dt.strftime("%-d %b %Y")
        + ")"
    ).tolist()
    return dict(
        type="scatter",
        name=CHANGES_TRACE,
        x=[x for day in days for x in (day, day, None)],
        y=[y for _day in days for y in (top, bottom, None)],
        text=[t for label in labels for t in (label, label, None)],
        mode="lines",
        line={"color": "#6A3D9A", "dash": "dot", "width": 1.5},
        hovertemplate="%{text}<extra></extra>",
    )


def segment_thickness(rows: int) -> float:
    """Return the bar thickness in pixels: thick while rows are few, one pixel once they overlap.

    Past a few hundred rows each row is under a pixel tall, so thicker bars only paint over
    their neighbours, and software WebGL pays for every pixel painted.
    """
    return float(np.clip(PLOT_PIXELS / max(rows, 1), 1.0, 6.0))


def _year_ticks(stages: pd.DataFrame, today: dt.date) -> list[tuple[int, str]]:
    first = stages["start"].min().year if len(stages) else today.year
    return [((pd.Timestamp(year, 1, 1) - EPOCH).days, str(year)) for year in range(first, today.year + 2)]


def _height(last_row: int) -> int:
    # About 14 pixels a row while rows are few; past that a fixed frame to zoom into, so the
    # WebGL canvas stays one screen tall however many children there are.
    return int(min(max(260, 140 + 14 * (last_row + 1)), 760))
