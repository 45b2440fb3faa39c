"""The audit trail: one event per action, never a name, append-only, and answering an admin's questions."""

from __future__ import annotations

import base64
import datetime as dt
import itertools

import pandas as pd
import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from pace_dash.security.passwords import hash_password
from pace_dash.store.accounts import Accounts, AuditRecord, utc_now
from pace_dash.store.schema import AuditEvent
from pace_dash.store.scope import Scope
from pace_dash.web import EXTENSION_KEY
from tests.conftest import ADMIN, SAMPLE_NAME, SAMPLE_REFERENCE, TEST_PASSWORD
from tests.security.helpers import callback, dependencies, request_body, sign_in

_numbers = itertools.count(1)
ROUTER = ".._pages_content.children..._pages_store.data.."
WATCH_EXPORT = "watch-download.data"
AUDIT_SEARCH = "..audit-grid.rowData...audit-heading.children.."


@pytest.fixture
def auditor(dash_app):
    """Return a fresh manager's username and the app's accounts store."""
    accounts = dash_app.server.extensions[EXTENSION_KEY].accounts
    username = f"audited-{next(_numbers)}"
    accounts.create_user(username, hash_password(TEST_PASSWORD, username), "manager", ["NTH"])
    return username, accounts


def open_sample_child(dash_app, username: str, address: str, client=None):
    """Sign in and open the sample child's timeline as the browser does; return the answer."""
    client = client or dash_app.server.test_client()
    sign_in(client, username, address=address)
    router = next(spec for spec in dependencies(client) if spec["output"] == ROUTER)
    values = {"pathname": f"/child/{SAMPLE_REFERENCE}", "search": ""}
    return callback(client, request_body(router, lambda _id, prop: values.get(prop)))


def trail_of(accounts: Accounts, username: str):
    """Return a user's audited events, oldest first."""
    start = utc_now() - dt.timedelta(hours=1)
    return accounts.audit_trail(
        Scope.everything(), start, utc_now() + dt.timedelta(hours=1), username=username
    ).iloc[::-1]


def test_sign_in_failure_sign_out_each_write_one_event(dash_app, auditor):
    username, accounts = auditor
    client = dash_app.server.test_client()
    sign_in(client, username, "wrong but long enough", address="10.55.0.1")
    sign_in(client, username, address="10.55.0.1")
    client.post("/logout", data={"csrf_token": client.get_cookie("_csrf_token").value})
    trail = trail_of(accounts, username)
    assert trail[["action", "outcome"]].values.tolist() == [
        ["sign-in", "refused"],
        ["sign-in", "ok"],
        ["sign-out", "ok"],
    ]
    assert trail["role"].fillna("none").tolist() == ["none", "manager", "manager"]
    assert (trail["at"] <= pd.Timestamp(utc_now())).all()


def test_opening_a_childs_timeline_records_the_child_not_the_name(dash_app, auditor):
    username, accounts = auditor
    assert open_sample_child(dash_app, username, "10.55.0.2").status_code == 200
    viewed = trail_of(accounts, username).query("action == 'view-child'")
    assert len(viewed) == 1
    store = dash_app.server.extensions[EXTENSION_KEY].store
    sample_id = int(store.find_children(Scope.everything(), SAMPLE_REFERENCE)["child_id"].iloc[0])
    assert viewed.iloc[0]["child_id"] == sample_id
    assert viewed.iloc[0]["reference"] == SAMPLE_REFERENCE  # joined for the admin page, not stored
    assert viewed.iloc[0]["records"] == 1
    assert SAMPLE_NAME not in viewed.to_json(date_format="iso")


def test_an_export_records_how_many_rows_left(dash_app, auditor):
    username, accounts = auditor
    client = dash_app.server.test_client()
    sign_in(client, username, address="10.55.0.3")
    export = next(spec for spec in dependencies(client) if spec["output"] == WATCH_EXPORT)
    values = {"watch-csv.n_clicks": 1, "watch-within.value": 365}
    response = callback(client, request_body(export, lambda _id, prop: values.get(f"{_id}.{prop}")))
    assert response.status_code == 200
    exported = trail_of(accounts, username).query("action == 'export-watch-list-csv'")
    assert len(exported) == 1
    sent = base64.b64decode(response.get_json()["response"]["watch-download"]["data"]["content"])
    rows_sent = sent.decode("utf-8-sig").strip().count("\n")  # lines after the heading
    assert exported.iloc[0]["records"] == rows_sent >= 1


