"""Cohort explorer at /cohort: many journeys at once, where delay accumulates, two cohorts compared.

The filters and view choices live in the URL's query string (kept in step as they change), so a
view can be shared; each tab computes only when it is shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, clientside_callback, dcc, html
from dash.exceptions import PreventUpdate

from pace_dash.components.cards import counted_heading, empty_state
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
from pace_dash.figures import cohort_summaries
from pace_dash.figures.cohort_timeline import cohort_timeline
from pace_dash.store import qi as qi_store
from pace_dash.store.queries import Store
from pace_dash.store.scope import Scope
from pace_dash.web import choice_lists, current_scope, services

PATH = "/cohort"
FILTERS = FilterIds("cohort")
TABS = "cohort-tabs"
NAVIGATE = "cohort-navigate"
SHARE_LINK = "cohort-share-link"
COUNT = "cohort-count"
ALIGN = "cohort-align"
SORT = "cohort-sort"
GROUP = "cohort-group"
RULE = "cohort-rule"
TIMELINE_GRAPH = "cohort-timeline-graph"
TIMELINE_NOTE = "cohort-timeline-note"
ROW_IDS = "cohort-row-ids"  # the child id of each timeline row (None on group headers): ids only
ROW_LIST = "cohort-row-list"
SUMMARY = "cohort-summary"
SURVIVAL_GRAPH = "cohort-survival-graph"
DURATIONS_GRAPH = "cohort-durations-graph"
PATHWAY = "cohort-pathway"
DELAY = "cohort-delay"
COMPARE = "cohort-compare"
COMPARE_SIDES = ("a", "b")
ALIGNS = {"accommodated": "Aligned on the day accommodated", "calendar": "Calendar dates"}
TAB_LABELS = {
    "timeline": "Timeline",
    "summaries": "Summaries and time to milestone",
    "pathway": "Pathway flow",
    "delay": "Where delay accumulates",
    "compare": "Compare two cohorts",
}
DEFAULT_RULE = "permanence_recommendation"
FIRST_COMPARE_YEAR = 2014  # PACE began in 2014: the year sliders of the comparison start there
KM_NOTE = (
    "Kaplan-Meier estimate of the share reaching the milestone by each day since the wait began; children "
    "still waiting count until today (censored), not dropped. Shaded: 95% confidence band. Beneath: how "
    "many were still waiting (at risk) on each day."
)
LISTED_ROWS = 100  # children listed as links under the chart, for keyboard users


def _compare_ids(side: str) -> dict[str, str]:
    return {"authority": f"cohort-compare-{side}-authority", "years": f"cohort-compare-{side}-years"}


def _choices(store: Store, scope: Scope) -> Choices:
    return Choices.from_frames(*choice_lists(store, scope))


def _one_of(value, allowed: Mapping[str, str], default: str) -> str:
    return value if value in allowed else default


def layout(**query) -> html.Div:
    """Return the cohort explorer, set up from the query string of a shared link."""
    context = services()
    scope = current_scope()
    choices = _choices(context.store, scope)
    chosen = filter_from_query(query, choices)
    today = context.settings.effective_today()
    years = list(range(FIRST_COMPARE_YEAR, today.year + 1))
    view = html.Div(
        dbc.Row(
            [
                _control(
                    "Timeline dates",
                    dbc.RadioItems(
                        id=ALIGN,
                        options=_options(ALIGNS),
                        value=_one_of(query.get("align"), ALIGNS, "accommodated"),
                        inline=True,
                    ),
                    ALIGN,
                    4,
                ),
                _control(
                    "Sort rows by",
                    dcc.Dropdown(
                        id=SORT,
                        options=_options(cohort.SORTS),
                        value=_one_of(query.get("sort"), cohort.SORTS, "recommendation"),
                        clearable=False,
                    ),
                    SORT,
                    3,
                ),
                _control(
                    "Group rows by",
                    dcc.Dropdown(
                        id=GROUP,
                        options=_options(cohort.GROUPS),
                        value=_one_of(query.get("group"), cohort.GROUPS, "authority"),
                        clearable=False,
                    ),
                    GROUP,
                    2,
                ),
                _control(
                    "Milestone for summaries",
                    dcc.Dropdown(
                        id=RULE,
                        options=_options(choices.rules),
                        value=_one_of(query.get("rule"), choices.rules, DEFAULT_RULE),
                        clearable=False,
                    ),
                    RULE,
                    3,
                ),
            ],
            className="g-2 align-items-end",
        ),
        className="mb-3",
    )
    compare_controls = dbc.Row(
        [dbc.Col(_compare_side(side, query, choices, years), md=6) for side in COMPARE_SIDES],
        className="g-3 mb-3",
    )
    tab = _one_of(query.get("tab"), TAB_LABELS, "timeline")
    return html.Div(
        [
            dcc.Location(id=NAVIGATE, refresh="callback-nav"),
            counted_heading("Cohort explorer", COUNT, SHARE_LINK, PATH),
            html.P(
                "Many children's journeys at once: where time is lost, and how groups compare. "
                "Each child counts once, with their latest episode of care.",
                className="text-muted",
            ),
            filter_bar(FILTERS, chosen, choices),
            view,
            dbc.Tabs(
                [dbc.Tab(label=label, tab_id=key) for key, label in TAB_LABELS.items()],
                id=TABS,
                active_tab=tab,
            ),
            html.Div(
                [
                    _section(
                        "timeline",
                        tab,
                        [
                            html.P(id=TIMELINE_NOTE, className="small text-muted mt-2"),
                            dcc.Store(id=ROW_IDS, data=[]),
                            dcc.Graph(
                                id=TIMELINE_GRAPH,
                                figure=_blank(),
                                config={"displaylogo": False},
                                className="border rounded bg-white",
                            ),
                            html.Details(
                                [html.Summary("Children in chart order, as links"), html.Div(id=ROW_LIST)],
                                className="mt-2",
                            ),
                        ],
                    ),
                    _section(
                        "summaries",
                        tab,
                        [
                            html.Div(id=SUMMARY, className="mt-3"),
                            html.H2("Time to milestone", className="h5 mt-3"),
                            html.P(KM_NOTE, className="small text-muted"),
                            dcc.Graph(id=SURVIVAL_GRAPH, figure=_blank(), config={"displaylogo": False}),
                            html.H2("Days in each waiting stage", className="h5 mt-3"),
                            dcc.Graph(id=DURATIONS_GRAPH, figure=_blank(), config={"displaylogo": False}),
                        ],
                    ),
                    _section("pathway", tab, [html.Div(id=PATHWAY, className="mt-3")]),
                    _section("delay", tab, [html.Div(id=DELAY, className="mt-3")]),
                    _section(
                        "compare",
                        tab,
                        [
                            html.P(
                                "Two cohorts within the filters above, side by side on the same measures.",
                                className="small text-muted mt-3",
                            ),
                            compare_controls,
                            html.Div(id=COMPARE),
                        ],
                    ),
                ],
            ),
        ]
    )


# Registered below its layout so the page object carries the layout itself.
dash.register_page(
    __name__, path=PATH, title="Cohort explorer · PACE child timelines", name="Cohort explorer", layout=layout
)


def _options(choices: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"label": label, "value": value} for value, label in choices.items()]


def _control(label: str, control, control_id: str, width: int) -> dbc.Col:
    return dbc.Col(
        [html.Label(label, htmlFor=control_id, className="form-label small fw-semibold mb-1"), control],
        md=width,
    )


def _section(key: str, active: str, children: list) -> html.Div:
    return dcc.Loading(
        html.Div(children, id=f"cohort-section-{key}", hidden=key != active),
        type="default",
        delay_show=250,
    )


def _blank():
    # An empty, axis-free figure until the first callback fills it.
    return {"data": [], "layout": {"xaxis": {"visible": False}, "yaxis": {"visible": False}, "height": 300}}


def _compare_side(side: str, query: Mapping[str, str], choices: Choices, years: list[int]):
    ids = _compare_ids(side)
    raw_years = str(query.get(f"{side}_years") or "").split("-")
    try:
        chosen_years = sorted(int(year) for year in raw_years if year)[:2]
    except ValueError:
        chosen_years = []
    default = [years[0], years[-1]]
    chosen_years = [year for year in chosen_years if year in years] or default
    if len(chosen_years) == 1:
        chosen_years = chosen_years * 2
    authority = query.get(f"{side}_la")
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(f"Cohort {side.upper()}", className="h6"),
                html.Label("Authority", htmlFor=ids["authority"], className="form-label small mb-1"),
                dcc.Dropdown(
                    id=ids["authority"],
                    options=_options(choices.authorities),
                    value=authority if authority in choices.authorities else None,
                    placeholder="All authorities",
                ),
                html.Label(
                    "Accommodated in the years", htmlFor=ids["years"], className="form-label small mt-2 mb-1"
                ),
                dcc.RangeSlider(
                    id=ids["years"],
                    min=years[0],
                    max=years[-1],
                    step=1,
                    value=chosen_years,
                    marks={year: str(year) for year in years if year % 2 == 0 or year == years[-1]},
                    allowCross=False,
                    tooltip={"placement": "bottom"},
                ),
            ]
        )
    )


# --- Callbacks -------------------------------------------------------------------------------

VIEW_INPUTS = {
    "filters": FILTERS.inputs(),
    "align": Input(ALIGN, "value"),
    "sort": Input(SORT, "value"),
    "group": Input(GROUP, "value"),
    "rule": Input(RULE, "value"),
}
COMPARE_INPUTS = {
    side: {
        "authority": Input(_compare_ids(side)["authority"], "value"),
        "years": Input(_compare_ids(side)["years"], "value"),
    }
    for side in COMPARE_SIDES
}


def view_query(filters: Mapping, align, sort, group, rule, tab, compare: Mapping, choices: Choices) -> str:
    """Return the query string of a view: its filters, view choices, tab and compared cohorts."""
    values = filter_to_query(filter_from_values(filters, choices))
    values.update(
        {
            "align": _one_of(align, ALIGNS, ""),
            "sort": _one_of(sort, cohort.SORTS, ""),
            "group": _one_of(group, cohort.GROUPS, ""),
            "rule": _one_of(rule, choices.rules, ""),
            "tab": _one_of(tab, TAB_LABELS, ""),
        }
    )
    for side, picked in compare.items():
        years = picked.get("years") or []
        values[f"{side}_la"] = _one_of(picked.get("authority"), choices.authorities, "")
        values[f"{side}_years"] = "-".join(str(int(year)) for year in years[:2])
    return query_string(values)


@callback(
    Output(SHARE_LINK, "href"),
    inputs={**VIEW_INPUTS, "tab": Input(TABS, "active_tab"), "compare": COMPARE_INPUTS},
)
def share_view(filters, align, sort, group, rule, tab, compare):
    """Keep the shareable link in step with the view."""
    choices = _choices(services().store, current_scope())
    return PATH + view_query(filters, align, sort, group, rule, tab, compare, choices)


# Put the view in the address bar without a page load, so reloading or sharing it keeps it.
clientside_callback(
    """function (href) {
        if (href && window.location.pathname === '/cohort') {
            window.history.replaceState(window.history.state, '', href);
        }
    }""",
    Input(SHARE_LINK, "href"),
)


@callback(
    *[Output(f"cohort-section-{key}", "hidden") for key in TAB_LABELS],
    Input(TABS, "active_tab"),
)
def show_tab(tab):
    """Show the section of the chosen tab and hide the others."""
    return [key != tab for key in TAB_LABELS]


def load_cohort(store: Store, scope: Scope, today: dt.date) -> cohort.Cohort:
    """Build the cohort of every child in scope, as at today."""
    return cohort.build_cohort(
        store.children(scope), store.events(scope), store.periods(scope), store.rules(scope), today
    )


def cached_cohort(store: Store, scope: Scope, today: dt.date) -> cohort.Cohort:
    """Return load_cohort's cohort, built once per data version and scope for every worker."""
    return services().cache.call(load_cohort, store, scope, today)


