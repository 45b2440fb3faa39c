"""Quality Improvement at /qi: run charts with their signals, aims, changes tested, and drill-through."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from pace_dash.components.cards import empty_state
from pace_dash.components.shell import child_path
from pace_dash.domain import catalogue, journeys, qi, runchart
from pace_dash.domain.rules import resolve_rules
from pace_dash.figures.export import IMAGE_FORMATS, figure_image
from pace_dash.figures.run_chart import LEGEND_MARGIN_PX, Panel, annotation_caption, run_chart
from pace_dash.store import qi as qi_store
from pace_dash.store.cache import uncached
from pace_dash.store.queries import Store
from pace_dash.store.scope import Scope
from pace_dash.web import audit, choice_lists, current_scope, services

PATH = "/qi"
ALL_AUTHORITIES = "all"
DEFAULT_RULE = "permanence_recommendation"
DEFAULT_MEASURE = qi.MEDIAN_MONTH
DATE_FORMAT = "%-d %b %Y"
MAX_BASELINE = 60
# A tracker's first year only sees children who came in after it started, so their waits look
# short; the chart starts a year after the first accommodation unless the user picks a date.
WARM_UP_DAYS = 365

AUTHORITY = "qi-authority"
RULE = "qi-rule"
MEASURE = "qi-measure"
ROUTES = "qi-routes"
METHOD = "qi-method"
BASELINE = "qi-baseline"
FREEZE = "qi-freeze"
PHASES = "qi-phases"
SINCE = "qi-since"
GRAPH = "qi-graph"
SIGNALS = "qi-signals"
LINK = "qi-link"
DRILL = "qi-drill"
POINT_PICKER = "qi-point"
PNG_BUTTON = "qi-png"
SVG_BUTTON = "qi-svg"
DOWNLOAD = "qi-download"
AIMS = "qi-aims"
NOTES = "qi-notes"
NOTES_VERSION = "qi-notes-version"
NOTE_ID = "qi-note-id"
NOTE_AUTHORITY = "qi-note-authority"
NOTE_DATE = "qi-note-date"
NOTE_KIND = "qi-note-kind"
NOTE_TEXT = "qi-note-text"
NOTE_SAVE = "qi-note-save"
NOTE_CANCEL = "qi-note-cancel"
NOTE_FEEDBACK = "qi-note-feedback"
NOTE_FORM_TITLE = "qi-note-form-title"
EDIT_NOTE = "qi-edit-note"  # pattern-matching id type of each annotation's Edit button
FREEZE_ON = "frozen"


@dataclass(frozen=True)
class Choice:
    """What the user asked to see, checked: anything unknown falls back to the default."""

    authority: str = ALL_AUTHORITIES
    rule_key: str = DEFAULT_RULE
    measure: str = DEFAULT_MEASURE
    routes: tuple[str, ...] = ()
    method: str = runchart.IHI
    baseline: int | None = runchart.DEFAULT_BASELINE_POINTS
    phase_dates: tuple[dt.date, ...] = ()
    since: dt.date | None = None


def _parse_date(raw) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(raw)[:10]) if raw else None
    except ValueError:
        return None


def choose(
    authority=None,
    rule=None,
    measure=None,
    routes=None,
    method=None,
    baseline=None,
    freeze=None,
    phases=None,
    since=None,
) -> Choice:
    """Turn raw control values (from the URL or a callback) into a checked Choice."""
    frozen = freeze is None or FREEZE_ON in (freeze or [])
    try:
        points = int(baseline) if baseline not in (None, "") else runchart.DEFAULT_BASELINE_POINTS
    except (TypeError, ValueError):
        points = runchart.DEFAULT_BASELINE_POINTS
    return Choice(
        authority=str(authority).upper()
        if authority and str(authority).lower() != ALL_AUTHORITIES
        else ALL_AUTHORITIES,
        rule_key=str(rule) if rule else DEFAULT_RULE,
        measure=measure if measure in qi.MEASURES else DEFAULT_MEASURE,
        routes=tuple(route for route in (routes or []) if route in catalogue.ROUTES),
        method=method if method in runchart.METHODS else runchart.IHI,
        baseline=min(max(points, 1), MAX_BASELINE) if frozen else None,
        phase_dates=tuple(sorted({day for day in map(_parse_date, phases or []) if day})),
        since=_parse_date(since),
    )


def layout(authority=None, rule=None, measure=None, method=None, since=None, **_kwargs) -> html.Div:
    """Return the QI page; the query string may choose the authority, rule, measure, method and start."""
    context = services()
    scope = current_scope()
    choice = choose(authority=authority, rule=rule, measure=measure, method=method, since=since)
    authorities, rules = choice_lists(context.store, scope)
    authority_options = [{"label": "All authorities (one chart each)", "value": ALL_AUTHORITIES}] + [
        {"label": f"{row.name} ({row.code})", "value": row.code} for row in authorities.itertuples()
    ]
    if choice.authority not in set(authorities["code"]):
        choice = replace(choice, authority=ALL_AUTHORITIES)
    rules = rules.drop_duplicates("key").sort_values("label")
    rule_options = [{"label": row.label, "value": row.key} for row in rules.itertuples()]
    if choice.rule_key not in set(rules["key"]):
        choice = replace(choice, rule_key=DEFAULT_RULE)
    baseline = dbc.InputGroup(
        [
            dbc.Input(
                id=BASELINE,
                type="number",
                min=1,
                max=MAX_BASELINE,
                step=1,
                value=runchart.DEFAULT_BASELINE_POINTS,
                debounce=True,
            ),
            dbc.InputGroupText(
                dbc.Checklist(
                    id=FREEZE,
                    options=[{"label": "frozen and extended", "value": FREEZE_ON}],
                    value=[FREEZE_ON],
                    switch=True,
                    className="mb-0",
                )
            ),
        ],
        size="sm",
    )
    controls = dbc.Row(
        [
            _control(
                "Authority",
                AUTHORITY,
                dcc.Dropdown(
                    id=AUTHORITY, options=authority_options, value=choice.authority, clearable=False
                ),
            ),
            _control(
                "Target rule",
                RULE,
                dcc.Dropdown(id=RULE, options=rule_options, value=choice.rule_key, clearable=False),
            ),
            _control(
                "Measure",
                MEASURE,
                dcc.Dropdown(
                    id=MEASURE, options=_options(qi.MEASURES), value=choice.measure, clearable=False
                ),
            ),
            _control(
                "Permanence route",
                ROUTES,
                dcc.Dropdown(
                    id=ROUTES,
                    options=_options(catalogue.ROUTES),
                    value=[],
                    multi=True,
                    placeholder="Every route",
                ),
            ),
            _control(
                "Rules",
                METHOD,
                dbc.RadioItems(id=METHOD, options=_options(runchart.METHODS), value=choice.method),
                4,
            ),
            _control("Baseline points", BASELINE, baseline),
            _control(
                "New phase from",
                PHASES,
                dcc.Dropdown(
                    id=PHASES, options=[], value=[], multi=True, placeholder="No phases: one median"
                ),
            ),
            _control(
                "Plot points from",
                SINCE,
                dcc.DatePickerSingle(
                    id=SINCE,
                    date=choice.since,
                    display_format="D MMM YYYY",
                    placeholder="A year after the start",
                    clearable=True,
                ),
                2,
            ),
        ],
        className="g-3 mb-3",
    )
    return html.Div(
        [
            html.H1("Quality Improvement run charts", className="h3"),
            html.P(
                "Is the time to each milestone getting shorter, and is it a real change or noise? "
                "Run-chart rules mark the non-random patterns; click a point to see the children behind it.",
                className="text-muted",
            ),
            dcc.Store(id=NOTES_VERSION, data=0),
            dcc.Download(id=DOWNLOAD),
            controls,
            dcc.Loading(
                [
                    dcc.Graph(
                        id=GRAPH,
                        config={"displaylogo": False, "toImageButtonOptions": {"filename": "run-chart"}},
                        className="border rounded bg-white",
                    ),
                    html.Div(id=SIGNALS, className="mt-2", role="status", **{"aria-live": "polite"}),
                ],
                type="default",
                delay_show=250,
            ),
            html.Div(
                [
                    dbc.Button("Download PNG", id=PNG_BUTTON, color="secondary", outline=True, size="sm"),
                    dbc.Button(
                        "Download SVG",
                        id=SVG_BUTTON,
                        color="secondary",
                        outline=True,
                        size="sm",
                        className="ms-2",
                    ),
                    dcc.Link("Link to this chart", id=LINK, href=PATH, className="ms-3 small"),
                ],
                className="my-3",
            ),
            dbc.Row(
                _control(
                    "Or choose a point to list its children",
                    POINT_PICKER,
                    dcc.Dropdown(id=POINT_PICKER, options=[], placeholder="A point of the chart…"),
                    6,
                ),
                className="mb-2",
            ),
            dcc.Loading(html.Div(id=DRILL, children=_drill_hint()), type="default", delay_show=250),
            dbc.Row(
                [
                    dbc.Col(dcc.Loading(html.Div(id=AIMS), type="default", delay_show=250), lg=6),
                    dbc.Col(_annotation_panel(authorities, scope, choice.authority), lg=6),
                ],
                className="g-4 mt-1",
            ),
        ]
    )


# Registered below its layout so the page object carries the layout itself.
dash.register_page(
    __name__, path=PATH, title="Run charts · PACE child timelines", name="Run charts", layout=layout
)


def _control(label: str, control_id: str, control, md: int = 3) -> dbc.Col:
    return dbc.Col(
        [dbc.Label(label, html_for=control_id, className="small fw-semibold mb-1"), control], md=md
    )


def _options(labels) -> list[dict[str, str]]:
    return [{"label": label, "value": key} for key, label in labels.items()]


def _field(label: str, field_id: str, field, md: int = 12) -> dbc.Col:
    return dbc.Col([dbc.Label(label, html_for=field_id, className="small"), field], md=md)


def point_options(panels: list[ChartPanel], choice: Choice) -> list[dict[str, str]]:
    """Offer every point of the charts by name, so the drill-through works from the keyboard too."""
    unit = "%" if qi.is_percent(choice.measure) else " weeks"
    return [
        {
            "label": f"{chart.code} · {point.label}: {point.value:.1f}{unit} "
            f"({_children_count(point.children)})",
            "value": f"{index}:{position}",
        }
        for index, chart in enumerate(panels)
        for position, point in enumerate(chart.panel.points.itertuples())
    ]


def _children_count(count: int) -> str:
    return f"{count} child" if count == 1 else f"{count} children"


def _drill_hint() -> html.P:
    return html.P("Click a point on the chart to list the children behind it.", className="small text-muted")


def _annotation_panel(authorities: pd.DataFrame, scope: Scope, chosen: str) -> dbc.Card:
    options = [{"label": f"{row.name} ({row.code})", "value": row.code} for row in authorities.itertuples()]
    if scope.la_ids is None:
        options.append({"label": "Every authority (national)", "value": ALL_AUTHORITIES})
    offered = [option["value"] for option in options]
    default = chosen if chosen in set(authorities["code"]) else next(iter(offered), None)
    form = dbc.Form(
        [
            dcc.Store(id=NOTE_ID, data=None),
            html.H3("Add a change tested", id=NOTE_FORM_TITLE, className="h6 mt-3"),
            dbc.Row(
                [
                    _field(
                        "Authority",
                        NOTE_AUTHORITY,
                        dbc.Select(id=NOTE_AUTHORITY, options=options, value=default),
                        6,
                    ),
                    _field("Date", NOTE_DATE, dbc.Input(id=NOTE_DATE, type="date"), 6),
                    _field(
                        "Kind",
                        NOTE_KIND,
                        dbc.Select(id=NOTE_KIND, value="pdsa", options=_options(qi_store.ANNOTATION_KINDS)),
                    ),
                    _field(
                        "What was changed or tested",
                        NOTE_TEXT,
                        dbc.Textarea(
                            id=NOTE_TEXT,
                            maxLength=qi_store.ANNOTATION_TEXT_MAX,
                            rows=2,
                            placeholder="e.g. Legal advice before the permanence planning review",
                        ),
                    ),
                ],
                className="g-2",
            ),
            html.Div(
                [
                    dbc.Button("Save", id=NOTE_SAVE, color="primary", size="sm"),
                    dbc.Button("Cancel editing", id=NOTE_CANCEL, color="link", size="sm", className="ms-2"),
                ],
                className="mt-2",
            ),
            html.Div(id=NOTE_FEEDBACK, className="mt-2", role="status", **{"aria-live": "polite"}),
        ]
    )
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("Changes tested", className="h5"),
                html.P(
                    "PDSA cycles and changes, drawn as numbered markers on the run charts.",
                    className="small text-muted",
                ),
                dcc.Loading(html.Div(id=NOTES), type="default", delay_show=250),
                form,
            ]
        )
    )


# --- building the chart ----------------------------------------------------------------------


@dataclass(frozen=True)
class ChartPanel:
    """One authority's run chart with the rows behind its points, for drill-through."""

    la_id: int
    code: str
    panel: Panel
    rows: pd.DataFrame


