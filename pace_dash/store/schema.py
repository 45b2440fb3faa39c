"""SQLAlchemy 2.0 typed models of the journey data (design.md, "Data model")."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Base of every table."""


class LocalAuthority(Base):
    """A council (local authority or HSCP area) whose children the app tracks."""

    __tablename__ = "local_authority"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class ImportBatch(Base):
    """One imported tracker file: what it was and what became of it."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    la_id: Mapped[int] = mapped_column(ForeignKey("local_authority.id"))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    rows: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[str | None] = mapped_column(String(120))


class Child(Base):
    """A looked-after child, known by the authority's own case reference."""

    __tablename__ = "child"
    __table_args__ = (UniqueConstraint("la_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    la_id: Mapped[int] = mapped_column(ForeignKey("local_authority.id"), index=True)
    reference: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    date_of_birth: Mapped[dt.date] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(16))
    sibling_group: Mapped[str | None] = mapped_column(String(64))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))


class Event(Base):
    """A point event on a child's journey, such as a review or the permanence recommendation."""

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_child_date", "child_id", "on_date"),
        Index("ix_event_code_date", "code", "on_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    on_date: Mapped[dt.date] = mapped_column(Date)
    attribute: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))


class Period(Base):
    """An interval in a lane: a placement or a legal status, open while end_date is empty."""

    __tablename__ = "period"
    __table_args__ = (Index("ix_period_child_start", "child_id", "start_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"))
    lane: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))


class TargetRule(Base):
    """A target: the `to` event is due `days` after the `from` event; la_id empty = national."""

    __tablename__ = "target_rule"
    __table_args__ = (UniqueConstraint("la_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    la_id: Mapped[int | None] = mapped_column(ForeignKey("local_authority.id"))
    key: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(120))
    from_code: Mapped[str] = mapped_column(String(40))
    to_code: Mapped[str] = mapped_column(String(40))
    days: Mapped[int] = mapped_column(Integer)
    later_days: Mapped[int | None] = mapped_column(Integer)
    applies_to: Mapped[str | None] = mapped_column(String(200))
    closed_by: Mapped[str | None] = mapped_column(String(200))
    strength: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    effective_from: Mapped[dt.date | None] = mapped_column(Date)


class Aim(Base):
    """An authority's aim: a share of children meeting a rule by a date."""

    __tablename__ = "aim"

    id: Mapped[int] = mapped_column(primary_key=True)
    la_id: Mapped[int] = mapped_column(ForeignKey("local_authority.id"))
    rule_key: Mapped[str] = mapped_column(String(40))
    percent: Mapped[int] = mapped_column(Integer)
    by_date: Mapped[dt.date] = mapped_column(Date)
    label: Mapped[str] = mapped_column(Text)


class Annotation(Base):
    """A dated note on the run charts: a change tested, a PDSA cycle or a remark."""

    __tablename__ = "annotation"

    id: Mapped[int] = mapped_column(primary_key=True)
    la_id: Mapped[int | None] = mapped_column(ForeignKey("local_authority.id"))
    on_date: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)


class DataVersion(Base):
    """One row whose number every write bumps: the key of every cache."""

    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class AppUser(Base):
    """A person who signs in: a role, the authorities they serve, and whether they present only."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    presenter: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Demo accounts exist only in the demo database; the sign-in page lists them there alone.
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class UserAuthority(Base):
    """An authority whose children a user may see."""

    __tablename__ = "user_authority"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    la_id: Mapped[int] = mapped_column(ForeignKey("local_authority.id", ondelete="CASCADE"), primary_key=True)


class UserSession(Base):
    """A server-side session: the browser holds a random token, the database its hash."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class LoginAttempt(Base):
    """One sign-in attempt, kept so every worker throttles by account and by address alike."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_username_at", "username", "at"),
        Index("ix_login_attempt_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    username: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)


class AuditEvent(Base):
    """One audited action: append-only, never updated or deleted by the app."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_child_at", "child_id", "at"),
        Index("ix_audit_event_username_at", "username", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC
    user_id: Mapped[int | None] = mapped_column(Integer)  # no foreign key: the trail outlives accounts
    username: Mapped[str] = mapped_column(String(80))
    role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(40))
    child_id: Mapped[int | None] = mapped_column(Integer)  # the child's id, never a name
    records: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(String(200))