@pytest.mark.parametrize("statement", [update(AuditEvent).values(outcome="changed"), delete(AuditEvent)])
def test_the_database_refuses_to_change_or_delete_audit_events(engine, statement):
    accounts = Accounts(engine)
    accounts.audit(AuditRecord(action="sign-in", outcome="ok", username="someone"))
    with pytest.raises(DatabaseError, match="append-only"), Session(engine) as session, session.begin():
        session.execute(statement)
    trail = accounts.audit_trail(
        Scope.everything(), utc_now() - dt.timedelta(hours=1), utc_now() + dt.timedelta(hours=1)
    )
    assert trail["outcome"].tolist() == ["ok"]


def test_the_audit_page_answers_who_looked_at_a_child_and_what_a_user_did(dash_app, auditor):
    username, _accounts = auditor
    client = dash_app.server.test_client()
    open_sample_child(dash_app, username, "10.55.0.4", client)
    # The manager may not use the audit page; the administrator may.
    search = next(spec for spec in dependencies(client) if spec["output"] == AUDIT_SEARCH)
    assert callback(client, request_body(search, lambda _id, _prop: None)).status_code == 403
    admin = dash_app.server.test_client()
    sign_in(admin, ADMIN, address="10.55.0.5")
    today = dt.date.today().isoformat()

    def ask(trigger: str, **values):
        body = request_body(search, lambda _id, prop: values.get(f"{_id}.{prop}"))
        body["changedPropIds"] = [f"{trigger}.n_clicks"]
        answer = callback(admin, body).get_json()["response"]
        return answer["audit-grid"]["rowData"], answer["audit-heading"]["children"]

    dates = {"audit-dates.start_date": today, "audit-dates.end_date": today}
    rows, heading = ask("audit-child-search", **{"audit-child.value": SAMPLE_REFERENCE}, **dates)
    assert any(row["username"] == username and row["action"] == "view-child" for row in rows)
    assert heading.startswith(f"{len(rows):,} event")
    rows, _heading = ask("audit-user-search", **{"audit-user.value": username}, **dates)
    assert [row["action"] for row in rows] == ["view-child", "sign-in"]
    long_ago = {"audit-dates.start_date": "2020-01-01", "audit-dates.end_date": "2020-01-31"}
    rows, _heading = ask("audit-child-search", **{"audit-child.value": SAMPLE_REFERENCE}, **long_ago)
    assert rows == []


def test_a_failed_sign_in_never_writes_what_was_typed_as_an_unknown_username(dash_app):
    client = dash_app.server.test_client()
    sign_in(client, "hunter2-my-secret-password", address="10.55.0.9")
    accounts = dash_app.server.extensions[EXTENSION_KEY].accounts
    trail = accounts.audit_trail(
        Scope.everything(), utc_now() - dt.timedelta(hours=1), utc_now() + dt.timedelta(hours=1)
    )
    assert "hunter2" not in trail.to_json(date_format="iso")
    assert "(unknown user)" in trail["username"].tolist()


def test_redrawing_a_childs_timeline_is_audited_as_a_look_at_the_child(dash_app, auditor):
    username, accounts = auditor
    client = dash_app.server.test_client()
    sign_in(client, username, address="10.55.0.10")
    store = dash_app.server.extensions[EXTENSION_KEY].store
    child_id = int(store.find_children(Scope.everything(), SAMPLE_REFERENCE)["child_id"].iloc[0])
    redraw = next(spec for spec in dependencies(client) if spec["output"] == "child-timeline-graph.figure")
    values = {"child-key.data": child_id, "child-lanes.value": ["placement"]}
    body = request_body(redraw, lambda _id, prop: values.get(f"{_id}.{prop}"))
    assert callback(client, body).status_code == 200  # a replayed redraw, without opening the page
    viewed = trail_of(accounts, username).query("action == 'view-child'")
    assert viewed["child_id"].tolist() == [child_id]


def test_a_presenting_scope_reads_the_trail_with_pseudonyms(dash_app, auditor):
    username, accounts = auditor
    open_sample_child(dash_app, username, "10.55.0.11")
    presenting = Scope.presentation(b"a key for this test")
    start, end = utc_now() - dt.timedelta(hours=1), utc_now() + dt.timedelta(hours=1)
    shown = accounts.audit_trail(presenting, start, end, username=username).query("action == 'view-child'")
    assert len(shown) == 1
    assert shown.iloc[0]["reference"].startswith("P-")
    assert SAMPLE_REFERENCE not in shown.to_json(date_format="iso")