def _rule_label(rules: pd.DataFrame, rule_key: str) -> str:
    found = rules.loc[rules["key"] == rule_key, "label"]
    return str(found.iloc[0]) if not found.empty else rule_key


def _target(
    choice: Choice, resolved: pd.DataFrame, aims: pd.DataFrame, la_id: int
) -> tuple[float | None, str]:
    if qi.is_percent(choice.measure):
        own = aims[(aims["la_id"] == la_id) & (aims["rule_key"] == choice.rule_key)]
        if own.empty:
            return None, ""
        aim = own.iloc[-1]
        return float(aim["percent"]), f"Aim {aim['percent']}% by {aim['by_date'].strftime('%b %Y')}"
    rule = resolved[(resolved["la_id"] == la_id) & (resolved["key"] == choice.rule_key)]
    if rule.empty:
        return None, ""
    days = int(rule.iloc[0]["days"])
    return days / qi.DAYS_PER_WEEK, f"Target {days / qi.DAYS_PER_WEEK:.0f} weeks ({days} days)"


def evaluate_authorities(store: Store, scope: Scope, la_ids: tuple[int, ...], today: dt.date) -> pd.DataFrame:
    """Evaluate the journeys of some authorities in scope."""
    events = store.events(scope)
    return journeys.evaluate(events[events["la_id"].isin(la_ids)], store.rules(scope), today)


