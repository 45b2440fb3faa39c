"""Backups of a live SQLite database: consistent while writes go on, and refused when they cannot be."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from pace_dash.cli import main
from pace_dash.store.backup import BackupError, backup_sqlite, sqlite_path
from pace_dash.store.db import bump_data_version
from pace_dash.store.queries import Store
from pace_dash.store.schema import Child, Event, LocalAuthority

# Long notes, so that the writes grow the database while it is copied.
NOTE = "A fictional review note. " * 20


class Writer(threading.Thread):
    """Insert events, each in a transaction that also bumps the data version, until stopped."""

    def __init__(self, engine, child_id: int) -> None:
        super().__init__(daemon=True)
        self.engine = engine
        self.child_id = child_id
        self.commits = 0
        self.committed = threading.Condition()
        self.stopping = threading.Event()
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                with Session(self.engine) as session, session.begin():
                    session.add(
                        Event(child_id=self.child_id, code="review", on_date=dt.date(2024, 1, 2), note=NOTE)
                    )
                    bump_data_version(session)
                with self.committed:
                    self.commits += 1
                    self.committed.notify_all()
        except Exception as error:  # reported by the test, which cannot see this thread's exceptions
            self.error = error

    def wait_for_a_commit_after(self, seen: int) -> None:
        """Return once the writer has committed more than `seen` transactions."""
        with self.committed:
            assert self.committed.wait_for(lambda: self.commits > seen or self.error, timeout=60)
        assert self.error is None, self.error


def events_and_version(path: Path) -> tuple[int, int]:
    """Check a database file's integrity and return its number of events and its data version."""
    with contextlib.closing(sqlite3.connect(path)) as database:
        assert database.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        events = database.execute("SELECT count(*) FROM event").fetchone()[0]
        version = database.execute("SELECT version FROM data_version").fetchone()[0]
    return events, version


@pytest.fixture
def live(sqlite_engine):
    """Yield the engine and database file of an authority with one child, and no events."""
    with Session(sqlite_engine) as session, session.begin():
        authority = LocalAuthority(code="NTH", name="Northshire Council (fictional)")
        session.add(authority)
        session.flush()
        child = Child(la_id=authority.id, reference="NTH-0001", date_of_birth=dt.date(2021, 6, 1))
        session.add(child)
        session.flush()
        child_id = child.id
        bump_data_version(session)
    return sqlite_engine, Path(sqlite_engine.url.database), child_id


def test_a_backup_taken_while_writes_go_on_is_one_consistent_moment(live, tmp_path):
    engine, source, child_id = live
    version_before = Store(engine).data_version()
    writer = Writer(engine, child_id)
    writer.start()
    steps = []

    def progress(copied: int, total: int) -> None:
        steps.append((copied, total))
        if len(steps) <= 5:  # let the writer commit between the first steps, whatever the timing
            writer.wait_for_a_commit_after(writer.commits)

    try:
        writer.wait_for_a_commit_after(0)
        result = backup_sqlite(source, tmp_path / "copy.db", pages_per_step=2, progress=progress)
    finally:
        writer.stopping.set()
        writer.join(timeout=60)
    assert writer.error is None

    events, version = events_and_version(tmp_path / "copy.db")
    assert events >= 1  # the writer had committed before the copy began
    assert events == version - version_before  # every event with its bump: no torn transaction
    assert events < writer.commits  # and it went on committing while the copy was made
    # Two pages a step, each page once: the copy never started over because of a write.
    total = result.pages
    assert steps == [(min(copied, total), total) for copied in range(2, total + 2, 2)]
    assert len(steps) >= 5
    assert result.size_bytes == (tmp_path / "copy.db").stat().st_size > 0


def test_the_consistency_check_sees_an_event_without_its_bump(live, tmp_path):
    engine, source, child_id = live
    version_before = Store(engine).data_version()
    with Session(engine) as session, session.begin():
        session.add(Event(child_id=child_id, code="review", on_date=dt.date(2024, 1, 2)))

    backup_sqlite(source, tmp_path / "copy.db")

    events, version = events_and_version(tmp_path / "copy.db")
    assert (events, version - version_before) == (1, 0)


def test_a_database_other_than_sqlite_is_refused():
    with pytest.raises(BackupError, match="SQLite databases only, not postgresql: use pg_dump"):
        sqlite_path("postgresql+psycopg://pace:secret@127.0.0.1:5432/pace")
    with pytest.raises(BackupError, match="in-memory"):
        sqlite_path("sqlite://")
    assert sqlite_path("sqlite:////srv/pace/pace.db") == Path("/srv/pace/pace.db")


def test_an_existing_file_is_replaced_only_with_force(live, tmp_path):
    _engine, source, _child_id = live
    target = tmp_path / "copy.db"
    target.write_bytes(b"an older backup")

    with pytest.raises(BackupError, match="already exists; --force replaces it"):
        backup_sqlite(source, target)
    assert target.read_bytes() == b"an older backup"

    backup_sqlite(source, target, force=True)
    assert events_and_version(target)[0] == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # children's records: the owner's alone


def test_a_missing_database_is_refused_and_not_created(tmp_path):
    source = tmp_path / "missing.db"

    with pytest.raises(BackupError, match="there is no database at"):
        backup_sqlite(source, tmp_path / "copy.db")

    assert sorted(tmp_path.iterdir()) == []


def test_a_failed_backup_leaves_nothing_half_written(tmp_path):
    source = tmp_path / "pace.db"
    source.write_bytes(b"not a database, whatever its name says" * 200)
    target = tmp_path / "copy.db"
    target.write_bytes(b"an older backup")

    with pytest.raises(BackupError, match="the backup failed: file is not a database"):
        backup_sqlite(source, target, force=True)

    assert target.read_bytes() == b"an older backup"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["copy.db", "pace.db"]


def test_the_command_prints_its_progress_and_refuses_in_one_line(live, tmp_path, monkeypatch, capsys):
    _engine, source, _child_id = live
    target = tmp_path / "copy.db"
    monkeypatch.setenv("PACE_DATABASE_URL", f"sqlite:///{source}")

    assert main(["backup", str(target)]) == 0
    made = capsys.readouterr()
    with contextlib.closing(sqlite3.connect(target)) as copy:
        pages = copy.execute("PRAGMA page_count").fetchone()[0]
    assert target.stat().st_size == pages * 4096 < 200_000  # so 0.1 MB, rounded
    assert f"  {pages:,} of {pages:,} pages copied\n" in made.out
    assert made.out.endswith(f"Backed up {pages:,} pages (0.1 MB) to {target}.\n")

    assert main(["backup", str(target)]) == 1
    refused = capsys.readouterr()
    assert refused.err == f"Backup not made: {target} already exists; --force replaces it\n"

    monkeypatch.setenv("PACE_DATABASE_URL", "postgresql+psycopg://pace:secret@127.0.0.1:5432/pace")
    assert main(["backup", str(tmp_path / "other.db")]) == 1
    refused = capsys.readouterr()
    assert (
        refused.err == "Backup not made: backup copies SQLite databases only, not postgresql: use pg_dump\n"
    )
    assert not (tmp_path / "other.db").exists()
