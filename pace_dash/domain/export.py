"""Tables for spreadsheets: CSV and XLSX bytes with formula injection prevented."""

from __future__ import annotations

import csv
import io

import pandas as pd

# A spreadsheet treats a cell starting with one of these as a formula (OWASP, "CSV Injection").
FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Return a text cell that a spreadsheet could run as a formula with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of a table whose text cells can never start a formula; numbers stay numbers."""
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]) and not pd.api.types.is_datetime64_any_dtype(
            safe[column]
        ):
            safe[column] = safe[column].map(neutralise)
    safe.columns = [neutralise(str(column)) for column in safe.columns]
    return safe


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """Return a table as UTF-8 CSV (with a byte-order mark, so Excel reads the accents).

    Every text cell is quoted, so a carriage return inside one can never split a row.
    """
    text = spreadsheet_safe(frame).to_csv(index=False, date_format="%Y-%m-%d", quoting=csv.QUOTE_NONNUMERIC)
    return text.encode("utf-8-sig")


def to_xlsx_bytes(frame: pd.DataFrame, sheet: str) -> bytes:
    """Return a table as an XLSX workbook of one sheet."""
    buffer = io.BytesIO()
    safe = spreadsheet_safe(frame)
    for column in safe.columns:
        if pd.api.types.is_datetime64_any_dtype(safe[column]):
            safe[column] = safe[column].dt.date
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        safe.to_excel(writer, sheet_name=sheet[:31], index=False)
    return buffer.getvalue()
