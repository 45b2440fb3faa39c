"""Results of queries and computations, kept on disk and shared by every worker, keyed by the data version.

An entry's key is a SHA-256 digest of the database, the data version, the Scope, the function and
its arguments, so a write (which bumps the version) makes every worker compute afresh at once, two
scopes never share an entry, and no secret, name or reference is written in clear in a key. The
values are computed within their scope, but they do hold children's data: the cache directory
must be protected like the database itself (the default, a private temporary directory, is made
readable by its owner only and removed when the server stops).

Why diskcache: it is a SQLite-backed store that many processes (gunicorn's workers) may share
safely, with size-limited eviction and expiry; a per-process memo would compute everything once
per worker, and Flask-Caching's FileSystemCache has no atomic add to stop two workers computing
the same entry at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import inspect
import io
import logging
import os
import pickle
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import diskcache
from plotly.basedatatypes import BaseFigure
from sqlalchemy import update
from sqlalchemy.orm import Session

from pace_dash.store.queries import Store
from pace_dash.store.schema import DataVersion
from pace_dash.store.scope import Scope

log = logging.getLogger(__name__)

T = TypeVar("T")

SIZE_LIMIT_BYTES = 2**30  # least recently stored entries go first beyond this
ENTRY_SECONDS = 24 * 3600  # a safety net: superseded versions are evicted as soon as a newer one is seen
COMPUTING_SECONDS = 300  # how long a claim to compute an entry holds if its worker dies mid-way
WAIT_POLL_SECONDS = 0.05
FORMAT = 2  # of the stored values: a new format never reads entries of an old one
_MISSING = object()
_CACHE_ERRORS = (OSError, sqlite3.Error, pickle.PickleError, diskcache.Timeout)


def _figure(kind: type, properties: dict) -> BaseFigure:
    # Checked when first built; checking again on every read would cost 7 times the read itself.
    return kind(properties, _validate=False)


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, BaseFigure):
            return _figure, (type(obj), obj.to_dict())
        return NotImplemented


def dumps(value: Any) -> bytes:
    """Return a value as the bytes the cache keeps: pickled, with figures kept as their properties."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def scope_digest(scope: Scope) -> str:
    """Return a digest naming a scope without its secret pseudonym key in clear."""
    authorities = None if scope.la_ids is None else sorted(scope.la_ids)
    key = hashlib.sha256(scope.pseudonym_key).hexdigest()
    return _digest(repr((authorities, scope.see_names, scope.identifiable, key)))


def uncached(function: Callable[..., T], *args, **kwargs) -> T:
    """Return function(*args, **kwargs): what a ResultCache's `call` does, without the cache."""
    return function(*args, **kwargs)


def function_name(function: Callable) -> str:
    """Return a function's module and qualified name; refuse a lambda, which has no name of its own."""
    name = getattr(function, "__qualname__", "")
    if not name or "<lambda>" in name:
        raise TypeError("a cached function needs a name of its own, not a lambda")
    return f"{function.__module__}.{name}"


def key_part(value: Any) -> str:
    """Return a stable text for an argument of a cached function; refuse what has none."""
    if isinstance(value, Scope):
        return f"scope:{scope_digest(value)}"
    if value is None or isinstance(value, bool | int | float | str | bytes | dt.date | dt.datetime):
        return repr(value)
    if isinstance(value, tuple | list):
        return f"{type(value).__name__}({','.join(key_part(item) for item in value)})"
    if isinstance(value, frozenset | set):
        return f"set({','.join(sorted(key_part(item) for item in value))})"
    if isinstance(value, dict):
        items = sorted((key_part(key), key_part(item)) for key, item in value.items())
        return f"dict({','.join(f'{key}:{item}' for key, item in items)})"
    if inspect.isfunction(value) or inspect.ismethod(value):
        return f"function:{function_name(value)}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = ",".join(
            f"{field.name}={key_part(getattr(value, field.name))}" for field in dataclasses.fields(value)
        )
        return f"{type(value).__qualname__}({fields})"
    raise TypeError(f"a cached function's argument needs a stable key: {type(value).__name__} has none")


class CacheDirectoryNotPrivate(RuntimeError):
    """The cache directory could be read or written by someone other than the app's user."""


def check_private(directory: Path) -> None:
    """Refuse a cache directory that another user owns or that others may read or write.

    The cache holds children's data computed for each scope, and values are unpickled when read:
    whoever could write there could run code in the app.
    """
    status = directory.stat()
    if status.st_uid != os.geteuid() or status.st_mode & 0o077:
        raise CacheDirectoryNotPrivate(
            f"the cache directory {directory} must belong to this user and be closed to others "
            f"(chmod 700 {directory})"
        )


