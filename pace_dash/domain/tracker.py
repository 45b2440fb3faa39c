"""Tracker files: read CSV and XLSX, recognise the three shapes, and validate every row in one pass.

Pure parsing and checking, no SQL and no Dash (the store's importer writes what this accepts).
The contract is tracker-format.md: headers matched ignoring case, spaces, underscores and
punctuation; dates only as dd/mm/yyyy, d/m/yyyy, yyyy-mm-dd or real XLSX date cells; every
problem reported with the row number the user sees in Excel (header = row 1).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from pace_dash.domain.catalogue import CEASED_REASONS, EVENTS, LEGAL_STATUSES, ORDERS, PLACEMENTS, ROUTES
from pace_dash.domain.export import FORMULA_STARTS

SHAPES: tuple[str, ...] = ("wide", "events", "periods")
ERROR, WARNING, NOTICE = "error", "warning", "notice"
HEADER_ROW = 1

# Zip-bomb limits checked before openpyxl sees an XLSX (a real tracker is a few MB at most).
MAX_XLSX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_XLSX_ENTRIES = 2000
MAX_XLSX_RATIO = 200
# A tracker export writes this before a text cell a spreadsheet would run as a formula, or that
# starts with it already; reading takes exactly one away (see unescape).
ESCAPE = "'"
ESCAPED_FIRST: frozenset[str] = frozenset((*FORMULA_STARTS, ESCAPE))


@dataclass(frozen=True)
class Column:
    """A column of a tracker shape."""

    key: str
    header: str
    required: bool = False
    is_date: bool = False
    event: str | None = None  # wide tracker: the event code a date column records
    masked: bool = False  # a name or date of birth: never shown in a report


WIDE_COLUMNS: tuple[Column, ...] = (
    Column("authority", "Authority"),
    Column("reference", "Child reference", required=True),
    Column("name", "Name", masked=True),
    Column("date_of_birth", "Date of birth", required=True, is_date=True, masked=True),
    Column("sex", "Sex"),
    Column("sibling_group", "Sibling group"),
    Column("looked_after", "Date looked after", is_date=True, event="looked_after"),
    Column("accommodated", "Date accommodated", required=True, is_date=True, event="accommodated"),
    Column("review_2wk", "Two week review", is_date=True, event="review_2wk"),
    Column("lac_review", "First LAC review", is_date=True, event="lac_review"),
    Column("legal_advice", "Legal advice", is_date=True, event="legal_advice"),
    Column(
        "permanence_recommendation",
        "Permanence recommendation",
        is_date=True,
        event="permanence_recommendation",
    ),
    Column("route", "Permanence route"),
    Column("panel", "Panel", is_date=True, event="panel"),
    Column("adm_decision", "ADM decision", is_date=True, event="adm_decision"),
    Column("advice_hearing", "Advice hearing", is_date=True, event="advice_hearing"),
    Column("petition_lodged", "Petition lodged", is_date=True, event="petition_lodged"),
    Column("order_granted", "Final order", is_date=True, event="order_granted"),
    Column("order", "Final order type"),
    Column("ceased", "Date ceased", is_date=True, event="ceased"),
    Column("reason", "Ceased reason"),
)
EVENT_LOG_COLUMNS: tuple[Column, ...] = (
    Column("reference", "Child reference", required=True),
    Column("event", "Event", required=True),
    Column("on_date", "Date", required=True, is_date=True),
    Column("detail", "Detail"),
    Column("note", "Note"),
)
PERIOD_COLUMNS: tuple[Column, ...] = (
    Column("reference", "Child reference", required=True),
    Column("lane", "Lane", required=True),
    Column("category", "Category", required=True),
    Column("start_date", "Start", required=True, is_date=True),
    Column("end_date", "End", is_date=True),
    Column("note", "Note"),
)
SHAPE_COLUMNS: MappingProxyType[str, tuple[Column, ...]] = MappingProxyType(
    {"wide": WIDE_COLUMNS, "events": EVENT_LOG_COLUMNS, "periods": PERIOD_COLUMNS}
)
# The wide tracker's attribute columns and the date column each belongs with.
WIDE_ATTRIBUTES: MappingProxyType[str, str] = MappingProxyType(
    {"permanence_recommendation": "route", "order_granted": "order", "ceased": "reason"}
)
# Milestones that normally come in this order; one dated before the previous is a warning.
USUAL_ORDER: tuple[tuple[str, str], ...] = (
    ("accommodated", "permanence_recommendation"),
    ("permanence_recommendation", "panel"),
    ("panel", "adm_decision"),
    ("adm_decision", "petition_lodged"),
    ("petition_lodged", "order_granted"),
)
MILESTONE_SLOTS: MappingProxyType[str, int] = MappingProxyType(
    {code: slot for slot, code in enumerate(dict.fromkeys(code for pair in USUAL_ORDER for code in pair))}
)


def normalise(text: object) -> str:
    """Return a header or label reduced to lower-case letters and digits, for matching."""
    return re.sub(r"[^0-9a-z]", "", str(text).lower())


def _vocabulary(codes_and_labels: dict[str, str], *aliases: tuple[str, str]) -> MappingProxyType[str, str]:
    lookup = {normalise(code): code for code in codes_and_labels}
    lookup.update({normalise(label): code for code, label in codes_and_labels.items()})
    lookup.update({normalise(alias): code for alias, code in aliases})
    return MappingProxyType(lookup)


ROUTE_LOOKUP = _vocabulary(
    dict(ROUTES),
    ("Return home", "home"),
    ("Remain home", "home"),
    ("Kinship care order", "kinship"),
    ("PO with authority to adopt", "poa"),
)
ORDER_LOOKUP = _vocabulary(dict(ORDERS), ("Adoption", "adoption_order"), ("KCO", "kco"))
REASON_LOOKUP = _vocabulary(dict(CEASED_REASONS))
EVENT_LOOKUP = _vocabulary(
    {code: event.label for code, event in EVENTS.items()},
    *((column.header, column.event) for column in WIDE_COLUMNS if column.event),
    ("ADM", "adm_decision"),
)
EVENT_ATTRIBUTES: MappingProxyType[str, str | None] = MappingProxyType(
    {code: event.attribute for code, event in EVENTS.items()}
)
ATTRIBUTE_LOOKUPS: MappingProxyType[str, MappingProxyType[str, str]] = MappingProxyType(
    {"route": ROUTE_LOOKUP, "order": ORDER_LOOKUP, "reason": REASON_LOOKUP}
)
LANE_LOOKUP = MappingProxyType({"placement": "placement", "legalstatus": "legal_status"})
CATEGORY_LOOKUPS: MappingProxyType[str, MappingProxyType[str, str]] = MappingProxyType(
    {
        "placement": _vocabulary({code: c.label for code, c in PLACEMENTS.items()}),
        "legal_status": _vocabulary({code: c.label for code, c in LEGAL_STATUSES.items()}),
    }
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where, which rule, and the (masked) value."""

    row: int
    column: str
    rule: str
    value: str
    severity: str  # error: nothing is written; warning: written only once confirmed; notice


