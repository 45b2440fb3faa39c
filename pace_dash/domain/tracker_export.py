"""Tracker export: an authority's children, events and periods in the shapes the importer reads.

Pure formatting, no SQL (the store's importer module fetches the rows). Three tables, each in a
shape of tracker-format.md:

- Children, as a wide tracker holding what identifies each child and the date the PACE clock
  started (the format requires Date accommodated: the child's earliest accommodation);
- Events, as an event log holding every event, with its route, order or reason as Detail;
- Periods, holding every placement and legal status, with its Note.

Importing them in that order (children, events, periods) into an empty database gives back the
same rows, field by field; exporting again gives the same tables. As CSV they travel as a zip of
three files, as XLSX as one workbook of three sheets (import each with `--sheet`).

Spreadsheet formulas (OWASP "CSV injection") are prevented in a way the importer undoes exactly:
a text cell starting with =, +, -, @, a tab or a carriage return, or with an apostrophe, gets one
apostrophe in front; the importer takes exactly one away (tracker.unescape). A text typed into a
tracker by hand as '=x therefore reads as =x. What cannot make the round trip: leading or trailing
spaces in a text (the importer trims cells), a child never accommodated (the wide tracker needs
that date), two events of one child with the same code and date (a duplicate is an error), and an
attribute on an event that takes none.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass

import pandas as pd

from pace_dash.domain.catalogue import EVENT_CODES
from pace_dash.domain.export import to_csv_bytes
from pace_dash.domain.tracker import ESCAPE, ESCAPED_FIRST, EVENT_LOG_COLUMNS, PERIOD_COLUMNS, WIDE_COLUMNS

CSV, XLSX = "csv", "xlsx"
FORMATS: tuple[str, ...] = (CSV, XLSX)
SHEETS: tuple[str, ...] = ("Children", "Events", "Periods")
SHAPES: tuple[str, ...] = ("wide", "events", "periods")  # the shape of each sheet, in import order
CHILD_KEYS: tuple[str, ...] = (
    "authority",
    "reference",
    "name",
    "date_of_birth",
    "sex",
    "sibling_group",
    "accommodated",
)
LANE_WORDS = {"placement": "placement", "legal_status": "legal status"}  # as tracker-format.md writes them
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # a fixed time in the zip, so the same data gives the same bytes


def escape(value: object) -> object:
    """Return a text cell a spreadsheet cannot run as a formula, in a way the importer undoes exactly."""
    if isinstance(value, str) and value[:1] in ESCAPED_FIRST:
        return ESCAPE + value
    return value


@dataclass(frozen=True)
class TrackerTables:
    """An authority's tracker as three tables with the importer's headers, text cells escaped."""

    children: pd.DataFrame
    events: pd.DataFrame
    periods: pd.DataFrame

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """Return the tables in import order: children, events, periods."""
        return self.children, self.events, self.periods

    @property
    def records(self) -> int:
        """Count the rows of the three tables."""
        return sum(len(frame) for frame in self.frames())


def _headers(columns, keys) -> dict[str, str]:
    return {column.key: column.header for column in columns if column.key in keys}


def _escaped(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for name in out.columns:
        if not pd.api.types.is_datetime64_any_dtype(out[name]):
            cells = out[name].astype(object).where(out[name].notna(), None)
            out[name] = pd.Series([escape(cell) for cell in cells], index=out.index, dtype=object)
    return out


def tracker_tables(
    authority: str,
    children: pd.DataFrame,
    events: pd.DataFrame,
    periods: pd.DataFrame,
    *,
    with_names: bool,
) -> TrackerTables:
    """Return an authority's tracker from the store's frames of its children, events and periods.

    `children` has child_id, reference, name, date_of_birth, sex, sibling_group; `events` has
    child_id, code, on_date, attribute, note; `periods` has child_id, lane, category, start_date,
    end_date, note. Without `with_names` the Name column is left out (not emptied), so importing
    the file never erases a name.
    """
    reference = children.set_index("child_id")["reference"]
    first_accommodated = (
        events[events["code"] == "accommodated"].groupby("child_id")["on_date"].min().rename("accommodated")
    )
    kids = children.join(first_accommodated, on="child_id").assign(authority=authority)
    keys = [key for key in CHILD_KEYS if with_names or key != "name"]
    kids = kids.sort_values("reference", kind="stable")[keys].rename(columns=_headers(WIDE_COLUMNS, keys))

    code_order = {code: position for position, code in enumerate(EVENT_CODES)}
    log = events.assign(reference=events["child_id"].map(reference), order=events["code"].map(code_order))
    log = log.sort_values(["reference", "on_date", "order", "code"], kind="stable")
    log = log.rename(columns={"code": "event", "attribute": "detail"})
    log_keys = [column.key for column in EVENT_LOG_COLUMNS]
    log = log[log_keys].rename(columns=_headers(EVENT_LOG_COLUMNS, log_keys))

    lanes = periods.assign(
        reference=periods["child_id"].map(reference),
        lane=periods["lane"].map(LANE_WORDS).fillna(periods["lane"]),
    )
    lanes = lanes.sort_values(["reference", "lane", "start_date", "category"], kind="stable")
    period_keys = [column.key for column in PERIOD_COLUMNS]
    lanes = lanes[period_keys].rename(columns=_headers(PERIOD_COLUMNS, period_keys))
    return TrackerTables(_escaped(kids), _escaped(log), _escaped(lanes))


def file_stem(authority: str, today: dt.date) -> str:
    """Return the name an export is saved under, without its extension."""
    return f"{authority.lower()}-tracker-{today.isoformat()}"


def member_names(stem: str) -> tuple[str, ...]:
    """Return the names of the CSV files inside a CSV export, in import order."""
    return tuple(f"{stem}-{sheet.lower()}.csv" for sheet in SHEETS)


def to_csv_zip(tables: TrackerTables, stem: str) -> bytes:
    """Return the tracker as a zip of three UTF-8 CSV files, children first."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, frame in zip(member_names(stem), tables.frames(), strict=True):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, to_csv_bytes(frame))
    return buffer.getvalue()


def to_xlsx(tables: TrackerTables) -> bytes:
    """Return the tracker as one workbook with a sheet for each table; dates are date cells."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for sheet, frame in zip(SHEETS, tables.frames(), strict=True):
            cells = frame.copy()
            for name in cells.columns:
                if pd.api.types.is_datetime64_any_dtype(cells[name]):
                    cells[name] = cells[name].dt.date.astype(object).where(cells[name].notna(), None)
            cells.to_excel(writer, sheet_name=sheet, index=False)
    return buffer.getvalue()


def read_csv_zip(data: bytes) -> dict[str, bytes]:
    """Return the CSV files of a CSV export by sheet name, for importing them in order."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        return {
            sheet: archive.read(next(name for name in names if name.endswith(f"-{sheet.lower()}.csv")))
            for sheet in SHEETS
        }