def _filtered(filters: Mapping) -> tuple[cohort.Cohort, Store, Scope]:
    context = services()
    scope = current_scope()
    chosen = filter_from_values(filters, _choices(context.store, scope))
    everyone = cached_cohort(context.store, scope, context.settings.effective_today())
    return cohort.apply_filter(everyone, chosen), context.store, scope


def _cached_view(view, filters: Mapping, *choices):
    """Return view(filtered cohort, store, scope, *choices), computed once per data version, scope, view."""
    context = services()
    scope = current_scope()
    chosen = filter_from_values(filters, _choices(context.store, scope))
    today = context.settings.effective_today()
    return context.cache.call(_filtered_view, context.store, scope, today, chosen, view, *choices)


def _filtered_view(store: Store, scope: Scope, today: dt.date, chosen: cohort.CohortFilter, view, *choices):
    return view(cohort.apply_filter(cached_cohort(store, scope, today), chosen), store, scope, *choices)


def _count(chosen: cohort.Cohort) -> str:
    return f"{len(chosen):,} {'child' if len(chosen) == 1 else 'children'}"


def _showing(tab: str, key: str) -> None:
    if tab != key:
        raise PreventUpdate


@callback(
    Output(TIMELINE_GRAPH, "figure"),
    Output(TIMELINE_NOTE, "children"),
    Output(ROW_LIST, "children"),
    Output(ROW_IDS, "data"),
    Output(COUNT, "children"),
    inputs={**VIEW_INPUTS, "tab": Input(TABS, "active_tab")},
)
def show_timeline(filters, align, sort, group, rule, tab):
    """Draw the cohort timeline for the filters, sorted and grouped as chosen."""
    if tab != "timeline":
        chosen, _store, _scope = _filtered(filters)
        return dash.no_update, dash.no_update, dash.no_update, dash.no_update, _count(chosen)
    return _cached_view(_timeline_outputs, filters, align, sort, group)