def chart_panels(
    store: Store, scope: Scope, choice: Choice, today: dt.date, through: Callable = uncached
) -> list[ChartPanel]:
    """Build the analysed run chart of each authority the choice covers, within the scope.

    `through(function, *args)` runs the evaluation: a ResultCache's `call` shares it between choices.
    """
    authorities = store.authorities(scope)
    if choice.authority != ALL_AUTHORITIES:
        authorities = authorities[authorities["code"] == choice.authority]
    if authorities.empty:
        return []
    rules = store.rules(scope)
    la_ids = tuple(sorted(int(la_id) for la_id in authorities["la_id"]))
    evaluation = through(evaluate_authorities, store, scope, la_ids, today)
    resolved = resolve_rules(rules, authorities["la_id"].tolist())
    aims = qi_store.aims(store, scope)
    notes = qi_store.annotations(store, scope, authorities["la_id"].tolist())
    first_start = evaluation["episode_start"].min()
    since = choice.since or (
        (first_start + pd.Timedelta(days=WARM_UP_DAYS)).date() if pd.notna(first_start) else None
    )
    panels = []
    for authority in authorities.sort_values("code").itertuples():
        own = evaluation[evaluation["la_id"] == authority.la_id]
        rows = qi.measure_rows(own, choice.rule_key, choice.measure, today, choice.routes, since)
        points = qi.series(rows, choice.measure)
        # A phase starts at the first point on or after its date.
        phase_starts = [int((points["x"] < pd.Timestamp(day)).sum()) for day in choice.phase_dates]
        analysis = runchart.analyse(
            points["value"].astype("float64").tolist(),
            method=choice.method,
            baseline=choice.baseline,
            phase_starts=phase_starts,
            labels=points["label"].tolist(),
        )
        target, target_label = _target(choice, resolved, aims, authority.la_id)
        own_notes = notes[notes["la_id"].isna() | (notes["la_id"] == authority.la_id)]
        panel = Panel(
            title=f"{authority.name} ({authority.code})",
            points=points,
            analysis=analysis,
            target=target,
            target_label=target_label,
            annotations=own_notes,
        )
        panels.append(ChartPanel(int(authority.la_id), authority.code, panel, rows))
    return panels


