"""`python -m pace_dash users ...`: create, list, disable, enable users and change roles or passwords."""

from __future__ import annotations

import argparse
import getpass
import sys

from pace_dash.security.passwords import PasswordRefused, hash_password
from pace_dash.settings import Settings
from pace_dash.store.accounts import ROLES, AccountError, Accounts
from pace_dash.store.db import create_schema, make_engine


def _accounts(settings: Settings) -> Accounts:
    engine = make_engine(settings.database_url)
    create_schema(engine)
    return Accounts(engine)


def _read_password(args: argparse.Namespace) -> str:
    # From standard input for scripts (never from an argument, which `ps` and shell history show).
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("New password (12 characters or more): ")
    if getpass.getpass("The same again: ") != first:
        raise PasswordRefused("The two passwords differ.")
    return first


def add_user(settings: Settings, args: argparse.Namespace) -> int:
    """Create a user with a role and the authorities they serve."""
    try:
        password_hash = hash_password(_read_password(args), args.username)
        _accounts(settings).create_user(
            args.username, password_hash, args.role, args.authority or [], presenter=args.presenter
        )
    except (PasswordRefused, AccountError) as error:
        print(f"User not created: {error}", file=sys.stderr)
        return 1
    print(f"User {args.username} created as {args.role}.")
    return 0


def list_users(settings: Settings, _args: argparse.Namespace) -> int:
    """List every user, their role, authorities and state."""
    users = _accounts(settings).users()
    if users.empty:
        print("No users yet: add one with `python -m pace_dash users add NAME --role admin`.")
        return 0
    for row in users.itertuples():
        state = "disabled" if row.disabled else "active"
        extras = " presenter" if row.presenter else ""
        print(f"{row.username:<24} {row.role:<8} {state:<9}{extras}  {row.authorities}")
    return 0


def _change(action, done: str):
    def run(settings: Settings, args: argparse.Namespace) -> int:
        accounts = _accounts(settings)
        try:
            action(accounts, args)
        except (PasswordRefused, AccountError) as error:
            print(f"Not changed: {error}", file=sys.stderr)
            return 1
        print(done.format(username=args.username, role=getattr(args, "role", "")))
        return 0

    return run


def _disable(accounts: Accounts, args: argparse.Namespace) -> None:
    accounts.set_disabled(args.username, True)
    accounts.end_sessions_of(args.username)


def _set_password(accounts: Accounts, args: argparse.Namespace) -> None:
    accounts.set_password_hash(args.username, hash_password(_read_password(args), args.username))
    accounts.end_sessions_of(args.username)


disable_user = _change(_disable, "User {username} disabled; their sessions have ended.")
enable_user = _change(
    lambda accounts, args: accounts.set_disabled(args.username, False), "User {username} enabled."
)
set_role = _change(
    lambda accounts, args: accounts.set_role(args.username, args.role), "User {username} is now {role}."
)
set_password = _change(_set_password, "Password of {username} changed; their sessions have ended.")


def add_user_commands(commands) -> None:
    """Add the `users` command and its subcommands to the command line."""
    users = commands.add_parser("users", help="create, list, disable and enable users")
    sub = users.add_subparsers(dest="users_command", required=True)
    add = sub.add_parser("add", help=add_user.__doc__)
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--authority", action="append", help="an authority's code; repeat for several")
    add.add_argument("--presenter", action="store_true", help="always sees children by pseudonym")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(run=add_user)
    sub.add_parser("list", help=list_users.__doc__).set_defaults(run=list_users)
    for name, run, help_text in (
        ("disable", disable_user, "stop a user signing in, and end their sessions"),
        ("enable", enable_user, "let a disabled user sign in again"),
    ):
        parser = sub.add_parser(name, help=help_text)
        parser.add_argument("username")
        parser.set_defaults(run=run)
    role = sub.add_parser("set-role", help="change a user's role, from their next request")
    role.add_argument("username")
    role.add_argument("role", choices=ROLES)
    role.set_defaults(run=set_role)
    password = sub.add_parser("set-password", help="replace a user's password and end their sessions")
    password.add_argument("username")
    password.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    password.set_defaults(run=set_password)