def _timeline_outputs(chosen: cohort.Cohort, store: Store, scope: Scope, align, sort, group) -> tuple:
    changes = qi_store.annotations(
        store, scope, sorted(int(la_id) for la_id in chosen.children["la_id"].unique())
    )
    return (*timeline_view(chosen, align, sort, group, changes), _count(chosen))


def timeline_view(
    chosen: cohort.Cohort, align: str, sort: str, group: str, changes: pd.DataFrame | None = None
):
    """Return the timeline figure, its note, the keyboard list of children and each row's child id."""
    if not len(chosen):
        return _blank(), "No children match these filters. Widen them to see journeys.", None, []
    align = _one_of(align, ALIGNS, "accommodated")
    rows, groups = cohort.timeline_rows(chosen.children, _one_of(sort, cohort.SORTS, "recommendation"), group)
    stages, overdue = cohort.timeline_segments(chosen, rows, align)
    figure = cohort_timeline(stages, overdue, rows, groups, align, chosen.today, changes)
    note = (
        f"{len(rows):,} children, one row each. Blue shades: the waiting stage; red bars just below a row: "
        "time past a target. Drag to zoom in; click a row's square marker to open that child's timeline."
    )
    links = html.Ol(
        [
            html.Li(dcc.Link(reference, href=child_path(reference)))
            for reference in rows["reference"][:LISTED_ROWS]
        ],
        className="small",
    )
    more = (
        html.P(f"and {len(rows) - LISTED_ROWS:,} more.", className="small")
        if len(rows) > LISTED_ROWS
        else None
    )
    row_ids: list[int | None] = [None] * (int(rows["row"].max()) + 1)
    for row, child_id in zip(rows["row"], rows["child_id"], strict=True):
        row_ids[row] = int(child_id)
    return figure, note, [links, more], row_ids


