"""The import page's callbacks called as functions, on a temporary authority of the session's app."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import io
import zipfile

import dash
import openpyxl
import pytest
from dash.exceptions import PreventUpdate
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from pace_dash.settings import PROJECT_ROOT
from pace_dash.store.accounts import utc_now
from pace_dash.store.db import bump_data_version
from pace_dash.store.queries import Store
from pace_dash.store.schema import AuditEvent, Child, Event, ImportBatch, LocalAuthority, Period
from pace_dash.store.scope import Scope
from pace_dash.web import EXTENSION_KEY, services
from tests.conftest import ADMIN, TODAY, request_as
from tests.pages.test_pages import text_of
from tests.security.helpers import HOME_CALLBACK, callback, sign_in

SAMPLES = PROJECT_ROOT / "data" / "samples"
# The samples belong to GLM; the session app knows only NTH and STH, whose numbers other tests assert.
SAMPLE_AUTHORITY = "GLM"
AUTHORITY_NAME = "Glenmorven Council (fictional)"


def as_upload(data: bytes, mime: str = "text/csv") -> str:
    """Return bytes as the data URL dcc.Upload gives a callback."""
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def sample(name: str) -> str:
    """Return a sample file from data/samples as dcc.Upload gives it."""
    return as_upload((SAMPLES / name).read_bytes())


@contextlib.contextmanager
def temporary_authority(engine, code: str = SAMPLE_AUTHORITY):
    """Store an authority for one test, then remove it with everything imported into it."""
    with Session(engine) as session, session.begin():
        session.add(LocalAuthority(code=code, name=AUTHORITY_NAME))
    try:
        yield code
    finally:
        with Session(engine) as session, session.begin():
            la_id = session.scalar(select(LocalAuthority.id).where(LocalAuthority.code == code))
            children = select(Child.id).where(Child.la_id == la_id)
            session.execute(delete(Event).where(Event.child_id.in_(children)))
            session.execute(delete(Period).where(Period.child_id.in_(children)))
            session.execute(delete(Child).where(Child.la_id == la_id))
            session.execute(delete(ImportBatch).where(ImportBatch.la_id == la_id))
            session.execute(delete(LocalAuthority).where(LocalAuthority.id == la_id))
            bump_data_version(session)


@pytest.fixture
def imports(dash_app):
    """Return the import page's module, importable only once the app exists."""
    from pace_dash.pages import imports

    return imports


@pytest.fixture
def glm(dash_app):
    """Run the test inside a callback request of the administrator, with the samples' authority stored."""
    with request_as(dash_app), temporary_authority(services().store.engine) as code:
        yield code


def batches() -> int:
    """Count the import batches in the session's database."""
    with Session(services().store.engine) as session:
        return session.scalar(select(func.count()).select_from(ImportBatch))


def test_a_wide_tracker_is_previewed_with_its_counts_and_nothing_written(imports, glm):
    version = services().store.data_version()
    view, problems, status, checked, result, no_csv = imports.show_preview(
        sample("wide.csv"), glm, "guess", "w.csv"
    )
    counts = text_of(view)
    assert '"Children"' in counts
    assert '"6"' in counts
    assert '"40"' in counts
    assert "Ready to import." in counts
    assert problems == []
    assert no_csv
    assert status == {"errors": 0, "warnings": 0}
    assert (checked, result) == (False, None)
    assert imports.enable_import(status, False) == (False, True)  # nothing to confirm: Import enabled
    assert services().store.data_version() == version
    assert batches() == 0


def test_the_problems_file_lists_its_errors_and_cannot_be_imported(imports, glm):
    view, problems, status, _checked, _result, no_csv = imports.show_preview(
        sample("problems.csv"), glm, "guess", "problems.csv"
    )
    errors = [problem for problem in problems if problem["severity"] == "error"]
    assert len(errors) == 11
    assert status["errors"] == 11
    assert {"row": 2, "column": "Date of birth", "severity": "error"}.items() <= errors[0].items()
    assert errors[0]["value"] == "**/**/****"  # masked: never a date of birth
    assert "11 errors" in text_of(view)
    assert not no_csv
    assert imports.enable_import(status, True) == (True, True)  # not even with the warnings ticked
    download = imports.download_problems(1, sample("problems.csv"), "problems.csv", glm, "guess")
    rows = base64.b64decode(download["content"]).decode("utf-8-sig").splitlines()
    assert rows[0] == '"row","column","severity","rule","value"'
    assert len(rows) == 1 + len(problems)
    assert download["filename"] == imports.PROBLEMS_FILENAME


