"""Cohort summary charts: time to milestone, stage durations, pathway flow, where delay accumulates."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from pace_dash.domain import catalogue
from pace_dash.domain.cohort import SurvivalCurves

# Okabe-Ito: distinct under the common colour-blindnesses; curves also differ by dash.
GROUP_COLOURS: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
GROUP_DASHES: tuple[str, ...] = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot", "solid")
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13}
AT_RISK_TRACE = "Numbers at risk"


def _rgba(colour: str, alpha: float) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def time_to_milestone(survival: SurvivalCurves, milestone: str, target_days: int | None) -> go.Figure:
    """Draw Kaplan-Meier curves of the share reaching a milestone, with numbers at risk beneath.

    One step line and one 95% band per group; a dashed line marks the target when given.
    """
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.78, 0.22], vertical_spacing=0.1)
    groups = list(dict.fromkeys(survival.curves["group"]))
    for index, group in enumerate(groups):
        colour = GROUP_COLOURS[index % len(GROUP_COLOURS)]
        curve = survival.curves[survival.curves["group"] == group]
        band_x = [*curve["day"], *curve["day"][::-1]]
        band_y = [*(100 * curve["high"]), *(100 * curve["low"])[::-1]]
        figure.add_trace(
            go.Scatter(
                x=band_x,
                y=band_y,
                fill="toself",
                fillcolor=_rgba(colour, 0.15),
                line={"width": 0, "shape": "hv"},
                hoverinfo="skip",
                showlegend=False,
                legendgroup=str(group),
                name=f"{group} 95% band",
            ),
            row=1,
            col=1,
        )
        figure.add_trace(
            go.Scatter(
                x=curve["day"],
                y=100 * curve["reached"],
                mode="lines",
                line={
                    "color": colour,
                    "shape": "hv",
                    "width": 2.5,
                    "dash": GROUP_DASHES[index % len(GROUP_DASHES)],
                },
                name=str(group),
                legendgroup=str(group),
                hovertemplate=f"<b>{group}</b><br>day %{{x:,}}: %{{y:.1f}}% reached<extra></extra>",
            ),
            row=1,
            col=1,
        )
    risk = survival.at_risk
    figure.add_trace(
        go.Scatter(
            name=AT_RISK_TRACE,
            x=risk["day"],
            y=risk["group"].astype(str),
            text=risk["at_risk"].map("{:,}".format),
            mode="text",
            textfont={"size": 12},
            hoverinfo="skip",
            showlegend=False,
        ),
        row=2,
        col=1,
    )
    if target_days:
        figure.add_trace(
            go.Scatter(
                x=[target_days, target_days],
                y=[0, 100],
                mode="lines",
                name=f"Target ({target_days} days)",
                line={"color": catalogue.TODAY_COLOUR, "dash": "dash", "width": 1.5},
                hoverinfo="skip",
            ),
            row=1,
            col=1,
        )
    figure.update_layout(
        height=460 + 18 * len(groups),
        margin={"l": 70, "r": 20, "t": 40, "b": 50},
        plot_bgcolor="white",
        font=FONT,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        hovermode="closest",
    )
    figure.update_yaxes(
        title={"text": f"% reached {milestone}"}, range=[0, 100], gridcolor="#EEEEEE", row=1, col=1
    )
    figure.update_yaxes(
        title={"text": "At risk"}, autorange="reversed", showgrid=False, type="category", row=2, col=1
    )
    figure.update_xaxes(gridcolor="#EEEEEE", zeroline=False, rangemode="tozero")
    figure.update_xaxes(
        title={"text": "Days since the wait began"}, tickvals=list(risk["day"].unique()), row=2, col=1
    )
    return figure


def stage_durations(durations: pd.DataFrame) -> go.Figure:
    """Draw the days spent in each stage as boxes: quartiles, median and 10th to 90th percentiles."""
    figure = go.Figure(
        go.Box(
            name="Days in stage",
            y=durations["stage"],
            q1=durations["q1"],
            median=durations["median"],
            q3=durations["q3"],
            lowerfence=durations["p10"],
            upperfence=durations["p90"],
            orientation="h",
            marker={"color": "#2171B5"},
            fillcolor="#9ECAE1",
            line={"color": "#08306B"},
            hovertemplate="<b>%{y}</b><br>median %{median:,} days<extra></extra>",
        )
    )
    figure.update_layout(
        height=90 + 48 * len(durations),
        margin={"l": 250, "r": 20, "t": 20, "b": 50},
        plot_bgcolor="white",
        font=FONT,
        showlegend=False,
    )
    figure.update_yaxes(autorange="reversed")
    figure.update_xaxes(
        title={"text": "Days (box: middle half; whiskers: 10th to 90th percentile)"}, gridcolor="#EEEEEE"
    )
    return figure


def pathway(flows: pd.DataFrame) -> go.Figure:
    """Draw the pathway as a Sankey: children along each step, with the median days the step took."""
    nodes = list(dict.fromkeys([*flows["source"], *flows["target"]]))
    index = {node: position for position, node in enumerate(nodes)}
    colours = [
        catalogue.OVERDUE_COLOUR
        if node.startswith("Waiting")
        else "#009E73"
        if node.startswith("Ceased")
        else "#2171B5"
        for node in nodes
    ]
    took = flows["median_days"].map(lambda days: f", median {days:,.0f} days" if pd.notna(days) else "")
    figure = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={"label": nodes, "color": colours, "pad": 14, "thickness": 16, "line": {"width": 0.5}},
            link={
                "source": flows["source"].map(index).tolist(),
                "target": flows["target"].map(index).tolist(),
                "value": flows["children"].tolist(),
                "customdata": (flows["children"].map("{:,} children".format) + took).tolist(),
                "hovertemplate": "%{source.label} → %{target.label}<br>%{customdata}<extra></extra>",
                "color": "rgba(150,150,150,0.35)",
            },
        )
    )
    figure.update_layout(height=620, margin={"l": 10, "r": 10, "t": 20, "b": 20}, font=FONT)
    return figure


def delay_heatmap(delays: pd.DataFrame) -> go.Figure:
    """Draw total overdue days by stage and authority, each cell labelled with total and median."""
    totals = delays.pivot_table(
        index="stage", columns="la_code", values="total_days", aggfunc="sum", observed=True
    )
    medians = delays.pivot_table(
        index="stage", columns="la_code", values="median_days", aggfunc="first", observed=True
    )
    medians = medians.reindex(index=totals.index, columns=totals.columns)
    labels = [
        [
            f"{total:,.0f} d<br>median {median:,.0f}" if pd.notna(total) else "none"
            for total, median in zip(total_row, median_row, strict=True)
        ]
        for total_row, median_row in zip(totals.to_numpy(), medians.to_numpy(), strict=True)
    ]
    figure = go.Figure(
        go.Heatmap(
            z=totals.to_numpy(),
            x=[str(code) for code in totals.columns],
            y=[str(stage) for stage in totals.index],
            text=labels,
            texttemplate="%{text}",
            colorscale=[[0, "#FFF5EB"], [1, catalogue.OVERDUE_COLOUR]],
            colorbar={"title": {"text": "Total days overdue"}},
            hovertemplate="<b>%{y}</b>, %{x}<br>%{text}<extra></extra>",
            xgap=2,
            ygap=2,
        )
    )
    figure.update_layout(
        height=120 + 60 * len(totals),
        margin={"l": 110, "r": 20, "t": 20, "b": 40},
        font=FONT,
        plot_bgcolor="white",
    )
    figure.update_yaxes(autorange="reversed")
    return figure
