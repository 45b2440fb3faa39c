"""Consistent copies of a live SQLite database with SQLite's online backup API."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

# 1,024 pages of 4 KiB: each step copies 4 MiB, then lets go of the source's lock for a moment.
PAGES_PER_STEP = 1024
SOURCE_BUSY_TIMEOUT_S = 5.0


class BackupError(Exception):
    """A backup that was refused or failed; the message is one line for the user."""


@dataclass(frozen=True)
class BackupResult:
    """What a finished backup wrote."""

    path: Path
    pages: int
    size_bytes: int


Progress = Callable[[int, int], None]


def sqlite_path(database_url: str) -> Path:
    """Return the file of a SQLite database URL, refusing any other database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupError(f"backup copies SQLite databases only, not {url.get_backend_name()}: use pg_dump")
    if not url.database or url.database == ":memory:":
        raise BackupError("backup needs a SQLite database file, not an in-memory database")
    return Path(url.database)


def backup_sqlite(
    source: Path,
    target: Path,
    *,
    force: bool = False,
    pages_per_step: int = PAGES_PER_STEP,
    progress: Progress | None = None,
) -> BackupResult:
    """Copy a live SQLite database to target, consistent as of the moment the copy began.

    The copy is written to a temporary file beside the target and renamed over it only when
    complete, so a failed backup leaves nothing half-written. progress(copied, total) is called
    after each step of pages_per_step pages.
    """
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    if target.is_dir():
        raise BackupError(f"{target} is a directory; name the backup file")
    if not target.parent.is_dir():
        raise BackupError(f"the directory {target.parent} does not exist")
    if target.exists():
        if target.resolve() == source.resolve():
            raise BackupError("the backup cannot replace the database it copies")
        if not force:
            raise BackupError(f"{target} already exists; --force replaces it")
    handle, temporary_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(handle)
    temporary = Path(temporary_name)
    try:
        pages = _copy(source, temporary, pages_per_step, progress)
        os.replace(temporary, target)
    except sqlite3.Error as error:
        raise BackupError(f"the backup failed: {error}") from error
    finally:
        temporary.unlink(missing_ok=True)
    return BackupResult(path=target, pages=pages, size_bytes=target.stat().st_size)


def _copy(source: Path, temporary: Path, pages_per_step: int, progress: Progress | None) -> int:
    # mode=rw: a database that vanished since the check is an error, never a new empty file.
    source_uri = f"{source.resolve().as_uri()}?mode=rw"
    with (
        contextlib.closing(
            sqlite3.connect(source_uri, uri=True, timeout=SOURCE_BUSY_TIMEOUT_S, isolation_level=None)
        ) as reader,
        contextlib.closing(sqlite3.connect(temporary, isolation_level=None)) as copy,
    ):
        # A read transaction held across the steps pins one snapshot: writers carry on (WAL), and
        # the copy never restarts or mixes pages from before and after a write.
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM sqlite_master").fetchone()
        copied = 0

        def step(_status: int, remaining: int, total: int) -> None:
            nonlocal copied
            copied = total - remaining
            if progress is not None:
                progress(copied, total)

        reader.backup(copy, pages=pages_per_step, progress=step)
        reader.execute("COMMIT")
        # The copy is one self-contained file: no write-ahead log beside it.
        copy.execute("PRAGMA journal_mode=DELETE")
        if copy.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError("the copy failed SQLite's integrity check; nothing was written")
    with temporary.open("rb") as written:
        os.fsync(written.fileno())
    return copied