@callback(
    Output(NAVIGATE, "href"),
    Input(TIMELINE_GRAPH, "clickData"),
    State(ROW_IDS, "data"),
    prevent_initial_call=True,
)
def open_clicked_child(click, row_ids):
    """Open the timeline of the child whose row was clicked."""
    points = (click or {}).get("points") or [{}]
    # Overdue marks sit a fraction of a row below their child's row.
    row = round(points[0].get("y", -1))
    child_id = row_ids[row] if row_ids and 0 <= row < len(row_ids) else None
    if child_id is None:
        raise PreventUpdate
    # The id came back from the browser: look it up within the user's scope, never trust it.
    found = services().store.children(current_scope(), [int(child_id)])
    if found.empty:
        raise PreventUpdate
    return child_path(found.iloc[0]["reference"])


@callback(
    Output(SUMMARY, "children"),
    Output(SURVIVAL_GRAPH, "figure"),
    Output(DURATIONS_GRAPH, "figure"),
    inputs={**VIEW_INPUTS, "tab": Input(TABS, "active_tab")},
)
def show_summaries(filters, align, sort, group, rule, tab):
    """Summarise each rule, draw the time-to-milestone curves and the days in each stage."""
    _showing(tab, "summaries")
    return _cached_view(_summaries_outputs, filters, rule, group)


