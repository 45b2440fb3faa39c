"""Overview: children in scope, who is overdue now, and the 26-week recommendation measure."""

from __future__ import annotations

import datetime as dt

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from pace_dash.components.cards import empty_state, kpi_card
from pace_dash.components.shell import child_path
from pace_dash.domain import cohort, journeys
from pace_dash.store.queries import Store
from pace_dash.store.scope import Scope
from pace_dash.web import current_scope, services

CONTENT = "home-content"
TRIGGER = "home-trigger"
MOST_OVERDUE_LIMIT = 25
RECOMMENDATION_RULE = "permanence_recommendation"


def layout(**_kwargs) -> html.Div:
    """Return the overview page; its numbers arrive by callback behind a loading indicator."""
    return html.Div(
        [
            html.H1("Overview", className="h3"),
            html.P(
                "Where looked-after children's journeys to a permanent home are waiting past their targets.",
                className="text-muted",
            ),
            dcc.Store(id=TRIGGER, data=0),
            dcc.Loading(html.Div(id=CONTENT, className="min-vh-25"), type="default"),
        ]
    )


# Registered below its layout so the page object carries the layout itself.
dash.register_page(
    __name__, path="/", title="Overview · PACE child timelines", name="Overview", layout=layout
)


def overview(store: Store, scope: Scope, today: dt.date) -> html.Div:
    """Build the overview's cards and most-overdue list for a scope."""
    children_in_scope = store.count_children(scope)
    if not children_in_scope:
        return empty_state(
            "No children to show yet",
            "There are no children in the authorities you can see. Load the demo data with "
            "`python -m pace_dash demo` or import a tracker.",
        )
    events = store.events(scope)
    evaluation = journeys.evaluate(events, store.rules(scope), today)
    summary = journeys.summarise(events, evaluation, today)
    open_children = summary[summary["episode_end"].isna()]
    overdue_now = int((open_children["overdue_rules"] > 0).sum())
    year_ago = today - dt.timedelta(days=365)
    met, reached = cohort.share_within_target(evaluation, RECOMMENDATION_RULE, year_ago, today)
    share = f"{met / reached:.0%}" if reached else "–"

    cards = dbc.Row(
        [
            dbc.Col(
                kpi_card(
                    "Children in scope",
                    f"{children_in_scope:,}",
                    f"{len(open_children):,} looked after now",
                    "kpi-children",
                ),
                md=4,
            ),
            dbc.Col(
                kpi_card(
                    "Overdue now",
                    f"{overdue_now:,}",
                    "children looked after now with a milestone past its target",
                    "kpi-overdue",
                ),
                md=4,
            ),
            dbc.Col(
                kpi_card(
                    "Recommendation within 26 weeks",
                    share,
                    f"{met:,} of {reached:,} permanence recommendations in the last 12 months",
                    "kpi-recommendation",
                ),
                md=4,
            ),
        ],
        className="g-3 mb-4",
    )
    ranked = cohort.most_overdue(summary, evaluation, MOST_OVERDUE_LIMIT)
    return html.Div([cards, _most_overdue_table(ranked, store.children(scope, ranked["child_id"]))])


def _most_overdue_table(ranked, children) -> html.Div:
    heading = html.H2("Children most overdue now", className="h5")
    if ranked.empty:
        return html.Div(
            [heading, empty_state("Nobody is overdue", "No child in scope is past a target today.")]
        )
    references = children.set_index("child_id")["reference"]
    rows = [
        html.Tr(
            [
                html.Td(dcc.Link(references[row.child_id], href=child_path(references[row.child_id]))),
                html.Td(row.current_stage),
                html.Td(row.worst_rule),
                html.Td(row.worst_due_date.strftime("%-d %b %Y")),
                html.Td(f"{row.days_overdue_now:,}", className="text-end fw-semibold text-overdue"),
                html.Td(f"{row.days_since_accommodated:,}", className="text-end"),
            ]
        )
        for row in ranked.itertuples()
    ]
    header = html.Thead(
        html.Tr(
            [
                html.Th("Child", scope="col"),
                html.Th("Current stage", scope="col"),
                html.Th("Most overdue milestone", scope="col"),
                html.Th("Was due", scope="col"),
                html.Th("Days overdue", scope="col", className="text-end"),
                html.Th("Days since accommodated", scope="col", className="text-end"),
            ]
        )
    )
    table = dbc.Table([header, html.Tbody(rows)], id="most-overdue", hover=True, responsive=True, size="sm")
    return html.Div([heading, table])


@callback(Output(CONTENT, "children"), Input(TRIGGER, "data"))
def show_overview(_trigger):
    """Fill the overview for the current user's scope."""
    context = services()
    return context.cache.call(overview, context.store, current_scope(), context.settings.effective_today())
