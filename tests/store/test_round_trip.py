"""Export then import: the demo data leaves as trackers and comes back field by field, on both databases."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pace_dash.cli import main
from pace_dash.domain.catalogue import CEASED_REASONS, EVENTS, LEGAL_STATUSES, ORDERS, PLACEMENTS, ROUTES
from pace_dash.domain.rules import load_rules_file
from pace_dash.domain.tracker import (
    ATTRIBUTE_LOOKUPS,
    CATEGORY_LOOKUPS,
    EVENT_LOOKUP,
    LANE_LOOKUP,
    normalise,
    read_table,
)
from pace_dash.domain.tracker_export import (
    CSV,
    SHAPES,
    SHEETS,
    XLSX,
    escape,
    read_csv_zip,
    to_csv_zip,
    to_xlsx,
    tracker_tables,
)
from pace_dash.settings import TARGETS_FILE
from pace_dash.store.db import bump_data_version, create_schema, drop_schema
from pace_dash.store.demo import install_demo
from pace_dash.store.importer import export_tracker, import_tracker
from pace_dash.store.queries import Store
from pace_dash.store.schema import Child, Event, LocalAuthority, Period
from pace_dash.store.scope import Scope

TODAY = dt.date(2026, 11, 29)
DEMO_CHILDREN = 300
# Text a spreadsheet would run as a formula, or that starts with the export's own apostrophe.
NASTY = ('=HYPERLINK("http://x")', "+44 1234 567890", "-", "@SUM(1)", "'quoted'", "\tTabbed", "it's")


def stored(engine) -> dict[str, pd.DataFrame]:
    """Return every child, event and period as plain values keyed by references, ids left out."""
    with Session(engine) as session:
        children = session.execute(
            select(
                LocalAuthority.code,
                LocalAuthority.name.label("authority_name"),
                Child.reference,
                Child.name,
                Child.date_of_birth,
                Child.sex,
                Child.sibling_group,
            ).join(LocalAuthority, LocalAuthority.id == Child.la_id)
        ).all()
        events = session.execute(
            select(
                LocalAuthority.code, Child.reference, Event.code, Event.on_date, Event.attribute, Event.note
            )
            .join(Child, Child.id == Event.child_id)
            .join(LocalAuthority, LocalAuthority.id == Child.la_id)
        ).all()
        periods = session.execute(
            select(
                LocalAuthority.code,
                Child.reference,
                Period.lane,
                Period.category,
                Period.start_date,
                Period.end_date,
                Period.note,
            )
            .join(Child, Child.id == Period.child_id)
            .join(LocalAuthority, LocalAuthority.id == Child.la_id)
        ).all()
    # Sorted by their text, since missing values (None) do not sort among others.
    return {
        kind: sorted((tuple(row) for row in rows), key=repr)
        for kind, rows in (("children", children), ("events", events), ("periods", periods))
    }


def add_nasty_child(engine) -> None:
    """Store a child of GLM whose texts start with formula characters and apostrophes."""
    with Session(engine) as session, session.begin():
        la_id = session.scalar(select(LocalAuthority.id).where(LocalAuthority.code == "GLM"))
        child = Child(
            la_id=la_id,
            reference="GLM-NASTY",
            name=NASTY[0],
            date_of_birth=dt.date(2018, 3, 4),
            sex=NASTY[2],
            sibling_group=NASTY[4],
        )
        session.add(child)
        session.flush()
        session.add(Event(child_id=child.id, code="accommodated", on_date=dt.date(2020, 1, 2), note=NASTY[1]))
        for day, note in enumerate(NASTY, start=3):
            session.add(Event(child_id=child.id, code="lac_review", on_date=dt.date(2020, 1, day), note=note))
        session.add(
            Event(
                child_id=child.id,
                code="ceased",
                on_date=dt.date(2021, 5, 6),
                attribute="other",
                note=NASTY[3],
            )
        )
        session.add(
            Period(
                child_id=child.id,
                lane="placement",
                category="foster",
                start_date=dt.date(2020, 1, 2),
                end_date=None,
                note=NASTY[5],
            )
        )
        bump_data_version(session)


def export_all(engine, file_format: str) -> dict[str, bytes]:
    """Export every authority's tracker in one format."""
    store = Store(engine)
    files = {}
    for code in store.authorities(Scope.everything())["code"]:
        tables = export_tracker(store, Scope.everything(), code)
        files[code] = to_csv_zip(tables, code.lower()) if file_format == CSV else to_xlsx(tables)
    return files


