"""Tracker files -> validated frames -> one transaction (tracker-format.md).

One file is one transaction: it lands whole or not at all, and bumps the data version inside it.
Children are matched by (authority, reference), events by (child, code, date) and periods by
(child, lane, category, start); only what differs from the database is written, and every row
written records the import that wrote it. Nothing is ever deleted: an event or period missing
from a file stays as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np
import pandas as pd
from sqlalchemy import Engine, String, func, insert, select, type_coerce, update
from sqlalchemy.orm import Session

from pace_dash.domain.export import to_csv_bytes
from pace_dash.domain.tracker import (
    ERROR,
    NOTICE,
    WARNING,
    Parsed,
    Problem,
    guess_shape,
    read_table,
    validate,
)
from pace_dash.domain.tracker_export import TrackerTables, tracker_tables
from pace_dash.store.db import bump_data_version
from pace_dash.store.queries import Store
from pace_dash.store.schema import Child, Event, ImportBatch, LocalAuthority, Period
from pace_dash.store.scope import Scope

IMPORTED = "imported"
CHILD_FIELDS: tuple[str, ...] = ("name", "date_of_birth", "sex", "sibling_group")
# Events and periods are matched on their child's id: integers merge far faster than references.
EVENT_KEY: tuple[str, ...] = ("child_id", "code", "on_date")
PERIOD_KEY: tuple[str, ...] = ("child_id", "lane", "category", "start_date")
EVENT_COLUMNS = ["child_id", "code", "on_date", "attribute", "note", "import_id"]
PERIOD_COLUMNS = ["child_id", "lane", "category", "start_date", "end_date", "note", "import_id"]
# The stages an import reports to its progress callback, in order (a preview stops at comparing).
IMPORT_STAGES = (
    "reading", "validating", "comparing", "writing",
    "written children", "written events", "written periods", "committing", "done",
)  # fmt: skip
CHUNK_ROWS = 10_000  # rows per executemany: bounded memory for the driver's parameters
REBUILD_MIN_ROWS = 10_000  # below this, dropping and building indexes again gains nothing
ISO_SAMPLE = dt.date(2001, 2, 3)
SQLITE_IMPORT_CACHE = "PRAGMA cache_size = -65536"  # KiB: 64 MB, used only as far as needed
SQLITE_DEFAULT_CACHE = "PRAGMA cache_size = -2000"  # SQLite's compiled-in default
PROBLEM_COLUMNS: tuple[str, ...] = ("row", "column", "severity", "rule", "value")


@dataclass(frozen=True)
class Counts:
    """How many rows of one kind are new, changed and unchanged against the database."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class ImportReport:
    """What an import found and did (or, in a preview or when refused, would do)."""

    shape: str
    rows: int
    errors: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    notices: tuple[Problem, ...] = ()
    children: Counts = field(default_factory=Counts)
    events: Counts = field(default_factory=Counts)
    periods: Counts = field(default_factory=Counts)
    written: bool = False
    import_id: int | None = None
    previous_import_id: int | None = None  # the same bytes were imported before as this batch

    @property
    def needs_confirmation(self) -> bool:
        """Say whether only warnings stand between this file and the database."""
        return not self.errors and bool(self.warnings) and not self.written

    @property
    def changes(self) -> int:
        """Count the rows the import writes (or would write)."""
        return sum(counts.new + counts.changed for counts in (self.children, self.events, self.periods))

    def to_csv(self) -> bytes:
        """Return every problem as a downloadable CSV (spreadsheet formulas neutralised)."""
        frame = pd.DataFrame(
            [
                (problem.row or "", problem.column, problem.severity, problem.rule, problem.value)
                for problem in (*self.errors, *self.warnings, *self.notices)
            ],
            columns=list(PROBLEM_COLUMNS),
        )
        return to_csv_bytes(frame)

    def summary(self) -> str:
        """Return the report as a few lines of text for the command line."""
        lines = [f"{self.shape} file, {self.rows:,} rows."]
        for name in ("children", "events", "periods"):
            counts = getattr(self, name)
            if counts.new or counts.changed or counts.unchanged:
                new, changed, same = counts.new, counts.changed, counts.unchanged
                lines.append(f"  {name}: {new:,} new, {changed:,} changed, {same:,} unchanged")
        for problem in (*self.errors, *self.warnings, *self.notices):
            where = f"row {problem.row}" if problem.row else "file"
            value = f" ({problem.value})" if problem.value else ""
            lines.append(f"  {problem.severity}: {where}, {problem.column or '-'}: {problem.rule}{value}")
        if self.errors:
            lines.append(f"Nothing imported: {len(self.errors):,} errors.")
        elif self.written:
            lines.append(f"Imported as batch {self.import_id}.")
        elif self.needs_confirmation:
            lines.append(f"Not imported yet: {len(self.warnings):,} warnings to confirm.")
        elif not self.changes:
            again = f" (same file as batch {self.previous_import_id})" if self.previous_import_id else ""
            lines.append(f"Nothing changed{again}: the database already holds this file's data.")
        else:
            lines.append("Preview only: nothing written.")
        return "\n".join(lines)


