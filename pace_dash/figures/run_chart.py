"""Run charts: points in time order, each phase's median, signals, the target, and the changes tested.

Pure functions from prepared frames to a plotly Figure. One trace per kind of mark in each
panel (a panel per authority in small multiples); every line is a trace, never a layout shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from pace_dash.domain.runchart import RunChart

# Okabe-Ito colours (distinct with colour-blindness); a signal is also a larger diamond with a
# black outline, so it reads without colour, and the extended median is dashed, not recoloured.
POINT_COLOUR = "#0072B2"
LINE_COLOUR = "#8C8C8C"
SIGNAL_COLOUR = "#D55E00"
CENTRE_COLOUR = "#222222"
TARGET_COLOUR = "#009E73"
ANNOTATION_COLOUR = "#E69F00"
PHASE_COLOUR = "#555555"

# Trace names: the legend, the page's click handling and the tests rely on them.
POINTS_TRACE = "Points"
SIGNAL_TRACE = "Signal (non-random pattern)"
BASELINE_TRACE = "Median (baseline)"
EXTENDED_TRACE = "Median, extended"
TARGET_TRACE = "Target"
PHASE_TRACE = "New phase"
ANNOTATION_TRACE = "Change tested"
ANNOTATION_LINE_TRACE = "Change tested (line)"

PANEL_HEIGHT_PX = 340
LEGEND_MARGIN_PX = 90
DATE_FORMAT = "%-d %b %Y"


@dataclass(frozen=True)
class Panel:
    """One run chart of a small-multiples figure: its points, their analysis, target and annotations.

    `points` has x (dates), label, value and children (from qi.series); `annotations` has
    on_date, kind and text; `target` is drawn as a horizontal line labelled `target_label`.
    """

    title: str
    points: pd.DataFrame
    analysis: RunChart
    target: float | None = None
    target_label: str = ""
    annotations: pd.DataFrame | None = None


def _iso(value) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _y_range(panel: Panel, percent: bool) -> tuple[float, float]:
    if percent:
        return -4.0, 112.0
    candidates = [*panel.points["value"].tolist(), *(phase.centre for phase in panel.analysis.phases)]
    if panel.target is not None:
        candidates.append(panel.target)
    low, high = (min(candidates), max(candidates)) if candidates else (0.0, 1.0)
    pad = max((high - low) * 0.08, 1.0)
    # Room at the top for the markers of the changes tested.
    return max(low - pad, 0.0) if low >= 0 else low - pad, high + 2.5 * pad


def _centre_lines(panel: Panel) -> tuple[dict, dict]:
    xs = panel.points["x"].tolist()
    baseline: dict[str, list] = {"x": [], "y": []}
    extended: dict[str, list] = {"x": [], "y": []}
    for phase in panel.analysis.phases:
        baseline["x"] += [_iso(xs[phase.first]), _iso(xs[phase.baseline_last]), None]
        baseline["y"] += [phase.centre, phase.centre, None]
        if phase.last > phase.baseline_last:
            extended["x"] += [_iso(xs[phase.baseline_last]), _iso(xs[phase.last]), None]
            extended["y"] += [phase.centre, phase.centre, None]
    return baseline, extended


def _signal_hover(panel: Panel) -> dict[int, str]:
    texts: dict[int, list[str]] = {}
    for signal in panel.analysis.signals:
        if signal.rule in ("too_few_runs", "too_many_runs", "few_crossings"):
            continue  # a verdict on the whole phase, not on particular points: said in words beside the chart
        for position in range(signal.first, signal.last + 1):
            texts.setdefault(position, []).append(signal.text)
    return {position: "<br>".join(lines) for position, lines in texts.items()}


def _value_text(value: float, percent: bool, measure_word: str) -> str:
    return f"{value:.0f}% within target" if percent else f"{measure_word} {value:.1f} weeks"


def _add_panel(figure: go.Figure, panel: Panel, row: int, percent: bool, measure_word: str) -> None:
    points = panel.points
    first_panel = row == 1
    low, high = _y_range(panel, percent)
    xs = [_iso(x) for x in points["x"]]
    hover = [
        f"<b>{label}</b><br>{_value_text(value, percent, measure_word)}<br>"
        f"{children} child{'ren' if children != 1 else ''}<br><i>Click to list the children</i>"
        for label, value, children in zip(points["label"], points["value"], points["children"], strict=True)
    ]
    customdata = [[row - 1, position] for position in range(len(points))]
    figure.add_trace(
        go.Scatter(
            name=POINTS_TRACE,
            legendgroup=POINTS_TRACE,
            showlegend=first_panel,
            x=xs,
            y=points["value"].tolist(),
            mode="lines+markers",
            line={"color": LINE_COLOUR, "width": 1.5},
            marker={"color": POINT_COLOUR, "size": 7, "symbol": "circle"},
            hovertext=hover,
            hoverinfo="text",
            customdata=customdata,
        ),
        row=row,
        col=1,
    )
    signal_text = _signal_hover(panel)
    flagged = sorted(signal_text)
    figure.add_trace(
        go.Scatter(
            name=SIGNAL_TRACE,
            legendgroup=SIGNAL_TRACE,
            showlegend=first_panel,
            x=[xs[position] for position in flagged],
            y=[points["value"].iloc[position] for position in flagged],
            mode="markers",
            marker={
                "color": SIGNAL_COLOUR,
                "size": 12,
                "symbol": "diamond",
                "line": {"color": "black", "width": 1.5},
            },
            hovertext=[f"{hover[position]}<br><b>{signal_text[position]}</b>" for position in flagged],
            hoverinfo="text",
            customdata=[customdata[position] for position in flagged],
        ),
        row=row,
        col=1,
    )
    baseline, extended = _centre_lines(panel)
    for name, line, dash in ((BASELINE_TRACE, baseline, "solid"), (EXTENDED_TRACE, extended, "dash")):
        figure.add_trace(
            go.Scatter(
                name=name,
                legendgroup=name,
                showlegend=first_panel,
                **line,
                mode="lines",
                line={"color": CENTRE_COLOUR, "width": 2, "dash": dash},
                # Lines take no hover: a click must land on the point under them, for drill-through.
                hoverinfo="skip",
            ),
            row=row,
            col=1,
        )
    if panel.target is not None and xs:
        figure.add_trace(
            go.Scatter(
                name=TARGET_TRACE,
                legendgroup=TARGET_TRACE,
                showlegend=first_panel,
                x=[xs[0], xs[-1]],
                y=[panel.target, panel.target],
                mode="lines+text",
                # At the start, where the baseline usually sits well clear of the target.
                text=[panel.target_label, ""],
                textposition="top right",
                textfont={"color": TARGET_COLOUR},
                line={"color": TARGET_COLOUR, "width": 2, "dash": "dot"},
                hoverinfo="skip",
            ),
            row=row,
            col=1,
        )
    phase_x: list = []
    phase_y: list = []
    for phase in panel.analysis.phases[1:]:
        phase_x += [xs[phase.first], xs[phase.first], None]
        phase_y += [low, high, None]
    figure.add_trace(
        go.Scatter(
            name=PHASE_TRACE,
            legendgroup=PHASE_TRACE,
            showlegend=first_panel and bool(phase_x),
            x=phase_x,
            y=phase_y,
            mode="lines",
            line={"color": PHASE_COLOUR, "width": 1.5, "dash": "dashdot"},
            hoverinfo="skip",
        ),
        row=row,
        col=1,
    )
    _add_annotations(figure, panel, row, low, high)
    figure.update_yaxes(range=[low, high], row=row, col=1)


def _add_annotations(figure: go.Figure, panel: Panel, row: int, low: float, high: float) -> None:
    notes = panel.annotations if panel.annotations is not None else pd.DataFrame(columns=["on_date", "text"])
    # Only the changes within the chart's time span: one outside it would stretch the axis.
    first, last = panel.points["x"].min(), panel.points["x"].max()
    notes = (
        notes[(notes["on_date"] >= first) & (notes["on_date"] <= last)]
        if not panel.points.empty
        else notes[:0]
    )
    by_date = notes.groupby("on_date", sort=True)["text"].agg(lambda texts: "<br>".join(texts))
    numbers = [str(number) for number in range(1, len(by_date) + 1)]
    dates = [_iso(day) for day in by_date.index]
    marker_y = high - (high - low) * 0.06
    line_x: list = []
    line_y: list = []
    for day in dates:
        line_x += [day, day, None]
        line_y += [low, marker_y, None]
    figure.add_trace(
        go.Scatter(
            name=ANNOTATION_LINE_TRACE,
            showlegend=False,
            x=line_x,
            y=line_y,
            mode="lines",
            line={"color": ANNOTATION_COLOUR, "width": 1, "dash": "dot"},
            hoverinfo="skip",
        ),
        row=row,
        col=1,
    )
    figure.add_trace(
        go.Scatter(
            name=ANNOTATION_TRACE,
            legendgroup=ANNOTATION_TRACE,
            showlegend=row == 1,
            x=dates,
            y=[marker_y] * len(dates),
            mode="markers+text",
            text=numbers,
            textposition="middle right",
            textfont={"size": 12, "color": "#5C3B00"},
            marker={
                "symbol": "triangle-down",
                "size": 13,
                "color": ANNOTATION_COLOUR,
                "line": {"color": "black", "width": 1},
            },
            hovertext=[
                f"<b>{number} · {pd.Timestamp(day).strftime(DATE_FORMAT)}</b><br>{text}"
                for number, day, text in zip(numbers, by_date.index, by_date, strict=True)
            ],
            hoverinfo="text",
        ),
        row=row,
        col=1,
    )


def annotation_caption(annotations: pd.DataFrame, first, last) -> list[str]:
    """Return the numbered lines that explain a panel's change markers, as the chart numbers them."""
    shown = annotations[(annotations["on_date"] >= first) & (annotations["on_date"] <= last)]
    by_date = shown.groupby("on_date", sort=True)["text"].agg(lambda texts: "; ".join(texts))
    return [
        f"{number}. {pd.Timestamp(day).strftime(DATE_FORMAT)}: {text}"
        for number, (day, text) in enumerate(by_date.items(), start=1)
    ]