def import_all(engine, files: dict[str, bytes], names: dict[str, str], file_format: str) -> None:
    """Import each authority's tracker: children, then events, then periods, each confirmed."""
    for code, data in files.items():
        parts = read_csv_zip(data) if file_format == CSV else dict.fromkeys(SHEETS, data)
        for sheet, shape in zip(SHEETS, SHAPES, strict=True):
            report = import_tracker(
                engine,
                parts[sheet],
                authority=code,
                filename=f"{code}.{file_format}",
                today=TODAY,
                shape=shape,
                sheet=sheet if file_format == XLSX else None,
                confirm=True,
                authority_name=names[code],
            )
            assert not report.errors, report.summary()[:2000]


def sheets(file_format: str, data: bytes) -> dict[str, list[tuple]]:
    """Return the cells of an export, sheet by sheet, as the importer reads them."""
    if file_format == CSV:
        return {sheet: read_table(part).frame.values.tolist() for sheet, part in read_csv_zip(data).items()}
    return {sheet: read_table(data, sheet).frame.values.tolist() for sheet in SHEETS}


@pytest.mark.parametrize("file_format", [CSV, XLSX])
def test_the_demo_data_exported_and_imported_into_an_empty_database_comes_back_exactly(engine, file_format):
    install_demo(engine, children=DEMO_CHILDREN, seed=2014, today=TODAY, rules=load_rules_file(TARGETS_FILE))
    add_nasty_child(engine)
    before = stored(engine)
    names = dict(Store(engine).authorities(Scope.everything())[["code", "name"]].itertuples(index=False))
    files = export_all(engine, file_format)
    assert len(before["children"]) == DEMO_CHILDREN + 1
    assert len(before["events"]) > 10 * DEMO_CHILDREN
    assert any(row[-1] for row in before["periods"])  # period notes travel too

    drop_schema(engine)
    create_schema(engine)
    assert stored(engine) == {"children": [], "events": [], "periods": []}
    import_all(engine, files, names, file_format)

    after = stored(engine)
    for kind in ("children", "events", "periods"):
        assert len(after[kind]) == len(before[kind])
        assert after[kind] == before[kind], kind
    again = export_all(engine, file_format)
    assert again.keys() == files.keys()
    for code, data in files.items():
        if file_format == CSV:
            assert again[code] == data  # byte for byte
        else:
            assert sheets(XLSX, again[code]) == sheets(XLSX, data)


def test_formula_text_is_escaped_in_both_formats_and_never_a_formula_cell(sqlite_engine):
    install_demo(sqlite_engine, children=20, seed=7, today=TODAY, rules=load_rules_file(TARGETS_FILE))
    add_nasty_child(sqlite_engine)
    tables = export_tracker(Store(sqlite_engine), Scope.everything(), "GLM")
    nasty_names = tables.children.loc[tables.children["Child reference"] == "GLM-NASTY", "Name"].tolist()
    assert nasty_names == ['\'=HYPERLINK("http://x")']
    notes = tables.events.loc[tables.events["Child reference"] == "GLM-NASTY", "Note"].tolist()
    assert notes == ["'+44 1234 567890", *(escape(note) for note in NASTY), "'@SUM(1)"]
    assert [escape(text) for text in NASTY] == [
        '\'=HYPERLINK("http://x")',
        "'+44 1234 567890",
        "'-",
        "'@SUM(1)",
        "''quoted'",
        "'\tTabbed",
        "it's",
    ]
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(tables)))
    assert book.sheetnames == list(SHEETS)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    with zipfile.ZipFile(io.BytesIO(to_csv_zip(tables, "glm"))) as archive:
        assert archive.namelist() == ["glm-children.csv", "glm-events.csv", "glm-periods.csv"]
        for name in archive.namelist():
            for line in archive.read(name).decode("utf-8-sig").splitlines()[1:]:
                assert all(not cell.startswith(("=", "+", "-", "@")) for cell in line.split('","'))


def test_every_code_the_export_writes_reads_back_as_itself():
    assert all(EVENT_LOOKUP[normalise(code)] == code for code in EVENTS)
    for kind, codes in (("route", ROUTES), ("order", ORDERS), ("reason", CEASED_REASONS)):
        assert all(ATTRIBUTE_LOOKUPS[kind][normalise(code)] == code for code in codes)
    assert LANE_LOOKUP[normalise("placement")] == "placement"
    assert LANE_LOOKUP[normalise("legal status")] == "legal_status"
    assert all(CATEGORY_LOOKUPS["placement"][normalise(code)] == code for code in PLACEMENTS)
    assert all(CATEGORY_LOOKUPS["legal_status"][normalise(code)] == code for code in LEGAL_STATUSES)


