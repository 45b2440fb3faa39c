"""The page shell: navigation bar with a child search, error alert, and the page container."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from pace_dash.security.access import MODULE_ROLES, ROLE_LABELS, SignedInUser
from pace_dash.security.guard import CSRF_FIELD, SIGN_OUT_PATH
from pace_dash.web import current_scope, services

URL = "shell-url"
SEARCH_INPUT = "shell-child-search"
SEARCH_BUTTON = "shell-child-search-button"
ERROR_ALERT = "shell-error-alert"
NAV_LINK = "nav-link text-white text-nowrap"


def child_path(reference: str) -> str:
    """Return the deep link of a child's timeline."""
    return f"/child/{reference.strip().upper()}"


# The navigation: label, path, and the module whose role decides who sees the link.
NAV = (
    ("Overview", "/", "pace_dash.pages.home"),
    ("Run charts", "/qi", "pace_dash.pages.qi"),
    ("Cohort explorer", "/cohort", "pace_dash.pages.cohort"),
    ("Drift watch list", "/watchlist", "pace_dash.pages.watchlist"),
    ("Import", "/imports", "pace_dash.pages.imports"),
    ("Audit", "/admin/audit", "pace_dash.pages.audit"),
)


def _account_menu(user: SignedInUser) -> html.Form:
    # A real form posting to the server, with the session's CSRF token: sign-out cannot be forged.
    return html.Form(
        [
            html.Span(
                f"{user.username} · {ROLE_LABELS[user.role]}", className="text-white small me-2 text-nowrap"
            ),
            dcc.Input(type="hidden", name=CSRF_FIELD, value=user.csrf_token, id="sign-out-token"),
            html.Button(
                "Sign out", type="submit", className="btn btn-outline-light btn-sm text-nowrap", id="sign-out"
            ),
        ],
        action=SIGN_OUT_PATH,
        method="post",
        className="d-flex align-items-center ms-3",
    )


def layout(presenting: bool = False, user: SignedInUser | None = None) -> html.Div:
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
        style={"maxWidth": "21rem"},
    )
    navbar = dbc.Navbar(
        dbc.Container(
            [
                dcc.Link("PACE child timelines", href="/", className="navbar-brand text-white"),
                dbc.Nav(
                    [
                        dbc.NavItem(dcc.Link(label, href=path, className=NAV_LINK))
                        for label, path, module in NAV
                        if user is not None and user.may(MODULE_ROLES[module])
                    ]
                ),
                html.Div(search, role="search", className="ms-auto"),
                _account_menu(user) if user is not None else None,
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
