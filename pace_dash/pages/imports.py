"""Import at /imports: upload a tracker, preview what it would change and every problem, then import it."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, clientside_callback, dcc, html
from dash.exceptions import PreventUpdate

from pace_dash.domain.tracker import SHAPES
from pace_dash.domain.tracker_export import CSV, XLSX, file_stem, to_csv_zip, to_xlsx
from pace_dash.store.importer import ImportReport, export_tracker, import_tracker
from pace_dash.store.queries import Store
from pace_dash.store.scope import Scope
from pace_dash.web import audit, choice_lists, current_scope, services, signed_in_user

PATH = "/imports"
GUESS_SHAPE = "guess"
DEFAULT_FILENAME = "upload"
PROBLEMS_FILENAME = "import-problems.csv"
TIME_FORMAT = "%-d %b %Y at %H:%M"
SHAPE_LABELS = {
    GUESS_SHAPE: "Guess from the headers",
    "wide": "Wide tracker (one row per child)",
    "events": "Event log (one row per event)",
    "periods": "Periods (placements and legal statuses)",
}
KINDS = (("children", "child", "children"), ("events", "event", "events"), ("periods", "period", "periods"))

UPLOAD = "imports-upload"
AUTHORITY = "imports-authority"
SHAPE = "imports-shape"
PREVIEW = "imports-preview"
STATUS = "imports-status"
PROBLEMS = "imports-problems"
PROBLEMS_CSV = "imports-problems-csv"
DOWNLOAD = "imports-download"
CHECKED = "imports-checked"
IMPORT = "imports-import"
RESULT = "imports-result"
HISTORY = "imports-history"
HISTORY_TRIGGER = "imports-history-trigger"
ACCEPTED = "imports-accepted"  # the upload once the browser found it within the size limit
LIMIT = "imports-limit"
TOO_BIG = "imports-too-big"
EXPORT = "imports-export"
EXPORT_FORMAT = "imports-export-format"
EXPORT_DOWNLOAD = "imports-export-download"
EXPORT_STATUS = "imports-export-status"
EXPORT_FORMATS = {XLSX: "XLSX workbook (three sheets)", CSV: "CSV files (a zip of three)"}

UNREADABLE = "This upload could not be read. Save the tracker again as CSV or XLSX and upload it once more."
CHOOSE_FILE = "Choose a CSV or XLSX tracker file to see what it would change."
CHOOSE_AUTHORITY = "Choose the authority this tracker belongs to."
TOO_BIG_WORDS = (
    "The file is larger than the {mb} MB limit. Remove unused sheets or split the tracker, then upload it "
    "again."
)
NO_EXPORT = (
    "This tracker cannot be exported here: choose an authority you may see, outside presentation mode "
    "(an export carries references and dates of birth)."
)


class UploadRefused(ValueError):
    """An upload the page will not read, with the plain words to tell the user why."""


@dataclass(frozen=True)
class Upload:
    """What the form holds: the file as dcc.Upload gives it, its name, the authority and the shape."""

    contents: str | None
    filename: str | None
    authority: str | None
    shape: str | None = None


def layout(**_kwargs) -> html.Div:
    """Return the import page: the upload form, the preview and its problems, and the import history."""
    authorities, _rules = choice_lists(services().store, current_scope())
    max_mb = services().settings.max_upload_mb
    authority_options = [
        {"label": f"{row.name} ({row.code})", "value": row.code} for row in authorities.itertuples()
    ]
    form = dbc.Row(
        [
            dbc.Col(
                [
                    html.Div("Tracker file", className="form-label small fw-semibold"),
                    dcc.Upload(
                        id=UPLOAD,
                        children=html.Div(
                            ["Drag a file here or ", html.Span("choose one", className="link-primary")]
                        ),
                        accept=".csv,.xlsx",
                        multiple=False,
                        className="border border-secondary-subtle rounded p-3 text-center",
                    ),
                    html.Div(f"CSV or XLSX, up to {max_mb} MB.", className="form-text"),
                    dbc.Alert(id=TOO_BIG, color="warning", is_open=False, className="mt-2 mb-0"),
                ],
                md=5,
            ),
            dbc.Col(
                [
                    html.Label("Authority", htmlFor=AUTHORITY, className="form-label small fw-semibold"),
                    dcc.Dropdown(
                        id=AUTHORITY,
                        options=authority_options,
                        value=authority_options[0]["value"] if len(authority_options) == 1 else None,
                        placeholder="Choose the authority",
                        clearable=False,
                    ),
                ],
                md=4,
            ),
            dbc.Col(
                [
                    html.Label("Shape", htmlFor=SHAPE, className="form-label small fw-semibold"),
                    dcc.Dropdown(
                        id=SHAPE,
                        options=[{"label": label, "value": key} for key, label in SHAPE_LABELS.items()],
                        value=GUESS_SHAPE,
                        clearable=False,
                    ),
                ],
                md=3,
            ),
        ],
        className="g-3 mb-3",
    )
    problems = dag.AgGrid(
        id=PROBLEMS,
        columnDefs=[
            {"field": "row", "headerName": "Row", "width": 90},
            {"field": "column", "headerName": "Column"},
            {"field": "severity", "headerName": "Severity", "width": 120},
            {"field": "rule", "headerName": "Rule", "flex": 2},
            {"field": "value", "headerName": "Value (masked)"},
        ],
        rowData=[],
        defaultColDef={"sortable": True, "filter": True, "resizable": True},
        dashGridOptions={"localeText": {"noRowsToShow": "No problems to show."}},
        style={"height": "320px"},
    )
    confirm = html.Div(
        [
            dbc.Checkbox(id=CHECKED, label="I have checked the warnings", value=False, className="me-3"),
            dbc.Button("Import", id=IMPORT, color="primary", disabled=True, n_clicks=0),
        ],
        className="d-flex align-items-center my-3",
    )
    history = dag.AgGrid(
        id=HISTORY,
        columnDefs=[
            {"field": "imported", "headerName": "Imported (UTC)"},
            {"field": "authority", "headerName": "Authority", "width": 120},
            {"field": "filename", "headerName": "File name", "flex": 2},
            {"field": "kind", "headerName": "Kind", "width": 120},
            {"field": "rows", "headerName": "Rows", "width": 110},
            {"field": "status", "headerName": "Status", "width": 130},
        ],
        rowData=[],
        defaultColDef={"sortable": True, "resizable": True},
        dashGridOptions={"localeText": {"noRowsToShow": "No tracker has been imported yet."}},
        style={"height": "320px"},
    )
    return html.Div(
        [
            html.H1("Import a tracker", className="h3"),
            html.P(
                "Upload a council's tracker to see what it would change; nothing is written until you "
                "press Import. A file with errors is never imported.",
                className="text-muted",
            ),
            form,
            dcc.Store(
                id=LIMIT, data={"bytes": max_mb * 1024 * 1024, "words": TOO_BIG_WORDS.format(mb=max_mb)}
            ),
            dcc.Store(id=ACCEPTED),
            dcc.Store(id=STATUS),
            dcc.Loading(html.Div(id=PREVIEW, children=html.P(CHOOSE_FILE)), type="default"),
            html.H2("Problems found", className="h5 mt-3"),
            problems,
            dbc.Button(
                "Download problems as CSV",
                id=PROBLEMS_CSV,
                color="secondary",
                outline=True,
                disabled=True,
                className="mt-2",
            ),
            dcc.Download(id=DOWNLOAD),
            confirm,
            dcc.Loading(html.Div(id=RESULT), type="default"),
            html.H2("Import history", className="h5 mt-4"),
            dcc.Store(id=HISTORY_TRIGGER, data=0),
            history,
            html.H2("Export", className="h5 mt-4"),
            html.P(
                "The chosen authority's children, events and periods as a tracker this page imports back "
                "unchanged: children first, then events, then periods.",
                className="text-muted",
            ),
            html.Div(
                [
                    dbc.RadioItems(
                        id=EXPORT_FORMAT,
                        options=[{"label": label, "value": key} for key, label in EXPORT_FORMATS.items()],
                        value=XLSX,
                        inline=True,
                        className="me-3",
                    ),
                    dbc.Button("Export this authority's tracker", id=EXPORT, color="secondary", outline=True),
                ],
                className="d-flex align-items-center flex-wrap gap-2",
            ),
            html.Div(id=EXPORT_STATUS, className="mt-2"),
            dcc.Download(id=EXPORT_DOWNLOAD),
        ]
    )


# Registered below its layout so the page object carries the layout itself.
dash.register_page(
    __name__, path=PATH, title="Import a tracker · PACE child timelines", name="Import", layout=layout
)


def decode_upload(contents: str | None, max_bytes: int) -> bytes:
    """Return the bytes of a dcc.Upload data URL, refusing one that is unreadable or too big."""
    if not contents:
        raise UploadRefused(CHOOSE_FILE)
    _header, comma, encoded = contents.partition(",")
    if not comma:
        raise UploadRefused(UNREADABLE)
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise UploadRefused(UNREADABLE) from None
    if len(data) > max_bytes:
        raise UploadRefused(
            f"This file is {len(data) / 1024 / 1024:.1f} MB: files up to {max_bytes // 1024 // 1024} MB "
            "can be imported. Remove unused sheets or split the tracker, then upload it again."
        )
    return data


def run_upload(
    store: Store,
    scope: Scope,
    upload: Upload,
    *,
    today: dt.date,
    max_bytes: int,
    preview: bool,
    confirm: bool = False,
    created_by: str | None = None,
) -> ImportReport:
    """Check an upload, then preview or import it for an authority in scope."""
    data = decode_upload(upload.contents, max_bytes)
    if upload.authority not in set(store.authorities(scope)["code"]):
        raise UploadRefused(CHOOSE_AUTHORITY)
    return import_tracker(
        store.engine,
        data,
        authority=upload.authority,
        # Only a label for the history: import_tracker keeps its last part and never opens it.
        filename=upload.filename or DEFAULT_FILENAME,
        today=today,
        shape=upload.shape if upload.shape in SHAPES else None,
        confirm=confirm,
        preview=preview,
        created_by=created_by,
    )


def problem_rows(report: ImportReport) -> list[dict]:
    """Return every problem of a report, errors first, as grid rows (values already masked)."""
    return [
        {
            "row": problem.row or "file",
            "column": problem.column,
            "severity": problem.severity,
            "rule": problem.rule,
            "value": problem.value,
        }
        for problem in (*report.errors, *report.warnings, *report.notices)
    ]


def _counts_table(report: ImportReport) -> dbc.Table:
    header = html.Thead(html.Tr([html.Th(name, scope="col") for name in ("", "New", "Changed", "Unchanged")]))
    rows = [
        html.Tr(
            [
                html.Th(title.capitalize(), scope="row"),
                *(html.Td(f"{value:,}") for value in (counts.new, counts.changed, counts.unchanged)),
            ]
        )
        for title, counts in ((name, getattr(report, name)) for name, _one, _many in KINDS)
    ]
    return dbc.Table([header, html.Tbody(rows)], id="imports-counts", size="sm", className="w-auto")


def preview_view(report: ImportReport) -> html.Div:
    """Describe a preview: what the file would change and whether it can be imported."""
    file_problems = [problem.rule for problem in report.errors if not problem.row]
    if file_problems:
        return dbc.Alert(
            f"This file cannot be imported: {'; '.join(file_problems)}.", color="danger", id="imports-verdict"
        )
    if report.errors:
        verdict = dbc.Alert(
            f"{len(report.errors):,} errors: nothing can be imported until they are corrected in the file.",
            color="danger",
            id="imports-verdict",
        )
    elif report.warnings:
        verdict = dbc.Alert(
            f"{len(report.warnings):,} warnings: check them below, then tick “I have checked the warnings” "
            "to import.",
            color="warning",
            id="imports-verdict",
        )
    elif not report.changes:
        verdict = dbc.Alert(
            "Nothing would change: the database already holds everything in this file.",
            color="info",
            id="imports-verdict",
        )
    else:
        verdict = dbc.Alert("Ready to import.", color="success", id="imports-verdict")
    summary = html.P(f"{SHAPE_LABELS[report.shape]}: {report.rows:,} rows.", className="mb-2")
    counts = _counts_table(report) if not report.errors else None
    return html.Div([summary, counts, verdict])


def _changes_in_words(report: ImportReport) -> str:
    parts = []
    for name, one, many in KINDS:
        counts = getattr(report, name)
        parts += [
            f"{number:,} {state} {one if number == 1 else many}"
            for state, number in (("new", counts.new), ("changed", counts.changed))
            if number
        ]
    return ", ".join(parts)


def outcome_words(report: ImportReport, history: pd.DataFrame, confirmed: bool) -> str:
    """Say in plain words what an import did, given the import history in scope."""
    if report.errors:
        return f"Not imported: the file has {len(report.errors):,} errors. Correct them and upload it again."
    if report.needs_confirmation and not confirmed:
        return "Not imported: tick “I have checked the warnings” first."
    if report.written:
        return f"Imported: {_changes_in_words(report)}."
    before = history[history["import_id"] == report.previous_import_id]
    if not before.empty:
        when = before.iloc[0]["created_at"].strftime(TIME_FORMAT)
        return f"Nothing changed: this file was imported before on {when} (UTC)."
    return "Nothing changed: the database already holds everything in this file."


def history_rows(store: Store, scope: Scope) -> list[dict]:
    """Return the import history in scope as grid rows, newest first."""
    history = store.imports(scope)
    return [
        {
            "imported": row.created_at.strftime("%Y-%m-%d %H:%M"),
            "authority": row.la_code,
            "filename": row.filename,
            "kind": row.kind,
            "rows": int(row.rows),
            "status": row.status,
        }
        for row in history.itertuples()
    ]


def _run(upload: Upload, *, preview: bool, confirm: bool = False) -> ImportReport:
    context = services()
    user = signed_in_user()
    return run_upload(
        context.store,
        current_scope(),
        upload,
        today=context.settings.effective_today(),
        max_bytes=context.settings.max_upload_bytes,
        preview=preview,
        confirm=confirm,
        created_by=user.username if user else None,
    )


# The browser checks the size before anything is sent: a file over the limit never leaves it, and
# the reader is told at once. The server checks again (decode_upload, and the request size limit).
clientside_callback(
    """function (contents, limit) {
        if (!contents) {
            return [null, "", false];
        }
        const encoded = contents.slice(contents.indexOf(",") + 1);
        const padding = encoded.endsWith("==") ? 2 : encoded.endsWith("=") ? 1 : 0;
        if (Math.floor(encoded.length * 3 / 4) - padding > limit.bytes) {
            return [null, limit.words, true];
        }
        return [contents, "", false];
    }""",
    Output(ACCEPTED, "data"),
    Output(TOO_BIG, "children"),
    Output(TOO_BIG, "is_open"),
    Input(UPLOAD, "contents"),
    State(LIMIT, "data"),
)


@callback(
    Output(PREVIEW, "children"),
    Output(PROBLEMS, "rowData"),
    Output(STATUS, "data"),
    Output(CHECKED, "value"),
    Output(RESULT, "children"),
    Output(PROBLEMS_CSV, "disabled"),
    Input(ACCEPTED, "data"),
    Input(AUTHORITY, "value"),
    Input(SHAPE, "value"),
    State(UPLOAD, "filename"),
)
def show_preview(contents, authority, shape, filename):
    """Preview the uploaded file: counts of what would change and every problem; write nothing."""
    try:
        report = _run(Upload(contents, filename, authority, shape), preview=True)
    except UploadRefused as refused:
        message = html.P(str(refused)) if not contents else dbc.Alert(str(refused), color="warning")
        return message, [], None, False, None, True
    status = {"errors": len(report.errors), "warnings": len(report.warnings)}
    return preview_view(report), problem_rows(report), status, False, None, not problem_rows(report)


@callback(
    Output(IMPORT, "disabled"),
    Output(CHECKED, "disabled"),
    Input(STATUS, "data"),
    Input(CHECKED, "value"),
)
def enable_import(status, checked):
    """Allow Import only for a previewed file without errors, its warnings (if any) ticked as checked."""
    if not status or status["errors"]:
        return True, True
    if status["warnings"]:
        return not checked, False
    return False, True


@callback(
    Output(DOWNLOAD, "data"),
    Input(PROBLEMS_CSV, "n_clicks"),
    State(ACCEPTED, "data"),
    State(UPLOAD, "filename"),
    State(AUTHORITY, "value"),
    State(SHAPE, "value"),
    prevent_initial_call=True,
)
def download_problems(_clicks, contents, filename, authority, shape):
    """Send every problem of the previewed file as a CSV (checked again from the upload, not the grid)."""
    try:
        report = _run(Upload(contents, filename, authority, shape), preview=True)
    except UploadRefused:
        raise PreventUpdate from None
    return dcc.send_bytes(report.to_csv(), PROBLEMS_FILENAME)


# Between preview and import the file is read again from the accepted upload, the browser's own
# copy: no server-side file to keep, share between workers or clean up, and the import validates the
# bytes again anyway, so nothing the preview saw is trusted.
@callback(
    Output(RESULT, "children", allow_duplicate=True),
    Output(HISTORY_TRIGGER, "data"),
    Input(IMPORT, "n_clicks"),
    State(ACCEPTED, "data"),
    State(UPLOAD, "filename"),
    State(AUTHORITY, "value"),
    State(SHAPE, "value"),
    State(CHECKED, "value"),
    State(HISTORY_TRIGGER, "data"),
    prevent_initial_call=True,
)
def run_import(clicks, contents, filename, authority, shape, checked, imports_shown):
    """Import the previewed file (its warnings confirmed by the tick) and say what happened."""
    if not clicks:
        raise PreventUpdate
    try:
        report = _run(Upload(contents, filename, authority, shape), preview=False, confirm=bool(checked))
    except UploadRefused as refused:
        return dbc.Alert(str(refused), color="warning", id="imports-outcome"), dash.no_update
    # Every attempt is audited: what was written, or why nothing was.
    if report.errors:
        audit("import-tracker", "refused", records=0)
    elif report.needs_confirmation:
        audit("import-tracker", "needs-confirmation", records=0)
    else:
        audit("import-tracker", "imported" if report.changes else "unchanged", records=report.changes)
    context = services()
    words = outcome_words(report, context.store.imports(current_scope()), bool(checked))
    color = "success" if report.written else "info" if not report.errors else "danger"
    return dbc.Alert(words, color=color, id="imports-outcome"), (imports_shown or 0) + 1


@callback(Output(HISTORY, "rowData"), Input(HISTORY_TRIGGER, "data"))
def show_history(_trigger):
    """List the imports of the authorities in the current user's scope, newest first."""
    return history_rows(services().store, current_scope())


