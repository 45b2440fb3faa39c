"""A child's timeline at /child/<reference>: the whole journey, with every delay drawn in red."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, Patch, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from pace_dash.components.cards import empty_state
from pace_dash.components.shell import ERROR_ALERT, child_path
from pace_dash.domain import catalogue, journeys
from pace_dash.domain.comparison import compare_with_cohort
from pace_dash.figures.child_timeline import (
    CALENDAR,
    LANES,
    WEEKS,
    ChildJourney,
    TimelineView,
    build_child_journey,
    child_timeline,
)
from pace_dash.figures.export import figure_image
from pace_dash.figures.panel_pack import A4_WIDTH_PX, PackHeader, panel_pack
from pace_dash.figures.siblings import siblings_timeline
from pace_dash.store.cache import uncached
from pace_dash.store.queries import Store
from pace_dash.store.scope import Scope
from pace_dash.web import Services, audit, current_scope, services, signed_in_user

GRAPH = "child-timeline-graph"
HEADER = "child-header"
CHILD_KEY = "child-key"
LANE_CHOICE = "child-lanes"
AXIS_CHOICE = "child-axis"
PLAN_SWITCH = "child-on-target"
ZOOM_WHOLE = "child-zoom-whole"
ZOOM_SINCE = "child-zoom-accommodated"
ZOOM_YEAR = "child-zoom-year"
EXPORT_PDF = "child-export-pdf"
EXPORT_PNG = "child-export-png"
DOWNLOAD = "child-download"
SIDE_PANEL = "child-side-panel"
SIDE_PANEL_BODY = "child-side-panel-body"
EVENT_TABLE = "child-event-table"
DATE_FORMAT = "%-d %b %Y"
EXPORT_NOT_ALLOWED = "Exports are for managers and administrators; your role is viewer."
LANE_OPTIONS = [
    {"label": label, "value": lane}
    for lane, label in (*catalogue.LANE_LABELS.items(), (catalogue.TARGETS_LANE, "Targets"))
]


def _title(reference: str | None = None, **_kwargs) -> str:
    # Titles stay in browser history: name the child only where the user may see references.
    if reference and current_scope().identifiable:
        return f"{reference.upper()} · Child timeline"
    return "Child timeline"


def layout(reference: str | None = None, authority: str | None = None, **_kwargs) -> html.Div:
    """Return the timeline page of the child with this reference, as the current user may see it."""
    if not reference:
        return html.Div([html.H1("Child timeline", className="h3"), *_interactive_parts(None)])
    context = services()
    return child_page(
        context.store,
        current_scope(),
        reference,
        authority,
        context.settings.effective_today(),
        opened=lambda child_id: audit("view-child", child_id=child_id, records=1),
        # The timeline and the authority's evaluation it is compared with: once per data version.
        through=context.cache.call,
    )


# Registered below its layout so the page object carries the layout itself.
dash.register_page(
    __name__, path_template="/child/<reference>", title=_title, name="Child timeline", layout=layout
)


def age_in_years(date_of_birth: pd.Timestamp, today: dt.date) -> int:
    """Return a person's age in whole years on a date."""
    born = date_of_birth.date()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def scope_evaluation(store: Store, scope: Scope, today: dt.date) -> pd.DataFrame:
    """Evaluate every journey in scope against its rules."""
    return journeys.evaluate(store.events(scope), store.rules(scope), today)


def child_page(
    store: Store,
    scope: Scope,
    reference: str,
    authority: str | None,
    today: dt.date,
    opened: Callable[[int], None] | None = None,
    through: Callable = uncached,
) -> html.Div:
    """Build the page for a reference: not found, a choice of authorities, or the timeline, told to opened.

    `through(function, *args)` runs the costly steps: a ResultCache's `call` computes them once per
    data version; the audit (`opened`) happens on every view all the same.
    """
    found = store.find_children(scope, reference, authority)
    if found.empty:
        return html.Div(
            [
                html.H1("Child not found", className="h3"),
                empty_state(
                    f"No child with reference {reference.upper()}",
                    "No child with that case reference is in the authorities you can see. Check the "
                    "reference (for example GLM-00012) and search again from the bar above.",
                ),
                dcc.Link("Back to the overview", href="/"),
                *_interactive_parts(None),
            ],
            id="child-not-found",
        )
    if len(found) > 1:
        links = [
            html.Li(
                dcc.Link(
                    f"{row.reference} in {row.la_code}",
                    href=f"{child_path(row.reference)}?authority={row.la_code}",
                )
            )
            for row in found.itertuples()
        ]
        return html.Div([html.H1("More than one child has this reference", className="h3"), html.Ul(links)])
    if opened is not None:
        opened(int(found.iloc[0]["child_id"]))
    return through(_timeline_of, store, scope, int(found.iloc[0]["child_id"]), today, through)


