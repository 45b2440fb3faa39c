"""Accounts, server-side sessions, sign-in attempts and the append-only audit trail."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.orm import Session

from pace_dash.domain.pseudonyms import pseudonyms
from pace_dash.store.schema import (
    AppUser,
    AuditEvent,
    Child,
    LocalAuthority,
    LoginAttempt,
    UserAuthority,
    UserSession,
)
from pace_dash.store.scope import Scope

ROLES = ("viewer", "manager", "admin")
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{1,79}")
AUDIT_COLUMNS = ["at", "username", "role", "action", "child_id", "reference", "la_code", "records", "outcome"]


def utc_now() -> dt.datetime:
    """Return the current UTC time without a zone, as every stored time is."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def normal_username(username: str) -> str:
    """Return a username as stored and looked up: trimmed and lower case, so "Ana" is "ana"."""
    return username.strip().casefold()


def token_hash(token: str) -> str:
    """Return the stored form of a session token: the database never holds the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


class AccountError(ValueError):
    """An account change that cannot be made, said in one line."""


@dataclass(frozen=True)
class Account:
    """A user as the app needs them on every request."""

    user_id: int
    username: str
    role: str
    la_ids: frozenset[int]
    presenter: bool
    disabled: bool
    password_hash: str


@dataclass(frozen=True)
class SessionRecord:
    """A live server-side session and its account."""

    session_id: int
    csrf_token: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    account: Account


@dataclass(frozen=True)
class AuditRecord:
    """One audited action, as the app writes it."""

    action: str
    outcome: str
    username: str
    user_id: int | None = None
    role: str | None = None
    child_id: int | None = None
    records: int | None = None
    detail: str | None = None


class Accounts:
    """Users, their sessions and sign-in attempts, and the audit trail, over one engine."""

    def __init__(self, engine: Engine):
        self.engine = engine

    # Users

    def create_user(
        self,
        username: str,
        password_hash: str,
        role: str,
        authority_codes: list[str],
        *,
        presenter: bool = False,
        demo: bool = False,
    ) -> int:
        """Create a user serving some authorities (an admin serves all); return their id."""
        if role not in ROLES:
            raise AccountError(f"the role must be one of {', '.join(ROLES)}, not {role!r}")
        username = normal_username(username)
        if not USERNAME_PATTERN.fullmatch(username):
            raise AccountError("a username has 2 to 80 letters, digits, dots, dashes or underscores")
        with Session(self.engine) as session, session.begin():
            if session.scalar(select(AppUser.id).where(AppUser.username == username)) is not None:
                raise AccountError(f"a user called {username!r} already exists")
            la_ids = self._authority_ids(session, authority_codes)
            if role != "admin" and not la_ids:
                raise AccountError("a viewer or manager needs at least one authority (--authority CODE)")
            user_id = session.scalar(
                insert(AppUser)
                .values(
                    username=username,
                    password_hash=password_hash,
                    role=role,
                    presenter=presenter,
                    disabled=False,
                    demo=demo,
                    created_at=utc_now(),
                )
                .returning(AppUser.id)
            )
            if la_ids:
                session.execute(insert(UserAuthority), [{"user_id": user_id, "la_id": la} for la in la_ids])
        return user_id

    @staticmethod
    def _authority_ids(session: Session, codes: list[str]) -> list[int]:
        wanted = sorted({code.strip().upper() for code in codes})
        found = dict(
            session.execute(
                select(LocalAuthority.code, LocalAuthority.id).where(LocalAuthority.code.in_(wanted))
            ).all()
        )
        unknown = [code for code in wanted if code not in found]
        if unknown:
            raise AccountError(f"no authority with the code {', '.join(unknown)}")
        return [found[code] for code in wanted]

    def account(self, username: str) -> Account | None:
        """Return the account of a username, or None."""
        with Session(self.engine) as session:
            user = session.scalar(select(AppUser).where(AppUser.username == normal_username(username)))
            return None if user is None else self._account(session, user)

    @staticmethod
    def _account(session: Session, user: AppUser) -> Account:
        la_ids = frozenset(
            session.scalars(select(UserAuthority.la_id).where(UserAuthority.user_id == user.id))
        )
        return Account(
            user_id=user.id,
            username=user.username,
            role=user.role,
            la_ids=la_ids,
            presenter=user.presenter,
            disabled=user.disabled,
            password_hash=user.password_hash,
        )

    def _change_user(self, username: str, **values) -> None:
        with Session(self.engine) as session, session.begin():
            changed = session.execute(
                update(AppUser).where(AppUser.username == normal_username(username)).values(**values)
            )
            if changed.rowcount == 0:
                raise AccountError(f"no user called {username!r}")

    def set_disabled(self, username: str, disabled: bool) -> None:
        """Disable or enable a user; a disabled user's sessions stop at their next request."""
        self._change_user(username, disabled=disabled)

    def set_role(self, username: str, role: str) -> None:
        """Change a user's role; it applies from their next request."""
        if role not in ROLES:
            raise AccountError(f"the role must be one of {', '.join(ROLES)}, not {role!r}")
        self._change_user(username, role=role)

    def set_password_hash(self, username: str, password_hash: str) -> None:
        """Replace a user's password hash (after a change or a rehash with stronger parameters)."""
        self._change_user(username, password_hash=password_hash)

    def users(self) -> pd.DataFrame:
        """List every user with their role, state and authorities' codes."""
        users = select(
            AppUser.id, AppUser.username, AppUser.role, AppUser.presenter, AppUser.disabled, AppUser.demo
        )
        served = select(UserAuthority.user_id, LocalAuthority.code).join(
            LocalAuthority, LocalAuthority.id == UserAuthority.la_id
        )
        with self.engine.connect() as connection:
            frame = pd.DataFrame(
                connection.execute(users.order_by(AppUser.username)).all(),
                columns=["user_id", "username", "role", "presenter", "disabled", "demo"],
            )
            codes = pd.DataFrame(connection.execute(served).all(), columns=["user_id", "code"])
        joined = codes.sort_values("code").groupby("user_id")["code"].agg(", ".join)
        frame["authorities"] = frame["user_id"].map(joined).fillna("")
        frame.loc[frame["role"] == "admin", "authorities"] = "all"
        return frame.drop(columns="user_id")

    def has_demo_accounts(self) -> bool:
        """Say whether any demo account exists."""
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).where(AppUser.demo)).scalar_one() > 0

    # Sessions

    def start_session(self, user_id: int, token: str, csrf_token: str) -> None:
        """Store a new session for a signed-in user."""
        now = utc_now()
        with Session(self.engine) as session, session.begin():
            session.execute(
                insert(UserSession).values(
                    token_hash=token_hash(token), csrf_token=csrf_token, user_id=user_id,
                    created_at=now, last_seen_at=now, ended_at=None,
                )
            )  # fmt: skip

    def session_for(self, token: str) -> SessionRecord | None:
        """Return the live session a token opens, with its account as it is now, or None."""
        with Session(self.engine) as session:
            row = session.execute(
                select(UserSession, AppUser)
                .join(AppUser, AppUser.id == UserSession.user_id)
                .where(UserSession.token_hash == token_hash(token), UserSession.ended_at.is_(None))
            ).first()
            if row is None:
                return None
            user_session, user = row
            return SessionRecord(
                session_id=user_session.id,
                csrf_token=user_session.csrf_token,
                created_at=user_session.created_at,
                last_seen_at=user_session.last_seen_at,
                account=self._account(session, user),
            )

    def touch_session(self, session_id: int, at: dt.datetime) -> None:
        """Record that a session was used, which keeps it from the idle timeout."""
        with Session(self.engine) as session, session.begin():
            session.execute(update(UserSession).where(UserSession.id == session_id).values(last_seen_at=at))

    def end_session(self, session_id: int) -> None:
        """End a session: sign-out, a timeout, or a disabled account."""
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(UserSession)
                .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
                .values(ended_at=utc_now())
            )

    def end_sessions_of(self, username: str) -> int:
        """End every live session of a user; return how many."""
        with Session(self.engine) as session, session.begin():
            user_ids = (
                select(AppUser.id).where(AppUser.username == normal_username(username)).scalar_subquery()
            )
            ended = session.execute(
                update(UserSession)
                .where(UserSession.user_id == user_ids, UserSession.ended_at.is_(None))
                .values(ended_at=utc_now())
            )
            return ended.rowcount

    # Sign-in attempts

    def record_attempt(self, username: str, address: str, succeeded: bool) -> int:
        """Remember one sign-in attempt and return its id."""
        with Session(self.engine) as session, session.begin():
            return session.scalar(
                insert(LoginAttempt)
                .values(at=utc_now(), username=username[:80], address=address[:64], succeeded=succeeded)
                .returning(LoginAttempt.id)
            )

    def mark_succeeded(self, attempt_id: int) -> None:
        """Record that an attempt, first counted as a failure, succeeded."""
        with Session(self.engine) as session, session.begin():
            session.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(succeeded=True))

    def recent_failures(
        self, since: dt.datetime, *, username: str | None = None, address: str | None = None
    ) -> int:
        """Count failed sign-ins since a time, for one username or one address."""
        statement = select(func.count()).where(LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False))
        if username is not None:
            statement = statement.where(LoginAttempt.username == username[:80])
        if address is not None:
            statement = statement.where(LoginAttempt.address == address[:64])
        with self.engine.connect() as connection:
            return connection.execute(statement).scalar_one()

    def forget_attempts_before(self, before: dt.datetime) -> None:
        """Drop sign-in attempts too old to throttle anyone."""
        with Session(self.engine) as session, session.begin():
            session.execute(delete(LoginAttempt).where(LoginAttempt.at < before))

    # Audit trail: written here, read by the admin page; never updated or deleted by the app.

    def audit(self, record: AuditRecord) -> None:
        """Append one event to the audit trail."""
        with Session(self.engine) as session, session.begin():
            session.execute(insert(AuditEvent).values(at=utc_now(), **record.__dict__))

    def audit_trail(
        self,
        scope: Scope,
        start: dt.datetime,
        end: dt.datetime,
        *,
        child_ids: list[int] | None = None,
        username: str | None = None,
    ) -> pd.DataFrame:
        """Return the audited events between two UTC times, for some children or a user, newest first.

        Children are named as the scope names them: by pseudonym in a scope that sees no references.
        """
        statement = (
            select(
                AuditEvent.at, AuditEvent.username, AuditEvent.role, AuditEvent.action, AuditEvent.child_id,
                Child.reference, LocalAuthority.code, AuditEvent.records, AuditEvent.outcome,
            )
            .outerjoin(Child, Child.id == AuditEvent.child_id)
            .outerjoin(LocalAuthority, LocalAuthority.id == Child.la_id)
            .where(AuditEvent.at >= start, AuditEvent.at < end)
        )  # fmt: skip
        if child_ids is not None:
            statement = statement.where(AuditEvent.child_id.in_(child_ids))
        if username is not None:
            statement = statement.where(AuditEvent.username == username)
        statement = statement.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        with self.engine.connect() as connection:
            rows = connection.execute(statement).all()
        frame = pd.DataFrame(rows, columns=AUDIT_COLUMNS)
        frame["at"] = pd.to_datetime(frame["at"]).dt.as_unit("ns")
        frame = frame.astype({"child_id": "Int64", "records": "Int64"})
        if not scope.identifiable:
            known = frame["child_id"].notna()
            shown = pseudonyms(frame.loc[known, "child_id"].astype("int64"), scope.pseudonym_key)
            frame["reference"] = frame["reference"].astype(object)
            frame.loc[known, "reference"] = shown.to_numpy()
        return frame