def export_download(store: Store, scope: Scope, authority: str | None, file_format: str, today: dt.date):
    """Return an authority's tracker as a download, and how many rows it holds; None when refused."""
    tables = export_tracker(store, scope, authority) if authority else None
    if tables is None:
        return None, 0
    stem = file_stem(authority, today)
    if file_format == CSV:
        return dcc.send_bytes(to_csv_zip(tables, stem), f"{stem}.zip"), tables.records
    return dcc.send_bytes(to_xlsx(tables), f"{stem}.xlsx"), tables.records


@callback(
    Output(EXPORT_DOWNLOAD, "data"),
    Output(EXPORT_STATUS, "children"),
    Input(EXPORT, "n_clicks"),
    State(AUTHORITY, "value"),
    State(EXPORT_FORMAT, "value"),
    prevent_initial_call=True,
)
def export_authority(clicks, authority, file_format):
    """Send the chosen authority's tracker, as far as the user's scope allows, and audit it."""
    if not clicks:
        raise PreventUpdate
    file_format = file_format if file_format in EXPORT_FORMATS else XLSX
    context = services()
    download, records = export_download(
        context.store, current_scope(), authority, file_format, context.settings.effective_today()
    )
    if download is None:
        audit(f"export-tracker-{file_format}", "refused")
        return dash.no_update, dbc.Alert(NO_EXPORT if authority else CHOOSE_AUTHORITY, color="warning")
    audit(f"export-tracker-{file_format}", records=records)
    return download, None
