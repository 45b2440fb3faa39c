"""Sign-in, sessions, roles and CSRF through the real routes, on the session's app and its database."""

from __future__ import annotations

import datetime as dt
import itertools
import threading

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from pace_dash.security.guard import (
    CSP,
    FAILURES_PER_ACCOUNT,
    FAILURES_PER_ADDRESS,
    SESSION_ENDED,
    THROTTLED,
    WRONG_CREDENTIALS,
)
from pace_dash.security.passwords import PasswordRefused, hash_password, verify_password
from pace_dash.store.accounts import Accounts, utc_now
from pace_dash.store.schema import UserSession
from pace_dash.store.scope import Scope
from pace_dash.web import EXTENSION_KEY
from tests.conftest import ADMIN, NORTH_MANAGER, NORTH_VIEWER, SAMPLE_NAME, SAMPLE_REFERENCE, TEST_PASSWORD
from tests.security.helpers import (
    HOME_CALLBACK,
    callback,
    dependencies,
    form_token,
    request_body,
    session_cookie,
    sign_in,
)


def cohort_callback(client) -> dict:
    """Return a request for the cohort page's share-link callback, as the renderer would send it."""
    spec = next(spec for spec in dependencies(client) if spec["output"] == "cohort-share-link.href")
    return request_body(spec, lambda _id, _property: None)


_numbers = itertools.count(1)


def accounts_of(dash_app) -> Accounts:
    """Return the accounts store of the session's app."""
    return dash_app.server.extensions[EXTENSION_KEY].accounts


def new_user(dash_app, role: str = "manager", authorities=("NTH",)) -> str:
    """Create a user no other test uses, and return their username."""
    username = f"probe-{role}-{next(_numbers)}"
    accounts_of(dash_app).create_user(
        username, hash_password(TEST_PASSWORD, username), role, list(authorities)
    )
    return username


def new_address() -> str:
    """Return a client address no other test uses, so per-address throttling stays apart."""
    return f"10.77.{next(_numbers)}.1"


def test_unknown_user_and_wrong_password_get_the_same_answer(dash_app):
    client = dash_app.server.test_client()
    unknown = sign_in(client, "nobody-by-this-name", address=new_address())
    wrong = sign_in(client, NORTH_VIEWER, "not the password at all", address=new_address())
    assert unknown.status_code == wrong.status_code == 401
    assert WRONG_CREDENTIALS in unknown.text
    assert WRONG_CREDENTIALS in wrong.text
    assert session_cookie(client) is None


def test_signing_in_starts_a_session_with_safe_cookies(dash_app):
    client = dash_app.server.test_client()
    response = sign_in(client, NORTH_VIEWER, address=new_address())
    assert response.status_code == 302
    cookie = response.headers.getlist("Set-Cookie")
    session = next(line for line in cookie if line.startswith("pace_session="))
    assert "HttpOnly" in session
    assert "SameSite=Lax" in session
    assert "Secure" not in session  # plain HTTP on loopback here
    assert callback(client).status_code == 200


def test_session_cookie_is_secure_under_https(dash_app):
    client = dash_app.server.test_client()
    token = client.get("/login", base_url="https://localhost").text.split('name="csrf_token" value="')[1][:43]
    response = client.post(
        "/login",
        base_url="https://localhost",
        data={"csrf_token": token, "username": NORTH_VIEWER, "password": TEST_PASSWORD},
    )
    session = next(line for line in response.headers.getlist("Set-Cookie") if "pace_session=" in line)
    assert "Secure" in session
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_every_sign_in_gets_a_new_session_token(dash_app):
    client = dash_app.server.test_client()
    sign_in(client, NORTH_VIEWER, address=new_address())
    first = session_cookie(client).value
    client.post("/logout", data={"csrf_token": client.get_cookie("_csrf_token").value})
    sign_in(client, NORTH_VIEWER, address=new_address())
    assert session_cookie(client).value != first


def test_an_account_is_throttled_after_repeated_failures_even_from_other_workers(dash_app):
    username = new_user(dash_app)
    # Failures recorded by another process (another gunicorn worker) count: they are in the database.
    elsewhere = Accounts(accounts_of(dash_app).engine)
    for _ in range(FAILURES_PER_ACCOUNT):
        elsewhere.record_attempt(username, new_address(), succeeded=False)
    client = dash_app.server.test_client()
    refused = sign_in(client, username, address=new_address())
    assert THROTTLED in refused.text
    assert session_cookie(client) is None
    assert sign_in(client, NORTH_VIEWER, address=new_address()).status_code == 302  # others unaffected