def test_a_scope_without_names_exports_no_name_column_and_presentation_exports_nothing(sqlite_engine):
    install_demo(sqlite_engine, children=20, seed=7, today=TODAY, rules=load_rules_file(TARGETS_FILE))
    store = Store(sqlite_engine)
    la_ids = frozenset(store.authorities(Scope.everything())["la_id"])
    no_names = export_tracker(store, Scope(la_ids=la_ids, see_names=False), "GLM")
    assert "Name" not in no_names.children.columns
    assert no_names.children["Authority"].unique().tolist() == ["GLM"]
    assert export_tracker(store, Scope.presentation(b"key", la_ids), "GLM") is None
    glm = int(store.authorities(Scope.everything()).set_index("code").loc["GLM", "la_id"])
    assert export_tracker(store, Scope.authorities(glm + 1000), "GLM") is None  # outside the scope
    assert export_tracker(store, Scope.everything(), "NOPE") is None


def test_tracker_tables_by_hand():
    children = pd.DataFrame(
        {
            "child_id": [2, 1],
            "reference": ["GLM-2", "GLM-1"],
            "name": ["Bea Example", "Al Example"],
            "date_of_birth": pd.to_datetime(["2019-01-01", "2018-01-01"]),
            "sex": ["F", None],
            "sibling_group": [None, None],
        }
    )
    events = pd.DataFrame(
        {
            "child_id": [1, 1, 1, 2],
            "code": ["permanence_recommendation", "accommodated", "accommodated", "lac_review"],
            "on_date": pd.to_datetime(["2021-06-01", "2020-03-01", "2020-02-01", "2020-05-05"]),
            "attribute": ["po", None, None, None],
            "note": [None, "re-entry", None, "=1"],
        }
    )
    periods = pd.DataFrame(
        {
            "child_id": [2],
            "lane": ["legal_status"],
            "category": ["cso_away"],
            "start_date": pd.to_datetime(["2020-05-01"]),
            "end_date": pd.to_datetime([None]),
            "note": [None],
        }
    )
    tables = tracker_tables("GLM", children, events, periods, with_names=True)
    assert tables.children.columns.tolist() == [
        "Authority",
        "Child reference",
        "Name",
        "Date of birth",
        "Sex",
        "Sibling group",
        "Date accommodated",
    ]
    # Sorted by reference; the earliest accommodation (GLM-2 has none: its cell stays empty).
    assert tables.children["Child reference"].tolist() == ["GLM-1", "GLM-2"]
    assert tables.children["Date accommodated"].tolist()[0] == pd.Timestamp("2020-02-01")
    assert pd.isna(tables.children["Date accommodated"].tolist()[1])
    assert tables.events.values.tolist() == [
        ["GLM-1", "accommodated", pd.Timestamp("2020-02-01"), None, None],
        ["GLM-1", "accommodated", pd.Timestamp("2020-03-01"), None, "re-entry"],
        ["GLM-1", "permanence_recommendation", pd.Timestamp("2021-06-01"), "po", None],
        ["GLM-2", "lac_review", pd.Timestamp("2020-05-05"), None, "'=1"],
    ]
    assert tables.periods.values.tolist() == [
        ["GLM-2", "legal status", "cso_away", pd.Timestamp("2020-05-01"), pd.NaT, None]
    ]
    assert tables.records == 2 + 4 + 1


def test_the_command_line_exports_csv_and_xlsx(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("PACE_DATABASE_URL", url)
    monkeypatch.setenv("PACE_TODAY", TODAY.isoformat())
    assert main(["demo", "--children", "30", "--seed", "3"]) == 0
    capsys.readouterr()
    assert main(["export", str(tmp_path / "glm.zip"), "--authority", "glm"]) == 0
    printed = capsys.readouterr().out
    assert "glm-children.csv, glm-events.csv, glm-periods.csv" in printed
    assert zipfile.ZipFile(tmp_path / "glm.zip").namelist() == [
        "glm-children.csv",
        "glm-events.csv",
        "glm-periods.csv",
    ]
    assert main(["export", str(tmp_path / "glm.xlsx"), "--authority", "GLM"]) == 0
    assert "sheets Children, Events, Periods" in capsys.readouterr().out
    assert openpyxl.load_workbook(tmp_path / "glm.xlsx").sheetnames == list(SHEETS)
    assert main(["export", str(tmp_path / "x.data"), "--authority", "GLM", "--format", "xlsx"]) == 0
    assert (tmp_path / "x.data").read_bytes()[:4] == b"PK\x03\x04"
    assert main(["export", str(tmp_path / "none.zip"), "--authority", "XYZ"]) == 1
    assert "No authority XYZ" in capsys.readouterr().err