def chart_figure(panels: list[ChartPanel], choice: Choice, rule_label: str):
    """Draw the run charts of the panels with axis titles for the measure."""
    percent = qi.is_percent(choice.measure)
    figure = run_chart(
        [chart.panel for chart in panels],
        y_title="% within target" if percent else "Weeks",
        percent=percent,
        measure_word="Took" if choice.measure == qi.PER_CHILD else "Median",
    )
    routes = ", ".join(catalogue.ROUTES[route] for route in choice.routes) if choice.routes else "every route"
    figure.update_layout(
        title={
            "text": f"{rule_label}: {qi.MEASURES[choice.measure].lower()} ({routes})",
            "x": 0,
            "xref": "paper",
            "font": {"size": 15},
        }
    )
    return figure


def _phase_words(code: str, phase: runchart.Phase, labels: list[str], number: int, phases: int) -> html.Li:
    span = f"{labels[phase.first]} to {labels[phase.last]}"
    name = f"{code}, phase {number} ({span})" if phases > 1 else f"{code} ({span})"
    baseline = (
        f"median {phase.centre:.1f} from the first {phase.baseline_last - phase.first + 1} points"
        if phase.baseline_last < phase.last
        else f"median {phase.centre:.1f}"
    )
    found = [html.Li(signal.text, className="text-overdue fw-semibold") for signal in phase.signals]
    if phase.warning:
        verdict = html.Span(phase.warning, className="text-warning-emphasis")
    elif found:
        verdict = html.Ul(found, className="mb-1")
    else:
        verdict = html.Span("no signal: the variation looks random.", className="text-muted")
    return html.Li([html.Strong(name), f": {baseline}, {phase.useful} useful points. ", verdict])