def _timeline_of(store: Store, scope: Scope, child_id: int, today: dt.date, through: Callable) -> html.Div:
    return _timeline(store, scope, store.children(scope, [child_id]).iloc[0], today, through)


def journey_of(store: Store, scope: Scope, child_id: int, today: dt.date) -> ChildJourney:
    """Return load_journey of a child known to be in scope, by id."""
    return load_journey(store, scope, store.children(scope, [child_id]).iloc[0], today)


def load_journey(store: Store, scope: Scope, child: pd.Series, today: dt.date) -> ChildJourney:
    """Read one child's events, periods and rules in scope and compute its journey."""
    ids = [int(child["child_id"])]
    # The age axis marks birthdays, so it would give away the date of birth to an audience.
    born = child["date_of_birth"] if scope.identifiable else None
    return build_child_journey(
        store.events(scope, ids), store.periods(scope, ids), store.rules(scope), today, born
    )


def _interactive_parts(child_id: int | None, figure=None, table=None) -> list:
    # Every page variant carries the components the callbacks below listen to, so Dash can check them.
    controls = dbc.Row(
        [
            dbc.Col(
                [
                    dbc.Label("Lanes", html_for=LANE_CHOICE, className="small text-muted mb-0"),
                    dbc.Checklist(
                        id=LANE_CHOICE, options=LANE_OPTIONS, value=list(LANES), inline=True, switch=True
                    ),
                ],
                lg=6,
            ),
            dbc.Col(
                [
                    dbc.Label("Axis", html_for=AXIS_CHOICE, className="small text-muted mb-0"),
                    dbc.RadioItems(
                        id=AXIS_CHOICE,
                        options=[
                            {"label": "Calendar dates", "value": CALENDAR},
                            {"label": "Weeks since accommodated", "value": WEEKS},
                        ],
                        value=CALENDAR,
                        inline=True,
                    ),
                    dbc.Switch(id=PLAN_SWITCH, label="On-target path", value=True),
                ],
                lg=3,
            ),
            dbc.Col(
                [
                    html.Div("Zoom", className="small text-muted"),
                    dbc.ButtonGroup(
                        [
                            dbc.Button(
                                "Whole journey", id=ZOOM_WHOLE, outline=True, color="secondary", size="sm"
                            ),
                            dbc.Button(
                                "Since accommodated",
                                id=ZOOM_SINCE,
                                outline=True,
                                color="secondary",
                                size="sm",
                            ),
                            dbc.Button(
                                "Last 12 months", id=ZOOM_YEAR, outline=True, color="secondary", size="sm"
                            ),
                        ]
                    ),
                    html.Div("Panel pack", className="small text-muted mt-2"),
                    dbc.ButtonGroup(
                        [
                            dbc.Button("A4 PDF", id=EXPORT_PDF, color="primary", size="sm"),
                            dbc.Button("PNG", id=EXPORT_PNG, color="primary", outline=True, size="sm"),
                        ]
                    ),
                    # The loading spinner shows while the pack is drawn (about a second).
                    dcc.Loading(dcc.Download(id=DOWNLOAD), type="circle"),
                ],
                lg=3,
            ),
        ],
        className="g-2 mb-2 align-items-end",
    )
    return [
        dcc.Store(id=CHILD_KEY, data=child_id),
        html.Div(controls, hidden=child_id is None),
        dcc.Loading(
            dcc.Graph(
                id=GRAPH,
                figure=figure or {},
                config={"displaylogo": False, "toImageButtonOptions": {"filename": "child-timeline"}},
                className="border rounded bg-white",
                style={} if child_id is not None else {"display": "none"},
            ),
            delay_show=300,
        ),
        html.P(
            "Red hatched bars are time past a target; grey bars the time the target allows; hollow "
            "circles the due dates of milestones not reached yet; grey open diamonds where each "
            "milestone would have fallen had every step met its target. Click a mark for details.",
            className="small text-muted mt-2",
            hidden=child_id is None,
        ),
        dbc.Offcanvas(
            html.Div(id=SIDE_PANEL_BODY),
            id=SIDE_PANEL,
            title="Details",
            placement="end",
            is_open=False,
            scrollable=True,
        ),
        html.Div(table, hidden=table is None),
    ]


