"""The page for any address the app does not know."""

from __future__ import annotations

import dash
from dash import dcc, html

from pace_dash.components.cards import empty_state


def layout(**_kwargs) -> html.Div:
    """Return a friendly not-found page."""
    return html.Div(
        [
            html.H1("Page not found", className="h3"),
            empty_state(
                "There is no page at this address", "Use the overview or search for a child by reference."
            ),
            dcc.Link("Back to the overview", href="/"),
        ],
        id="page-not-found",
    )


# Registered below its layout so the page object carries the layout itself.
dash.register_page(__name__, path="/404", title="Page not found · PACE child timelines", layout=layout)