def test_an_address_is_throttled_after_many_failures(dash_app):
    address = new_address()
    accounts = accounts_of(dash_app)
    for attempt in range(FAILURES_PER_ADDRESS):
        accounts.record_attempt(f"guess-{attempt}", address, succeeded=False)
    client = dash_app.server.test_client()
    assert THROTTLED in sign_in(client, NORTH_VIEWER, address=address).text
    assert sign_in(client, NORTH_VIEWER, address=new_address()).status_code == 302


def test_four_failures_do_not_yet_throttle(dash_app):
    username = new_user(dash_app)
    client = dash_app.server.test_client()
    for _ in range(FAILURES_PER_ACCOUNT - 1):
        assert WRONG_CREDENTIALS in sign_in(client, username, "wrong wrong wrong", address=new_address()).text
    assert sign_in(client, username, address=new_address()).status_code == 302


def test_disabling_a_user_ends_their_session_at_the_next_request(dash_app):
    username = new_user(dash_app)
    client = dash_app.server.test_client()
    sign_in(client, username, address=new_address())
    assert callback(client).status_code == 200
    accounts_of(dash_app).set_disabled(username, True)
    refused = callback(client)
    assert refused.status_code == 401
    assert refused.get_json()["message"] == SESSION_ENDED
    assert sign_in(client, username, address=new_address()).status_code == 401


def test_a_role_change_applies_from_the_next_request(dash_app):
    username = new_user(dash_app, role="manager")
    client = dash_app.server.test_client()
    sign_in(client, username, address=new_address())
    cohort = cohort_callback(client)
    assert callback(client, cohort).status_code == 200
    accounts_of(dash_app).set_role(username, "viewer")
    assert callback(client, cohort).status_code == 403
    assert callback(client).status_code == 200  # the overview stays open to viewers


@pytest.mark.parametrize(
    ("column", "age"),
    [("last_seen_at", dt.timedelta(minutes=31)), ("created_at", dt.timedelta(hours=10, minutes=1))],
)
def test_idle_and_old_sessions_end(dash_app, column, age):
    username = new_user(dash_app)
    client = dash_app.server.test_client()
    sign_in(client, username, address=new_address())
    assert callback(client).status_code == 200
    with Session(accounts_of(dash_app).engine) as session, session.begin():
        user_id = accounts_of(dash_app).account(username).user_id
        session.execute(
            update(UserSession).where(UserSession.user_id == user_id).values({column: utc_now() - age})
        )
    assert callback(client).status_code == 401
    page = client.get("/cohort")
    assert page.status_code == 302
    assert page.headers["Location"] == "/login?next=/cohort"


def test_signing_out_ends_the_session_and_needs_the_csrf_token(dash_app):
    client = dash_app.server.test_client()
    sign_in(client, NORTH_VIEWER, address=new_address())
    assert client.post("/logout").status_code == 403  # a forged sign-out from another site
    assert callback(client).status_code == 200
    token = session_cookie(client).value
    assert (
        client.post("/logout", data={"csrf_token": client.get_cookie("_csrf_token").value}).status_code == 302
    )
    assert session_cookie(client) is None
    client.set_cookie("pace_session", token)  # the old token, replayed
    assert callback(client).status_code == 401


def test_callbacks_need_the_csrf_header_and_json(dash_app):
    client = dash_app.server.test_client()
    sign_in(client, NORTH_VIEWER, address=new_address())
    assert client.post("/_dash-update-component", json=HOME_CALLBACK).status_code == 403
    wrong = client.post("/_dash-update-component", json=HOME_CALLBACK, headers={"X-CSRFToken": "guess"})
    assert wrong.status_code == 403
    as_form = client.post(
        "/_dash-update-component",
        data={"output": "home-content.children"},
        headers={"X-CSRFToken": client.get_cookie("_csrf_token").value},
    )
    assert as_form.status_code == 415
    assert callback(client).status_code == 200


def test_a_callback_of_no_known_page_is_refused(dash_app):
    client = dash_app.server.test_client()
    sign_in(client, ADMIN, address=new_address())
    made_up = {**HOME_CALLBACK, "output": "made-up.children"}
    assert callback(client, made_up).status_code == 403


def test_every_response_carries_the_security_headers(dash_app):
    client = dash_app.server.test_client()
    anonymous = [client.get("/login"), client.get("/assets/pace.css"), client.get("/healthz")]
    sign_in(client, NORTH_VIEWER, address=new_address())
    signed_in = [client.get("/"), client.get("/_dash-layout"), callback(client)]
    for response in anonymous + signed_in:
        policy = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy
        assert f"default-src {' '.join(CSP['default-src'])}" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
    for response in signed_in + anonymous[:1]:
        assert response.headers["Cache-Control"] == "no-store"
    for script_hash in dash_app.csp_hashes():
        assert script_hash in signed_in[0].headers["Content-Security-Policy"]