def _timeline(
    store: Store, scope: Scope, child: pd.Series, today: dt.date, through: Callable = uncached
) -> html.Div:
    # Through the cache, so that redrawing the chart or clicking a mark next finds it computed.
    journey = through(journey_of, store, scope, int(child["child_id"]), today)
    heading = html.H1(
        [
            child["reference"],
            html.Small(f" {child['name']}", className="text-muted") if child["name"] else None,
        ],
        className="h3",
    )
    if journey.events.empty and journey.periods.empty:
        return html.Div(
            [
                heading,
                empty_state(
                    "No events recorded yet",
                    "This child has no events or periods recorded, so there is no timeline to draw.",
                ),
                *_interactive_parts(None),
            ],
            id="child-empty",
        )
    summary = journeys.summarise(journey.events, journey.evaluation, today)
    flags = journeys.quality_flags(journey.events)
    return html.Div(
        [
            heading,
            _header(child, summary, journey, today),
            _quality_alert(flags),
            *_interactive_parts(
                int(child["child_id"]),
                child_timeline(journey, today, TimelineView(large_type=not scope.identifiable)),
                _event_table(journey, flags),
            ),
            _comparison(store, scope, child, journey, summary, today, through),
            _siblings(store, scope, child, today),
        ]
    )


def _comparison(
    store: Store,
    scope: Scope,
    child: pd.Series,
    journey: ChildJourney,
    summary: pd.DataFrame,
    today: dt.date,
    through: Callable = uncached,
) -> html.Div:
    local = scope.narrowed_to(int(child["la_id"]))
    # The same for every child of the authority: worth computing once.
    cohort = through(scope_evaluation, store, local, today)
    route = summary.iloc[0]["route"] if not summary.empty else None
    if isinstance(route, str):
        cohort = cohort[cohort["route"] == route]
        who = f"children of {child['la_code']} on the {catalogue.ROUTES[route].lower()} route"
    else:
        who = f"all children of {child['la_code']} (no route recommended yet)"
    compared = compare_with_cohort(journey.evaluation, cohort, journey.rules)
    heading = html.H2("This child against the cohort", className="h5 mt-4")
    if compared.empty:
        return html.Div([heading, html.P("No completed steps to compare yet.", className="text-muted")])
    rows = [
        html.Tr(
            [
                html.Td(row.rule_label),
                html.Td(f"{row.child_days:,} days", className="text-end"),
                html.Td(f"{row.cohort_median:,.0f} days", className="text-end"),
                html.Td(f"{row.target_days:,} days", className="text-end"),
                html.Td(f"slower than {row.percentile}%", className="text-end"),
                html.Td(f"{row.cohort_n:,}", className="text-end"),
            ]
        )
        for row in compared.itertuples()
    ]
    header = html.Thead(
        html.Tr(
            [
                html.Th("Step", scope="col"),
                html.Th("This child", scope="col", className="text-end"),
                html.Th("Cohort median", scope="col", className="text-end"),
                html.Th("Target", scope="col", className="text-end"),
                html.Th("Percentile", scope="col", className="text-end"),
                html.Th("Children compared", scope="col", className="text-end"),
            ]
        )
    )
    return html.Div(
        [
            heading,
            html.P(f"Each completed step, next to the same step for {who}.", className="small text-muted"),
            dbc.Table([header, html.Tbody(rows)], size="sm", id="child-comparison", className="w-auto"),
        ]
    )