@dataclass(frozen=True)
class Table:
    """A sheet as read: its headers, its non-empty rows as text or dates, and reading problems."""

    headers: tuple[str, ...]
    frame: pd.DataFrame  # positional columns 0..n-1 of objects, plus "row": the Excel row number
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class Parsed:
    """A validated file: what it says about children, events and periods, and its problems."""

    shape: str
    present: frozenset[str]  # column keys the file has (a missing optional column changes nothing)
    children: pd.DataFrame  # row, reference, name, date_of_birth, sex, sibling_group
    events: pd.DataFrame  # row, reference, code, on_date, attribute, note
    periods: pd.DataFrame  # row, reference, lane, category, start_date, end_date, note
    problems: tuple[Problem, ...]
    rows: int


def mask(value: object) -> str:
    """Hide a name or date of birth, keeping only its shape (so a bad format still shows)."""
    return re.sub(r"\w", "*", str(value))


def _problem(row, column: Column | str, rule: str, value, severity: str = ERROR) -> Problem:
    header = column.header if isinstance(column, Column) else column
    shown = "" if value is None or (isinstance(value, float) and np.isnan(value)) else value
    if isinstance(shown, dt.datetime | dt.date):
        shown = shown.strftime("%d/%m/%Y")
    hidden = isinstance(column, Column) and column.masked
    return Problem(int(row), header, rule, mask(shown) if hidden else str(shown), severity)


def _flag(mask_: pd.Series, rows: pd.Series, column, rule, values, severity=ERROR) -> list[Problem]:
    # Problems are built only for the flagged cells: the checks themselves are whole-column.
    flagged = np.flatnonzero(mask_.to_numpy(dtype=bool))
    return [_problem(rows.iat[i], column, rule, values.iat[i], severity) for i in flagged]


# --- reading ----------------------------------------------------------------------------------


def read_table(data: bytes, sheet: str | None = None) -> Table:
    """Read a CSV or XLSX file's bytes (recognised by content, never by name) into a Table."""
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, sheet)
    if b"\x00" in data[:4096]:
        return _unreadable("not a CSV or XLSX file")
    return _read_csv(data)


