"""The importer on real databases: files land whole or not at all, and only what changed is written."""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from pace_dash.cli import main
from pace_dash.settings import PROJECT_ROOT
from pace_dash.store.importer import Counts, import_tracker
from pace_dash.store.queries import Store
from pace_dash.store.schema import Child, Event, ImportBatch, LocalAuthority, Period

TODAY = dt.date(2026, 11, 29)
SAMPLES = PROJECT_ROOT / "data" / "samples"
WIDE = (SAMPLES / "wide.csv").read_bytes()


def run(engine, data: bytes, **options):
    """Import bytes for GLM on TODAY."""
    return import_tracker(engine, data, authority="GLM", filename="tracker.csv", today=TODAY, **options)


@pytest.fixture
def glm(engine):
    """Yield an engine holding the authority GLM and nothing else."""
    with Session(engine) as session, session.begin():
        session.add(LocalAuthority(code="GLM", name="Glenmorven Council (fictional)"))
    return engine


def snapshot(engine) -> dict:
    """Return everything an import could change: row counts, the data version, every event."""
    with Session(engine) as session:
        counts = {model.__name__: session.scalar(select(func.count()).select_from(model)) for model in (
            Child, Event, Period, ImportBatch)}  # fmt: skip
        events = session.execute(
            select(
                Event.child_id, Event.code, Event.on_date, Event.attribute, Event.note, Event.import_id
            ).order_by(Event.id)
        ).all()
    return {**counts, "version": Store(engine).data_version(), "events": events}


def test_a_wide_tracker_lands_whole_and_each_row_records_its_import(glm):
    before = Store(glm).data_version()
    report = run(glm, WIDE)
    assert report.written
    assert not report.errors
    assert not report.warnings
    assert (report.children, report.events) == (Counts(6, 0, 0), Counts(40, 0, 0))
    after = snapshot(glm)
    assert (after["Child"], after["Event"], after["ImportBatch"]) == (6, 40, 1)
    assert after["version"] == before + 1
    assert {row.import_id for row in after["events"]} == {report.import_id}
    with Session(glm) as session:
        batch = session.get(ImportBatch, report.import_id)
        assert (batch.filename, batch.kind, batch.rows, batch.status) == (
            "tracker.csv",
            "wide",
            6,
            "imported",
        )
        calum = session.scalars(select(Child).where(Child.reference == "GLM-S0002")).one()
        assert (calum.date_of_birth, calum.sibling_group) == (dt.date(2019, 7, 1), "GLM-SG-S1")
        route = session.scalar(
            select(Event.attribute).where(
                Event.child_id == calum.id, Event.code == "permanence_recommendation"
            )
        )
        assert route == "po"


def test_the_same_file_twice_changes_nothing_and_says_so(glm):
    first = run(glm, WIDE)
    before = snapshot(glm)
    again = run(glm, WIDE)
    assert not again.written
    assert again.changes == 0
    assert again.previous_import_id == first.import_id
    assert (again.children, again.events) == (Counts(0, 0, 6), Counts(0, 0, 40))
    assert "Nothing changed (same file as batch" in again.summary()
    assert snapshot(glm) == before