def signal_words(panels: list[ChartPanel], choice: Choice) -> html.Div:
    """Explain each panel's phases and signals in words, with the numbered changes tested under it."""
    items = []
    captions = []
    for chart in panels:
        points = chart.panel.points
        if points.empty:
            items.append(html.Li([html.Strong(chart.code), ": no children to plot with these choices."]))
            continue
        labels = points["label"].tolist()
        phases = chart.panel.analysis.phases
        items += [
            _phase_words(chart.code, phase, labels, n, len(phases)) for n, phase in enumerate(phases, 1)
        ]
        lines = annotation_caption(chart.panel.annotations, points["x"].min(), points["x"].max())
        if lines:
            captions.append(
                html.Div([html.Strong(f"{chart.code} changes: "), "; ".join(lines)], className="small")
            )
    rules = runchart.METHODS[choice.method]
    return html.Div(
        [
            html.H2(f"What the {rules.split(' (')[0]} find", className="h6"),
            html.Ul(items, className="small"),
            *captions,
        ]
    )


def share_link(choice: Choice) -> str:
    """Return the deep link of a choice (authority, rule, measure, method and start)."""
    fields = {"authority": choice.authority, "rule": choice.rule_key, "measure": choice.measure}
    fields["method"] = choice.method
    if choice.since:
        fields["since"] = choice.since.isoformat()
    return f"{PATH}?{urlencode(fields)}"


def export_figure(panels: list[ChartPanel], choice: Choice, rule_label: str):
    """Return the chart for a slide: the signals and the numbered changes written under it."""
    figure = chart_figure(panels, choice, rule_label)
    lines = []
    for chart in panels:
        points = chart.panel.points
        if points.empty:
            continue
        lines += [f"{chart.code}: {signal.text}" for signal in chart.panel.analysis.signals]
        lines += [
            f"{chart.code} change {line}"
            for line in annotation_caption(chart.panel.annotations, points["x"].min(), points["x"].max())
        ]
    extra = 22 * len(lines) + 30
    figure.update_layout(
        height=figure.layout.height + extra,
        margin={"b": LEGEND_MARGIN_PX + extra},
        annotations=[
            *figure.layout.annotations,
            {
                "text": "<br>".join(lines),
                "xref": "paper",
                "yref": "paper",
                "x": 0,
                "y": 0,
                "yshift": -40,
                "xanchor": "left",
                "yanchor": "top",
                "align": "left",
                "showarrow": False,
                "font": {"size": 12},
            },
        ],
    )
    return figure


# --- drill-through -----------------------------------------------------------------------------


def children_behind(
    store: Store, scope: Scope, panels: list[ChartPanel], choice: Choice, panel_index: int, position: int
) -> html.Div:
    """List the children behind one point, each linking to their timeline (names only if the scope allows)."""
    if not 0 <= panel_index < len(panels):
        return _drill_hint()
    chart = panels[panel_index]
    rows = qi.rows_at_point(chart.rows, chart.panel.points, choice.measure, position)
    if rows.empty:
        return _drill_hint()
    point = chart.panel.points.iloc[position]
    children = store.children(scope, rows["child_id"].unique().tolist()).set_index("child_id")
    rows = rows[rows["child_id"].isin(children.index)]
    show_names = scope.see_names
    header = [html.Th("Child", scope="col")]
    if show_names:
        header.append(html.Th("Name", scope="col"))
    header += [
        html.Th("Started waiting", scope="col"),
        html.Th("Due", scope="col"),
        html.Th("Reached", scope="col"),
        html.Th("Weeks", scope="col", className="text-end"),
        html.Th("Within target", scope="col"),
    ]
    body = []
    for row in rows.itertuples():
        reference = children.loc[row.child_id, "reference"]
        cells = [html.Td(dcc.Link(reference, href=child_path(reference)))]
        if show_names:
            cells.append(html.Td(children.loc[row.child_id, "name"] or ""))
        cells += [
            html.Td(row.start_date.strftime(DATE_FORMAT)),
            html.Td(row.due_date.strftime(DATE_FORMAT)),
            html.Td(row.end_date.strftime(DATE_FORMAT) if pd.notna(row.end_date) else "not yet"),
            html.Td(f"{row.weeks:.1f}" if pd.notna(row.weeks) else "", className="text-end"),
            html.Td("Yes" if row.met else "No"),
        ]
        body.append(html.Tr(cells))
    title = f"{chart.code}, {point['label']}: {_children_count(len(rows))}"
    return html.Div(
        [
            html.H2(title, className="h6"),
            dbc.Table(
                [html.Thead(html.Tr(header)), html.Tbody(body)],
                id="qi-drill-table",
                size="sm",
                hover=True,
                responsive=True,
            ),
        ]
    )


# --- aims ----------------------------------------------------------------------------------------


