"""Named read queries; every one takes a Scope and returns a DataFrame or a value."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from sqlalchemy import Engine, Select, func, literal, null, or_, select
from sqlalchemy.exc import OperationalError

from pace_dash.domain.pseudonyms import PREFIX as PSEUDONYM_PREFIX
from pace_dash.domain.pseudonyms import pseudonyms
from pace_dash.domain.rules import RULE_COLUMNS
from pace_dash.store.schema import Child, DataVersion, Event, ImportBatch, LocalAuthority, Period, TargetRule
from pace_dash.store.scope import Scope

EVENT_COLUMNS = ["event_id", "child_id", "la_id", "code", "on_date", "attribute", "note"]
PERIOD_COLUMNS = ["period_id", "child_id", "la_id", "lane", "category", "start_date", "end_date", "note"]
IMPORT_COLUMNS = ["import_id", "la_code", "created_at", "filename", "kind", "rows", "status"]
CHILD_COLUMNS = [
    "child_id", "la_id", "la_code", "reference", "name", "date_of_birth", "sex", "sibling_group",
]  # fmt: skip


def _as_dates(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    # SQL drivers hand back Python dates; the domain layer works on datetime64 columns.
    for column in columns:
        frame[column] = pd.to_datetime(frame[column]).dt.as_unit("ns")
    return frame


def _ids(child_ids: Iterable[int]) -> list[int]:
    # As Python ints: SQLite's driver cannot bind numpy's, and the query would match nothing.
    return [int(child_id) for child_id in child_ids]


class Store:
    """The app's data: a small vocabulary of read queries over one engine."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def _frame(self, statement: Select, columns: list[str]) -> pd.DataFrame:
        with self.engine.connect() as connection:
            rows = connection.execute(statement).all()
        # As plain tuples: pandas probes each SQLAlchemy Row for attributes it lacks, which cost a
        # third of a cold cohort query.
        return pd.DataFrame([tuple(row) for row in rows], columns=columns)

    @staticmethod
    def _limit(statement: Select, la_column, scope: Scope) -> Select:
        if scope.la_ids is None:
            return statement
        return statement.where(la_column.in_(sorted(scope.la_ids)))

    def available(self) -> bool:
        """Say whether the database answers a trivial query now."""
        try:
            with self.engine.connect() as connection:
                connection.execute(select(literal(1)))
        except OperationalError:
            return False
        return True

    def data_version(self) -> int:
        """Return the number every write bumps."""
        with self.engine.connect() as connection:
            return connection.execute(select(DataVersion.version)).scalar_one_or_none() or 0

    def authorities(self, scope: Scope) -> pd.DataFrame:
        """List the local authorities in scope."""
        statement = select(LocalAuthority.id, LocalAuthority.code, LocalAuthority.name)
        statement = self._limit(statement, LocalAuthority.id, scope).order_by(LocalAuthority.name)
        return self._frame(statement, ["la_id", "code", "name"])

    def children(self, scope: Scope, child_ids: Iterable[int] | None = None) -> pd.DataFrame:
        """List children in scope, optionally only some; names only where the scope allows."""
        name = Child.name if scope.see_names else null()
        statement = select(
            Child.id, Child.la_id, LocalAuthority.code, Child.reference, name,
            Child.date_of_birth, Child.sex, Child.sibling_group,
        ).join(LocalAuthority, LocalAuthority.id == Child.la_id)  # fmt: skip
        if child_ids is not None:
            statement = statement.where(Child.id.in_(_ids(child_ids)))
        statement = self._limit(statement, Child.la_id, scope).order_by(Child.id)
        children = _as_dates(self._frame(statement, CHILD_COLUMNS), "date_of_birth")
        if not scope.identifiable:
            children["reference"] = pseudonyms(children["child_id"], scope.pseudonym_key).to_numpy()
        return children

    def siblings(self, scope: Scope, child_id: int) -> pd.DataFrame:
        """Return the children in scope sharing a child's sibling group in its authority, itself included."""
        me = select(Child.la_id, Child.sibling_group).where(Child.id == child_id).subquery()
        statement = select(Child.id).join(
            me, (Child.la_id == me.c.la_id) & (Child.sibling_group == me.c.sibling_group)
        )
        statement = self._limit(statement, Child.la_id, scope)
        with self.engine.connect() as connection:
            ids = list(connection.execute(statement).scalars())
        return self.children(scope, ids)

    def find_children(self, scope: Scope, reference: str, la_code: str | None = None) -> pd.DataFrame:
        """Find children in scope by case reference, or by pseudonym in a scope that sees no references.

        Matching ignores case and surrounding spaces.
        """
        wanted = reference.strip().upper()
        if not scope.identifiable and not wanted.startswith(PSEUDONYM_PREFIX):
            # A scope that sees no references finds children by pseudonym only: a reference typed
            # in must not reveal which pseudonym belongs to it.
            return self.children(scope, [])
        statement = select(Child.id).join(LocalAuthority, LocalAuthority.id == Child.la_id)
        if scope.identifiable:
            statement = statement.where(Child.reference == wanted)
        if la_code:
            statement = statement.where(LocalAuthority.code == la_code.strip().upper())
        statement = self._limit(statement, Child.la_id, scope)
        with self.engine.connect() as connection:
            ids = list(connection.execute(statement).scalars())
        if scope.identifiable:
            return self.children(scope, ids)
        # A pseudonym cannot be looked up in SQL: make those of the candidates and compare.
        candidates = pd.Series(ids, dtype="int64")
        matching = candidates[(pseudonyms(candidates, scope.pseudonym_key) == wanted).to_numpy()]
        return self.children(scope, matching.tolist())

    def events(self, scope: Scope, child_ids: Iterable[int] | None = None) -> pd.DataFrame:
        """Return the point events of the children in scope, ordered by child and date."""
        statement = select(
            Event.id, Event.child_id, Child.la_id, Event.code, Event.on_date, Event.attribute, Event.note
        ).join(Child, Child.id == Event.child_id)
        if child_ids is not None:
            statement = statement.where(Event.child_id.in_(_ids(child_ids)))
        statement = self._limit(statement, Child.la_id, scope).order_by(
            Event.child_id, Event.on_date, Event.id
        )
        return _as_dates(self._frame(statement, EVENT_COLUMNS), "on_date")

    def periods(self, scope: Scope, child_ids: Iterable[int] | None = None) -> pd.DataFrame:
        """Return the placements and legal statuses of the children in scope."""
        statement = select(
            Period.id, Period.child_id, Child.la_id, Period.lane, Period.category,
            Period.start_date, Period.end_date, Period.note,
        ).join(Child, Child.id == Period.child_id)  # fmt: skip
        if child_ids is not None:
            statement = statement.where(Period.child_id.in_(_ids(child_ids)))
        statement = self._limit(statement, Child.la_id, scope).order_by(Period.child_id, Period.start_date)
        return _as_dates(self._frame(statement, PERIOD_COLUMNS), "start_date", "end_date")

    def rules(self, scope: Scope) -> pd.DataFrame:
        """Return the national default rules and the overrides of the authorities in scope."""
        statement = select(TargetRule.la_id, *(getattr(TargetRule, column) for column in RULE_COLUMNS))
        if scope.la_ids is not None:
            statement = statement.where(
                or_(TargetRule.la_id.is_(None), TargetRule.la_id.in_(sorted(scope.la_ids)))
            )
        ordered = statement.order_by(TargetRule.key, TargetRule.la_id)
        frame = _as_dates(self._frame(ordered, ["la_id", *RULE_COLUMNS]), "effective_from")
        return frame.astype({"la_id": "Int64", "later_days": "Int64", "days": "int64", "active": bool})

    def count_children(self, scope: Scope) -> int:
        """Count the children in scope."""
        statement = self._limit(select(func.count()).select_from(Child), Child.la_id, scope)
        with self.engine.connect() as connection:
            return connection.execute(statement).scalar_one()

    def imports(self, scope: Scope) -> pd.DataFrame:
        """List the imported tracker files of the authorities in scope, newest first."""
        statement = select(
            ImportBatch.id, LocalAuthority.code, ImportBatch.created_at, ImportBatch.filename,
            ImportBatch.kind, ImportBatch.rows, ImportBatch.status,
        ).join(LocalAuthority, LocalAuthority.id == ImportBatch.la_id)  # fmt: skip
        statement = self._limit(statement, ImportBatch.la_id, scope).order_by(
            ImportBatch.created_at.desc(), ImportBatch.id.desc()
        )
        frame = self._frame(statement, IMPORT_COLUMNS)
        frame["created_at"] = pd.to_datetime(frame["created_at"]).dt.as_unit("ns")
        return frame