def _summaries_outputs(chosen: cohort.Cohort, _store: Store, _scope: Scope, rule, group):
    return summaries_view(chosen, rule, group)


def summaries_view(chosen: cohort.Cohort, rule: str, group: str):
    """Return the rule summary table and the survival and stage-duration figures of a cohort."""
    if not len(chosen):
        return (
            empty_state("No children match these filters", "Widen the filters to see summaries."),
            _blank(),
            _blank(),
        )
    summary = cohort.rule_summary(chosen)
    waits = cohort.milestone_waits(chosen, rule)
    group_column = {"authority": "la_code", "route": "route"}.get(group)
    if group_column:
        labels = chosen.children.set_index("child_id")[group_column]
        if group_column == "route":
            labels = labels.map(cohort.route_label)
        waits = waits.assign(group=waits["child_id"].map(labels))
    else:
        waits = waits.assign(group="All children")
    survival = cohort.kaplan_meier(waits)
    row = summary[summary["rule_key"] == rule]
    milestone = row["rule_label"].iloc[0] if len(row) else rule
    target = int(row["target_days"].iloc[0]) if len(row) else None
    return (
        rule_table(summary, survival),
        cohort_summaries.time_to_milestone(survival, milestone, target),
        cohort_summaries.stage_durations(cohort.stage_durations(chosen)),
    )


def _days(value) -> str:
    return "–" if pd.isna(value) else f"{value:,.0f}"


def _percent(value) -> str:
    return "–" if pd.isna(value) else f"{value:.0f}%"


def _median_text(days) -> str:
    return f"{days:,.0f} days" if pd.notna(days) else "not reached by half"


def rule_table(summary: pd.DataFrame, survival: cohort.SurvivalCurves | None = None) -> html.Div:
    """Return the per-rule summary as a table, with the Kaplan-Meier medians beneath when given."""
    header = html.Thead(
        html.Tr(
            [
                html.Th("Milestone", scope="col"),
                html.Th("Target (days)", scope="col", className="text-end"),
                html.Th("Children", scope="col", className="text-end"),
                html.Th("Met within target", scope="col", className="text-end"),
                html.Th("Late", scope="col", className="text-end"),
                html.Th("Overdue now", scope="col", className="text-end"),
                html.Th("Not yet due", scope="col", className="text-end"),
                html.Th("Median days (quartiles), reached", scope="col", className="text-end"),
            ]
        )
    )
    rows = [
        html.Tr(
            [
                html.Td(row.rule_label),
                html.Td(f"{row.target_days:,}", className="text-end"),
                html.Td(f"{row.children:,}", className="text-end"),
                html.Td(f"{_percent(row.pct_within_target)} ({row.met:,})", className="text-end fw-semibold"),
                html.Td(f"{row.late:,}", className="text-end"),
                html.Td(f"{row.overdue:,}", className="text-end text-overdue"),
                html.Td(f"{row.open:,}", className="text-end"),
                html.Td(
                    f"{_days(row.median_days)} ({_days(row.q1_days)}–{_days(row.q3_days)})",
                    className="text-end",
                ),
            ]
        )
        for row in summary.itertuples()
    ]
    parts = [
        dbc.Table([header, html.Tbody(rows)], id="cohort-rule-table", size="sm", hover=True, responsive=True),
        html.P(
            "Met within target: of the children whose target date has passed or who reached the milestone "
            "(those not yet due are left out). Repeating reviews count each interval.",
            className="small text-muted",
        ),
    ]
    if survival is not None and len(survival.medians):
        medians = "; ".join(
            f"{row.group}: {_median_text(row.median_days)} ({row.reached:,} of {row.children:,} reached)"
            for row in survival.medians.itertuples()
        )
        parts.append(html.P(f"Kaplan-Meier median time to the milestone: {medians}.", id="cohort-km-medians"))
    return html.Div(parts)