def _siblings(store: Store, scope: Scope, child: pd.Series, today: dt.date) -> html.Div | None:
    if not isinstance(child["sibling_group"], str):
        return None
    siblings = store.siblings(scope, int(child["child_id"]))
    if len(siblings) < 2:
        return None
    ids = siblings["child_id"].tolist()
    events = store.events(scope, ids)
    evaluation = journeys.evaluate(events, store.rules(scope), today)
    figure = siblings_timeline(
        siblings,
        journeys.summarise(events, evaluation, today),
        journeys.stage_spans(events, today),
        evaluation,
        events,
        today,
    )
    links = [
        dcc.Link(row.reference, href=child_path(row.reference), className="me-3")
        for row in siblings.itertuples()
        if row.child_id != child["child_id"]
    ]
    return html.Div(
        [
            html.H2("Siblings", className="h5 mt-4"),
            html.P(["Brothers and sisters in the same sibling group: ", *links], className="small"),
            dcc.Graph(id="child-siblings-graph", figure=figure, config={"displaylogo": False}),
        ],
        id="child-siblings",
    )


def _fact(label: str, value: str, fact_id: str) -> dbc.Col:
    return dbc.Col(
        [html.Div(label, className="small text-muted"), html.Div(value, className="fw-semibold", id=fact_id)],
        xs=6,
        md=2,
    )


def _header(child: pd.Series, summary: pd.DataFrame, journey: ChildJourney, today: dt.date) -> dbc.Card:
    age = f"{age_in_years(child['date_of_birth'], today)} years"
    if summary.empty:
        facts = [_fact("Authority", child["la_code"], "child-authority"), _fact("Age", age, "child-age")]
        return dbc.Card(dbc.CardBody(dbc.Row(facts)), className="mb-3", id=HEADER)
    latest = summary.iloc[0]
    if pd.notna(latest["next_due_date"]):
        next_due = f"{latest['next_rule_label']}, due {latest['next_due_date'].strftime(DATE_FORMAT)}"
    else:
        next_due = "None"
    overdue_now = int(latest["days_overdue_now"])
    since = f"{int(latest['days_since_accommodated']):,}"
    share = journeys.share_of_life_waiting(journey.events, child["date_of_birth"], today)
    facts = [
        _fact("Authority", child["la_code"], "child-authority"),
        _fact("Age", age, "child-age"),
        _fact(
            "Days since accommodated",
            since + ("" if pd.isna(latest["episode_end"]) else " (episode ended)"),
            "child-days-accommodated",
        ),
        _fact("Current stage", latest["current_stage"], "child-stage"),
        _fact("Next milestone due", next_due, "child-next-due"),
        _fact(
            "Overdue now", f"{overdue_now:,} days" if overdue_now else "Nothing overdue", "child-overdue-now"
        ),
    ]
    notes = []
    if share is not None:
        notes.append(
            dbc.Badge(
                f"Waiting for permanence: {share:.0%} of life",
                color="dark",
                className="me-2",
                id="child-life-share",
                title="Time from first accommodated to permanence (or today), as a share of the child's age",
            )
        )
    episodes = int(journey.evaluation["episode"].max()) if not journey.evaluation.empty else 1
    if episodes > 1:
        notes.append(html.Span(f"Episode {latest['episode']} of care", className="small text-muted"))
    return dbc.Card(
        dbc.CardBody([dbc.Row(facts, className="g-2"), html.Div(notes, className="mt-2")]),
        className="mb-3",
        id=HEADER,
    )


def _quality_alert(flags: pd.DataFrame) -> dbc.Alert | None:
    if flags.empty:
        return None
    items = [
        html.Li(f"{row.problem} ({row.on_date.strftime(DATE_FORMAT)}, episode {row.episode}).")
        for row in flags.itertuples()
    ]
    return dbc.Alert(
        [html.Strong("Check these dates: "), "they are shown as recorded.", html.Ul(items, className="mb-0")],
        color="warning",
        id="child-quality",
    )