def test_an_edited_file_changes_only_the_edited_rows(glm):
    first = run(glm, WIDE)
    edited = (
        WIDE.decode()
        # Calum's recommended route becomes a PO with authority to adopt; Morag's sex is corrected.
        .replace("2022-10-20,po,2023-01-16", "2022-10-20,poa,2023-01-16", 1)
        .replace("GLM-S0005,Morag Kilbrackie,22/08/2016,F", "GLM-S0005,Morag Kilbrackie,22/08/2016,X")
    ) + "GLM,GLM-S0007,Struan Whinnyburn,01/01/2024,M,,,02/02/2025,,,,,,,,,,,,,\n"
    before = Store(glm).data_version()
    second = run(glm, edited.encode())
    assert second.written
    assert (second.children, second.events) == (Counts(1, 1, 5), Counts(1, 1, 39))
    assert Store(glm).data_version() == before + 1
    with Session(glm) as session:
        changed = session.execute(
            select(Child.reference, Event.code, Event.attribute)
            .join(Child, Child.id == Event.child_id)
            .where(Event.import_id == second.import_id)
            .order_by(Child.reference)
        ).all()
        assert changed == [
            ("GLM-S0002", "permanence_recommendation", "poa"),
            ("GLM-S0007", "accommodated", None),
        ]
        assert session.scalar(select(func.count()).where(Event.import_id == first.import_id)) == 39
        assert session.scalar(select(Child.sex).where(Child.reference == "GLM-S0005")) == "X"
        # Each child records the import that last changed its own row: Calum's row did not change
        # (only one of his events did), Morag's did, and Struan is new.
        children = dict(session.execute(select(Child.reference, Child.import_id)).all())
        assert children == {
            "GLM-S0001": first.import_id,
            "GLM-S0002": first.import_id,
            "GLM-S0003": first.import_id,
            "GLM-S0004": first.import_id,
            "GLM-S0005": second.import_id,
            "GLM-S0006": first.import_id,
            "GLM-S0007": second.import_id,
        }


def test_events_and_periods_files_add_to_the_children_and_update_end_dates(glm):
    run(glm, WIDE)
    events = run(glm, (SAMPLES / "events.csv").read_bytes())
    periods = run(glm, (SAMPLES / "periods.csv").read_bytes())
    assert (events.events, periods.periods) == (Counts(7, 0, 0), Counts(11, 0, 0))
    ended = (
        (SAMPLES / "periods.csv")
        .read_text()
        .replace(
            "GLM-S0006,placement,kinship,11/11/2024,", "GLM-S0006,placement,kinship,11/11/2024,03/11/2025"
        )
    )
    again = run(glm, ended.encode())
    assert again.periods == Counts(0, 1, 10)
    with Session(glm) as session:
        period = session.scalars(select(Period).where(Period.import_id == again.import_id)).one()
        assert (period.category, period.end_date) == ("kinship", dt.date(2025, 11, 3))
    # A periods file may carry a Note; one without that column leaves stored notes alone.
    header = b"Child reference,Lane,Category,Start,End,Note\n"
    noted = header + b"GLM-S0006,placement,kinship,11/11/2024,03/11/2025,Aunt\n"
    assert run(glm, noted).periods == Counts(0, 1, 0)
    assert run(glm, ended.encode()).periods == Counts(0, 0, 11)
    with Session(glm) as session:
        notes = session.execute(
            select(Child.reference, Period.note).join(Child).where(Period.category == "kinship")
        ).all()
        assert sorted(notes) == [("GLM-S0004", None), ("GLM-S0006", "Aunt")]


def test_errors_write_nothing_and_names_never_reach_the_report(glm):
    run(glm, WIDE)
    before = snapshot(glm)
    report = run(glm, (SAMPLES / "problems.csv").read_bytes(), confirm=True)
    assert not report.written
    assert len(report.errors) == 11
    assert len(report.warnings) == 3
    assert snapshot(glm) == before
    problems = report.to_csv().decode("utf-8-sig")
    assert problems.splitlines()[0] == '"row","column","severity","rule","value"'
    assert len(problems.splitlines()) == 1 + 11 + 3 + 1
    assert "Tamsin" not in problems
    assert "Fraser" not in problems
    assert "09/09/2019" not in problems
    # An event log naming children the database does not hold is refused too.
    unknown = run(glm, b"Child reference,Event,Date\nGLM-S0099,lac_review,01/01/2025\n")
    assert [problem.rule for problem in unknown.errors] == [
        "unknown child reference: import the wide tracker first"
    ]
    assert snapshot(glm) == before


