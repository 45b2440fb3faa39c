"""Spreadsheet exports: text that a spreadsheet would run as a formula is escaped."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd

from pace_dash.domain.export import neutralise, spreadsheet_safe, to_csv_bytes, to_xlsx_bytes

DANGEROUS = ['=HYPERLINK("http://x")', "+SUM(A1)", "-1+2", "@cmd", "\tTAB", "\rCR"]


def test_every_formula_start_is_escaped_and_harmless_text_kept():
    assert [neutralise(value) for value in DANGEROUS] == ["'" + value for value in DANGEROUS]
    assert neutralise("GLM-00012") == "GLM-00012"
    assert neutralise(-5) == -5  # numbers stay numbers


def test_csv_and_xlsx_carry_escaped_text_and_real_numbers():
    frame = pd.DataFrame(
        {"Milestone": DANGEROUS, "Days overdue": range(len(DANGEROUS)), "Due": pd.Timestamp("2026-01-02")}
    )
    csv = pd.read_csv(io.BytesIO(to_csv_bytes(frame)), encoding="utf-8-sig", keep_default_na=False)
    assert csv["Milestone"].str.startswith("'").all()
    assert csv["Days overdue"].tolist() == list(range(len(DANGEROUS)))
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(frame, "Watch list")))["Watch list"]
    cells = [row for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert [cell[0] for cell in cells] == ["'" + value for value in DANGEROUS]
    assert all(sheet.cell(row=row, column=1).data_type == "s" for row in range(2, len(DANGEROUS) + 2))
    assert [cell[1] for cell in cells] == list(range(len(DANGEROUS)))


def test_headings_are_escaped_too():
    assert list(spreadsheet_safe(pd.DataFrame({"=cmd": [1]})).columns) == ["'=cmd"]