def event_rows(journey: ChildJourney, flags: pd.DataFrame) -> list[dict]:
    """Return every event and period as table rows, with data-quality flags, in date order."""
    events = journey.events.merge(
        flags[["code", "on_date", "problem"]], on=["code", "on_date"], how="left"
    ).drop_duplicates("event_id")
    rows = [
        {
            "date": row.on_date.strftime("%Y-%m-%d"),
            "kind": catalogue.LANE_LABELS[catalogue.EVENTS[row.code].lane]
            if row.code in catalogue.EVENTS
            else "",
            "what": catalogue.event_label(row.code),
            "detail": catalogue.attribute_label(row.code, row.attribute) or "",
            "until": "",
            "note": row.note or "",
            "flag": row.problem if isinstance(row.problem, str) else "",
        }
        for row in events.itertuples()
    ]
    rows += [
        {
            "date": row.start_date.strftime("%Y-%m-%d"),
            "kind": catalogue.LANE_LABELS[row.lane],
            "what": catalogue.category_label(row.lane, row.category),
            "detail": "",
            "until": row.end_date.strftime("%Y-%m-%d") if pd.notna(row.end_date) else "ongoing",
            "note": row.note or "",
            "flag": "End before start" if pd.notna(row.end_date) and row.end_date < row.start_date else "",
        }
        for row in journey.periods.itertuples()
    ]
    return sorted(rows, key=lambda row: row["date"])


def _event_table(journey: ChildJourney, flags: pd.DataFrame) -> html.Div:
    columns = [
        {"field": "date", "headerName": "Date", "width": 120, "sort": "asc"},
        {"field": "kind", "headerName": "Lane", "width": 170},
        {"field": "what", "headerName": "Event or period", "flex": 2},
        {"field": "detail", "headerName": "Detail", "flex": 1},
        {"field": "until", "headerName": "Until", "width": 120},
        {"field": "note", "headerName": "Note", "flex": 2},
        {
            "field": "flag",
            "headerName": "Data-quality flag",
            "flex": 2,
            "cellClass": "text-overdue fw-semibold",
        },
    ]
    return html.Div(
        [
            html.H2("Events and periods", className="h5 mt-4"),
            html.P(
                "The same journey as a table: the text alternative to the chart.",
                className="small text-muted",
            ),
            dag.AgGrid(
                id=EVENT_TABLE,
                rowData=event_rows(journey, flags),
                columnDefs=columns,
                defaultColDef={"sortable": True, "filter": True, "resizable": True},
                dashGridOptions={"domLayout": "autoHeight", "ensureDomOrder": True},
                style={"height": None},
                className="ag-theme-alpine",
            ),
        ]
    )