def aims_panel(store: Store, scope: Scope, authority: str, today: dt.date) -> dbc.Card:
    """List each aim in scope with its progress over the last three months and a link to its run chart."""
    aims = qi_store.aims(store, scope)
    if authority != ALL_AUTHORITIES:
        aims = aims[aims["la_code"] == authority]
    heading = html.H2("Aims", className="h5")
    if aims.empty:
        body = [heading, empty_state("No aims yet", "No aims are recorded for the authorities shown.")]
        return dbc.Card(dbc.CardBody(body), id="qi-aims-card")
    events = store.events(scope)
    evaluation = journeys.evaluate(events[events["la_id"].isin(aims["la_id"])], store.rules(scope), today)
    items = []
    for aim in aims.itertuples():
        own = evaluation[evaluation["la_id"] == aim.la_id]
        rows = qi.measure_rows(own, aim.rule_key, qi.PERCENT_MONTH, today)
        met, due = qi.aim_progress(rows, today)
        share = round(100 * met / due) if due else None
        reached = share is not None and share >= aim.percent
        progress = dbc.Progress(
            value=share or 0,
            label=f"{share}%" if share is not None else "",
            color="success" if reached else "warning",
            style={"height": "1.25rem"},
            className="my-1",
        )
        status = (
            f"{met} of {due} children within target over the last 3 months ({share}%); aim {aim.percent}%"
            + (": reached." if reached else ".")
            if due
            else "No children were due in the last 3 months."
        )
        link = f"{PATH}?authority={aim.la_code}&rule={aim.rule_key}&measure={qi.PERCENT_MONTH}"
        items.append(
            html.Li(
                [
                    html.Div([html.Strong(aim.la_code), f" · {aim.label}"]),
                    progress,
                    html.Div(
                        [
                            html.Span(status, className="small"),
                            dcc.Link("Its run chart", href=link, className="small ms-2"),
                        ]
                    ),
                ],
                className="mb-3",
            )
        )
    return dbc.Card(
        dbc.CardBody([heading, html.Ul(items, className="list-unstyled mb-0")]), id="qi-aims-card"
    )


# --- annotations ---------------------------------------------------------------------------------


def annotation_list(store: Store, scope: Scope, authority: str) -> html.Div:
    """List the changes tested for the authority shown, each with an Edit button."""
    authorities = store.authorities(scope)
    codes = authorities.set_index("la_id")["code"]
    wanted = None
    if authority != ALL_AUTHORITIES:
        wanted = authorities.loc[authorities["code"] == authority, "la_id"].tolist()
    notes = qi_store.annotations(store, scope, wanted)
    if notes.empty:
        return empty_state("No changes recorded", "Add the first change tested with the form below.")
    rows = [
        html.Tr(
            [
                html.Td(note.on_date.strftime(DATE_FORMAT)),
                html.Td(codes.get(note.la_id, "All") if pd.notna(note.la_id) else "All"),
                html.Td(qi_store.ANNOTATION_KINDS.get(note.kind, note.kind)),
                html.Td(note.text),
                html.Td(
                    dbc.Button(
                        "Edit",
                        id={"type": EDIT_NOTE, "index": int(note.annotation_id)},
                        size="sm",
                        color="link",
                        className="p-0",
                        title=f"Edit the annotation of {note.on_date.strftime(DATE_FORMAT)}",
                    )
                ),
            ]
        )
        for note in notes.itertuples()
    ]
    header = html.Thead(
        html.Tr([html.Th(name, scope="col") for name in ("Date", "Authority", "Kind", "Change", "")])
    )
    return dbc.Table([header, html.Tbody(rows)], id="qi-notes-table", size="sm", responsive=True)


def save_annotation(store: Store, scope: Scope, note_id, authority, on_date, kind, text) -> tuple[bool, str]:
    """Add or change an annotation from the form's raw values; return (saved, message for the user)."""
    day = _parse_date(on_date)
    if day is None:
        return False, "Give the date of the change."
    la_id = None
    if authority != ALL_AUTHORITIES:
        found = store.authorities(scope)
        found = found.loc[found["code"] == authority, "la_id"]
        if found.empty:
            return False, "Choose one of the authorities you can see."
        la_id = int(found.iloc[0])
    try:
        if note_id is None:
            qi_store.add_annotation(store, scope, la_id=la_id, on_date=day, kind=kind, text=text)
            return True, f"Saved: {day.strftime(DATE_FORMAT)}, {(text or '').strip()}"
        qi_store.update_annotation(store, scope, int(note_id), la_id=la_id, on_date=day, kind=kind, text=text)
        return True, f"Updated: {day.strftime(DATE_FORMAT)}, {(text or '').strip()}"
    except qi_store.AnnotationError as error:
        return False, str(error)


