"""`python -m pace_dash users ...` on a real database, and the demo database's accounts."""

from __future__ import annotations

import io

import pytest

from pace_dash import cli
from pace_dash.domain.rules import load_rules_file
from pace_dash.security.passwords import verify_password
from pace_dash.settings import TARGETS_FILE
from pace_dash.store.accounts import Accounts
from pace_dash.store.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, DEMO_PASSWORD_HASH, install_demo
from tests.conftest import TODAY, seed_known_children


@pytest.fixture
def database(tmp_path, monkeypatch, sqlite_engine):
    """Point the command line at a fresh SQLite file with two authorities; return its accounts."""
    monkeypatch.setenv("PACE_DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    seed_known_children(sqlite_engine)
    return Accounts(sqlite_engine)


def run(monkeypatch, *argv: str, stdin: str = "") -> int:
    """Run one command with some standard input and return its exit status."""
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(["users", *argv])


def test_users_are_created_listed_disabled_enabled_and_changed(database, monkeypatch, capsys):
    assert run(monkeypatch, "add", "amy", "--role", "viewer", "--authority", "nth", "--password-stdin",
               stdin="a long enough phrase\n") == 0  # fmt: skip
    account = database.account("amy")
    assert (account.role, len(account.la_ids), account.disabled) == ("viewer", 1, False)
    assert verify_password(account.password_hash, "a long enough phrase")
    assert run(monkeypatch, "list") == 0
    assert "amy" in capsys.readouterr().out
    assert run(monkeypatch, "disable", "amy") == 0
    assert database.account("amy").disabled
    assert run(monkeypatch, "enable", "amy") == 0
    assert not database.account("amy").disabled
    assert run(monkeypatch, "set-role", "amy", "manager") == 0
    assert database.account("amy").role == "manager"


NEW_VIEWER = ["add", "bo", "--role", "viewer", "--password-stdin"]


@pytest.mark.parametrize(
    ("argv", "stdin", "said"),
    [
        ([*NEW_VIEWER, "--authority", "NTH"], "short\n", "at least 12"),
        (NEW_VIEWER, "a long enough phrase\n", "at least one authority"),
        ([*NEW_VIEWER, "--authority", "ZZZ"], "a long enough phrase\n", "no authority with the code ZZZ"),
        (["disable", "nobody-here"], "", "no user called 'nobody-here'"),
    ],
)  # fmt: skip
def test_refused_changes_say_why_and_change_nothing(database, monkeypatch, capsys, argv, stdin, said):
    assert run(monkeypatch, *argv, stdin=stdin) == 1
    assert said in capsys.readouterr().err
    assert database.users().empty


def test_only_the_demo_database_has_demo_accounts_and_they_sign_in(sqlite_engine):
    accounts = Accounts(sqlite_engine)
    assert not accounts.has_demo_accounts()
    install_demo(sqlite_engine, children=20, seed=1, today=TODAY, rules=load_rules_file(TARGETS_FILE))
    users = accounts.users().set_index("username")
    assert sorted(users.index) == sorted(username for username, *_ in DEMO_ACCOUNTS)
    assert users["demo"].all()
    assert users.loc["demo-viewer", "authorities"] == "GLM"
    assert users.loc["demo-admin", "authorities"] == "all"
    assert verify_password(DEMO_PASSWORD_HASH, DEMO_PASSWORD)