def describe_mark(journey: ChildJourney, point: list, today: dt.date) -> tuple[str, list]:
    """Return the side panel's title and body for a clicked mark's customdata."""
    kind, *key = point
    if kind == "event":
        event = journey.events[journey.events["event_id"] == key[0]]
        if event.empty:
            raise PreventUpdate
        row = event.iloc[0]
        ending = journey.evaluation[
            (journey.evaluation["end_date"] == row["on_date"])
            & journey.evaluation["closed_by"].isna()
            & (journey.evaluation["status"].isin(["met", "late"]))
        ]
        body = [
            _definition("Date", row["on_date"].strftime(DATE_FORMAT)),
            _definition("Detail", catalogue.attribute_label(row["code"], row["attribute"]) or "–"),
            _definition("Note", row["note"] or "–"),
        ]
        body += [_definition(r.rule_label, catalogue.STATUS_LABELS[r.status]) for r in ending.itertuples()]
        return catalogue.event_label(row["code"]), body
    if kind == "plan":
        rule_key, episode = key
        planned = journey.path[(journey.path["rule_key"] == rule_key) & (journey.path["episode"] == episode)]
        if planned.empty:
            raise PreventUpdate
        row = planned.iloc[0]
        return f"On target: {catalogue.event_label(row['code'])}", [
            _definition("Would have fallen on", row["planned_on"].strftime(DATE_FORMAT)),
            html.P("if every step before it had met its target.", className="small text-muted"),
        ]
    rule_key, episode, occurrence = key
    found = journey.evaluation[
        (journey.evaluation["rule_key"] == rule_key)
        & (journey.evaluation["episode"] == episode)
        & (journey.evaluation["occurrence"] == occurrence)
    ]
    if found.empty:
        raise PreventUpdate
    row = found.iloc[0]
    rule = journey.rules[(journey.rules["key"] == rule_key) & (journey.rules["la_id"] == row["la_id"])].iloc[
        0
    ]
    target = f"{row['target_days']} days"
    if pd.notna(rule["later_days"]):
        target = f"{rule['days']} days for the first interval, then {int(rule['later_days'])}"
    if pd.notna(row["end_date"]):
        end = row["end_date"].strftime(DATE_FORMAT)
        if isinstance(row["closed_by"], str):
            end += " (not recorded; the wait ended here)"
    else:
        end = f"not yet (as of {today.strftime(DATE_FORMAT)})"
    body = [
        _definition(
            "From → to",
            f"{catalogue.event_label(rule['from_code'])} → {catalogue.event_label(rule['to_code'])}",
        ),
        _definition("Target", target),
        _definition("Strength", rule["strength"]),
        _definition("Source", rule["source"]),
        _definition(
            "Set by", "this authority (a site override)" if rule["overridden"] else "national default"
        ),
        _definition("Started", row["start_date"].strftime(DATE_FORMAT)),
        _definition("Due", row["due_date"].strftime(DATE_FORMAT)),
        _definition("Reached", end),
        _definition("Status", catalogue.STATUS_LABELS[row["status"]]),
        _definition("Days overdue", f"{row['days_overdue']:,}"),
    ]
    if pd.notna(rule["effective_from"]):
        body.insert(
            5,
            _definition(
                "In force for children accommodated from", rule["effective_from"].strftime(DATE_FORMAT)
            ),
        )
    return row["rule_label"], body


def _definition(term: str, value: str) -> html.Div:
    return html.Div([html.Div(term, className="small text-muted"), html.Div(value, className="mb-2")])


def _child_in_scope(child_id: int | None, *, audited: bool = True) -> tuple[pd.Series, Services, Scope]:
    # The id comes from the browser: the server-side scope decides whether this user may see it,
    # and every callback that shows something of the child is a look at it, so it is audited.
    if child_id is None:
        raise PreventUpdate
    context = services()
    scope = current_scope()
    children = context.store.children(scope, [int(child_id)])
    if children.empty:
        raise PreventUpdate
    if audited:
        audit("view-child", child_id=int(child_id), records=1)
    return children.iloc[0], context, scope


def _journey_in_scope(child_id: int | None) -> tuple[ChildJourney, dt.date]:
    child, context, scope = _child_in_scope(child_id)
    today = context.settings.effective_today()
    return context.cache.call(journey_of, context.store, scope, int(child["child_id"]), today), today


def _timeline_figure(store: Store, scope: Scope, child_id: int, today: dt.date, view: TimelineView):
    return child_timeline(services().cache.call(journey_of, store, scope, child_id, today), today, view)


@callback(
    Output(GRAPH, "figure"),
    Input(LANE_CHOICE, "value"),
    Input(AXIS_CHOICE, "value"),
    Input(PLAN_SWITCH, "value"),
    State(CHILD_KEY, "data"),
    prevent_initial_call=True,
)
def redraw(lanes, axis, on_target, child_id):
    """Redraw the timeline with the lanes, axis and on-target path the reader chose."""
    child, context, scope = _child_in_scope(child_id)
    view = TimelineView(
        lanes=tuple(lane for lane in LANES if lane in (lanes or [])),
        axis=WEEKS if axis == WEEKS else CALENDAR,
        on_target=bool(on_target),
        large_type=not scope.identifiable,
    )
    today = context.settings.effective_today()
    return context.cache.call(_timeline_figure, context.store, scope, int(child["child_id"]), today, view)