# --- callbacks -----------------------------------------------------------------------------------

CHART_CONTROLS = (AUTHORITY, RULE, MEASURE, ROUTES, METHOD, BASELINE, FREEZE, PHASES, SINCE)


def _choice_from(values) -> Choice:
    return choose(*values)


def _panels_for(choice: Choice) -> tuple[list[ChartPanel], str]:
    context = services()
    scope = current_scope()
    today = context.settings.effective_today()
    panels = context.cache.call(chart_panels, context.store, scope, choice, today, context.cache.call)
    return panels, _rule_label(context.store.rules(scope), choice.rule_key)


@callback(
    Output(GRAPH, "figure"),
    Output(SIGNALS, "children"),
    Output(LINK, "href"),
    Output(DRILL, "children"),
    Output(POINT_PICKER, "options"),
    Output(POINT_PICKER, "value"),
    *(Input(control, "value") for control in CHART_CONTROLS[:-1]),
    Input(SINCE, "date"),
    Input(NOTES_VERSION, "data"),
)
def show_chart(*values):
    """Draw the run charts the controls ask for, explain their signals, and clear the drill-through."""
    context = services()
    today = context.settings.effective_today()
    choice = _choice_from(values[:-1])
    return context.cache.call(
        chart_outputs, context.store, current_scope(), choice, today, context.cache.call
    )


def chart_outputs(store: Store, scope: Scope, choice: Choice, today: dt.date, through: Callable = uncached):
    """Return show_chart's outputs for a choice; `through` as for chart_panels."""
    panels = through(chart_panels, store, scope, choice, today, through)
    rule_label = _rule_label(store.rules(scope), choice.rule_key)
    if not panels:
        words = empty_state("Nothing to chart", "There are no authorities in scope to chart.")
        return {}, words, share_link(choice), _drill_hint(), [], None
    return (
        chart_figure(panels, choice, rule_label),
        signal_words(panels, choice),
        share_link(choice),
        _drill_hint(),
        point_options(panels, choice),
        None,
    )


@callback(
    Output(PHASES, "options"),
    Output(PHASES, "value"),
    Input(AUTHORITY, "value"),
    Input(NOTES_VERSION, "data"),
    State(PHASES, "value"),
)
def phase_options(authority, _version, chosen):
    """Offer the dates of the changes tested as the starts of new phases."""
    context = services()
    scope = current_scope()
    authorities = context.store.authorities(scope)
    wanted = None
    if authority and authority != ALL_AUTHORITIES:
        wanted = authorities.loc[authorities["code"] == authority, "la_id"].tolist()
    notes = qi_store.annotations(context.store, scope, wanted)
    by_date = notes.groupby("on_date", sort=True)["text"].agg(lambda texts: "; ".join(texts))
    options = [
        {"label": f"{day.strftime(DATE_FORMAT)}: {text}"[:90], "value": day.strftime("%Y-%m-%d")}
        for day, text in by_date.items()
    ]
    offered = {option["value"] for option in options}
    return options, [value for value in (chosen or []) if value in offered]


@callback(
    Output(DRILL, "children", allow_duplicate=True),
    Input(GRAPH, "clickData"),
    *(State(control, "value") for control in CHART_CONTROLS[:-1]),
    State(SINCE, "date"),
    prevent_initial_call=True,
)
def drill_through(click, *values):
    """List the children behind the point clicked on the chart."""
    return _children_at(_clicked_point(click), values)


@callback(
    Output(DRILL, "children", allow_duplicate=True),
    Input(POINT_PICKER, "value"),
    *(State(control, "value") for control in CHART_CONTROLS[:-1]),
    State(SINCE, "date"),
    prevent_initial_call=True,
)
def drill_from_list(picked, *values):
    """List the children behind the point chosen from the list (the keyboard's way in)."""
    return _children_at(_picked_point(picked), values)


def _children_at(found: tuple[int, int] | None, values) -> html.Div:
    if found is None:
        raise PreventUpdate
    choice = _choice_from(values)
    panels, _label = _panels_for(choice)
    return children_behind(services().store, current_scope(), panels, choice, *found)


def _clicked_point(click) -> tuple[int, int] | None:
    # The browser sends what it likes: only a [panel, position] pair of whole numbers is a point.
    points = (click or {}).get("points") or []
    pair = points[0].get("customdata") if points and isinstance(points[0], dict) else None
    if not isinstance(pair, list) or len(pair) != 2:
        return None
    try:
        return int(pair[0]), int(pair[1])
    except (TypeError, ValueError):
        return None


def _picked_point(picked) -> tuple[int, int] | None:
    try:
        panel_index, position = str(picked).split(":")
        return int(panel_index), int(position)
    except ValueError:
        return None


