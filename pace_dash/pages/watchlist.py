"""Drift watch list at /watchlist: children overdue now or due soon, to export and act on."""

from __future__ import annotations

import datetime as dt

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html

from pace_dash.components.cards import counted_heading
from pace_dash.components.filters import (
    Choices,
    FilterIds,
    filter_bar,
    filter_from_query,
    filter_from_values,
    filter_to_query,
    query_string,
)
from pace_dash.components.shell import child_path
from pace_dash.domain import cohort
from pace_dash.domain.export import to_csv_bytes, to_xlsx_bytes
from pace_dash.pages.cohort import cached_cohort
from pace_dash.store.queries import Store
from pace_dash.store.scope import Scope
from pace_dash.web import audit, choice_lists, current_scope, services

PATH = "/watchlist"
FILTERS = FilterIds("watch")
WITHIN = "watch-within"
GRID = "watch-grid"
COUNT = "watch-count"
SHARE_LINK = "watch-share-link"
CSV_BUTTON = "watch-csv"
XLSX_BUTTON = "watch-xlsx"
DOWNLOAD = "watch-download"
DEFAULT_WITHIN_DAYS = 28
MAX_WITHIN_DAYS = 365
# What the export holds, in order, with its column headings; the child id stays on the server.
EXPORT_COLUMNS: dict[str, str] = {
    "reference": "Child",
    "la_code": "Authority",
    "milestone": "Milestone",
    "due_date": "Due",
    "days_overdue": "Days overdue",
    "days_until_due": "Days until due",
    "current_stage": "Current stage",
    "route": "Route",
}


def _within(raw) -> int:
    try:
        return min(max(int(raw), 0), MAX_WITHIN_DAYS)
    except (TypeError, ValueError):
        return DEFAULT_WITHIN_DAYS


def layout(**query) -> html.Div:
    """Return the watch list page, set up from the query string of a shared link."""
    context = services()
    choices = Choices.from_frames(*choice_lists(context.store, current_scope()))
    chosen = filter_from_query(query, choices)
    return html.Div(
        [
            counted_heading("Drift watch list", COUNT, SHARE_LINK, PATH),
            html.P(
                "Children looked after now with a milestone overdue, or due within the days chosen: most "
                "overdue first. Open a child's timeline from the first column.",
                className="text-muted",
            ),
            filter_bar(FILTERS, chosen, choices),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.Label(
                                "Due within (days)", htmlFor=WITHIN, className="form-label small fw-semibold"
                            ),
                            dbc.Input(
                                id=WITHIN,
                                type="number",
                                min=0,
                                max=MAX_WITHIN_DAYS,
                                step=1,
                                value=_within(query.get("within", DEFAULT_WITHIN_DAYS)),
                                debounce=True,
                            ),
                        ],
                        md=2,
                    ),
                    dbc.Col(
                        [
                            dbc.Button(
                                "Export CSV", id=CSV_BUTTON, color="secondary", outline=True, className="me-2"
                            ),
                            dbc.Button("Export XLSX", id=XLSX_BUTTON, color="secondary", outline=True),
                            dcc.Download(id=DOWNLOAD),
                        ],
                        className="d-flex align-items-end",
                        md=6,
                    ),
                ],
                className="g-2 mb-3",
            ),
            dcc.Loading(
                dag.AgGrid(
                    id=GRID,
                    columnDefs=_columns(),
                    rowData=[],
                    defaultColDef={"sortable": True, "filter": True, "resizable": True},
                    dashGridOptions={
                        "pagination": True,
                        "paginationPageSize": 50,
                        "localeText": {"noRowsToShow": "Nobody in these filters is overdue or due soon."},
                    },
                    style={"height": "640px"},
                ),
                type="default",
                delay_show=250,
            ),
        ]
    )


# Registered below its layout so the page object carries the layout itself.
dash.register_page(
    __name__,
    path=PATH,
    title="Drift watch list · PACE child timelines",
    name="Drift watch list",
    layout=layout,
)


