"""Store queries on real databases: every query honours its Scope, dates come back as dates."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pace_dash.domain.pseudonyms import pseudonym
from pace_dash.store.db import bump_data_version
from pace_dash.store.queries import Store
from pace_dash.store.schema import Child, Event, ImportBatch, LocalAuthority, Period, TargetRule
from pace_dash.store.scope import Scope


def seed_two_authorities(engine) -> dict[str, int]:
    """Store two authorities with one child each; return their ids."""
    with Session(engine) as session, session.begin():
        north = LocalAuthority(code="NTH", name="Northshire (fictional)")
        south = LocalAuthority(code="STH", name="Southvale (fictional)")
        session.add_all([north, south])
        session.flush()
        amy = Child(la_id=north.id, reference="NTH-1", name="Amy Sentinel", date_of_birth=dt.date(2019, 5, 4))
        ben = Child(la_id=south.id, reference="STH-1", name="Ben Other", date_of_birth=dt.date(2020, 2, 1))
        session.add_all([amy, ben])
        session.flush()
        session.execute(
            insert(Event),
            [
                {"child_id": amy.id, "code": "accommodated", "on_date": dt.date(2024, 1, 1)},
                {"child_id": amy.id, "code": "lac_review", "on_date": dt.date(2024, 2, 1)},
                {"child_id": ben.id, "code": "accommodated", "on_date": dt.date(2025, 3, 1)},
            ],
        )
        session.add(
            Period(child_id=amy.id, lane="placement", category="foster", start_date=dt.date(2024, 1, 1))
        )
        session.add(
            TargetRule(
                la_id=south.id,
                key="first_review",
                label="First LAC review",
                from_code="accommodated",
                to_code="lac_review",
                days=28,
                strength="local",
                source="local aim",
            )
        )
        bump_data_version(session)
        return {"north": north.id, "south": south.id, "amy": amy.id, "ben": ben.id}


def test_scope_limits_every_query_to_its_authorities(engine):
    ids = seed_two_authorities(engine)
    store = Store(engine)
    north_only = Scope.authorities(ids["north"])
    assert store.authorities(north_only)["code"].tolist() == ["NTH"]
    assert store.children(north_only)["reference"].tolist() == ["NTH-1"]
    assert set(store.events(north_only)["child_id"]) == {ids["amy"]}
    assert store.events(north_only, [ids["ben"]]).empty
    assert store.find_children(north_only, "sth-1").empty
    assert len(store.periods(north_only)) == 1
    # National defaults plus only this authority's overrides.
    assert store.rules(north_only)["la_id"].dropna().empty
    assert store.rules(Scope.authorities(ids["south"]))["la_id"].dropna().tolist() == [ids["south"]]
    assert store.count_children(north_only) == 1
    assert store.count_children(Scope.everything()) == 2
    assert store.count_children(Scope.authorities(999)) == 0


def test_names_are_returned_only_to_scopes_allowed_them(engine):
    seed_two_authorities(engine)
    store = Store(engine)
    assert store.children(Scope.everything())["name"].tolist() == ["Amy Sentinel", "Ben Other"]
    assert store.children(Scope(la_ids=None, see_names=False))["name"].isna().all()


def test_dates_come_back_as_datetimes_and_open_periods_as_missing(engine):
    ids = seed_two_authorities(engine)
    store = Store(engine)
    events = store.events(Scope.everything(), [ids["amy"]])
    assert events["on_date"].dtype == "datetime64[ns]"
    assert events["on_date"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01")]
    periods = store.periods(Scope.everything())
    assert periods["end_date"].isna().all()
    assert store.children(Scope.everything())["date_of_birth"].iloc[0] == pd.Timestamp("2019-05-04")


def test_find_children_ignores_case_and_surrounding_spaces(engine):
    seed_two_authorities(engine)
    found = Store(engine).find_children(Scope.everything(), "  nth-1 ")
    assert found["reference"].tolist() == ["NTH-1"]


def test_every_write_bumps_the_data_version(engine):
    store = Store(engine)
    before = store.data_version()
    seed_two_authorities(engine)
    assert store.data_version() == before + 1


def test_references_are_unique_within_an_authority(engine):
    ids = seed_two_authorities(engine)
    with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
        session.add(Child(la_id=ids["north"], reference="NTH-1", date_of_birth=dt.date(2018, 1, 1)))


def test_deleting_a_child_deletes_its_events_on_both_backends(engine):
    ids = seed_two_authorities(engine)
    with Session(engine) as session, session.begin():
        session.delete(session.get(Child, ids["ben"]))
    with Session(engine) as session:
        assert (
            session.scalar(select(func.count()).select_from(Event).where(Event.child_id == ids["ben"])) == 0
        )


def test_presentation_scope_shows_pseudonyms_and_finds_by_pseudonym_only(engine):
    ids = seed_two_authorities(engine)
    store = Store(engine)
    presenting = Scope.presentation(b"test key")
    children = store.children(presenting)
    assert children["name"].isna().all()
    assert "NTH-1" not in set(children["reference"])
    shown = children.set_index("child_id").loc[ids["amy"], "reference"]
    assert shown == pseudonym(ids["amy"], b"test key")
    assert store.find_children(presenting, shown.lower())["child_id"].tolist() == [ids["amy"]]
    # A real reference finds nothing: otherwise whoever knows it could see which pseudonym it has.
    assert store.find_children(presenting, "NTH-1").empty
    assert store.find_children(presenting, "P-AAAA-AAAA").empty


def test_siblings_share_a_group_within_one_authority_and_scope(engine):
    ids = seed_two_authorities(engine)
    with Session(engine) as session, session.begin():
        for la_id, reference in ((ids["north"], "NTH-2"), (ids["north"], "NTH-3"), (ids["south"], "STH-2")):
            session.add(
                Child(
                    la_id=la_id, reference=reference, sibling_group="SG-1", date_of_birth=dt.date(2020, 1, 1)
                )
            )
        session.flush()
        first = session.scalar(select(Child.id).where(Child.reference == "NTH-2"))
    store = Store(engine)
    # The same label in another authority is another family.
    assert store.siblings(Scope.everything(), first)["reference"].tolist() == ["NTH-2", "NTH-3"]
    assert store.siblings(Scope.authorities(ids["south"]), first).empty
    assert store.siblings(Scope.everything(), ids["amy"]).empty  # no group, no siblings


def test_imports_lists_the_batches_in_scope_newest_first(engine):
    ids = seed_two_authorities(engine)
    batch = {"sha256": "0" * 64, "kind": "wide", "status": "imported"}
    with Session(engine) as session, session.begin():
        session.execute(
            insert(ImportBatch),
            [
                {**batch, "la_id": ids["north"], "filename": "old.csv", "rows": 3,
                 "created_at": dt.datetime(2026, 1, 5, 9, 0)},
                {**batch, "la_id": ids["south"], "filename": "south.csv", "rows": 4,
                 "created_at": dt.datetime(2026, 2, 1, 9, 0)},
                {**batch, "la_id": ids["north"], "filename": "new.xlsx", "rows": 5,
                 "created_at": dt.datetime(2026, 3, 1, 14, 30)},
            ],
        )  # fmt: skip
    store = Store(engine)
    north = store.imports(Scope.authorities(ids["north"]))
    assert north["filename"].tolist() == ["new.xlsx", "old.csv"]
    assert north["la_code"].tolist() == ["NTH", "NTH"]
    assert north.iloc[0]["created_at"] == pd.Timestamp(2026, 3, 1, 14, 30)
    assert store.imports(Scope.everything())["filename"].tolist() == ["new.xlsx", "south.csv", "old.csv"]
    assert store.imports(Scope.authorities(999)).empty