@callback(
    Output(DOWNLOAD, "data"),
    Input(PNG_BUTTON, "n_clicks"),
    Input(SVG_BUTTON, "n_clicks"),
    *(State(control, "value") for control in CHART_CONTROLS[:-1]),
    State(SINCE, "date"),
    prevent_initial_call=True,
)
def export_chart(_png, _svg, *values):
    """Send the run chart as it is drawn now as a PNG or SVG file, rebuilt on the server."""
    image_format = "png" if ctx.triggered_id == PNG_BUTTON else "svg"
    choice = _choice_from(values)
    panels, rule_label = _panels_for(choice)
    if not panels:
        raise PreventUpdate
    figure = export_figure(panels, choice, rule_label)
    filename = f"run-chart-{choice.authority}-{choice.rule_key}-{choice.measure}.{image_format}".lower()
    image = figure_image(figure, image_format, exporter=services().exporter)
    audit(f"export-run-chart-{image_format}", records=len(panels))
    return dcc.send_bytes(image, filename, type=IMAGE_FORMATS[image_format])


@callback(
    Output(AIMS, "children"),
    Input(AUTHORITY, "value"),
)
def show_aims(authority):
    """Show the aims of the authority chosen (or of every one in scope) with their progress."""
    context = services()
    return context.cache.call(
        aims_panel,
        context.store,
        current_scope(),
        choose(authority=authority).authority,
        context.settings.effective_today(),
    )


@callback(
    Output(NOTES, "children"),
    Input(AUTHORITY, "value"),
    Input(NOTES_VERSION, "data"),
)
def show_annotations(authority, _version):
    """List the changes tested for the authority chosen."""
    return annotation_list(services().store, current_scope(), choose(authority=authority).authority)


@callback(
    Output(NOTE_FEEDBACK, "children"),
    Output(NOTES_VERSION, "data"),
    Output(NOTE_ID, "data"),
    Output(NOTE_TEXT, "value"),
    Output(NOTE_FORM_TITLE, "children"),
    Input(NOTE_SAVE, "n_clicks"),
    State(NOTE_ID, "data"),
    State(NOTE_AUTHORITY, "value"),
    State(NOTE_DATE, "value"),
    State(NOTE_KIND, "value"),
    State(NOTE_TEXT, "value"),
    State(NOTES_VERSION, "data"),
    prevent_initial_call=True,
)
def save_note(_clicks, note_id, authority, on_date, kind, text, version):
    """Save the form as a new annotation, or as the changed one being edited."""
    saved, message = save_annotation(
        services().store, current_scope(), note_id, authority, on_date, kind, text
    )
    if not saved:
        feedback = dbc.Alert(message, color="danger", className="py-1 small mb-0", id="qi-note-error")
        return feedback, dash.no_update, dash.no_update, dash.no_update, dash.no_update
    feedback = dbc.Alert(message, color="success", className="py-1 small mb-0", id="qi-note-saved")
    return feedback, (version or 0) + 1, None, "", "Add a change tested"


@callback(
    Output(NOTE_ID, "data", allow_duplicate=True),
    Output(NOTE_AUTHORITY, "value"),
    Output(NOTE_DATE, "value"),
    Output(NOTE_KIND, "value"),
    Output(NOTE_TEXT, "value", allow_duplicate=True),
    Output(NOTE_FORM_TITLE, "children", allow_duplicate=True),
    Input({"type": EDIT_NOTE, "index": ALL}, "n_clicks"),
    Input(NOTE_CANCEL, "n_clicks"),
    prevent_initial_call=True,
)
def edit_note(_edit_clicks, _cancel):
    """Load the annotation whose Edit button was pressed into the form, or empty the form on cancel."""
    if ctx.triggered_id == NOTE_CANCEL:
        return None, dash.no_update, None, "pdsa", "", "Add a change tested"
    if not isinstance(ctx.triggered_id, dict) or not ctx.triggered[0]["value"]:
        raise PreventUpdate  # the buttons were drawn again, not pressed
    context = services()
    scope = current_scope()
    note = qi_store.annotation(context.store, scope, int(ctx.triggered_id["index"]))
    if note is None:
        raise PreventUpdate
    codes = context.store.authorities(scope).set_index("la_id")["code"]
    authority = codes.get(note["la_id"], ALL_AUTHORITIES) if pd.notna(note["la_id"]) else ALL_AUTHORITIES
    title = f"Edit the change of {note['on_date'].strftime(DATE_FORMAT)}"
    return (
        int(note["annotation_id"]),
        authority,
        note["on_date"].strftime("%Y-%m-%d"),
        note["kind"],
        note["text"],
        title,
    )