def test_warnings_need_confirmation_and_preview_writes_nothing(glm):
    adm_before_panel = WIDE.decode().replace("15/05/2023,24/05/2023", "15/05/2023,04/05/2023").encode()
    before = snapshot(glm)
    refused = run(glm, adm_before_panel)
    assert refused.needs_confirmation
    assert not refused.written
    assert [(p.row, p.column) for p in refused.warnings] == [(2, "ADM decision")]
    preview = run(glm, adm_before_panel, confirm=True, preview=True)
    assert (preview.children, preview.written) == (Counts(6, 0, 0), False)
    assert snapshot(glm) == before
    confirmed = run(glm, adm_before_panel, confirm=True)
    assert confirmed.written
    assert snapshot(glm)["Child"] == 6


def test_an_unknown_authority_is_refused_unless_named(engine):
    refused = import_tracker(engine, WIDE, authority="glm", filename="x.csv", today=TODAY)
    assert [p.rule for p in refused.errors] == ["unknown authority GLM"]
    made = import_tracker(
        engine, WIDE, authority="glm", filename="../../etc/x.csv", today=TODAY, authority_name="Glenmorven"
    )
    assert made.written
    with Session(engine) as session:
        assert session.scalar(select(LocalAuthority.name).where(LocalAuthority.code == "GLM")) == "Glenmorven"
        # The file name is a label only: no directory part is kept.
        assert session.scalar(select(ImportBatch.filename)) == "x.csv"


def xlsx(rows: list[list]) -> bytes:
    """Return an XLSX workbook whose first sheet holds the rows."""
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_date_cells_import_and_formula_cells_are_refused(glm):
    header = ["Child reference", "Date of birth", "Date accommodated", "First LAC review"]
    good = xlsx([header, ["GLM-X1", dt.datetime(2020, 5, 6), dt.datetime(2024, 1, 2), "12/02/2024"]])
    report = run(glm, good)
    assert report.written
    assert report.events == Counts(2, 0, 0)
    with Session(glm) as session:
        assert session.scalar(select(Child.date_of_birth)) == dt.date(2020, 5, 6)
        assert sorted(session.scalars(select(Event.on_date))) == [dt.date(2024, 1, 2), dt.date(2024, 2, 12)]
    before = snapshot(glm)
    formula = xlsx([header, ["GLM-X2", dt.datetime(2020, 5, 6), dt.datetime(2024, 1, 2), "=B2+42"]])
    refused = run(glm, formula)
    assert [(p.row, p.column, p.rule) for p in refused.errors] == [
        (2, "First LAC review", "formula: type the value, not a formula")
    ]
    assert snapshot(glm) == before


def test_windows_1252_is_reported_and_read(glm):
    data = (
        "Child reference,Name,Date of birth,Date accommodated\nGLM-W1,Zoë Ardcraggan,01/02/2019,03/04/2020\n"
    )
    refused = run(glm, data.encode("cp1252"))
    assert not refused.written
    assert refused.needs_confirmation
    assert "Windows-1252" in refused.warnings[0].rule
    assert run(glm, data.encode("cp1252"), confirm=True).written
    with Session(glm) as session:
        assert session.scalar(select(Child.name)) == "Zoë Ardcraggan"


KILLED_IMPORT = textwrap.dedent(
    """
    import datetime as dt, sys, time
    from pathlib import Path
    from pace_dash.store.db import make_engine
    from pace_dash.store.importer import import_tracker

    def progress(stage):
        if stage == "written events":  # rows are in the open transaction: wait here to be killed
            print("WRITING", flush=True)
            time.sleep(120)

    import_tracker(make_engine(sys.argv[1]), Path(sys.argv[2]).read_bytes(), authority="GLM",
                   filename="big.csv", today=dt.date(2026, 11, 29), progress=progress)
    print("FINISHED", flush=True)
    """
)


def big_tracker(children: int) -> bytes:
    """Return a wide tracker of many fictional children, each with three events."""
    lines = ["Child reference,Date of birth,Date accommodated,First LAC review,Legal advice"]
    lines += [f"GLM-B{number:05d},01/02/2019,03/04/2020,10/05/2020,01/06/2020" for number in range(children)]
    return ("\n".join(lines) + "\n").encode()