def _split(problems: tuple[Problem, ...]) -> dict[str, tuple[Problem, ...]]:
    return {
        kind: tuple(problem for problem in problems if problem.severity == severity)
        for kind, severity in (("errors", ERROR), ("warnings", WARNING), ("notices", NOTICE))
    }


def _as_dates(values: pd.Series) -> pd.Series:
    # SQLite gives ISO text (numpy reads 100,000 in milliseconds), psycopg gives dates.
    if isinstance(next((value for value in values if value is not None), None), str):
        return pd.Series(np.array(values.tolist(), dtype="datetime64[D]"), index=values.index).astype(
            "datetime64[ns]"
        )
    return pd.to_datetime(values).astype("datetime64[ns]")


def _stored_frame(session: Session, statement, columns: list[str], dates: tuple[str, ...]) -> pd.DataFrame:
    """Return a query's rows as a frame: text as objects, ids as integers, dates as datetime64.

    The rows come straight from the driver's cursor as plain tuples: SQLAlchemy's Row objects
    take about twice as long to fetch and five times as long to turn into columns. So every column
    selected must need no conversion by SQLAlchemy: text, integers, and dates through _raw_date.
    """
    result = session.connection().execute(statement)
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    frame = pd.DataFrame(
        {
            name: pd.Series([row[position] for row in rows], dtype="int64" if name.endswith("id") else object)
            for position, name in enumerate(columns)
        }
    )
    for column in dates:
        frame[column] = _as_dates(frame[column])
    return frame


def _raw_date(column):
    # SQLAlchemy turns each stored SQLite date into a `date` in Python (a third of a second for
    # 100,000): take the driver's value and convert the whole column at once instead.
    return type_coerce(column, String).label(column.key)


def _differs(merged: pd.DataFrame, fields: list[str]) -> pd.Series:
    differs = pd.Series(False, index=merged.index)
    for name in fields:
        mine, theirs = merged[name], merged[f"{name}_stored"]
        both_missing = mine.isna() & theirs.isna()
        differs |= ~both_missing & (
            mine.isna() | theirs.isna() | (mine.astype(object) != theirs.astype(object))
        )
    return differs


@dataclass(frozen=True)
class _Diff:
    new: pd.DataFrame
    changed: pd.DataFrame  # with "id": the stored row to update
    unchanged: int

    def counts(self) -> Counts:
        return Counts(len(self.new), len(self.changed), self.unchanged)


def _diff(incoming: pd.DataFrame, stored: pd.DataFrame, keys: list[str], fields: list[str]) -> _Diff:
    # Both sides are unique on the keys: the file's duplicates are errors, the stored ones dropped.
    merged = incoming.merge(stored, on=keys, how="left", suffixes=("", "_stored"), indicator=True)
    found = (merged["_merge"] == "both").to_numpy()
    changed = found & _differs(merged, fields).to_numpy()
    return _Diff(merged[~found], merged[changed], int((found & ~changed).sum()))


