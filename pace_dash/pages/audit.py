"""The audit trail at /admin/audit: who looked at a child, and what a user saw, between two dates."""

from __future__ import annotations

import datetime as dt
import logging

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html
from sqlalchemy.exc import OperationalError

from pace_dash.web import current_scope, services, signed_in_user

log = logging.getLogger(__name__)

PATH = "/admin/audit"
CHILD_REFERENCE = "audit-child"
USERNAME = "audit-user"
DATES = "audit-dates"
CHILD_BUTTON = "audit-child-search"
USER_BUTTON = "audit-user-search"
GRID = "audit-grid"
HEADING = "audit-heading"
DEFAULT_DAYS = 30
COLUMNS = {
    "at": "When (UTC)",
    "username": "User",
    "role": "Role",
    "action": "Action",
    "reference": "Child",
    "la_code": "Authority",
    "records": "Records",
    "outcome": "Outcome",
}


def layout(**_kwargs) -> html.Div:
    """Return the audit page: a child or a user, a date range, and the events found."""
    today = dt.date.today()
    user = signed_in_user()
    usernames: list[str] = []
    try:
        if user is not None and user.may("admin"):  # never for Dash's validation layout, built as nobody
            usernames = services().accounts.users()["username"].tolist()
    except OperationalError:
        log.warning("the database is unavailable; no users listed")
    return html.Div(
        [
            html.H1("Audit trail", className="h3"),
            html.P(
                "Every sign-in, every child's timeline opened, every export and import is recorded here, "
                "and nothing in the trail can be changed from the app.",
                className="text-muted",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label("Dates (UTC), from and to", html_for=DATES),
                            dcc.DatePickerRange(
                                id=DATES,
                                start_date=today - dt.timedelta(days=DEFAULT_DAYS),
                                end_date=today,
                                display_format="D MMM YYYY",
                            ),
                        ],
                        md=4,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("Who looked at child", html_for=CHILD_REFERENCE),
                            dbc.InputGroup(
                                [
                                    dbc.Input(
                                        id=CHILD_REFERENCE, placeholder="Case reference, e.g. GLM-00012"
                                    ),
                                    dbc.Button("Search", id=CHILD_BUTTON, n_clicks=0),
                                ]
                            ),
                        ],
                        md=4,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("What user saw", html_for=USERNAME),
                            dbc.InputGroup(
                                [
                                    dbc.Select(
                                        id=USERNAME, options=[{"label": u, "value": u} for u in usernames]
                                    ),
                                    dbc.Button("Search", id=USER_BUTTON, n_clicks=0),
                                ]
                            ),
                        ],
                        md=4,
                    ),
                ],
                className="mb-3 g-3",
            ),
            html.H2("Choose a child or a user", id=HEADING, className="h5"),
            dcc.Loading(
                dag.AgGrid(
                    id=GRID,
                    columnDefs=[{"field": field, "headerName": name} for field, name in COLUMNS.items()],
                    rowData=[],
                    defaultColDef={"sortable": True, "filter": True, "resizable": True},
                    dashGridOptions={"pagination": True, "paginationPageSize": 50},
                    style={"height": "560px"},
                ),
                delay_show=250,
            ),
        ]
    )


# Registered below its layout so the page object carries the layout itself.
dash.register_page(
    __name__, path=PATH, title="Audit trail · PACE child timelines", name="Audit", layout=layout
)


def _utc_range(start: str | None, end: str | None) -> tuple[dt.datetime, dt.datetime]:
    first = dt.date.fromisoformat(start[:10]) if start else dt.date.today() - dt.timedelta(days=DEFAULT_DAYS)
    last = dt.date.fromisoformat(end[:10]) if end else dt.date.today()
    # The end date is included whole.
    return dt.datetime.combine(first, dt.time()), dt.datetime.combine(last + dt.timedelta(days=1), dt.time())


def rows_for_grid(trail: pd.DataFrame) -> list[dict]:
    """Return audit events as grid rows, times to the second."""
    shown = trail.assign(at=trail["at"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    return shown[list(COLUMNS)].astype(object).where(shown[list(COLUMNS)].notna(), None).to_dict("records")


@callback(
    Output(GRID, "rowData"),
    Output(HEADING, "children"),
    Input(CHILD_BUTTON, "n_clicks"),
    Input(USER_BUTTON, "n_clicks"),
    State(CHILD_REFERENCE, "value"),
    State(USERNAME, "value"),
    State(DATES, "start_date"),
    State(DATES, "end_date"),
    prevent_initial_call=True,
)
def search(_child_clicks, _user_clicks, reference, username, start, end):
    """Answer "who looked at this child" or "what did this user see" between the dates."""
    context = services()
    scope = current_scope()
    since, until = _utc_range(start, end)
    if dash.ctx.triggered_id == CHILD_BUTTON:
        if not reference or not reference.strip():
            return [], "Type a child's case reference first"
        found = context.store.find_children(scope, reference)
        if found.empty:
            return [], f"No child with reference {reference.strip().upper()}"
        trail = context.accounts.audit_trail(scope, since, until, child_ids=found["child_id"].tolist())
        subject = f"who looked at {reference.strip().upper()}"
    else:
        if not username:
            return [], "Choose a user first"
        trail = context.accounts.audit_trail(scope, since, until, username=username)
        subject = f"what {username} did"
    return rows_for_grid(trail), f"{len(trail):,} event{'s' if len(trail) != 1 else ''}: {subject}"