def test_warnings_need_the_tick_before_import(imports):
    assert imports.enable_import({"errors": 0, "warnings": 3}, False) == (True, False)
    assert imports.enable_import({"errors": 0, "warnings": 3}, True) == (False, False)
    assert imports.enable_import(None, True) == (True, True)


def test_a_too_big_upload_is_refused_in_plain_words_and_writes_nothing(imports, glm):
    limit = services().settings.max_upload_bytes
    too_big = (SAMPLES / "wide.csv").read_bytes().ljust(limit + 1, b"\n")
    view, problems, status, *_rest = imports.show_preview(as_upload(too_big), glm, "guess", "big.csv")
    assert "files up to 10 MB can be imported" in text_of(view)
    assert (problems, status) == ([], None)
    outcome, _shown = imports.run_import(1, as_upload(too_big), "big.csv", glm, "guess", False, 0)
    assert "files up to 10 MB" in text_of(outcome)
    assert batches() == 0


def test_the_server_refuses_request_bodies_far_larger_than_the_upload_limit(dash_app):
    limit = dash_app.server.extensions[EXTENSION_KEY].settings.max_upload_bytes
    assert limit * 4 // 3 < dash_app.server.config["MAX_CONTENT_LENGTH"] < 2 * limit


@pytest.mark.parametrize(
    ("contents", "expected"),
    [
        (as_upload(b"%PDF-1.7\x00\x01\x02"), "This file cannot be imported: not a CSV or XLSX file."),
        (as_upload(b"PK\x03\x04 not really a workbook"), "not a readable XLSX file"),
        ("data:text/csv;base64,@@not base64@@", "This upload could not be read"),
        ("no data url at all", "This upload could not be read"),
    ],
)
def test_files_that_cannot_be_read_get_a_friendly_message(imports, glm, contents, expected):
    view, _problems, status, *_rest = imports.show_preview(contents, glm, "guess", "file.pdf")
    assert expected in text_of(view)
    assert not status or status["errors"]


def test_an_authority_outside_the_scope_or_not_chosen_is_refused(imports, glm):
    for authority in (None, "XYZ"):
        view, *_rest = imports.show_preview(sample("wide.csv"), authority, "guess", "wide.csv")
        assert imports.CHOOSE_AUTHORITY in text_of(view)


def test_import_after_preview_writes_and_the_same_file_again_changes_nothing(imports, glm):
    started = utc_now()
    contents = sample("wide.csv")
    imports.show_preview(contents, glm, "guess", "../../etc/wide.csv")
    outcome, shown = imports.run_import(1, contents, "../../etc/wide.csv", glm, "guess", False, 0)
    assert "Imported: 6 new children, 40 new events." in text_of(outcome)
    assert shown == 1
    history = imports.show_history(shown)
    assert [(row["authority"], row["filename"], row["kind"], row["rows"]) for row in history] == [
        (glm, "wide.csv", "wide", 6)  # the browser's path is only a label: its last part is kept
    ]
    again, _shown = imports.run_import(2, contents, "wide.csv", glm, "guess", False, shown)
    assert "Nothing changed: this file was imported before on" in text_of(again)
    assert batches() == 1
    trail = services().accounts.audit_trail(
        Scope.everything(), started, utc_now() + dt.timedelta(seconds=1), username=ADMIN
    )
    imported = trail.query("action == 'import-tracker'").iloc[::-1]
    assert imported[["outcome", "records"]].values.tolist() == [["imported", 46], ["unchanged", 0]]


def test_the_import_button_does_nothing_before_it_is_pressed(imports, glm):
    with pytest.raises(PreventUpdate):
        imports.run_import(0, sample("wide.csv"), "wide.csv", glm, "guess", False, 0)


