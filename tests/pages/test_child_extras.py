"""The child page's comparison with its cohort and its siblings' view, on a small known data set."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from pace_dash.store.queries import Store
from pace_dash.store.schema import Child, Event, LocalAuthority
from pace_dash.store.scope import Scope
from tests.conftest import TODAY
from tests.pages.test_pages import find, text_of

# Two siblings accommodated together on 1 Mar 2025, with different plans, and one unrelated child.
CHILDREN = {
    "SIB-1": ("SG-7", [("accommodated", "2025-03-01", None), ("lac_review", "2025-04-05", None),
                       ("permanence_recommendation", "2025-10-01", "adoption")]),
    "SIB-2": ("SG-7", [("accommodated", "2025-03-01", None), ("lac_review", "2025-04-20", None),
                       ("permanence_recommendation", "2025-08-01", "kinship")]),
    "OTHER-1": (None, [("accommodated", "2025-03-01", None), ("lac_review", "2025-04-10", None),
                       ("permanence_recommendation", "2025-09-01", "adoption")]),
}  # fmt: skip


@pytest.fixture
def child(dash_app):
    """Return the child page module, importable once the session's app exists."""
    from pace_dash.pages import child

    return child


def seeded_store(engine) -> Store:
    """Store the three children in one fictional authority and return the store."""
    with Session(engine) as session, session.begin():
        authority = LocalAuthority(code="SIB", name="Siblingshire (fictional)")
        session.add(authority)
        session.flush()
        for reference, (group, events) in CHILDREN.items():
            record = Child(
                la_id=authority.id,
                reference=reference,
                sibling_group=group,
                date_of_birth=dt.date(2020, 1, 1),
            )
            session.add(record)
            session.flush()
            for code, day, attribute in events:
                session.add(
                    Event(
                        child_id=record.id, code=code, on_date=dt.date.fromisoformat(day), attribute=attribute
                    )
                )
    return Store(engine)


def test_siblings_are_drawn_side_by_side_with_their_different_plans(child, sqlite_engine):
    page = child.child_page(seeded_store(sqlite_engine), Scope.everything(), "SIB-1", None, TODAY)
    section = find(page, "child-siblings")
    graph = find(section, "child-siblings-graph")
    assert list(graph.figure.layout.yaxis.ticktext) == ["SIB-1 · Adoption", "SIB-2 · Kinship Care Order"]
    assert "/child/SIB-2" in text_of(section)
    assert "OTHER-1" not in text_of(section)


def test_a_child_without_a_sibling_group_has_no_siblings_section(child, sqlite_engine):
    page = child.child_page(seeded_store(sqlite_engine), Scope.everything(), "OTHER-1", None, TODAY)
    assert find(page, "child-siblings") is None


def test_comparison_places_the_child_among_the_same_route(child, sqlite_engine):
    page = child.child_page(seeded_store(sqlite_engine), Scope.everything(), "SIB-1", None, TODAY)
    table = text_of(find(page, "child-comparison"))
    # Adoption route: SIB-1 (35 days to first review) and OTHER-1 (40 days): SIB-1 is quicker, so
    # 0 took less and itself half: 0.5 / 2 = 25%. Recommendation: 214 days against 184: 75%.
    assert "slower than 25%" in table
    assert "slower than 75%" in table
    assert "Kinship" not in table
