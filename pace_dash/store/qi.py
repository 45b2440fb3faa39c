"""Annotations and aims: the Quality Improvement notes of each authority, read and written within a Scope."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Select, insert, or_, select, update
from sqlalchemy.orm import Session

from pace_dash.store.db import bump_data_version
from pace_dash.store.queries import Store
from pace_dash.store.schema import Aim, Annotation, LocalAuthority
from pace_dash.store.scope import Scope

ANNOTATION_KINDS: dict[str, str] = {
    "change": "Change made",
    "pdsa": "PDSA cycle (test of change)",
    "note": "Note",
}
ANNOTATION_TEXT_MAX = 500
ANNOTATION_COLUMNS = ["annotation_id", "la_id", "on_date", "kind", "text"]
AIM_COLUMNS = ["aim_id", "la_id", "la_code", "rule_key", "percent", "by_date", "label"]


class AnnotationError(ValueError):
    """An annotation cannot be saved as given; the message says why, in words for the user."""


def _frame(store: Store, statement: Select, columns: list[str], date_column: str) -> pd.DataFrame:
    with store.engine.connect() as connection:
        frame = pd.DataFrame(connection.execute(statement).all(), columns=columns)
    # SQL drivers hand back Python dates; the domain layer works on datetime64 columns.
    frame[date_column] = pd.to_datetime(frame[date_column]).dt.as_unit("ns")
    return frame


def annotations(store: Store, scope: Scope, la_ids: list[int] | None = None) -> pd.DataFrame:
    """List the annotations in scope, oldest first: the authorities' own and the national ones.

    `la_ids` narrows to some authorities (national annotations, with no authority, always come too).
    """
    statement = select(Annotation.id, Annotation.la_id, Annotation.on_date, Annotation.kind, Annotation.text)
    wanted = None if scope.la_ids is None else set(scope.la_ids)
    if la_ids is not None:
        wanted = set(la_ids) if wanted is None else wanted & set(la_ids)
    if wanted is not None:
        statement = statement.where(or_(Annotation.la_id.is_(None), Annotation.la_id.in_(sorted(wanted))))
    statement = statement.order_by(Annotation.on_date, Annotation.id)
    return _frame(store, statement, ANNOTATION_COLUMNS, "on_date").astype({"la_id": "Int64"})


def annotation(store: Store, scope: Scope, annotation_id: int) -> pd.Series | None:
    """Return one annotation in scope, or None when there is none with that id the scope may see."""
    found = annotations(store, scope)
    match = found[found["annotation_id"] == annotation_id]
    return None if match.empty else match.iloc[0]


def _checked(scope: Scope, la_id: int | None, on_date: dt.date, kind: str, text: str) -> dict:
    if kind not in ANNOTATION_KINDS:
        raise AnnotationError(f"Choose a kind of annotation: {', '.join(ANNOTATION_KINDS.values())}.")
    cleaned = (text or "").strip()
    if not cleaned:
        raise AnnotationError("Write what was changed or tested.")
    if len(cleaned) > ANNOTATION_TEXT_MAX:
        raise AnnotationError(f"Keep the text to {ANNOTATION_TEXT_MAX} characters.")
    if not isinstance(on_date, dt.date):
        raise AnnotationError("Give the date of the change.")
    if la_id is None and scope.la_ids is not None:
        raise AnnotationError("Only someone who sees every authority can add a national annotation.")
    if la_id is not None and scope.la_ids is not None and la_id not in scope.la_ids:
        raise AnnotationError("You cannot annotate an authority outside the ones you can see.")
    return {"la_id": la_id, "on_date": on_date, "kind": kind, "text": cleaned}


def add_annotation(
    store: Store, scope: Scope, *, la_id: int | None, on_date: dt.date, kind: str, text: str
) -> int:
    """Store a new annotation for an authority in scope and return its id."""
    values = _checked(scope, la_id, on_date, kind, text)
    with Session(store.engine) as session, session.begin():
        if la_id is not None and session.get(LocalAuthority, la_id) is None:
            raise AnnotationError("That authority does not exist.")
        new_id = session.scalar(insert(Annotation).values(**values).returning(Annotation.id))
        bump_data_version(session)
    return int(new_id)


def update_annotation(
    store: Store,
    scope: Scope,
    annotation_id: int,
    *,
    la_id: int | None,
    on_date: dt.date,
    kind: str,
    text: str,
) -> None:
    """Change an annotation in scope; both its old and its new authority must be in scope."""
    values = _checked(scope, la_id, on_date, kind, text)
    statement = update(Annotation).where(Annotation.id == annotation_id)
    if scope.la_ids is not None:
        # In the same statement as the write, so the check cannot go stale before it.
        statement = statement.where(Annotation.la_id.in_(sorted(scope.la_ids)))
    with Session(store.engine) as session, session.begin():
        if session.execute(statement.values(**values)).rowcount != 1:
            raise AnnotationError(
                "That annotation no longer exists, or is outside the authorities you can see."
            )
        bump_data_version(session)


def aims(store: Store, scope: Scope) -> pd.DataFrame:
    """List the aims of the authorities in scope, by authority and date."""
    statement = select(
        Aim.id, Aim.la_id, LocalAuthority.code, Aim.rule_key, Aim.percent, Aim.by_date, Aim.label
    ).join(LocalAuthority, LocalAuthority.id == Aim.la_id)
    if scope.la_ids is not None:
        statement = statement.where(Aim.la_id.in_(sorted(scope.la_ids)))
    statement = statement.order_by(LocalAuthority.code, Aim.by_date, Aim.id)
    return _frame(store, statement, AIM_COLUMNS, "by_date")