def test_warnings_are_imported_only_when_confirmed(imports, sqlite_engine):
    # Two children sharing a name and date of birth: a warning, no error.
    wide = (SAMPLES / "wide.csv").read_text().splitlines()
    twin = wide[1].replace("GLM-S0001", "GLM-S0099")
    upload = imports.Upload(as_upload("\n".join([*wide, twin]).encode()), "twins.csv", "GLM")
    with Session(sqlite_engine) as session, session.begin():
        session.add(LocalAuthority(code="GLM", name="Glenmorven Council (fictional)"))
    store = Store(sqlite_engine)
    options = {"today": dt.date(2026, 11, 29), "max_bytes": 1024 * 1024, "preview": False}
    report = imports.run_upload(store, Scope.everything(), upload, **options)
    assert report.warnings
    assert not report.written
    assert "tick" in imports.outcome_words(report, store.imports(Scope.everything()), confirmed=False)
    report = imports.run_upload(store, Scope.everything(), upload, confirm=True, **options)
    assert report.written
    assert imports.outcome_words(report, store.imports(Scope.everything()), confirmed=True).startswith(
        "Imported: 7 new children"
    )
    outside = Scope.authorities(999)
    with pytest.raises(imports.UploadRefused, match="Choose the authority"):
        imports.run_upload(store, outside, upload, **options)


def test_the_authority_s_tracker_exports_as_xlsx_or_csv_and_is_audited(imports, glm):
    imports.run_import(1, sample("wide.csv"), "wide.csv", glm, "guess", False, 0)
    imports.run_import(1, sample("periods.csv"), "periods.csv", glm, "guess", False, 1)
    download, status = imports.export_authority(1, glm, "xlsx")
    assert status is None
    assert download["filename"] == "glm-tracker-2026-11-29.xlsx"
    workbook = openpyxl.load_workbook(io.BytesIO(base64.b64decode(download["content"])))
    assert workbook.sheetnames == ["Children", "Events", "Periods"]
    assert workbook["Children"].max_row == 1 + 6
    assert workbook["Events"].max_row == 1 + 40
    assert workbook["Periods"].max_row == 1 + 11
    assert workbook["Children"]["C2"].value == "Ailsa Brackenlea"  # the administrator sees names
    download, _status = imports.export_authority(2, glm, "csv")
    assert download["filename"] == "glm-tracker-2026-11-29.zip"
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(download["content"]))) as archive:
        events = archive.read("glm-tracker-2026-11-29-events.csv").decode("utf-8-sig").splitlines()
    assert events[0] == '"Child reference","Event","Date","Detail","Note"'
    assert len(events) == 1 + 40
    with Session(services().store.engine) as session:
        actions = session.execute(
            select(AuditEvent.action, AuditEvent.records)
            .where(AuditEvent.action.like("export-tracker-%"))
            .order_by(AuditEvent.id)
        ).all()
    assert actions[-2:] == [("export-tracker-xlsx", 6 + 40 + 11), ("export-tracker-csv", 6 + 40 + 11)]


def test_an_export_is_refused_without_an_authority_or_to_a_presentation_scope(imports, glm):
    download, status = imports.export_authority(1, None, "xlsx")
    assert download is dash.no_update
    assert imports.CHOOSE_AUTHORITY in text_of(status)
    store = services().store
    assert imports.export_download(store, Scope.presentation(b"key"), glm, "xlsx", TODAY) == (None, 0)
    assert imports.export_download(store, Scope.authorities(10_000), glm, "xlsx", TODAY) == (None, 0)
    with pytest.raises(PreventUpdate):
        imports.export_authority(0, glm, "xlsx")


def test_a_request_body_over_the_server_limit_is_refused_unread_with_a_clear_message(dash_app):
    client = dash_app.server.test_client()
    assert sign_in(client, ADMIN).status_code == 302
    limit = dash_app.server.config["MAX_CONTENT_LENGTH"]
    oversized = {**HOME_CALLBACK, "state": [{"id": "x", "property": "contents", "value": "A" * limit}]}
    response = callback(client, oversized)
    assert response.status_code == 413
    assert response.get_json() == {
        "message": "The file is larger than the 10 MB limit. Remove unused sheets or split the tracker, "
        "then upload it again."
    }
    assert callback(client).status_code == 200  # the same session carries on
