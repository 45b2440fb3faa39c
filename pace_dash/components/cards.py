"""Small shared layout pieces: KPI cards and empty states."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html


def kpi_card(title: str, value: str, detail: str, card_id: str) -> dbc.Card:
    """Return a card with one headline number and a line explaining it."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(title, className="h6 text-muted mb-1"),
                html.P(value, className="display-6 mb-1 kpi-value"),
                html.P(detail, className="small text-muted mb-0"),
            ]
        ),
        id=card_id,
        className="h-100",
    )


def empty_state(title: str, text: str) -> dbc.Alert:
    """Return a friendly message for a view that has nothing to show."""
    return dbc.Alert([html.H2(title, className="h5"), html.P(text, className="mb-0")], color="secondary")
