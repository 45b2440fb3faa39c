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


def counted_heading(title: str, count_id: str, link_id: str, href: str) -> html.Div:
    """Return a page heading with a live count badge and a link that shares the current view."""
    return html.Div(
        [
            html.H1(title, className="h3 mb-0"),
            html.Span(id=count_id, className="badge text-bg-secondary ms-3 fs-6", **{"aria-live": "polite"}),
            html.A("Link to this view", id=link_id, href=href, className="ms-auto small"),
        ],
        className="d-flex align-items-center mb-2",
    )
