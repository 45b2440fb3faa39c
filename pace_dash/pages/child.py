"""A child's timeline at /child/<reference>: the whole journey, with every delay drawn in red."""

from __future__ import annotations

import datetime as dt

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from pace_dash.components.cards import empty_state
from pace_dash.components.shell import child_path
from pace_dash.domain import catalogue, journeys
from pace_dash.domain.rules import resolve_rules
from pace_dash.figures.child_timeline import child_timeline
from pace_dash.store.queries import Store
from pace_dash.store.scope import Scope
from pace_dash.web import current_scope, services


def _title(reference: str | None = None, **_kwargs) -> str:
    return f"{reference} · Child timeline" if reference else "Child timeline"


GRAPH = "child-timeline-graph"
HEADER = "child-header"
DATE_FORMAT = "%-d %b %Y"


def layout(reference: str | None = None, authority: str | None = None, **_kwargs) -> html.Div:
    """Return the timeline page of the child with this reference, as the current user may see it."""
    if not reference:
        return html.Div(html.H1("Child timeline", className="h3"))
    context = services()
    return child_page(
        context.store, current_scope(), reference, authority, context.settings.effective_today()
    )


# Registered below its layout so the page object carries the layout itself.
dash.register_page(
    __name__, path_template="/child/<reference>", title=_title, name="Child timeline", layout=layout
)


def age_in_years(date_of_birth: pd.Timestamp, today: dt.date) -> int:
    """Return a person's age in whole years on a date."""
    born = date_of_birth.date()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def child_page(store: Store, scope: Scope, reference: str, authority: str | None, today: dt.date) -> html.Div:
    """Build the page for a reference: not found, a choice of authorities, or the timeline."""
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
    return _timeline(store, scope, found.iloc[0], today)


def _timeline(store: Store, scope: Scope, child: pd.Series, today: dt.date) -> html.Div:
    ids = [int(child["child_id"])]
    events = store.events(scope, ids)
    periods = store.periods(scope, ids)
    heading = html.H1(
        [
            child["reference"],
            html.Small(f" {child['name']}", className="text-muted") if child["name"] else None,
        ],
        className="h3",
    )
    if events.empty and periods.empty:
        return html.Div(
            [
                heading,
                empty_state(
                    "No events recorded yet",
                    "This child has no events or periods recorded, so there is no timeline to draw.",
                ),
            ],
            id="child-empty",
        )
    rules = store.rules(scope)
    evaluation = journeys.evaluate(events, rules, today)
    summary = journeys.summarise(events, evaluation, today)
    figure = child_timeline(
        events,
        periods,
        journeys.stage_spans(events, today),
        evaluation,
        resolve_rules(rules, [int(child["la_id"])]),
        today,
    )
    return html.Div(
        [
            heading,
            _header(child, summary, evaluation, today),
            _quality_alert(journeys.quality_flags(events)),
            dcc.Graph(
                id=GRAPH,
                figure=figure,
                config={
                    "displaylogo": False,
                    "toImageButtonOptions": {"filename": f"timeline-{child['reference']}"},
                },
                className="border rounded bg-white",
            ),
            html.P(
                "Red hatched bars are time past a target; grey bars are the time the target allows; "
                "hollow circles are due dates of milestones not reached yet.",
                className="small text-muted mt-2",
            ),
            _event_table(events, periods),
        ]
    )


def _fact(label: str, value: str, fact_id: str) -> dbc.Col:
    return dbc.Col(
        [html.Div(label, className="small text-muted"), html.Div(value, className="fw-semibold", id=fact_id)],
        xs=6,
        md=2,
    )


def _header(child: pd.Series, summary: pd.DataFrame, evaluation: pd.DataFrame, today: dt.date) -> dbc.Card:
    if summary.empty:
        facts = [
            _fact("Authority", child["la_code"], "child-authority"),
            _fact("Age", f"{age_in_years(child['date_of_birth'], today)}", "child-age"),
        ]
        return dbc.Card(dbc.CardBody(dbc.Row(facts)), className="mb-3", id=HEADER)
    latest = summary.iloc[0]
    if pd.notna(latest["next_due_date"]):
        next_due = f"{latest['next_rule_label']}, due {latest['next_due_date'].strftime(DATE_FORMAT)}"
    else:
        next_due = "None"
    overdue_now = int(latest["days_overdue_now"])
    facts = [
        _fact("Authority", child["la_code"], "child-authority"),
        _fact("Age", f"{age_in_years(child['date_of_birth'], today)} years", "child-age"),
        _fact(
            "Days since accommodated",
            f"{int(latest['days_since_accommodated']):,}"
            + ("" if pd.isna(latest["episode_end"]) else " (episode ended)"),
            "child-days-accommodated",
        ),
        _fact("Current stage", latest["current_stage"], "child-stage"),
        _fact("Next milestone due", next_due, "child-next-due"),
        _fact(
            "Overdue now",
            f"{overdue_now:,} days" if overdue_now else "Nothing overdue",
            "child-overdue-now",
        ),
    ]
    episodes = int(evaluation["episode"].max()) if not evaluation.empty else 1
    note = html.Div(
        f"Episode {latest['episode']} of care" if episodes > 1 else "", className="small text-muted"
    )
    return dbc.Card(dbc.CardBody([dbc.Row(facts, className="g-2"), note]), className="mb-3", id=HEADER)


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


def _event_table(events: pd.DataFrame, periods: pd.DataFrame) -> html.Details:
    rows = [
        html.Tr(
            [
                html.Td(row.on_date.strftime(DATE_FORMAT)),
                html.Td(catalogue.event_label(row.code)),
                html.Td(catalogue.attribute_label(row.code, row.attribute) or ""),
                html.Td(row.note or ""),
            ]
        )
        for row in events.itertuples()
    ]
    rows += [
        html.Tr(
            [
                html.Td(row.start_date.strftime(DATE_FORMAT)),
                html.Td(
                    f"{catalogue.LANE_LABELS[row.lane]}: {catalogue.category_label(row.lane, row.category)}"
                ),
                html.Td("until " + (row.end_date.strftime(DATE_FORMAT) if pd.notna(row.end_date) else "now")),
                html.Td(row.note or ""),
            ]
        )
        for row in periods.itertuples()
    ]
    header = html.Thead(
        html.Tr(
            [
                html.Th("Date", scope="col"),
                html.Th("Event", scope="col"),
                html.Th("Detail", scope="col"),
                html.Th("Note", scope="col"),
            ]
        )
    )
    return html.Details(
        [
            html.Summary("Events and periods as a table"),
            dbc.Table([header, html.Tbody(rows)], size="sm", striped=True, className="mt-2"),
        ],
        className="mt-3",
        open=False,
    )