def test_the_password_policy_wants_length_not_composition():
    with pytest.raises(PasswordRefused, match="at least 12"):
        hash_password("Sh0rt!pass", "someone")
    with pytest.raises(PasswordRefused, match="too common"):
        hash_password("password1234", "someone")
    with pytest.raises(PasswordRefused, match="too common"):
        hash_password("aaaaaaaaaaaaaaa", "someone")
    with pytest.raises(PasswordRefused, match="username"):
        hash_password("someone-likes-tea", "someone")
    stored = hash_password("lowercase words only here", "someone")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "lowercase words only here")
    assert not verify_password(stored, "lowercase words only her")


def test_no_demo_accounts_outside_the_demo_database(dash_app):
    page = dash_app.server.test_client().get("/login")
    assert "Demo accounts" not in page.text
    assert not accounts_of(dash_app).has_demo_accounts()


def test_a_presenter_account_sees_pseudonyms_on_a_server_not_in_presentation_mode(dash_app):
    username = f"probe-presenter-{next(_numbers)}"
    accounts_of(dash_app).create_user(
        username, hash_password(TEST_PASSWORD, username), "manager", ["NTH"], presenter=True
    )
    client = dash_app.server.test_client()
    sign_in(client, username, address=new_address())
    overview = callback(client).text
    assert "P-" in overview
    assert SAMPLE_REFERENCE not in overview
    assert SAMPLE_NAME not in overview
    shown = dash_app.server.test_client()
    sign_in(shown, NORTH_VIEWER, address=new_address())
    assert SAMPLE_REFERENCE in callback(shown).text  # the same page, identifiable, for a viewer


def test_a_viewer_may_not_export_a_panel_pack_but_a_manager_may(dash_app):
    from pace_dash.pages.child import EXPORT_NOT_ALLOWED  # page modules need the app first

    store = dash_app.server.extensions[EXTENSION_KEY].store
    child_id = int(store.find_children(Scope.everything(), SAMPLE_REFERENCE)["child_id"].iloc[0])
    answers = {}
    for username in (NORTH_VIEWER, NORTH_MANAGER):
        client = dash_app.server.test_client()
        sign_in(client, username, address=new_address())
        spec = next(spec for spec in dependencies(client) if spec["output"] == "child-download.data")
        values = {"child-export-png.n_clicks": 1, "child-key.data": child_id}
        body = request_body(spec, lambda _id, prop, values=values: values.get(f"{_id}.{prop}"))
        body["changedPropIds"] = ["child-export-png.n_clicks"]
        answers[username] = callback(client, body)
    refused = answers[NORTH_VIEWER].get_json()
    assert "child-download" not in refused.get("response", {})
    assert refused["sideUpdate"]["shell-error-alert"]["children"] == EXPORT_NOT_ALLOWED
    sent = answers[NORTH_MANAGER].get_json()["response"]["child-download"]["data"]
    assert sent["filename"].startswith(f"panel-pack-{SAMPLE_REFERENCE}")


def test_simultaneous_guesses_cannot_slip_under_the_limit(dash_app):
    username = new_user(dash_app)
    guesses = 20
    addresses = [new_address() for _ in range(guesses)]
    start = threading.Barrier(guesses)
    answers: list[str] = []

    def guess(number: int) -> None:
        client = dash_app.server.test_client()
        token = form_token(client)
        start.wait()
        answer = client.post(
            "/login",
            data={"csrf_token": token, "username": username, "password": f"wrong guess number {number}"},
            environ_base={"REMOTE_ADDR": addresses[number]},
        )
        answers.append(answer.text)

    threads = [threading.Thread(target=guess, args=(number,)) for number in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    checked = sum(WRONG_CREDENTIALS in answer for answer in answers)
    assert checked <= FAILURES_PER_ACCOUNT  # the others were refused before their password was tried
    assert sum(THROTTLED in answer for answer in answers) == guesses - checked
    assert THROTTLED in sign_in(dash_app.server.test_client(), username, address=new_address()).text


def test_usernames_ignore_case_and_spaces(dash_app):
    username = new_user(dash_app)
    client = dash_app.server.test_client()
    assert sign_in(client, f"  {username.upper()} ", address=new_address()).status_code == 302


def test_a_presenting_scope_finds_children_by_pseudonym_only(dash_app):
    store = dash_app.server.extensions[EXTENSION_KEY].store
    presenting = Scope.presentation(b"a key for this test")
    assert store.find_children(presenting, SAMPLE_REFERENCE).empty  # a reference reveals nothing
    shown = store.children(presenting).query("la_code == 'NTH'")["reference"].iloc[0]
    assert shown.startswith("P-")
    assert store.find_children(presenting, shown.lower())["reference"].tolist() == [shown]