def run_chart(
    panels: list[Panel], *, y_title: str, percent: bool = False, measure_word: str = ""
) -> go.Figure:
    """Draw one run chart per panel, stacked with a shared time axis (small multiples).

    `percent` fixes the y axis to 0-100%; `measure_word` starts each point's hover (such as
    "Median" or "Took").
    """
    figure = make_subplots(
        rows=max(len(panels), 1),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.09 if len(panels) > 1 else 0.0,
        subplot_titles=[panel.title for panel in panels] or None,
    )
    for row, panel in enumerate(panels, start=1):
        _add_panel(figure, panel, row, percent, measure_word)
        figure.update_yaxes(title_text=y_title, row=row, col=1)
    figure.update_layout(
        height=70 + LEGEND_MARGIN_PX + PANEL_HEIGHT_PX * max(len(panels), 1),
        margin={"l": 70, "r": 30, "t": 70, "b": LEGEND_MARGIN_PX},
        plot_bgcolor="white",
        # Under the charts, where it stays clear of the title whatever the number of panels.
        legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0, "x": 0},
        hoverlabel={"align": "left"},
        hovermode="closest",
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13},
    )
    figure.update_xaxes(type="date", showgrid=True, gridcolor="#EEEEEE", showticklabels=True)
    figure.update_yaxes(showgrid=True, gridcolor="#EEEEEE", zeroline=False, ticksuffix="%" if percent else "")
    return figure
