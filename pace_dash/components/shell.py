"""The page shell: navigation bar with a child search, error alert, and the page container."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from pace_dash.web import current_scope, services

URL = "shell-url"
SEARCH_INPUT = "shell-child-search"
SEARCH_BUTTON = "shell-child-search-button"
ERROR_ALERT = "shell-error-alert"
NAV_LINK = "nav-link text-white"


def child_path(reference: str) -> str:
    """Return the deep link of a child's timeline."""
    return f"/child/{reference.strip().upper()}"


def layout(presenting: bool = False) -> html.Div:
    """Return the shell around every page, marked and with larger type when presenting."""
    search = dbc.InputGroup(
        [
            dbc.Label("Find a child by case reference", html_for=SEARCH_INPUT, className="visually-hidden"),
            dbc.Input(
                id=SEARCH_INPUT,
                type="search",
                placeholder="Child reference, e.g. GLM-00012",
                debounce=False,
                autocomplete="off",
            ),
            dbc.Button("Open timeline", id=SEARCH_BUTTON, color="light", n_clicks=0),
        ],
        size="sm",
        style={"maxWidth": "26rem"},
    )
    navbar = dbc.Navbar(
        dbc.Container(
            [
                dcc.Link("PACE child timelines", href="/", className="navbar-brand text-white"),
                dbc.Nav(
                    [
                        dbc.NavItem(dcc.Link("Overview", href="/", className="nav-link text-white")),
                        dbc.NavItem(dcc.Link("Run charts", href="/qi", className="nav-link text-white")),
                        dbc.NavItem(dcc.Link("Cohort explorer", href="/cohort", className=NAV_LINK)),
                        dbc.NavItem(dcc.Link("Drift watch list", href="/watchlist", className=NAV_LINK)),
                        dbc.NavItem(dcc.Link("Import", href="/imports", className=NAV_LINK)),
                    ]
                ),
                html.Div(search, role="search", className="ms-auto"),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        className="mb-3",
    )
    banner = dbc.Alert(
        "Presentation mode: children appear by pseudonym, with no names, case references or dates of birth.",
        color="info",
        className="py-1 small",
        id="presentation-banner",
    )
    return html.Div(
        [
            dcc.Location(id=URL, refresh="callback-nav"),
            html.A("Skip to content", href="#main", className="visually-hidden-focusable"),
            navbar,
            dbc.Container(banner, fluid=True) if presenting else None,
            dbc.Container(
                [
                    dbc.Alert(id=ERROR_ALERT, color="danger", is_open=False, dismissable=True),
                    html.Main(
                        dcc.Loading(
                            dash.page_container,
                            target_components={"_pages_content": "children"},
                            delay_show=250,
                            type="default",
                        ),
                        id="main",
                    ),
                ],
                fluid=True,
            ),
        ],
        className="presentation-mode" if presenting else None,
    )


@callback(
    Output(URL, "href"),
    Input(SEARCH_BUTTON, "n_clicks"),
    Input(SEARCH_INPUT, "n_submit"),
    State(SEARCH_INPUT, "value"),
    prevent_initial_call=True,
)
def open_child(_clicks, _submits, reference):
    """Go to the timeline of the child whose reference was typed, by pseudonym in presentation mode."""
    if not reference or not reference.strip():
        raise PreventUpdate
    found = services().store.find_children(current_scope(), reference)
    return child_path(found.iloc[0]["reference"] if len(found) == 1 else reference)