def _python_values(series: pd.Series) -> list:
    # Plain Python values for the drivers: dates as `date`, every missing value as None.
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.to_numpy(dtype="datetime64[D]").tolist()  # NaT becomes None
    return series.astype(object).where(series.notna(), None).tolist()


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict]:
    values = [_python_values(frame[name]) for name in columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


def _bound_values(series: pd.Series, column_type, dialect) -> list:
    """Return a column's values as SQLAlchemy would bind them for this dialect's driver."""
    processor = column_type.dialect_impl(dialect).bind_processor(dialect)
    if processor is None:
        return _python_values(series)
    if pd.api.types.is_datetime64_any_dtype(series) and processor(ISO_SAMPLE) == ISO_SAMPLE.isoformat():
        # SQLite stores a date as ISO text: numpy writes each distinct date once (a few thousand).
        codes, days = pd.factorize(series.to_numpy(dtype="datetime64[D]"), use_na_sentinel=False)
        iso = np.datetime_as_string(days, unit="D").astype(object)
        iso[np.isnat(days)] = None
        return iso[codes].tolist()
    return [processor(value) for value in _python_values(series)]


def _insert_rows(session: Session, model, frame: pd.DataFrame, columns: list[str]) -> None:
    """Insert a frame's rows in bulk: through the driver, column by column, where it allows.

    SQLAlchemy's executemany spends twice the database's own time turning each row's dict into
    the driver's tuple. With a positional driver (SQLite) the statement, compiled from insert(),
    goes to the driver's executemany in chunks, with the tuples made column by column; psycopg
    copies the rows in with COPY; any other driver gets Core's executemany.
    """
    if frame.empty:
        return
    connection = session.connection()
    table = model.__table__
    if connection.dialect.driver == "psycopg":
        _copy_rows(connection, table, frame, columns)
        return
    compiled = insert(table).compile(dialect=connection.dialect, column_keys=columns)
    if compiled.positional:
        values = {
            name: _bound_values(frame[name], table.c[name].type, connection.dialect) for name in columns
        }
        rows = list(zip(*(values[name] for name in compiled.positiontup), strict=True))
        for start in range(0, len(rows), CHUNK_ROWS):
            connection.exec_driver_sql(compiled.string, rows[start : start + CHUNK_ROWS])
        return
    records = _records(frame, columns)
    for start in range(0, len(records), CHUNK_ROWS):
        connection.execute(insert(table), records[start : start + CHUNK_ROWS])


def _copy_rows(connection, table, frame: pd.DataFrame, columns: list[str]) -> None:
    # COPY names the table and columns as identifiers composed by psycopg, never as formatted text.
    from psycopg import sql  # imported here: only PostgreSQL needs it

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(name) for name in columns)
    )
    values = [_python_values(frame[name]) for name in columns]
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in zip(*values, strict=True):
            copy.write_row(row)


@contextlib.contextmanager
def _indexes_rebuilt(session: Session, model, new_rows: int):
    """On SQLite, drop a table's indexes while more rows go in than it holds, then build them anew.

    Building an index once from every row is faster than growing it row by row when the batch
    outnumbers the table (a first import): 100,000 events are written a fifth faster. It happens
    inside the import's transaction, so other connections never see the table without its
    indexes, and an import that fails or dies keeps them as they were.
    """
    connection = session.connection()
    indexes = sorted(model.__table__.indexes, key=lambda index: index.name)
    if connection.dialect.name != "sqlite" or new_rows < REBUILD_MIN_ROWS or not indexes:
        yield
        return
    if new_rows <= connection.execute(select(func.count()).select_from(model)).scalar_one():
        yield
        return
    for index in indexes:
        index.drop(connection)
    yield
    for index in indexes:
        index.create(connection)


def _write(
    session: Session,
    model,
    new: pd.DataFrame,
    new_columns: list[str],
    changed: pd.DataFrame,
    fields: list[str],
) -> None:
    with _indexes_rebuilt(session, model, len(new)):
        _insert_rows(session, model, new, new_columns)
    if len(changed):
        # Only the compared fields are updated: a column the file lacks never erases stored data.
        session.execute(update(model), _records(changed, ["id", *fields]))