def _columns() -> list[dict]:
    return [
        {
            "field": "reference",
            "headerName": "Child",
            "cellRenderer": "markdown",
            "valueGetter": {"function": "`[${params.data.reference}](${params.data.link})`"},
            "pinned": "left",
            "width": 130,
        },
        {"field": "la_code", "headerName": "Authority", "width": 110},
        {"field": "milestone", "headerName": "Milestone", "flex": 1, "minWidth": 180},
        {"field": "due_date", "headerName": "Due", "width": 120},
        {"field": "days_overdue", "headerName": "Days overdue", "type": "numericColumn", "width": 130,
         "sort": "desc", "cellClassRules": {"text-overdue fw-semibold": {"function": "params.value > 0"}}},
        {"field": "days_until_due", "headerName": "Days until due", "type": "numericColumn", "width": 135},
        {"field": "current_stage", "headerName": "Current stage", "flex": 1, "minWidth": 200},
        {"field": "route", "headerName": "Route", "flex": 1, "minWidth": 160},
    ]  # fmt: skip


def chosen_filter(store: Store, scope: Scope, filters: dict) -> cohort.CohortFilter:
    """Read the filter bar's values, checked against what the scope offers."""
    return filter_from_values(filters, Choices.from_frames(store.authorities(scope), store.rules(scope)))


def watch_rows(store: Store, scope: Scope, today: dt.date, chosen: cohort.CohortFilter, within_days: int):
    """Return the watch list of the children in scope that a filter keeps."""
    return cohort.watch_list(cohort.apply_filter(cached_cohort(store, scope, today), chosen), within_days)


def grid_rows(listed: pd.DataFrame) -> list[dict]:
    """Return the watch list as grid rows: dates as text and each child's timeline link."""
    rows = listed.drop(columns="child_id").assign(
        due_date=listed["due_date"].dt.strftime("%Y-%m-%d"),
        link=listed["reference"].map(child_path),
    )
    return rows.to_dict("records")


@callback(
    Output(GRID, "rowData"),
    Output(COUNT, "children"),
    Output(SHARE_LINK, "href"),
    inputs={"filters": FILTERS.inputs(), "within": Input(WITHIN, "value")},
)
def show_watch_list(filters, within):
    """Fill the watch list for the filters."""
    context = services()
    scope = current_scope()
    within_days = _within(within)
    chosen = chosen_filter(context.store, scope, filters)
    listed = watch_rows(context.store, scope, context.settings.effective_today(), chosen, within_days)
    query = {**filter_to_query(chosen), "within": str(within_days)}
    children = listed["child_id"].nunique()
    return grid_rows(listed), f"{len(listed):,} milestones, {children:,} children", PATH + query_string(query)


@callback(
    output=Output(DOWNLOAD, "data"),
    inputs={"_csv_clicks": Input(CSV_BUTTON, "n_clicks"), "_xlsx_clicks": Input(XLSX_BUTTON, "n_clicks")},
    state={
        "within": State(WITHIN, "value"),
        "filters": {
            name: State(item.component_id, item.component_property) for name, item in FILTERS.inputs().items()
        },
    },
    prevent_initial_call=True,
)
def export(_csv_clicks, _xlsx_clicks, within, filters):
    """Send the watch list as a CSV or XLSX file, with formula injection prevented."""
    context = services()
    scope = current_scope()
    today = context.settings.effective_today()
    listed = watch_rows(
        context.store, scope, today, chosen_filter(context.store, scope, filters), _within(within)
    )
    table = listed[list(EXPORT_COLUMNS)].rename(columns=EXPORT_COLUMNS)
    name = f"drift-watch-list-{today.isoformat()}"
    if dash.ctx.triggered_id == XLSX_BUTTON:
        audit("export-watch-list-xlsx", records=len(table))
        return dcc.send_bytes(to_xlsx_bytes(table, "Watch list"), f"{name}.xlsx")
    audit("export-watch-list-csv", records=len(table))
    return dcc.send_bytes(to_csv_bytes(table), f"{name}.csv")