def _unreadable(rule: str) -> Table:
    return Table((), pd.DataFrame({"row": pd.Series(dtype="int64")}), (Problem(0, "", rule, "", ERROR),))


def _read_csv(data: bytes) -> Table:
    problems = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            return _unreadable("not UTF-8 or Windows-1252 text")
        problems.append(
            Problem(
                0, "", "file is Windows-1252, not UTF-8: check accented letters read correctly", "", WARNING
            )
        )
    cells = _csv_cells(text)
    if cells.empty:
        return _unreadable("the file is empty")
    headers = tuple(str(value).strip() for value in cells.iloc[0])
    frame = cells.iloc[1:].reset_index(drop=True)
    return _table(headers, frame, problems)


def _csv_cells(text: str) -> pd.DataFrame:
    """Return every record of a CSV text as one row of text cells, in columns 0..n-1.

    One record per Excel row, quoted line breaks and blank rows included, so record numbers are
    the row numbers the user sees. pandas' C parser reads a regular file many times faster than
    the csv module; a row wider than the first, or quoting it will not read, falls back to the
    csv module, whose records are the same.
    """
    try:
        cells = pd.read_csv(
            io.StringIO(text),
            header=None,
            dtype=object,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except pd.errors.ParserError:
        records = list(csv.reader(io.StringIO(text, newline="")))
        if not records:
            return pd.DataFrame()
        width = max(len(record) for record in records)
        padded = [record + [""] * (width - len(record)) for record in records]
        return pd.DataFrame(padded, columns=range(width), dtype=object)
    cells.columns = range(cells.shape[1])
    return cells


def _read_xlsx(data: bytes, sheet: str | None) -> Table:
    # openpyxl uses defusedxml when installed (requirements.txt); the zip is checked first.
    import openpyxl  # imported here: only XLSX files need it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except zipfile.BadZipFile:
        return _unreadable("not a readable XLSX file")
    total = sum(entry.file_size for entry in entries)
    packed = sum(entry.compress_size for entry in entries) or 1
    if len(entries) > MAX_XLSX_ENTRIES or total > MAX_XLSX_UNCOMPRESSED or total / packed > MAX_XLSX_RATIO:
        return _unreadable("XLSX file too large when unpacked")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds for a damaged or fake workbook
        return _unreadable("not a readable XLSX file")
    try:
        if sheet is not None and sheet not in book.sheetnames:
            return _unreadable(f"no sheet called {sheet!r}")
        worksheet = book[sheet] if sheet is not None else book.worksheets[0]
        worksheet.reset_dimensions()  # some writers record a wrong size, which read-only mode trusts
        records = [list(values) for values in worksheet.iter_rows(values_only=True)]
    finally:
        book.close()
    if not records:
        return _unreadable("the sheet is empty")
    width = max(len(record) for record in records)
    padded = [record + [None] * (width - len(record)) for record in records]
    headers = tuple("" if value is None else str(value).strip() for value in padded[0])
    frame = pd.DataFrame(padded[1:], columns=range(width), dtype=object)
    problems = []
    for position in range(width):
        values = frame[position]
        # A formula is text starting with "=" (data_only=False): flagged and never evaluated.
        formula = values.map(lambda value: isinstance(value, str) and value.startswith("="))
        rows = pd.Series(np.arange(len(frame)) + HEADER_ROW + 1)
        header = headers[position] or f"column {position + 1}"
        problems += _flag(formula, rows, header, "formula: type the value, not a formula", values)
        frame[position] = values.mask(formula, None)
    return _table(headers, frame, problems)


def _table(headers: tuple[str, ...], frame: pd.DataFrame, problems: list[Problem]) -> Table:
    # A column of text becomes categorical: its distinct values, found here to spot blank rows,
    # travel with it, so validation need not find them again (see _Cells).
    columns, filled = {}, np.zeros(len(frame), dtype=bool)
    for position in frame.columns:
        cells = _Cells(frame[position])
        each = cells.distinct.notna() & cells.distinct.astype(str).str.strip().ne("")
        filled |= each.to_numpy(dtype=bool)[cells.codes]
        columns[position] = cells.column(frame[position])
    table = pd.DataFrame(columns, index=frame.index)
    table["row"] = np.arange(len(frame), dtype="int64") + HEADER_ROW + 1
    return Table(headers, table[filled].reset_index(drop=True), tuple(problems))


# --- cells -----------------------------------------------------------------------------------

DATE_PATTERN = re.compile(
    r"^(?:(?P<day>\d{1,2})/(?P<month>\d{1,2})/(?P<year>\d{4})"
    r"|(?P<iso_year>\d{4})-(?P<iso_month>\d{2})-(?P<iso_day>\d{2}))$"
)
TWO_DIGIT_YEAR = re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2}$")
NO_SUCH_DATE_RULE = "no such date (dates are day/month/year)"
TWO_DIGIT_YEAR_RULE = "two-digit year: write the year in full"
NOT_A_DATE_RULE = "not a date: use dd/mm/yyyy or yyyy-mm-dd"
EARLIEST_DATE = pd.Timestamp.min.ceil("D").date()
LATEST_DATE = pd.Timestamp.max.floor("D").date()