def import_tracker(
    engine: Engine,
    data: bytes,
    *,
    authority: str,
    filename: str,
    today: dt.date,
    shape: str | None = None,
    sheet: str | None = None,
    confirm: bool = False,
    preview: bool = False,
    authority_name: str | None = None,
    created_by: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> ImportReport:
    """Validate a tracker file and, unless it has errors, write what changed in one transaction.

    Warnings stop the import unless `confirm`; `preview` counts what would change and writes
    nothing; `authority_name` creates the authority when its code is new. The file name is kept
    only as a label, never used as a path.
    """
    step = progress or (lambda _stage: None)
    code = authority.strip().upper()
    step("reading")
    table = read_table(data, sheet)
    chosen = shape or guess_shape(table.headers)
    digest = hashlib.sha256(data).hexdigest()
    with Session(engine) as session, session.begin():
        la_id = session.scalar(select(LocalAuthority.id).where(LocalAuthority.code == code))
        if la_id is None and authority_name is None:
            problem = Problem(0, "", f"unknown authority {code}", code, ERROR)
            return ImportReport(chosen, len(table.frame), errors=(problem,))
        known = _stored_frame(
            session,
            select(
                Child.id,
                Child.reference,
                Child.name,
                _raw_date(Child.date_of_birth),
                Child.sex,
                Child.sibling_group,
            ).where(Child.la_id == la_id),
            ["id", "reference", *CHILD_FIELDS],
            ("date_of_birth",),
        )
        step("validating")
        parsed = validate(table, chosen, code, today, known[["reference", "date_of_birth"]])
        problems = _split(parsed.problems)
        if problems["errors"]:
            return ImportReport(chosen, parsed.rows, **problems)
        step("comparing")
        diffs = _compare(session, la_id, known, parsed)
        previous = session.scalar(
            select(ImportBatch.id)
            .where(ImportBatch.sha256 == digest, ImportBatch.la_id == la_id, ImportBatch.status == IMPORTED)
            .order_by(ImportBatch.id.desc())
            .limit(1)
        )
        report = ImportReport(
            chosen,
            parsed.rows,
            **problems,
            children=diffs["children"].counts(),
            events=diffs["events"].counts(),
            periods=diffs["periods"].counts(),
            previous_import_id=previous,
        )
        if preview or (report.needs_confirmation and not confirm) or not report.changes:
            return report
        step("writing")
        if la_id is None:
            la_id = session.scalar(
                insert(LocalAuthority).values(code=code, name=authority_name).returning(LocalAuthority.id)
            )
        import_id = session.scalar(
            insert(ImportBatch)
            .values(
                la_id=la_id,
                filename=PurePath(filename).name[:255],
                sha256=digest,
                kind=chosen,
                rows=parsed.rows,
                status=IMPORTED,
                created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                created_by=created_by,
            )
            .returning(ImportBatch.id)
        )
        _write_all(session, la_id, import_id, parsed, diffs, step)
        bump_data_version(session)
        step("committing")
    step("done")
    return ImportReport(
        chosen,
        parsed.rows,
        **problems,
        children=report.children,
        events=report.events,
        periods=report.periods,
        written=True,
        import_id=import_id,
        previous_import_id=previous,
    )


def _event_fields(parsed: Parsed) -> list[str]:
    # A wide tracker has no note column, so it never changes a stored event's note.
    return ["attribute", "note"] if "note" in parsed.present else ["attribute"]


def _period_fields(parsed: Parsed) -> list[str]:
    # Likewise a periods file without a note column never changes a stored period's note.
    return ["end_date", "note"] if "note" in parsed.present else ["end_date"]


def _with_child_ids(frame: pd.DataFrame, known: pd.DataFrame) -> pd.DataFrame:
    # Rows of children new in this file get -1: no stored row has it, so they are all new.
    position = pd.Index(known["reference"]).get_indexer(frame["reference"])
    ids = np.append(known["id"].to_numpy(dtype="int64"), -1)
    return frame.drop(columns="row").assign(child_id=ids[position])


def _compare(session: Session, la_id: int | None, known: pd.DataFrame, parsed: Parsed) -> dict[str, _Diff]:
    """Match the file's rows with the stored ones: children by reference, the rest by child id."""
    child_fields = [name for name in CHILD_FIELDS if name in parsed.present]
    children = _diff(
        parsed.children.drop(columns="row"),
        known.rename(columns={"id": "id_stored"}),
        ["reference"],
        child_fields,
    )
    in_authority = select(Child.id).where(Child.la_id == la_id)
    events = _stored_frame(
        session,
        select(
            Event.id, Event.child_id, Event.code, _raw_date(Event.on_date), Event.attribute, Event.note
        ).where(Event.child_id.in_(in_authority)),
        ["id", *EVENT_KEY, "attribute", "note"],
        ("on_date",),
    ).drop_duplicates(list(EVENT_KEY))  # two stored events with one key: the file updates the first
    periods = _stored_frame(
        session,
        select(
            Period.id,
            Period.child_id,
            Period.lane,
            Period.category,
            _raw_date(Period.start_date),
            _raw_date(Period.end_date),
            Period.note,
        ).where(Period.child_id.in_(in_authority)),
        ["id", *PERIOD_KEY, "end_date", "note"],
        ("start_date", "end_date"),
    ).drop_duplicates(list(PERIOD_KEY))
    return {
        "children": children,
        "events": _diff(
            _with_child_ids(parsed.events, known), events, list(EVENT_KEY), _event_fields(parsed)
        ),
        "periods": _diff(
            _with_child_ids(parsed.periods, known), periods, list(PERIOD_KEY), _period_fields(parsed)
        ),
    }


def _new_rows(diff: _Diff, ids: pd.Series, import_id: int, columns: list[str]) -> pd.DataFrame:
    # Children new in this file have their ids now. In child order, the database's index on
    # (child, date) grows at its end rather than all over, even from a log sorted by date.
    child_id = diff.new["child_id"].to_numpy(dtype="int64")
    unknown = child_id < 0
    if unknown.any():
        child_id = child_id.copy()
        child_id[unknown] = diff.new["reference"][unknown].map(ids).to_numpy(dtype="int64")
    order = np.argsort(child_id, kind="stable")
    return diff.new.assign(child_id=child_id, import_id=import_id)[columns].take(order)


def _write_all(
    session: Session,
    la_id: int,
    import_id: int,
    parsed: Parsed,
    diffs: dict[str, _Diff],
    step: Callable[[str], None],
) -> None:
    """Insert and update children, then events and periods, inside the caller's transaction."""
    with _sqlite_cache(session):
        _write_rows(session, la_id, import_id, parsed, diffs, step)


@contextlib.contextmanager
def _sqlite_cache(session: Session):
    """Give SQLite a page cache that holds the event indexes while a big file is written.

    The index on (code, date) takes new rows all over; with SQLite's default 2 MB cache, 100,000
    events spill pages and take about half as long again. The default comes back before the commit.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql(SQLITE_IMPORT_CACHE)
    try:
        yield
    finally:
        connection.exec_driver_sql(SQLITE_DEFAULT_CACHE)


def _write_rows(
    session: Session,
    la_id: int,
    import_id: int,
    parsed: Parsed,
    diffs: dict[str, _Diff],
    step: Callable[[str], None],
) -> None:
    child_fields = [name for name in CHILD_FIELDS if name in parsed.present]
    children = diffs["children"]
    _write(
        session,
        Child,
        children.new.assign(la_id=la_id, import_id=import_id),
        ["la_id", "reference", *child_fields, "import_id"],
        children.changed.rename(columns={"id_stored": "id"}).assign(import_id=import_id),
        [*child_fields, "import_id"],
    )
    step("written children")
    ids = pd.Series(dtype="int64")  # references to ids: needed only when the file adds children
    if len(children.new):
        stored = session.connection().execute(select(Child.reference, Child.id).where(Child.la_id == la_id))
        ids = pd.Series(dict(stored.all()))
    events = diffs["events"]
    _write(
        session,
        Event,
        _new_rows(events, ids, import_id, EVENT_COLUMNS),
        EVENT_COLUMNS,
        events.changed.assign(import_id=import_id),
        [*_event_fields(parsed), "import_id"],
    )
    step("written events")
    periods = diffs["periods"]
    _write(
        session,
        Period,
        _new_rows(periods, ids, import_id, PERIOD_COLUMNS),
        PERIOD_COLUMNS,
        periods.changed.assign(import_id=import_id),
        [*_period_fields(parsed), "import_id"],
    )
    step("written periods")


def export_tracker(store: Store, scope: Scope, authority: str) -> TrackerTables | None:
    """Return one authority's tracker for export, or None when the scope may not have it whole.

    A scope that sees pseudonyms (presentation) gets nothing: an export carries references and
    dates of birth. One that may not see names gets the tracker without its Name column.
    """
    code = authority.strip().upper()
    authorities = store.authorities(scope)
    chosen = authorities[authorities["code"] == code]
    if chosen.empty or not scope.identifiable:
        return None
    narrowed = scope.narrowed_to(int(chosen["la_id"].iloc[0]))
    return tracker_tables(
        code,
        store.children(narrowed),
        store.events(narrowed),
        store.periods(narrowed),
        with_names=scope.see_names,
    )