@callback(
    Output(GRAPH, "figure", allow_duplicate=True),
    Input(ZOOM_WHOLE, "n_clicks"),
    Input(ZOOM_SINCE, "n_clicks"),
    Input(ZOOM_YEAR, "n_clicks"),
    State(AXIS_CHOICE, "value"),
    State(CHILD_KEY, "data"),
    prevent_initial_call=True,
)
def zoom(_whole, _since, _year, axis, child_id):
    """Set the visible dates to the whole journey, the time since accommodated, or the last year."""
    journey, today = _journey_in_scope(child_id)
    today_ts = pd.Timestamp(today)
    events = journey.events[journey.events["on_date"] <= today_ts]
    accommodated = events.loc[events["code"] == "accommodated", "on_date"]
    origin = accommodated.min() if not accommodated.empty else today_ts
    starts = {
        ZOOM_WHOLE: min(events["on_date"].min(), journey.periods["start_date"].min(), origin),
        ZOOM_SINCE: accommodated.max() if not accommodated.empty else origin,
        ZOOM_YEAR: today_ts - pd.Timedelta(days=365),
    }
    start = starts[ctx.triggered_id] - pd.Timedelta(days=14)
    end = today_ts + pd.Timedelta(days=45)
    figure = Patch()
    if axis == WEEKS:
        figure["layout"]["xaxis"]["range"] = [(day - origin) / pd.Timedelta(weeks=1) for day in (start, end)]
    else:
        figure["layout"]["xaxis"]["range"] = [day.strftime("%Y-%m-%d") for day in (start, end)]
    return figure


@callback(
    Output(SIDE_PANEL, "is_open"),
    Output(SIDE_PANEL, "title"),
    Output(SIDE_PANEL_BODY, "children"),
    Input(GRAPH, "clickData"),
    State(CHILD_KEY, "data"),
    prevent_initial_call=True,
)
def open_details(click, child_id):
    """Open the side panel on the rule or event behind the clicked mark."""
    points = (click or {}).get("points") or []
    point = next((p.get("customdata") for p in points if p.get("customdata")), None)
    if not point:
        raise PreventUpdate
    journey, today = _journey_in_scope(child_id)
    title, body = describe_mark(journey, point, today)
    return True, title, body


def pack_header(child: pd.Series, journey: ChildJourney, today: dt.date) -> PackHeader:
    """Return the facts the panel pack prints above the chart."""
    summary = journeys.summarise(journey.events, journey.evaluation, today)
    if summary.empty:
        return PackHeader(
            child["reference"], age_in_years(child["date_of_birth"], today), "Not accommodated", 0, 0, "–"
        )
    latest = summary.iloc[0]
    next_due = "–"
    if pd.notna(latest["next_due_date"]):
        next_due = f"{latest['next_rule_label']}, due {latest['next_due_date'].strftime(DATE_FORMAT)}"
    return PackHeader(
        reference=child["reference"],
        age_years=age_in_years(child["date_of_birth"], today),
        current_stage=latest["current_stage"],
        days_since_accommodated=int(latest["days_since_accommodated"]),
        days_overdue_total=int(latest["days_overdue_total"]),
        next_due=next_due,
    )


@callback(
    Output(DOWNLOAD, "data"),
    Input(EXPORT_PDF, "n_clicks"),
    Input(EXPORT_PNG, "n_clicks"),
    State(CHILD_KEY, "data"),
    prevent_initial_call=True,
)
def export_panel_pack(_pdf, _png, child_id):
    """Send the panel pack as an A4 landscape PDF or a PNG, to a manager or administrator."""
    child, context, scope = _child_in_scope(child_id, audited=False)  # audited below as an export
    user = signed_in_user()
    if user is None or not user.may("manager"):
        dash.set_props(ERROR_ALERT, {"children": EXPORT_NOT_ALLOWED, "is_open": True})
        return dash.no_update  # not PreventUpdate, which would drop the message too
    today = context.settings.effective_today()
    journey = load_journey(context.store, scope, child, today)
    image_format = "pdf" if ctx.triggered_id == EXPORT_PDF else "png"
    pack = panel_pack(journey, pack_header(child, journey, today), today)
    image = figure_image(pack, image_format, A4_WIDTH_PX, exporter=context.exporter)
    filename = f"panel-pack-{child['reference']}-{today.isoformat()}.{image_format}"
    audit(f"export-panel-pack-{image_format}", child_id=int(child["child_id"]), records=1)
    return dcc.send_bytes(image, filename)