def _all_text(values: pd.Series) -> bool:
    return pd.api.types.infer_dtype(values, skipna=False) in {"string", "empty"}


class _Cells:
    """One column's cells as its distinct values and, for each cell, which of them it holds.

    A tracker column repeats few distinct values (a few event names, some thousand dates, one
    reference per child), so each rule is worked out once per distinct value and spread back to
    the cells: many times faster than cell by cell on a big file. A column of mixed XLSX cells
    keeps every cell as its own value, since 1 and True would count as one.
    """

    def __init__(self, cells: pd.Series):
        self.index = cells.index
        self.text = isinstance(cells.dtype, pd.CategoricalDtype) or _all_text(cells)
        if isinstance(cells.dtype, pd.CategoricalDtype):
            self.codes = cells.cat.codes.to_numpy()  # a column of text as read_table keeps it
            distinct = cells.cat.categories.to_numpy(dtype=object)
        elif self.text:
            self.codes, distinct = pd.factorize(cells.to_numpy(dtype=object))
        else:
            self.codes, distinct = np.arange(len(cells)), cells.to_numpy(dtype=object)
        self.distinct = pd.Series(distinct, dtype=object)

    def column(self, cells: pd.Series) -> pd.Series:
        """Return the cells as a categorical column when they are text, else as they are."""
        if not self.text:
            return cells
        categories = pd.CategoricalDtype(pd.Index(self.distinct, dtype=object))
        return pd.Series(pd.Categorical.from_codes(self.codes, dtype=categories), index=self.index)

    def spread(self, each: pd.Series) -> pd.Series:
        """Return what was worked out for each distinct value, for every cell."""
        return pd.Series(each.to_numpy()[self.codes], index=self.index, dtype=each.dtype)


def unescape(text: str) -> str:
    """Undo the apostrophe a tracker export puts before a text cell a spreadsheet would run.

    The export writes a leading apostrophe before text starting with =, +, -, @, a tab, a carriage
    return or an apostrophe; reading removes exactly one, so export then import gives the text back.
    """
    if text[:1] == ESCAPE and text[1:2] in ESCAPED_FIRST:
        return text[1:]
    return text


def _clean(values: pd.Series) -> pd.Series:
    return values.str.strip().map(unescape).astype(object)


def texts(values: pd.Series) -> pd.Series:
    """Return cells as stripped text, empty for missing; whole numbers from XLSX without ".0"."""
    cells = _Cells(values)
    return cells.spread(_texts_each(cells.distinct))


def _texts_each(values: pd.Series) -> pd.Series:
    if _all_text(values):
        return _clean(values)  # every CSV cell: no per-cell Python needed

    def one(value: object) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, dt.datetime | dt.date):
            return value.strftime("%d/%m/%Y")
        return unescape(str(value).strip())

    return values.map(one).astype(object)


