"""The panel pack: the child's timeline on an A4 landscape page with a header and the rules in force."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from pace_dash.domain import catalogue
from pace_dash.figures.child_timeline import ChildJourney, TimelineView, child_timeline

# A4 landscape at 96 pixels to the inch (297 x 210 mm).
A4_WIDTH_PX = 1123
A4_HEIGHT_PX = 794
MARGIN = {"l": 230, "r": 60, "t": 120, "b": 150}


@dataclass(frozen=True)
class PackHeader:
    """The facts printed above the chart."""

    reference: str
    age_years: int
    current_stage: str
    days_since_accommodated: int
    days_overdue_total: int
    next_due: str


def rules_in_force(journey: ChildJourney) -> pd.DataFrame:
    """Return the rules that apply to this child, in the order they first started, with sources."""
    applied = journey.evaluation[journey.evaluation["status"] != "n/a"]
    first = applied.sort_values("start_date").drop_duplicates("rule_key")[["la_id", "rule_key"]]
    return first.merge(journey.rules, left_on=["la_id", "rule_key"], right_on=["la_id", "key"])


def panel_pack(journey: ChildJourney, header: PackHeader, today: dt.date) -> go.Figure:
    """Lay out the timeline for an A4 landscape page: header facts above, rules and sources below."""
    figure = child_timeline(journey, today, TimelineView())
    facts = (
        f"<b>{header.reference}</b> · age {header.age_years} · {header.current_stage} · "
        f"{header.days_since_accommodated:,} days since accommodated · "
        f"{header.days_overdue_total:,} days overdue in total · next: {header.next_due}"
    )
    rules = rules_in_force(journey)
    lines = [
        f"{row.label}: {catalogue.event_label(row.from_code)} → {catalogue.event_label(row.to_code)} "
        f"within {row.days} days"
        + (f", then every {row.later_days}" if pd.notna(row.later_days) else "")
        + f" ({row.strength}; {row.source})"
        + (" [site override]" if row.overridden else "")
        for row in rules.itertuples()
    ]
    figure.update_layout(
        width=A4_WIDTH_PX,
        height=A4_HEIGHT_PX,
        margin=MARGIN,
        title={
            "text": f"{facts}<br><span style='font-size:11px'>Child's timeline as at "
            f"{today.strftime('%-d %B %Y')}. Red hatched: time past a target.</span>",
            "x": 0.01,
            "xanchor": "left",
            "y": 0.985,
            "font": {"size": 14},
        },
        legend={"y": 1.04, "font": {"size": 10}},
        font={"size": 11},
    )
    figure.update_layout(xaxis={"rangeslider": {"visible": False}})
    figure.add_annotation(
        text="<b>Rules in force</b><br>" + "<br>".join(lines),
        xref="paper",
        yref="paper",
        x=(12 - MARGIN["l"]) / (A4_WIDTH_PX - MARGIN["l"] - MARGIN["r"]),
        y=-0.08,
        xanchor="left",
        yanchor="top",
        align="left",
        showarrow=False,
        font={"size": 9, "color": "#333333"},
    )
    return figure
