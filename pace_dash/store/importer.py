"""Tracker files -> validated frames -> one transaction (tracker-format.md).

One file is one transaction: it lands whole or not at all, and bumps the data version inside it.
Children are matched by (authority, reference), events by (child, code, date) and periods by
(child, lane, category, start); only what differs from the database is written, and every row
written records the import that wrote it. Nothing is ever deleted: an event or period missing
from a file stays as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath

import pandas as pd
from sqlalchemy import Engine, insert, select, update
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
from pace_dash.store.db import bump_data_version
from pace_dash.store.schema import Child, Event, ImportBatch, LocalAuthority, Period

IMPORTED = "imported"
CHILD_FIELDS: tuple[str, ...] = ("name", "date_of_birth", "sex", "sibling_group")
EVENT_KEY: tuple[str, ...] = ("reference", "code", "on_date")
PERIOD_KEY: tuple[str, ...] = ("reference", "lane", "category", "start_date")
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


def _stored_frame(session: Session, statement, columns: list[str], dates: tuple[str, ...]) -> pd.DataFrame:
    # Core rows through the session's connection, transposed: ORM rows into pandas cost 3x more.
    rows = session.connection().execute(statement).all()
    values = list(zip(*rows, strict=True)) if rows else [pd.Series(dtype=object)] * len(columns)
    frame = pd.DataFrame(dict(zip(columns, values, strict=True)), columns=columns)
    for column in dates:
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    return frame


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
    merged = incoming.merge(
        stored, on=keys, how="left", suffixes=("", "_stored"), indicator=True, validate="one_to_one"
    )
    found = merged["_merge"] == "both"
    changed = found & _differs(merged, fields)
    return _Diff(merged[~found], merged[changed], int((found & ~changed).sum()))


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict]:
    # Plain Python values for the drivers: dates as `date`, every missing value as None.
    out = {}
    for name in columns:
        series = frame[name]
        if pd.api.types.is_datetime64_any_dtype(series):
            out[name] = [None if pd.isna(value) else value.date() for value in series]
        else:
            out[name] = series.astype(object).where(series.notna(), None).tolist()
    return [dict(zip(out, values, strict=True)) for values in zip(*out.values(), strict=True)]


def _write(
    session: Session,
    model,
    new: pd.DataFrame,
    new_columns: list[str],
    changed: pd.DataFrame,
    fields: list[str],
) -> None:
    if len(new):
        # render_nulls keeps rows with and without missing values in one batch.
        session.execute(insert(model).execution_options(render_nulls=True), _records(new, new_columns))
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
    table = read_table(data)
    chosen = shape or guess_shape(table.headers)
    digest = hashlib.sha256(data).hexdigest()
    with Session(engine) as session, session.begin():
        la_id = session.scalar(select(LocalAuthority.id).where(LocalAuthority.code == code))
        if la_id is None and authority_name is None:
            problem = Problem(0, "", f"unknown authority {code}", code, ERROR)
            return ImportReport(chosen, len(table.frame), errors=(problem,))
        known = _stored_frame(
            session,
            select(Child.id, Child.reference, *(getattr(Child, name) for name in CHILD_FIELDS)).where(
                Child.la_id == la_id
            ),
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


def _compare(session: Session, la_id: int | None, known: pd.DataFrame, parsed: Parsed) -> dict[str, _Diff]:
    """Match the file's rows with the stored ones."""
    child_fields = [name for name in CHILD_FIELDS if name in parsed.present]
    children = _diff(
        parsed.children.drop(columns="row"),
        known.rename(columns={"id": "id_stored"}),
        ["reference"],
        child_fields,
    )
    events = _stored_frame(
        session,
        select(Event.id, Child.reference, Event.code, Event.on_date, Event.attribute, Event.note)
        .join(Child, Child.id == Event.child_id)
        .where(Child.la_id == la_id),
        ["id", *EVENT_KEY, "attribute", "note"],
        ("on_date",),
    ).drop_duplicates(list(EVENT_KEY))  # two stored events with one key: the file updates the first
    periods = _stored_frame(
        session,
        select(Period.id, Child.reference, Period.lane, Period.category, Period.start_date, Period.end_date)
        .join(Child, Child.id == Period.child_id)
        .where(Child.la_id == la_id),
        ["id", *PERIOD_KEY, "end_date"],
        ("start_date", "end_date"),
    ).drop_duplicates(list(PERIOD_KEY))
    return {
        "children": children,
        "events": _diff(parsed.events.drop(columns="row"), events, list(EVENT_KEY), _event_fields(parsed)),
        "periods": _diff(parsed.periods.drop(columns="row"), periods, list(PERIOD_KEY), ["end_date"]),
    }


def _write_all(
    session: Session,
    la_id: int,
    import_id: int,
    parsed: Parsed,
    diffs: dict[str, _Diff],
    step: Callable[[str], None],
) -> None:
    """Insert and update children, then events and periods, inside the caller's transaction."""
    child_fields = [name for name in CHILD_FIELDS if name in parsed.present]
    children = diffs["children"]
    _write(
        session,
        Child,
        children.new.assign(la_id=la_id),
        ["la_id", "reference", *child_fields],
        children.changed.rename(columns={"id_stored": "id"}),
        child_fields,
    )
    step("written children")
    ids = dict(session.execute(select(Child.reference, Child.id).where(Child.la_id == la_id)).all())
    events = diffs["events"]
    _write(
        session,
        Event,
        events.new.assign(child_id=events.new["reference"].map(ids), import_id=import_id),
        ["child_id", "code", "on_date", "attribute", "note", "import_id"],
        events.changed.assign(import_id=import_id),
        [*_event_fields(parsed), "import_id"],
    )
    step("written events")
    periods = diffs["periods"]
    _write(
        session,
        Period,
        periods.new.assign(child_id=periods.new["reference"].map(ids), import_id=import_id),
        ["child_id", "lane", "category", "start_date", "end_date", "import_id"],
        periods.changed.assign(import_id=import_id),
        ["end_date", "import_id"],
    )
    step("written periods")
