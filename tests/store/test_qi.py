"""Annotations and aims in the database: written and read only within a Scope, every write versioned."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from pace_dash.store import qi as qi_store
from pace_dash.store.queries import Store
from pace_dash.store.schema import Aim, Annotation, LocalAuthority
from pace_dash.store.scope import Scope

PACE_START = dt.date(2017, 4, 1)


@pytest.fixture
def store(engine) -> Store:
    """Return a store with two authorities (ids 1 and 2 in scope terms: see `ids`)."""
    with Session(engine) as session, session.begin():
        session.add_all(
            [LocalAuthority(code="NTH", name="North (fictional)"), LocalAuthority(code="STH", name="South")]
        )
    return Store(engine)


def ids(store: Store) -> dict[str, int]:
    return store.authorities(Scope.everything()).set_index("code")["la_id"].to_dict()


def count_annotations(store: Store) -> int:
    with Session(store.engine) as session:
        return session.scalar(select(func.count()).select_from(Annotation))


def test_adding_an_annotation_stores_it_and_bumps_the_data_version(store):
    north = ids(store)["NTH"]
    before = store.data_version()
    new_id = qi_store.add_annotation(
        store,
        Scope.authorities(north),
        la_id=north,
        on_date=PACE_START,
        kind="pdsa",
        text="  Two-week review  ",
    )
    assert store.data_version() == before + 1
    found = qi_store.annotations(store, Scope.authorities(north))
    assert found[["annotation_id", "la_id", "kind", "text"]].values.tolist() == [
        [new_id, north, "pdsa", "Two-week review"]
    ]
    assert found["on_date"].iloc[0].date() == PACE_START


def test_reads_show_the_authorities_in_scope_and_national_notes_only(store):
    north, south = ids(store)["NTH"], ids(store)["STH"]
    everything = Scope.everything()
    qi_store.add_annotation(
        store, everything, la_id=north, on_date=dt.date(2020, 1, 1), kind="change", text="N"
    )
    qi_store.add_annotation(
        store, everything, la_id=south, on_date=dt.date(2019, 1, 1), kind="note", text="S"
    )
    qi_store.add_annotation(
        store, everything, la_id=None, on_date=dt.date(2021, 1, 1), kind="note", text="All"
    )
    assert qi_store.annotations(store, Scope.authorities(north))["text"].tolist() == ["N", "All"]
    assert qi_store.annotations(store, everything)["text"].tolist() == ["S", "N", "All"]  # oldest first
    assert qi_store.annotations(store, everything, [south])["text"].tolist() == ["S", "All"]
    # Asking for an authority outside the scope does not widen it.
    assert qi_store.annotations(store, Scope.authorities(north), [south])["text"].tolist() == ["All"]


def test_writes_outside_the_scope_are_refused_and_change_nothing(store):
    north, south = ids(store)["NTH"], ids(store)["STH"]
    north_only = Scope.authorities(north)
    version = store.data_version()
    with pytest.raises(qi_store.AnnotationError, match="outside"):
        qi_store.add_annotation(store, north_only, la_id=south, on_date=PACE_START, kind="pdsa", text="x")
    with pytest.raises(qi_store.AnnotationError, match="national"):
        qi_store.add_annotation(store, north_only, la_id=None, on_date=PACE_START, kind="pdsa", text="x")
    southern = qi_store.add_annotation(
        store, Scope.everything(), la_id=south, on_date=PACE_START, kind="pdsa", text="south's"
    )
    version = store.data_version()
    with pytest.raises(qi_store.AnnotationError, match="no longer exists"):
        qi_store.update_annotation(
            store, north_only, southern, la_id=north, on_date=PACE_START, kind="note", text="x"
        )
    assert store.data_version() == version
    assert qi_store.annotation(store, Scope.everything(), southern)["text"] == "south's"
    assert qi_store.annotation(store, north_only, southern) is None


def test_updating_an_annotation_changes_every_field(store):
    north, south = ids(store)["NTH"], ids(store)["STH"]
    everything = Scope.everything()
    note_id = qi_store.add_annotation(
        store, everything, la_id=north, on_date=PACE_START, kind="pdsa", text="a"
    )
    version = store.data_version()
    qi_store.update_annotation(
        store, everything, note_id, la_id=south, on_date=dt.date(2018, 2, 3), kind="change", text="b"
    )
    assert store.data_version() == version + 1
    changed = qi_store.annotation(store, everything, note_id)
    assert (changed["la_id"], changed["on_date"].date(), changed["kind"], changed["text"]) == (
        south,
        dt.date(2018, 2, 3),
        "change",
        "b",
    )
    assert count_annotations(store) == 1


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("pdsa", "   ", "Write what"),
        ("pdsa", "x" * (qi_store.ANNOTATION_TEXT_MAX + 1), "500 characters"),
        ("meeting", "x", "kind"),
    ],
)
def test_bad_annotations_are_refused_in_words(store, kind, text, message):
    north = ids(store)["NTH"]
    with pytest.raises(qi_store.AnnotationError, match=message):
        qi_store.add_annotation(
            store, Scope.everything(), la_id=north, on_date=PACE_START, kind=kind, text=text
        )
    assert count_annotations(store) == 0


def test_an_annotation_for_an_unknown_authority_is_refused(store):
    with pytest.raises(qi_store.AnnotationError, match="does not exist"):
        qi_store.add_annotation(
            store, Scope.everything(), la_id=999, on_date=PACE_START, kind="note", text="x"
        )


def test_aims_are_read_within_the_scope(store):
    north, south = ids(store)["NTH"], ids(store)["STH"]
    with Session(store.engine) as session, session.begin():
        session.execute(
            insert(Aim),
            [
                {"la_id": north, "rule_key": "permanence_recommendation", "percent": 90,
                 "by_date": dt.date(2018, 12, 31), "label": "90% within 26 weeks"},
                {"la_id": south, "rule_key": "first_review", "percent": 95,
                 "by_date": dt.date(2018, 6, 30), "label": "95% first review in 6 weeks"},
            ],
        )  # fmt: skip
    everything = qi_store.aims(store, Scope.everything())
    assert everything[["la_code", "rule_key", "percent"]].values.tolist() == [
        ["NTH", "permanence_recommendation", 90],
        ["STH", "first_review", 95],
    ]
    assert everything["by_date"].iloc[0].date() == dt.date(2018, 12, 31)
    assert qi_store.aims(store, Scope.authorities(south))["la_code"].tolist() == ["STH"]