class ResultCache:
    """A cache of one database's results, shared by every process that opens the same directory."""

    def __init__(self, store: Store, directory: Path | None = None):
        self.store = store
        self.owns_directory = directory is None
        # Without a directory set, one private to this server: gunicorn's workers fork from the
        # process that made it, so they share it; it goes when that process stops.
        self.directory = (
            Path(tempfile.mkdtemp(prefix="pace-cache-")) if directory is None else Path(directory)
        )
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        check_private(self.directory)
        self._creator_pid = os.getpid()
        self._cache = diskcache.Cache(
            str(self.directory),
            size_limit=SIZE_LIMIT_BYTES,
            tag_index=True,
            eviction_policy="least-recently-stored",
        )
        # The database's URL (its password hidden) tells two databases apart in one directory.
        self._database = _digest(str(store.engine.url))

    def key(self, version: int, function: Callable, args: tuple, kwargs: dict) -> str:
        """Return the digest an entry is stored under; every Scope argument is itself a digest."""
        parts = [str(FORMAT), self._database, str(version), function_name(function)]
        for value in args:
            if isinstance(value, Store):
                if value is not self.store and str(value.engine.url) != str(self.store.engine.url):
                    raise ValueError("a cached function must read the cache's own database")
                parts.append("store")
            else:
                parts.append(key_part(value))
        parts.extend(f"{name}={key_part(value)}" for name, value in sorted(kwargs.items()))
        if not any(isinstance(value, Scope) for value in (*args, *kwargs.values())):
            # Every result depends on who may see it: a scope-free entry could leak across users.
            raise TypeError("a cached function must take the Scope its result is computed under")
        return _digest("\x1f".join(parts))

    def call(self, function: Callable[..., T], *args, **kwargs) -> T:
        """Return function(*args, **kwargs) for the current data version, computing it at most once.

        One of the arguments must be the Scope the result is computed under. While one thread or
        worker computes an entry, the others asking for it wait for its result instead of
        computing it too. A cache that fails (a full disk, say) is logged and bypassed.
        """
        version = self.store.data_version()
        key = self.key(version, function, args, kwargs)
        claim = f"computing:{key}"
        try:
            stored = self._stored_or_claimed(key, claim)
            if stored is not None:
                return pickle.loads(stored)
        except _CACHE_ERRORS:
            log.warning("the result cache cannot be read; computing without it", exc_info=True)
            return function(*args, **kwargs)
        try:
            value = function(*args, **kwargs)
            self._store(key, value, version)
            return value
        finally:
            with contextlib.suppress(*_CACHE_ERRORS):
                self._cache.delete(claim)

    def _stored_or_claimed(self, key: str, claim: str) -> bytes | None:
        # Return the stored bytes, waiting while another thread or worker computes them; or None
        # once this caller holds the claim to compute them (or has waited past COMPUTING_SECONDS).
        deadline = time.monotonic() + COMPUTING_SECONDS
        while True:
            stored = self._cache.get(key, default=_MISSING)
            if stored is not _MISSING:
                return stored
            # add() is atomic across processes: one claimant computes, the others wait for it.
            if self._cache.add(claim, os.getpid(), expire=COMPUTING_SECONDS):
                # Read again: the last claimant may have stored the value and let go in between.
                stored = self._cache.get(key, default=_MISSING)
                if stored is _MISSING:
                    return None
                self._cache.delete(claim)
                return stored
            if time.monotonic() > deadline:
                return None
            time.sleep(WAIT_POLL_SECONDS)

    def _store(self, key: str, value: Any, version: int) -> None:
        try:
            self._cache.set(key, dumps(value), expire=ENTRY_SECONDS, tag=self._tag(version))
            self._forget_older_versions(version)
        except (*_CACHE_ERRORS, TypeError, AttributeError):  # pickle's errors for what it cannot keep
            log.warning("the result cache cannot be written; the result is not kept", exc_info=True)

    def _tag(self, version: int) -> str:
        return f"{self._database}:{version}"

    def _forget_older_versions(self, version: int) -> None:
        # Results of superseded data are never read again: drop them rather than keep the data.
        latest_key = f"latest:{self._database}"
        with self._cache.transact():
            latest = self._cache.get(latest_key)
            if latest is not None and latest >= version:
                return
            self._cache.set(latest_key, version)
        if latest is not None:
            self._cache.evict(self._tag(latest))

    @contextlib.contextmanager
    def lock(self, name: str, expire_seconds: float = 60) -> Iterator[None]:
        """Hold a lock that every process sharing this cache directory respects."""
        with diskcache.Lock(self._cache, f"lock:{name}", expire=expire_seconds):
            yield

    def entries(self) -> int:
        """Count the entries stored, computing claims and bookkeeping included."""
        return len(self._cache)

    def clear(self) -> None:
        """Remove every entry."""
        self._cache.clear()

    def close(self) -> None:
        """Close the cache, and remove its directory when it was a private temporary one."""
        self._cache.close()
        # Forked workers run this too on exit: only the process that made the directory removes it.
        if self.owns_directory and os.getpid() == self._creator_pid:
            shutil.rmtree(self.directory, ignore_errors=True)


def clear_directory(directory: Path) -> None:
    """Remove every entry of a cache directory, as when its database is replaced."""
    if directory.exists():
        with diskcache.Cache(str(directory)) as cache:
            cache.clear()


def carry_data_version(session: Session, previous: int) -> None:
    """Put the data version of a replaced database past its predecessor's, so no cache entry is reused.

    A database dropped and filled again counts its versions from zero, and a cache that outlived it
    would take the new data's version 2 for the old data's version 2.
    """
    session.execute(
        update(DataVersion).where(DataVersion.id == 1).values(version=DataVersion.version + previous)
    )