def test_an_import_killed_while_writing_leaves_the_database_as_it_was(glm, tmp_path: Path):
    run(glm, WIDE)
    before = snapshot(glm)
    big = tmp_path / "big.csv"
    big.write_bytes(big_tracker(3000))
    url = glm.url.render_as_string(hide_password=False)
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_IMPORT, url, str(big)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    try:
        assert child.stdout.readline().strip() == "WRITING"
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
    glm.dispose()  # connections opened before the kill must not hide what another process sees
    assert snapshot(glm) == before
    # The database is still usable: the same file imports whole afterwards.
    report = run(glm, big.read_bytes())
    assert (report.written, report.children, report.events) == (True, Counts(3000, 0, 0), Counts(9000, 0, 0))
    assert snapshot(glm)["version"] == before["version"] + 1


def test_the_command_line_imports_prints_progress_and_fails_on_errors(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("PACE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("PACE_TODAY", TODAY.isoformat())
    wide = str(SAMPLES / "wide.csv")
    assert main(["import", wide, "--authority", "GLM"]) == 1  # no such authority yet
    assert main(["import", wide, "--authority", "GLM", "--authority-name", "Glenmorven", "--preview"]) == 0
    assert "Preview only: nothing written." in capsys.readouterr().out
    assert main(["import", wide, "--authority", "GLM", "--authority-name", "Glenmorven"]) == 0
    printed = capsys.readouterr().out
    assert "4/9 writing" in printed
    assert "children: 6 new, 0 changed, 0 unchanged" in printed
    assert main(["import", str(SAMPLES / "problems.csv"), "--authority", "GLM", "--confirm"]) == 1
    printed = capsys.readouterr().out
    assert "error: row 2, Date of birth: no such date (dates are day/month/year) (**/**/****)" in printed
    assert "Tamsin" not in printed
    warned = tmp_path / "warned.csv"
    warned.write_bytes(WIDE.replace(b"15/05/2023,24/05/2023", b"15/05/2023,04/05/2023"))
    assert main(["import", str(warned), "--authority", "GLM"]) == 3  # warnings: needs --confirm
    assert main(["import", str(warned), "--authority", "GLM", "--confirm"]) == 0


def event_indexes(engine) -> list[dict]:
    """Return the event table's indexes as the database describes them."""
    return sorted(inspect(engine).get_indexes("event"), key=lambda index: index["name"])


def test_a_big_first_import_leaves_the_indexes_as_they_were(glm):
    before = event_indexes(glm)
    assert [index["name"] for index in before] == ["ix_event_child_date", "ix_event_code_date"]
    report = run(glm, big_tracker(4000))  # 12,000 new events: more than the table holds
    assert (report.children, report.events) == (Counts(4000, 0, 0), Counts(12000, 0, 0))
    glm.dispose()
    assert event_indexes(glm) == before
    with Session(glm) as session:
        on_day = select(func.count()).where(
            Event.code == "legal_advice", Event.on_date == dt.date(2020, 6, 1)
        )
        assert session.scalar(on_day) == 4000


def test_an_import_failing_while_the_indexes_are_rebuilt_keeps_them_and_writes_nothing(glm, monkeypatch):
    from pace_dash.store import importer

    run(glm, WIDE)
    before, indexes = snapshot(glm), event_indexes(glm)
    written = importer._insert_rows

    def fail_on_events(session, model, frame, columns):
        written(session, model, frame, columns)
        if model is Event:
            raise RuntimeError("the disk is full")

    monkeypatch.setattr(importer, "_insert_rows", fail_on_events)
    with pytest.raises(RuntimeError, match="the disk is full"):
        run(glm, big_tracker(4000))
    glm.dispose()
    assert snapshot(glm) == before
    assert event_indexes(glm) == indexes