def parse_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return the dates of some cells (NaT when empty) and the rule broken by each unreadable one."""
    cells = _Cells(values)
    dates, rule = _parse_dates(cells.distinct)
    return cells.spread(dates.astype("datetime64[ns]")), cells.spread(rule.astype(object))


def _parse_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    # Cell by cell: parse_dates and _dates call this with each distinct value once.
    if _all_text(values):
        is_cell_date = np.zeros(len(values), dtype=bool)
    else:
        is_cell_date = values.map(lambda value: isinstance(value, dt.date)).to_numpy(dtype=bool)
    parsed = [_text_date(text) for text in texts(values.where(~is_cell_date))]
    dates = pd.to_datetime(pd.Series([date for date, _rule in parsed], index=values.index, dtype=object))
    rule = pd.Series([rule for _date, rule in parsed], index=values.index, dtype=object)
    if is_cell_date.any():
        cell_dates = pd.to_datetime(
            values.where(is_cell_date).map(
                lambda value: value.date() if isinstance(value, dt.datetime) else value
            ),
            errors="coerce",
        )
        dates = cell_dates.where(is_cell_date, dates)
        rule = rule.where(~is_cell_date, "")
    return dates.astype("datetime64[ns]"), rule


def _text_date(text: str) -> tuple[dt.date | None, str]:
    """Return the date a cleaned text cell holds, or None and the rule it breaks ("" when empty)."""
    if not text:
        return None, ""
    match = DATE_PATTERN.match(text)
    if match is None:
        return None, TWO_DIGIT_YEAR_RULE if TWO_DIGIT_YEAR.match(text) else NOT_A_DATE_RULE
    year, month, day = (match[part] or match[f"iso_{part}"] for part in ("year", "month", "day"))
    try:
        date = dt.date(int(year), int(month), int(day))
    except ValueError:
        return None, NO_SUCH_DATE_RULE
    # A year pandas cannot hold (before 1677 or after 2262) is no such date either.
    return (date, "") if EARLIEST_DATE <= date <= LATEST_DATE else (None, NO_SUCH_DATE_RULE)


# --- validation ------------------------------------------------------------------------------


def guess_shape(headers: tuple[str, ...]) -> str:
    """Return the shape a header row looks like: events, periods or wide."""
    found = {normalise(header) for header in headers}
    if "lane" in found:
        return "periods"
    if "event" in found:
        return "events"
    return "wide"


def validate(
    table: Table,
    shape: str,
    authority: str,
    today: dt.date,
    known_children: pd.DataFrame | None = None,
) -> Parsed:
    """Check a table as one shape and return what it says, with every problem found.

    `known_children` (reference, date_of_birth) are the authority's children already stored:
    an event log or a periods file may only name those.
    """
    if shape not in SHAPE_COLUMNS:
        raise ValueError(f"unknown shape {shape!r}: one of {', '.join(SHAPES)}")
    columns = SHAPE_COLUMNS[shape]
    problems = list(table.problems)
    by_key = {normalise(column.header): column for column in columns}
    positions: dict[str, int] = {}
    for position, header in enumerate(table.headers):
        column = by_key.get(normalise(header))
        if column is None:
            if header or table.frame[position].notna().any():
                shown = header or f"column {position + 1}"
                problems.append(Problem(HEADER_ROW, shown, "unknown column: ignored", shown, NOTICE))
        elif column.key in positions:
            problems.append(Problem(HEADER_ROW, header, "duplicate column", header, ERROR))
        else:
            positions[column.key] = position
    unreadable = any(problem.row == 0 and problem.severity == ERROR for problem in problems)
    missing = [
        column for column in columns if column.required and column.key not in positions and not unreadable
    ]
    problems += [
        Problem(HEADER_ROW, column.header, "missing required column", "", ERROR) for column in missing
    ]
    frame = table.frame
    raw = pd.DataFrame({key: frame[position] for key, position in positions.items()}, index=frame.index)
    empty = _empty_parsed(shape, frozenset(positions), len(frame))
    if missing or unreadable:
        return _replace_problems(empty, problems)
    known = known_children if known_children is not None else _no_children()
    checker = {"wide": _wide, "events": _event_log, "periods": _periods}[shape]
    parsed = checker(raw, frame["row"], columns, authority, pd.Timestamp(today), known, problems)
    return parsed


def _no_children() -> pd.DataFrame:
    return pd.DataFrame(
        {"reference": pd.Series(dtype=object), "date_of_birth": pd.Series(dtype="datetime64[ns]")}
    )


def _frame(*columns: str) -> pd.DataFrame:
    # Typed even when empty, so an empty part of a file still merges with stored rows.
    return pd.DataFrame(
        {
            column: pd.Series(
                dtype="datetime64[ns]" if "date" in column else "int64" if column == "row" else object
            )
            for column in columns
        }
    )


def _empty_parsed(shape: str, present: frozenset[str], rows: int) -> Parsed:
    return Parsed(
        shape=shape,
        present=present,
        children=_frame("row", "reference", "name", "date_of_birth", "sex", "sibling_group"),
        events=_frame("row", "reference", "code", "on_date", "attribute", "note"),
        periods=_frame("row", "reference", "lane", "category", "start_date", "end_date", "note"),
        problems=(),
        rows=rows,
    )


def _replace_problems(parsed: Parsed, problems: list[Problem]) -> Parsed:
    order = sorted(problems, key=lambda problem: (problem.row, problem.column))
    return Parsed(
        parsed.shape,
        parsed.present,
        parsed.children,
        parsed.events,
        parsed.periods,
        tuple(order),
        parsed.rows,
    )


def _column(columns: tuple[Column, ...], key: str) -> Column:
    return next(column for column in columns if column.key == key)


def _references(raw, rows, columns, problems, *, categorical: bool = False) -> pd.Series:
    # References are matched as the search box finds them: trimmed and upper-case.
    cells = _Cells(raw["reference"])
    each = texts(cells.distinct).str.upper().astype(object)
    reference = cells.spread(each)
    problems += _flag(
        cells.spread(each == ""), rows, _column(columns, "reference"), "required value missing", reference
    )
    if not categorical:
        return reference
    # An event log names each child many times: as a categorical column, looking children up,
    # finding duplicates and matching with the database work on one value per child.
    canonical, distinct = pd.factorize(each)
    categories = pd.CategoricalDtype(pd.Index(distinct, dtype=object))
    return pd.Series(pd.Categorical.from_codes(canonical[cells.codes], dtype=categories), index=raw.index)


def _dates(raw, rows, column: Column, problems) -> pd.Series:
    if column.key not in raw:
        return pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    # Parsed and checked per distinct text, as parse_dates does, and only then spread to the rows.
    cells = _Cells(raw[column.key])
    dates, rule = _parse_dates(cells.distinct)
    for broken in rule[rule != ""].unique():
        problems += _flag(cells.spread(rule == broken), rows, column, broken, raw[column.key])
    if column.required:
        missing = cells.spread(dates.isna() & (rule == ""))
        problems += _flag(missing, rows, column, "required value missing", raw[column.key])
    return cells.spread(dates.astype("datetime64[ns]"))


def _check_timing(dates, birth, today, rows, column: Column, values, problems) -> None:
    problems += _flag(dates < birth, rows, column, "date before the date of birth", values)
    problems += _flag(dates > today, rows, column, "date in the future", values)


def _lookup(text: pd.Series, vocabulary) -> pd.Series:
    """Return the code each cleaned text cell names in a vocabulary, None where it names none."""
    cells = _Cells(text)
    found = cells.distinct.map(lambda one: vocabulary.get(normalise(one)) if one else None)
    return cells.spread(found.astype(object))


def _wide(raw, rows, columns, authority, today, _known, problems) -> Parsed:
    reference = _references(raw, rows, columns, problems)
    if "authority" in raw:
        given = texts(raw["authority"]).str.upper()
        wrong = (given != "") & (given != authority.upper())
        problems += _flag(wrong, rows, _column(columns, "authority"), f"not authority {authority}", given)
    birth_column = _column(columns, "date_of_birth")
    birth = _dates(raw, rows, birth_column, problems)
    problems += _flag(birth > today, rows, birth_column, "date in the future", raw["date_of_birth"])
    duplicate = (reference != "") & reference.duplicated()
    problems += _flag(duplicate, rows, _column(columns, "reference"), "duplicate child reference", reference)

    events = []
    for column in columns:
        if column.event is None:
            continue
        dates = _dates(raw, rows, column, problems)
        if column.key in raw:
            _check_timing(dates, birth, today, rows, column, raw[column.key], problems)
        attribute = pd.Series(None, index=raw.index, dtype=object)
        note = pd.Series(None, index=raw.index, dtype=object)
        kind = WIDE_ATTRIBUTES.get(column.event)
        if kind is not None:
            attribute, note = _wide_attribute(raw, rows, columns, kind, dates, problems)
        events.append(
            pd.DataFrame(
                {
                    "row": rows,
                    "reference": reference,
                    "code": column.event,
                    "on_date": dates,
                    "attribute": attribute,
                    "note": note,
                }
            )[dates.notna()]
        )
    event_frame = pd.concat(events, ignore_index=True)
    for name in ("attribute", "note"):
        # concat turns None into NaN in object columns; missing stays None, as the store gives it.
        event_frame[name] = event_frame[name].astype(object).where(event_frame[name].notna(), None)
    children = pd.DataFrame(
        {
            "row": rows,
            "reference": reference,
            "name": texts(raw["name"]) if "name" in raw else None,
            "date_of_birth": birth,
            "sex": texts(raw["sex"]) if "sex" in raw else None,
            "sibling_group": texts(raw["sibling_group"]) if "sibling_group" in raw else None,
        }
    ).replace({"": None})
    if "name" in raw:
        named = children[children["name"].notna() & children["date_of_birth"].notna()]
        shared = (
            named.groupby([named["name"].str.lower(), "date_of_birth"])["reference"].transform("nunique") > 1
        )
        problems += _flag(
            shared,
            named["row"],
            _column(columns, "name"),
            "name and date of birth shared with another child reference",
            named["name"],
            WARNING,
        )
    _order_warnings(event_frame, columns, problems)
    parsed = _empty_parsed("wide", frozenset(raw.columns), len(raw))
    return _replace_problems(
        Parsed("wide", parsed.present, children, event_frame, parsed.periods, (), len(raw)), problems
    )


def _wide_attribute(raw, rows, columns, kind: str, dates, problems) -> tuple[pd.Series, pd.Series]:
    column = _column(columns, kind)
    date_column = next(c for c in columns if c.event and WIDE_ATTRIBUTES.get(c.event) == kind)
    values = texts(raw[kind]) if kind in raw else pd.Series("", index=raw.index, dtype=object)
    code = _lookup(values, ATTRIBUTE_LOOKUPS[kind])
    note = pd.Series(None, index=raw.index, dtype=object)
    if kind == "reason":
        # A ceased reason may be free text: kept as the note, with the reason "other".
        free = (values != "") & code.isna()
        note = values.where(free, None)
        code = code.mask(free, "other")
    else:
        problems += _flag((values != "") & code.isna(), rows, column, f"unknown {kind}", values)
        problems += _flag(
            dates.notna() & (values == ""), rows, column, f"{kind} required with {date_column.header}", values
        )
    problems += _flag(
        dates.isna() & (values != ""), rows, column, f"{kind} given without {date_column.header}", values
    )
    return code, note


def _order_warnings(events: pd.DataFrame, columns, problems) -> None:
    # A table of each child's first date (and its row) of each milestone, one row per child, built
    # from one sort: then each pair of milestones is one comparison of two columns.
    slot = events["code"].map(MILESTONE_SLOTS).to_numpy(dtype="float64")
    mine = ~np.isnan(slot)
    child = pd.factorize(events["reference"][mine])[0]
    slot = slot[mine].astype("int64")
    day = events["on_date"].to_numpy(dtype="datetime64[ns]")[mine]
    row = events["row"].to_numpy(dtype="int64")[mine]
    order = np.lexsort((row, day, slot, child))
    first = np.ones(len(order), dtype=bool)
    first[1:] = (np.diff(child[order]) != 0) | (np.diff(slot[order]) != 0)
    chosen = order[first]
    shape = (child.max() + 1 if len(child) else 0, len(MILESTONE_SLOTS))
    dates = np.full(shape, np.datetime64("NaT", "ns"))
    rows = np.zeros(shape, dtype="int64")
    dates[child[chosen], slot[chosen]] = day[chosen]
    rows[child[chosen], slot[chosen]] = row[chosen]
    for earlier, later in USUAL_ORDER:
        before, after = MILESTONE_SLOTS[earlier], MILESTONE_SLOTS[later]
        out = dates[:, after] < dates[:, before]  # False where either is missing (NaT)
        header = next((c.header for c in columns if c.event == later), "Date")
        rule = f"{EVENTS[later].label} dated before {EVENTS[earlier].label}"
        problems += [
            Problem(int(number), header, rule, pd.Timestamp(when).strftime("%d/%m/%Y"), WARNING)
            for number, when in zip(rows[out, after], dates[out, after], strict=True)
        ]


def _known_birth(reference, known, rows, column, problems) -> pd.Series:
    births = known.drop_duplicates("reference").set_index("reference")["date_of_birth"]
    position = births.index.get_indexer(reference)
    problems += _flag(
        (reference != "") & (position < 0),
        rows,
        column,
        "unknown child reference: import the wide tracker first",
        reference,
    )
    # Position -1 (not known) takes the NaT appended last.
    dates = np.append(births.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
    return pd.Series(dates[position], index=reference.index, dtype="datetime64[ns]")


def _blank(raw: pd.DataFrame) -> pd.Series:
    return pd.Series("", index=raw.index, dtype=object)


def _event_log(raw, rows, columns, _authority, today, known, problems) -> Parsed:
    reference = _references(raw, rows, columns, problems, categorical=True)
    birth = _known_birth(reference, known, rows, _column(columns, "reference"), problems)
    event_column = _column(columns, "event")
    # Event names and details are a handful of distinct values: every rule on them is worked out
    # per distinct value and spread to the rows (see _Cells).
    event = _Cells(raw["event"])
    event_each = texts(event.distinct)
    code_each = _lookup(event_each, EVENT_LOOKUP)
    event_text, code = event.spread(event_each), event.spread(code_each)
    unknown_event = event.spread((event_each != "") & code_each.isna())
    problems += _flag(unknown_event, rows, event_column, "unknown event", event_text)
    problems += _flag(
        event.spread(event_each == ""), rows, event_column, "required value missing", event_text
    )
    date_column = _column(columns, "on_date")
    dates = _dates(raw, rows, date_column, problems)
    _check_timing(dates, birth, today, rows, date_column, raw["on_date"], problems)
    detail = _Cells(raw["detail"] if "detail" in raw else _blank(raw))
    detail_each = texts(detail.distinct)
    detail_text, detail_given = detail.spread(detail_each), detail.spread(detail_each != "")
    note = texts(raw["note"]) if "note" in raw else _blank(raw)
    kinds_each = code_each.map(EVENT_ATTRIBUTES)
    attribute = pd.Series(None, index=raw.index, dtype=object)
    detail_column = _column(columns, "detail")
    for kind, vocabulary in ATTRIBUTE_LOOKUPS.items():
        mine = event.spread(kinds_each == kind)
        if not mine.any():
            continue  # every rule below is about this kind's rows
        found = detail.spread(_lookup(detail_each, vocabulary))
        unknown = mine & detail_given & found.isna()
        if kind == "reason":
            # A free-text reason: the reason is "other" and the text goes first in the note.
            with_note = unknown & (note != "")
            note = note.mask(unknown & ~with_note, detail_text)
            note[with_note] = detail_text[with_note] + ": " + note[with_note]
            found = found.mask(unknown, "other")
        else:
            problems += _flag(unknown, rows, detail_column, f"unknown {kind}", detail_text)
            problems += _flag(mine & ~detail_given, rows, detail_column, f"{kind} required", detail_text)
        attribute = attribute.mask(mine, found)
    events = pd.DataFrame(
        {
            "row": rows,
            "reference": reference,
            "code": code,
            "on_date": dates,
            "attribute": attribute,
            "note": note.replace({"": None}),
        }
    )
    complete = events["code"].notna() & events["on_date"].notna() & (reference != "")
    duplicate = complete & events.duplicated(["reference", "code", "on_date"])
    problems += _flag(
        duplicate, rows, event_column, "duplicate event (same child, event and date)", event_text
    )
    _order_warnings(events[complete], columns, problems)
    parsed = _empty_parsed("events", frozenset(raw.columns), len(raw))
    return _replace_problems(
        Parsed("events", parsed.present, parsed.children, events[complete], parsed.periods, (), len(raw)),
        problems,
    )


def _periods(raw, rows, columns, _authority, today, known, problems) -> Parsed:
    reference = _references(raw, rows, columns, problems, categorical=True)
    birth = _known_birth(reference, known, rows, _column(columns, "reference"), problems)
    lane_text = texts(raw["lane"])
    lane = _lookup(lane_text, LANE_LOOKUP)
    problems += _flag(lane.isna(), rows, _column(columns, "lane"), "unknown lane", lane_text)
    category_text = texts(raw["category"])
    category = pd.Series(None, index=raw.index, dtype=object)
    for code, vocabulary in CATEGORY_LOOKUPS.items():
        category = category.mask(lane == code, _lookup(category_text, vocabulary))
    category_column = _column(columns, "category")
    problems += _flag(
        lane.notna() & category.isna(), rows, category_column, "unknown category", category_text
    )
    start_column, end_column = _column(columns, "start_date"), _column(columns, "end_date")
    start = _dates(raw, rows, start_column, problems)
    end = _dates(raw, rows, end_column, problems)
    _check_timing(start, birth, today, rows, start_column, raw["start_date"], problems)
    if "end_date" in raw:
        _check_timing(end, birth, today, rows, end_column, raw["end_date"], problems)
        problems += _flag(end < start, rows, end_column, "end before start", raw["end_date"])
    note = texts(raw["note"]) if "note" in raw else pd.Series("", index=raw.index, dtype=object)
    periods = pd.DataFrame(
        {
            "row": rows,
            "reference": reference,
            "lane": lane,
            "category": category,
            "start_date": start,
            "end_date": end,
            "note": note.replace({"": None}),
        }
    )
    complete = lane.notna() & category.notna() & start.notna() & (reference != "")
    duplicate = complete & periods.duplicated(["reference", "lane", "category", "start_date"])
    problems += _flag(
        duplicate,
        rows,
        start_column,
        "duplicate period (same child, lane, category and start)",
        raw["start_date"],
    )
    parsed = _empty_parsed("periods", frozenset(raw.columns), len(raw))
    return _replace_problems(
        Parsed("periods", parsed.present, parsed.children, parsed.events, periods[complete], (), len(raw)),
        problems,
    )