@callback(
    Output(PATHWAY, "children"),
    inputs={"filters": FILTERS.inputs(), "tab": Input(TABS, "active_tab")},
)
def show_pathway(filters, tab):
    """Draw how children move through the pathway, with counts and median days per step."""
    _showing(tab, "pathway")
    return _cached_view(_pathway_outputs, filters)


def _pathway_outputs(chosen: cohort.Cohort, _store: Store, _scope: Scope) -> html.Div:
    return pathway_view(chosen)


def pathway_view(chosen: cohort.Cohort) -> html.Div:
    """Return the pathway flow of a cohort, with a table of its steps for screen readers."""
    if not len(chosen):
        return empty_state("No children match these filters", "Widen the filters to see the pathway.")
    flows = cohort.pathway_flows(chosen)
    rows = [
        html.Tr(
            [
                html.Td(row.source),
                html.Td(row.target),
                html.Td(f"{row.children:,}", className="text-end"),
                html.Td(_days(row.median_days), className="text-end"),
            ]
        )
        for row in flows.itertuples()
    ]
    table = dbc.Table(
        [
            html.Thead(
                html.Tr(
                    [
                        html.Th("From", scope="col"),
                        html.Th("To", scope="col"),
                        html.Th("Children", scope="col", className="text-end"),
                        html.Th("Median days", scope="col", className="text-end"),
                    ]
                )
            ),
            html.Tbody(rows),
        ],
        id="cohort-pathway-table",
        size="sm",
    )
    return html.Div(
        [
            html.P(
                "From accommodation through the recommendation's route, panel, ADM decision and court to "
                "the outcome. Blue: steps; green: ceased to be looked after; red: still waiting for the next "
                "step.",
                className="small text-muted",
            ),
            dcc.Graph(
                id="cohort-pathway-graph",
                figure=cohort_summaries.pathway(flows),
                config={"displaylogo": False},
            ),
            html.Details([html.Summary("The steps as a table"), table], className="mt-2"),
        ]
    )


@callback(
    Output(DELAY, "children"),
    inputs={"filters": FILTERS.inputs(), "tab": Input(TABS, "active_tab")},
)
def show_delay(filters, tab):
    """Show total and median overdue days by stage and authority."""
    _showing(tab, "delay")
    return _cached_view(_delay_outputs, filters)


def _delay_outputs(chosen: cohort.Cohort, store: Store, scope: Scope) -> html.Div:
    return delay_view(chosen, store.rules(scope))


def delay_view(chosen: cohort.Cohort, rules: pd.DataFrame) -> html.Div:
    """Return where a cohort's overdue days sit: a stage-by-authority chart and its totals."""
    delays = cohort.delay_by_stage(chosen, rules)
    if delays.empty:
        return empty_state("No delay to show", "No child in these filters waited past a target.")
    by_stage = delays.groupby("stage", observed=True).agg(
        total_days=("total_days", "sum"), intervals=("intervals", "sum")
    )
    rows = [
        html.Tr(
            [
                html.Td(str(stage)),
                html.Td(f"{row.total_days:,}", className="text-end"),
                html.Td(f"{row.intervals:,}", className="text-end"),
            ]
        )
        for stage, row in by_stage.iterrows()
    ]
    table = dbc.Table(
        [
            html.Thead(
                html.Tr(
                    [
                        html.Th("Stage", scope="col"),
                        html.Th("Total days overdue", scope="col", className="text-end"),
                        html.Th("Late or overdue intervals", scope="col", className="text-end"),
                    ]
                )
            ),
            html.Tbody(rows),
        ],
        id="cohort-delay-table",
        size="sm",
    )
    return html.Div(
        [
            html.P(
                "Days past target, summed over every late or overdue interval, by the stage whose milestone "
                "was awaited and by authority; each cell also gives the median days overdue of those "
                "intervals.",
                className="small text-muted",
            ),
            dcc.Graph(
                id="cohort-delay-graph",
                figure=cohort_summaries.delay_heatmap(delays),
                config={"displaylogo": False},
            ),
            table,
        ]
    )


