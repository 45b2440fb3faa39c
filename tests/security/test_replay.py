"""Replay every callback with another authority's identifiers: nothing of theirs comes back.

A real server in its own process holds Northshire's and Southvale's children; Southvale's carry a
sentinel name and references that no request ever sends. Signed in as Northshire users, every
callback the app declares is called through /_dash-update-component with Southvale's authority
code, ids, references and filters. No response may contain the sentinels. The same replay by an
administrator must find them, which shows the requests reach the data.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from pace_dash.store.schema import Child, Event, LocalAuthority
from tests.conftest import (
    ADMIN,
    NORTH_MANAGER,
    NORTH_VIEWER,
    OTHER_AUTHORITY_REFERENCE,
    TEST_PASSWORD,
    known_children_database,
    serving,
)
from tests.figures.sample import EVENT_ROWS
from tests.security.helpers import request_body

SENTINEL_NAME = "Zebedee Sentinelchild"
SENTINEL_REFERENCES = ("STH-SENTINEL-1", "STH-SENTINEL-2")
SENTINEL_BIRTH = dt.date(2018, 2, 3)
# What must never reach a Northshire user, in every form a page could show it.
FORBIDDEN = (
    "Sentinelchild",
    "STH-SENTINEL",
    "2018-02-03",
    "3 Feb 2018",
    "03/02/2018",
    "Southvale",
)
ROUNDS = 5


@pytest.fixture(scope="module")
def two_authorities(tmp_path_factory):
    """Serve Northshire's and Southvale's children from a server of its own; yield it and B's ids."""
    url = f"sqlite:///{tmp_path_factory.mktemp('replay') / 'app.db'}"
    engine = known_children_database(url)
    with Session(engine) as session, session.begin():
        south = session.scalar(select(LocalAuthority).where(LocalAuthority.code == "STH"))
        for reference in SENTINEL_REFERENCES:
            child = Child(
                la_id=south.id, reference=reference, name=SENTINEL_NAME, date_of_birth=SENTINEL_BIRTH
            )
            session.add(child)
            session.flush()
            for code, day, attribute in EVENT_ROWS:
                session.add(
                    Event(
                        child_id=child.id, code=code, on_date=dt.date.fromisoformat(day), attribute=attribute
                    )
                )
        south_id = south.id
        south_children = list(session.scalars(select(Child.id).where(Child.la_id == south.id)))
    engine.dispose()
    log = tmp_path_factory.mktemp("replay-log") / "server.log"
    with serving({"PACE_DATABASE_URL": url}, log) as address:
        yield address, south_id, south_children


def signed_in(address: str, username: str) -> requests.Session:
    """Return an HTTP session signed in through the form."""
    client = requests.Session()
    page = client.get(f"{address}/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        f"{address}/login",
        data={"csrf_token": token, "username": username, "password": TEST_PASSWORD, "next": "/"},
        timeout=30,
    )
    response.raise_for_status()
    client.headers["X-CSRFToken"] = client.cookies["_csrf_token"]
    return client


def candidates(south_id: int, child_ids: list[int]) -> dict[str, list]:
    """Return, for each property name, the values of authority B a forged request might send."""
    code_filters = ["STH", ["STH"], south_id, [south_id], OTHER_AUTHORITY_REFERENCE]
    return {
        "pathname": [f"/child/{OTHER_AUTHORITY_REFERENCE}", "/cohort", "/watchlist", "/qi", "/"],
        "search": ["?authority=STH", "?la=STH", f"?la={south_id}", "?authority=STH&measure=per_child", ""],
        "href": [f"http://localhost/cohort?la=STH&authority={south_id}", "http://localhost/qi?authority=STH"],
        "value": code_filters,
        "data": [child_ids[-1], child_ids[0], {"child_id": child_ids[-1]}, str(child_ids[-1]), None],
        "n_clicks": [1],
        "n_submit": [1],
        "clickData": [
            {
                "points": [
                    {"customdata": [child_ids[-1]], "pointIndex": 0, "curveNumber": 0, "x": "2025-09-01"}
                ]
            },
            {"points": [{"customdata": child_ids[-1], "pointNumber": 0, "curveNumber": 1}]},
        ],
        "selectedRows": [[{"child_id": child_ids[-1]}]],
        "cellClicked": [{"rowIndex": 0, "colId": "reference", "value": OTHER_AUTHORITY_REFERENCE}],
        "start_date": ["2014-01-01"],
        "end_date": ["2026-11-29"],
        "date": ["2015-01-01"],
    }


def replay(
    client: requests.Session, address: str, south_id: int, child_ids: list[int]
) -> tuple[list[str], int]:
    """Call every declared server callback ROUNDS times with B's values; return the bodies and 200s."""
    specs = [
        spec
        for spec in client.get(f"{address}/_dash-dependencies", timeout=30).json()
        if not spec.get("clientside_function")
    ]
    values = candidates(south_id, child_ids)
    bodies, answered = [], 0
    for round_number in range(ROUNDS):

        def value_for(_id, prop, round_number=round_number):
            choices = values.get(prop, [None])
            return choices[round_number % len(choices)]

        for spec in specs:
            response = client.post(
                f"{address}/_dash-update-component", json=request_body(spec, value_for), timeout=60
            )
            bodies.append(response.text)
            answered += response.status_code == 200
    return bodies, answered


def leaks(bodies: list[str]) -> list[str]:
    """Return each forbidden string found in any body."""
    return sorted({secret for secret in FORBIDDEN for body in bodies if secret in body})


@pytest.mark.parametrize("username", [NORTH_MANAGER, NORTH_VIEWER])
def test_no_callback_gives_a_northshire_user_southvales_children(two_authorities, username):
    address, south_id, child_ids = two_authorities
    bodies, answered = replay(signed_in(address, username), address, south_id, child_ids)
    assert answered >= 10, "too few callbacks answered: the replay would prove nothing"
    assert leaks(bodies) == []


def test_the_same_replay_by_an_administrator_finds_the_sentinels(two_authorities):
    address, south_id, child_ids = two_authorities
    bodies, _answered = replay(signed_in(address, ADMIN), address, south_id, child_ids)
    # Names show only on a child's own page, reached by a reference no request sends.
    assert {"STH-SENTINEL", "2018-02-03", "Southvale"} <= set(leaks(bodies))
