"""Tracker parsing and validation: row numbers, masking, every rule, dates and encodings, worked by hand."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pandas as pd
import pytest

from pace_dash.domain.tracker import (
    ERROR,
    NOTICE,
    WARNING,
    Problem,
    guess_shape,
    mask,
    normalise,
    parse_dates,
    read_table,
    unescape,
    validate,
)

TODAY = dt.date(2026, 11, 29)
WIDE_HEADER = "Child reference,Name,Date of birth,Date accommodated"
KNOWN = pd.DataFrame(
    {"reference": ["GLM-1", "GLM-2"], "date_of_birth": pd.to_datetime(["2019-05-04", "2021-01-01"])}
)


def check(text: str, shape: str | None = None, known: pd.DataFrame | None = None, encoding="utf-8"):
    """Read and validate a CSV given as text, as authority GLM on TODAY."""
    table = read_table(text.encode(encoding))
    return validate(table, shape or guess_shape(table.headers), "GLM", TODAY, known)


def found(parsed, severity: str = ERROR) -> list[tuple[int, str, str, str]]:
    """Return the problems of one severity as (row, column, rule, value)."""
    return [(p.row, p.column, p.rule, p.value) for p in parsed.problems if p.severity == severity]


def test_headers_match_ignoring_case_spaces_underscores_and_punctuation():
    assert normalise("Date accommodated") == normalise("date_accommodated") == normalise("DATE ACCOMMODATED.")
    parsed = check("CHILD_REFERENCE,date of birth,Date-Accommodated.\nglm-7,01/02/2019,03/04/2020\n")
    assert found(parsed) == []
    assert parsed.children["reference"].tolist() == ["GLM-7"]  # trimmed and upper-cased
    assert parsed.events[["code", "on_date"]].values.tolist() == [
        ["accommodated", pd.Timestamp("2020-04-03")]
    ]


@pytest.mark.parametrize(
    ("cell", "expected", "rule"),
    [
        ("01/02/2020", "2020-02-01", ""),
        ("1/2/2020", "2020-02-01", ""),
        ("2020-02-01", "2020-02-01", ""),
        (" 29/02/2024 ", "2024-02-29", ""),
        ("", None, ""),
        (None, None, ""),
        (dt.datetime(2020, 2, 1, 0, 0), "2020-02-01", ""),
        (dt.date(2020, 2, 1), "2020-02-01", ""),
        ("01/13/2020", None, "no such date (dates are day/month/year)"),
        ("29/02/2023", None, "no such date (dates are day/month/year)"),
        ("2020-13-01", None, "no such date (dates are day/month/year)"),
        ("1/2/20", None, "two-digit year: write the year in full"),
        ("01-02-20", None, "two-digit year: write the year in full"),
        ("2020/02/01", None, "not a date: use dd/mm/yyyy or yyyy-mm-dd"),
        ("2020-2-1", None, "not a date: use dd/mm/yyyy or yyyy-mm-dd"),
        ("1 February 2020", None, "not a date: use dd/mm/yyyy or yyyy-mm-dd"),
        (43861.0, None, "not a date: use dd/mm/yyyy or yyyy-mm-dd"),
    ],
)
def test_only_day_first_and_iso_dates_are_read(cell, expected, rule):
    dates, rules = parse_dates(pd.Series([cell], dtype=object))
    value = dates.iloc[0]
    assert (None if pd.isna(value) else value) == (pd.Timestamp(expected) if expected else None)
    assert rules.iloc[0] == rule


def test_problems_carry_the_row_number_seen_in_excel_counting_blank_and_multiline_rows():
    text = (
        "Child reference,Event,Date,Note\n"  # row 1
        'GLM-1,lac_review,01/06/2024,"two\nlines"\n'  # row 2, one record over two lines
        ",,,\n"  # row 3, blank
        "GLM-1,lac_review,31/06/2024,\n"  # row 4
    )
    parsed = check(text, known=KNOWN)
    assert found(parsed) == [(4, "Date", "no such date (dates are day/month/year)", "31/06/2024")]
    assert parsed.events["row"].tolist() == [2]
    assert parsed.events["note"].tolist() == ["two\nlines"]


def test_names_and_dates_of_birth_are_masked_other_values_are_not():
    assert mask("Amy Sentinel") == "*** ********"
    assert mask("01/13/2019") == "**/**/****"
    parsed = check(
        f"{WIDE_HEADER}\nGLM-1,Amy Sentinel,01/13/2019,2020-01-01\n"
        "GLM-2,Amy Sentinel,2019-01-13,2020-01-01\nGLM-3,Amy Sentinel,2019-01-13,2020-13-01\n"
    )
    assert found(parsed) == [
        (2, "Date of birth", "no such date (dates are day/month/year)", "**/**/****"),
        (4, "Date accommodated", "no such date (dates are day/month/year)", "2020-13-01"),
    ]
    shared = "name and date of birth shared with another child reference"
    assert found(parsed, WARNING) == [
        (3, "Name", shared, "*** ********"),
        (4, "Name", shared, "*** ********"),
    ]
    assert all("Amy" not in problem.value and "2019" not in problem.value for problem in parsed.problems)


@pytest.mark.parametrize(
    ("shape", "header", "missing"),
    [
        ("wide", "Child reference,Date accommodated", "Date of birth"),
        ("events", "Child reference,Event", "Date"),
        ("periods", "Child reference,Lane,Category,End", "Start"),
    ],
)
def test_a_missing_required_column_is_an_error_naming_it(shape, header, missing):
    parsed = check(f"{header}\nGLM-1,x\n", shape, KNOWN)
    assert found(parsed) == [(1, missing, "missing required column", "")]
    assert parsed.events.empty
    assert parsed.children.empty


def test_unknown_columns_are_reported_and_ignored():
    parsed = check(f"{WIDE_HEADER},Social worker\nGLM-1,,01/02/2019,03/04/2020,Someone\n")
    assert found(parsed) == []
    assert found(parsed, NOTICE) == [(1, "Social worker", "unknown column: ignored", "Social worker")]
    assert len(parsed.children) == 1


def test_every_error_of_a_wide_tracker_is_found_in_one_pass():
    text = (
        "Authority,Child reference,Date of birth,Date accommodated,Permanence recommendation,"
        "Permanence route,Final order,Final order type,Date ceased,Ceased reason\n"
        "GLM,GLM-1,01/01/2019,01/01/2020,01/06/2020,Permanence order,01/06/2021,po,,\n"  # 2: fine
        "STC,GLM-2,01/01/2019,01/01/2020,,,,,,\n"  # 3: another authority
        "GLM,GLM-1,01/01/2019,01/01/2020,,,,,,\n"  # 4: duplicate reference
        "GLM,GLM-4,01/01/2019,01/01/2018,,,,,,\n"  # 5: accommodated before birth
        "GLM,GLM-5,01/01/2027,01/01/2020,,,,,,\n"  # 6: born in the future (and accommodated before)
        "GLM,GLM-6,01/01/2019,01/01/2020,01/06/2020,fostering,,,,\n"  # 7: unknown route
        "GLM,GLM-7,01/01/2019,01/01/2020,,,01/06/2021,,,\n"  # 8: order date without its type
        "GLM,GLM-8,01/01/2019,01/01/2020,,adoption,,,,\n"  # 9: route without the date
        "GLM,GLM-9,01/01/2019,01/01/2020,,,,,30/11/2026,Moved to Fife\n"  # 10: ceased in the future
    )
    parsed = check(text)
    assert found(parsed) == [
        (3, "Authority", "not authority GLM", "STC"),
        (4, "Child reference", "duplicate child reference", "GLM-1"),
        (5, "Date accommodated", "date before the date of birth", "01/01/2018"),
        (6, "Date accommodated", "date before the date of birth", "01/01/2020"),
        (6, "Date of birth", "date in the future", "**/**/****"),
        (7, "Permanence route", "unknown route", "fostering"),
        (8, "Final order type", "order required with Final order", ""),
        (9, "Permanence route", "route given without Permanence recommendation", "adoption"),
        (10, "Date ceased", "date in the future", "30/11/2026"),
    ]
    first = parsed.events[parsed.events["row"] == 2].set_index("code")["attribute"].to_dict()
    assert first == {"accommodated": None, "permanence_recommendation": "po", "order_granted": "po"}
    # A ceased reason may be free text: kept as the note, with the reason "other".
    ceased = parsed.events[parsed.events["code"] == "ceased"]
    assert ceased[["attribute", "note"]].values.tolist() == [["other", "Moved to Fife"]]


def test_milestones_out_of_their_usual_order_are_warnings():
    text = (
        "Child reference,Date of birth,Date accommodated,Permanence recommendation,Permanence route,"
        "Panel,ADM decision\n"
        "GLM-1,01/01/2019,01/01/2020,01/06/2020,adoption,01/09/2020,20/08/2020\n"
        "GLM-2,01/01/2019,01/01/2020,01/06/2020,adoption,01/09/2020,10/09/2020\n"
    )
    parsed = check(text)
    assert found(parsed) == []
    assert found(parsed, WARNING) == [
        (
            2,
            "ADM decision",
            "Agency Decision Maker decision dated before Adoption & Permanence Panel",
            "20/08/2020",
        )
    ]


def test_event_log_rules():
    text = (
        "Child reference,Event,Date,Detail,Note\n"
        "GLM-1,LAC review,01/06/2020,,\n"  # 2: label accepted
        "GLM-3,lac_review,01/06/2020,,\n"  # 3: child not known
        "GLM-1,visit,01/06/2020,,\n"  # 4: unknown event
        "GLM-1,Permanence recommendation,01/07/2020,Return home,\n"  # 5: label of the route
        "GLM-1,permanence_recommendation,02/07/2020,,\n"  # 6: no route
        "GLM-1,order_granted,01/01/2019,kco,\n"  # 7: before birth (4/5/2019)
        "GLM-1,LAC REVIEW,2020-06-01,,\n"  # 8: the same event as row 2
        "GLM-2,ceased,01/02/2022,home,\n"  # 9: fine
    )
    parsed = check(text, known=KNOWN)
    assert found(parsed) == [
        (3, "Child reference", "unknown child reference: import the wide tracker first", "GLM-3"),
        (4, "Event", "unknown event", "visit"),
        (6, "Detail", "route required", ""),
        (7, "Date", "date before the date of birth", "01/01/2019"),
        (8, "Event", "duplicate event (same child, event and date)", "LAC REVIEW"),
    ]
    assert parsed.events.loc[parsed.events["row"] == 5, "attribute"].tolist() == ["home"]
    assert parsed.events.loc[parsed.events["row"] == 9, "attribute"].tolist() == ["home"]


def test_period_rules():
    text = (
        "Child reference,Lane,Category,Start,End\n"
        "GLM-1,placement,Foster,01/06/2020,\n"  # 2: label accepted, open
        "GLM-1,Legal status,cso_away,01/06/2020,01/05/2020\n"  # 3: end before start
        "GLM-1,placement,cso_away,01/06/2020,\n"  # 4: a legal status is not a placement
        "GLM-1,court,po,01/06/2020,\n"  # 5: unknown lane
        "GLM-1,placement,kinship,01/06/2020,01/01/2027\n"  # 6: ends in the future
        "GLM-1,placement,foster,2020-06-01,\n"  # 7: the same period as row 2
    )
    parsed = check(text, known=KNOWN)
    assert found(parsed) == [
        (3, "End", "end before start", "01/05/2020"),
        (4, "Category", "unknown category", "cso_away"),
        (5, "Lane", "unknown lane", "court"),
        (6, "End", "date in the future", "01/01/2027"),
        (7, "Start", "duplicate period (same child, lane, category and start)", "2020-06-01"),
    ]
    assert parsed.periods[["lane", "category"]].values.tolist()[:2] == [
        ["placement", "foster"],
        ["legal_status", "cso_away"],
    ]


def test_a_byte_order_mark_is_read_and_windows_1252_is_a_warning():
    parsed = check(f"\ufeff{WIDE_HEADER}\nGLM-1,Zoë Brackenlea,01/02/2019,03/04/2020\n", encoding="utf-8")
    assert parsed.problems == ()
    parsed = check(f"{WIDE_HEADER}\nGLM-1,Zoë Brackenlea,01/02/2019,03/04/2020\n", encoding="cp1252")
    assert [(p.row, p.severity) for p in parsed.problems] == [(0, WARNING)]
    assert "Windows-1252" in parsed.problems[0].rule
    assert parsed.children["name"].tolist() == ["Zoë Brackenlea"]


def xlsx(rows: list[list]) -> bytes:
    """Return an XLSX workbook whose first sheet holds the rows."""
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_date_cells_are_dates_and_formulas_are_errors_never_evaluated():
    data = xlsx(
        [
            ["Child reference", "Date of birth", "Date accommodated"],
            [1234, dt.datetime(2019, 2, 1), "03/04/2020"],
            [],
            ["GLM-2", dt.date(2019, 2, 1), "=TODAY()"],
        ]
    )
    table = read_table(data)
    parsed = validate(table, "wide", "GLM", TODAY)
    assert found(parsed) == [
        (4, "Date accommodated", "formula: type the value, not a formula", "=TODAY()"),
        (4, "Date accommodated", "required value missing", ""),
    ]
    assert parsed.children["reference"].tolist() == ["1234", "GLM-2"]
    assert parsed.children["date_of_birth"].tolist() == [pd.Timestamp("2019-02-01")] * 2


def test_files_that_are_not_csv_or_xlsx_are_refused_before_parsing():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for number in range(2100):
            archive.writestr(f"x{number}.xml", "")
    assert read_table(buffer.getvalue()).problems == (
        Problem(0, "", "XLSX file too large when unpacked", "", ERROR),
    )
    assert read_table(b"PK\x03\x04 not a zip").problems[0].rule == "not a readable XLSX file"
    assert read_table(b"\x00\x01binary").problems[0].rule == "not a CSV or XLSX file"
    parsed = validate(read_table(b"\x00\x01binary"), "wide", "GLM", TODAY)
    assert [p.rule for p in parsed.problems] == ["not a CSV or XLSX file"]


def test_a_row_wider_than_the_header_is_read_and_its_extra_cells_reported():
    # pandas' fast reader refuses such a file; the csv module reads it with the same row numbers.
    text = "Child reference,Event,Date\nGLM-1,lac_review,01/06/2020,surplus\n\nGLM-2,panel,02/06/2021\n"
    parsed = check(text, known=KNOWN)
    assert found(parsed) == []
    assert found(parsed, NOTICE) == [(1, "column 4", "unknown column: ignored", "column 4")]
    assert parsed.events[["row", "reference", "code"]].values.tolist() == [
        [2, "GLM-1", "lac_review"],
        [4, "GLM-2", "panel"],
    ]


@pytest.mark.parametrize(
    ("cell", "read"),
    [
        ("'=SUM(A1:A9)", "=SUM(A1:A9)"),
        ("'+44 1234", "+44 1234"),
        ("'-", "-"),
        ("'@home", "@home"),
        ("''quoted'", "'quoted'"),
        ("'plain", "'plain"),  # an apostrophe the export did not add stays
        ("it's", "it's"),
        ("=not escaped", "=not escaped"),
    ],
)
def test_the_export_apostrophe_is_taken_away_exactly_once(cell, read):
    assert unescape(cell) == read
    parsed = check(f'Child reference,Event,Date,Note\nGLM-1,lac_review,01/06/2020,"{cell}"\n', known=KNOWN)
    assert parsed.events["note"].tolist() == [read]


def test_a_periods_file_may_carry_a_note():
    text = "Child reference,Lane,Category,Start,End,Note\nGLM-1,placement,foster,01/06/2020,,Out of area\n"
    parsed = check(text, known=KNOWN)
    assert found(parsed) == []
    assert parsed.periods[["category", "note"]].values.tolist() == [["foster", "Out of area"]]