@callback(
    Output(COMPARE, "children"),
    inputs={"filters": FILTERS.inputs(), "rule": Input(RULE, "value"), "tab": Input(TABS, "active_tab"),
            "compare": COMPARE_INPUTS},
)  # fmt: skip
def show_comparison(filters, rule, tab, compare):
    """Compare the two chosen cohorts side by side."""
    _showing(tab, "compare")
    return _cached_view(_comparison_outputs, filters, rule, compare)


def _comparison_outputs(chosen: cohort.Cohort, _store: Store, _scope: Scope, rule, compare) -> html.Div:
    return comparison_view(chosen, rule, compare)


def _side(chosen: cohort.Cohort, picked: Mapping) -> tuple[cohort.Cohort, str]:
    years = picked.get("years") or []
    authority = picked.get("authority")
    first, last = (int(years[0]), int(years[-1])) if years else (None, None)
    narrowed = cohort.apply_filter(
        chosen,
        cohort.CohortFilter(
            authorities=(authority,) if authority else (),
            accommodated_from=dt.date(first, 1, 1) if first else None,
            accommodated_to=dt.date(last, 12, 31) if last else None,
        ),
    )
    when = "" if not years else (f" {first}" if first == last else f" {first}–{last}")
    return narrowed, f"{authority or 'All'}{when}"


def comparison_view(chosen: cohort.Cohort, rule: str, compare: Mapping) -> html.Div:
    """Return two cohorts' rule summaries side by side and their time-to-milestone curves."""
    (first, label_a), (second, label_b) = (_side(chosen, compare.get(side) or {}) for side in COMPARE_SIDES)
    if label_a == label_b:
        label_b += " (B)"
    if not len(first) or not len(second):
        return empty_state("A cohort is empty", "No child matches one of the two cohorts; widen its choices.")
    both = cohort.compare(first, second)
    header = html.Thead(
        html.Tr(
            [
                html.Th("Milestone", scope="col"),
                html.Th(f"{label_a}: children", scope="col", className="text-end"),
                html.Th(f"{label_a}: within target", scope="col", className="text-end"),
                html.Th(f"{label_a}: median days", scope="col", className="text-end"),
                html.Th(f"{label_b}: children", scope="col", className="text-end"),
                html.Th(f"{label_b}: within target", scope="col", className="text-end"),
                html.Th(f"{label_b}: median days", scope="col", className="text-end"),
                html.Th("Difference (B − A)", scope="col", className="text-end"),
            ]
        )
    )
    rows = [
        html.Tr(
            [
                html.Td(row.rule_label),
                html.Td(f"{row.children_a:,}", className="text-end"),
                html.Td(_percent(row.pct_within_target_a), className="text-end"),
                html.Td(_days(row.median_days_a), className="text-end"),
                html.Td(f"{row.children_b:,}", className="text-end"),
                html.Td(_percent(row.pct_within_target_b), className="text-end"),
                html.Td(_days(row.median_days_b), className="text-end"),
                html.Td(
                    "–" if pd.isna(row.difference_pct) else f"{row.difference_pct:+.0f} points",
                    className="text-end",
                ),
            ]
        )
        for row in both.itertuples()
    ]
    waits = pd.concat(
        [
            cohort.milestone_waits(first, rule).assign(group=label_a),
            cohort.milestone_waits(second, rule).assign(group=label_b),
        ],
        ignore_index=True,
    )
    survival = cohort.kaplan_meier(waits)
    summary = cohort.rule_summary(first)
    row = summary[summary["rule_key"] == rule]
    milestone = row["rule_label"].iloc[0] if len(row) else rule
    target = int(row["target_days"].iloc[0]) if len(row) else None
    return html.Div(
        [
            dbc.Table(
                [header, html.Tbody(rows)], id="cohort-compare-table", size="sm", hover=True, responsive=True
            ),
            html.H2(f"Time to {milestone.lower()}", className="h5 mt-3"),
            dcc.Graph(
                id="cohort-compare-graph",
                figure=cohort_summaries.time_to_milestone(survival, milestone, target),
                config={"displaylogo": False},
            ),
        ]
    )
