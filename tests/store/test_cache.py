"""The result cache on real databases: kept per data version and scope, shared by processes, keys hashed."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from pace_dash.app import create_app
from pace_dash.cli import main as cli_main
from pace_dash.settings import Settings
from pace_dash.store.cache import ResultCache, scope_digest
from pace_dash.store.db import bump_data_version, make_engine
from pace_dash.store.queries import Store
from pace_dash.store.scope import Scope
from pace_dash.web import EXTENSION_KEY
from tests.store.test_queries import seed_two_authorities

SECRET = b"a pseudonym key nobody may read in the cache"


class Counted:
    """A cached function's stand-in that counts how often it really runs."""

    def __init__(self):
        self.calls = 0

    def children(self, store: Store, scope: Scope) -> pd.DataFrame:
        """Return the children in scope, counting the computation."""
        self.calls += 1
        return store.children(scope)


@pytest.fixture
def cache(engine, tmp_path):
    """Yield a cache on the test database in a fresh directory."""
    cache = ResultCache(Store(engine), tmp_path / "cache")
    yield cache
    cache.close()


def test_the_same_data_is_computed_once_and_a_write_computes_it_afresh(engine, cache):
    seed_two_authorities(engine)
    counted = Counted()
    first = cache.call(counted.children, cache.store, Scope.everything())
    again = cache.call(counted.children, cache.store, Scope.everything())
    assert counted.calls == 1
    assert list(again["reference"]) == list(first["reference"]) == ["NTH-1", "STH-1"]

    with Session(engine) as session, session.begin():
        bump_data_version(session)  # what every import and annotation does
    cache.call(counted.children, cache.store, Scope.everything())
    assert counted.calls == 2


def test_two_scopes_never_share_an_entry(engine, cache):
    seed_two_authorities(engine)
    counted = Counted()
    named = cache.call(counted.children, cache.store, Scope.everything())
    presented = cache.call(counted.children, cache.store, Scope.presentation(SECRET))
    north = cache.call(counted.children, cache.store, Scope.authorities(1, see_names=True))
    assert counted.calls == 3
    assert "Amy Sentinel" in set(named["name"])
    assert presented["name"].isna().all()
    assert not set(presented["reference"]) & {"NTH-1", "STH-1"}  # pseudonyms only
    assert list(north["reference"]) == ["NTH-1"]
    # Two presentation scopes with different keys make different pseudonyms: different entries too.
    cache.call(counted.children, cache.store, Scope.presentation(b"another key"))
    assert counted.calls == 4


def test_keys_hold_no_secret_or_reference_in_clear(engine, cache):
    seed_two_authorities(engine)
    finder = Counted()
    cache.call(finder.children, cache.store, Scope.presentation(SECRET))
    cache.call(Store.find_children, cache.store, Scope.everything(), "NTH-1")
    keys = [str(key) for key in cache._cache.iterkeys()]
    assert keys
    for forbidden in (SECRET.decode(), SECRET.hex(), "NTH-1", "Amy"):
        assert not any(forbidden in key for key in keys)
    assert SECRET.hex() not in scope_digest(Scope.presentation(SECRET))


def test_a_cache_shared_by_two_apps_serves_the_second_from_the_firsts_computation(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    settings = Settings(database_url=url, cache_dir=tmp_path / "cache")
    first, second = create_app(settings), create_app(settings)
    seed_two_authorities(make_engine(url))
    counted = Counted()
    first_cache = first.server.extensions[EXTENSION_KEY].cache
    second_cache = second.server.extensions[EXTENSION_KEY].cache
    computed = first_cache.call(counted.children, first_cache.store, Scope.everything())
    served = second_cache.call(counted.children, second_cache.store, Scope.everything())
    assert counted.calls == 1
    assert second_cache.store is not first_cache.store
    pd.testing.assert_frame_equal(served, computed)


def test_a_thread_asking_while_another_computes_waits_for_its_result(engine, cache):
    seed_two_authorities(engine)
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow_children(store: Store, scope: Scope) -> pd.DataFrame:
        calls.append(1)
        started.set()
        release.wait(30)
        return store.children(scope)

    results = []
    first = threading.Thread(
        target=lambda: results.append(cache.call(slow_children, cache.store, Scope.everything()))
    )
    first.start()
    assert started.wait(30)
    second = threading.Thread(
        target=lambda: results.append(cache.call(slow_children, cache.store, Scope.everything()))
    )
    second.start()
    time.sleep(0.3)  # let the second reach its wait; the assertion holds whenever it arrives
    release.set()
    first.join(30)
    second.join(30)
    assert len(calls) == 1
    assert len(results) == 2
    pd.testing.assert_frame_equal(results[0], results[1])


def test_a_failed_computation_leaves_no_entry_and_the_next_call_computes(engine, cache):
    seed_two_authorities(engine)
    calls = []

    def failing_once(store: Store, scope: Scope) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the first try fails")
        return store.count_children(scope)

    with pytest.raises(RuntimeError):
        cache.call(failing_once, cache.store, Scope.everything())
    assert cache.call(failing_once, cache.store, Scope.everything()) == 2
    assert len(calls) == 2


def test_results_of_superseded_versions_are_dropped(engine, cache):
    seed_two_authorities(engine)
    counted = Counted()
    cache.call(counted.children, cache.store, Scope.everything())
    cache.call(counted.children, cache.store, Scope.presentation(SECRET))
    before = cache.entries()
    with Session(engine) as session, session.begin():
        bump_data_version(session)
    cache.call(counted.children, cache.store, Scope.everything())
    # Two entries of the old version went; one of the new came.
    assert cache.entries() == before - 1


def test_what_cannot_be_keyed_safely_is_refused(cache):
    with pytest.raises(TypeError, match="Scope"):
        cache.call(Store.count_children, cache.store, "not a scope")
    with pytest.raises(TypeError, match="lambda"):
        cache.call(lambda store, scope: 1, cache.store, Scope.everything())
    with pytest.raises(TypeError, match="DataFrame"):
        cache.call(Store.children, cache.store, Scope.everything(), pd.DataFrame())


def test_the_cache_of_another_database_is_refused(cache, tmp_path):
    other = Store(make_engine(f"sqlite:///{tmp_path / 'other.db'}"))
    with pytest.raises(ValueError, match="own database"):
        cache.call(Store.count_children, other, Scope.everything())


def test_a_private_cache_directory_is_removed_when_closed(sqlite_engine):
    cache = ResultCache(Store(sqlite_engine))
    assert cache.directory.exists()
    assert cache.directory.stat().st_mode & 0o077 == 0  # its owner's alone
    cache.close()
    assert not cache.directory.exists()


def test_demo_replace_clears_the_cache_and_carries_the_data_version_on(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("PACE_DATABASE_URL", url)
    monkeypatch.setenv("PACE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PACE_TODAY", dt.date(2026, 11, 29).isoformat())
    assert cli_main(["demo", "--children", "20"]) == 0
    store = Store(make_engine(url))
    cache = ResultCache(store, tmp_path / "cache")
    cache.call(Store.count_children, store, Scope.everything())
    version = store.data_version()
    assert cache.entries() >= 1

    assert cli_main(["demo", "--children", "30", "--replace"]) == 0
    assert cache.entries() == 0
    # Counted from zero again, a version could name the old data's entries in another server's cache.
    assert store.data_version() > version
    assert cache.call(Store.count_children, store, Scope.everything()) == 30
    cache.close()


def test_a_result_the_cache_cannot_keep_is_returned_all_the_same(sqlite_engine, tmp_path, caplog):
    store = Store(sqlite_engine)
    cache = ResultCache(store, tmp_path / "cache")
    calls = []

    def unpicklable(store: Store, scope: Scope) -> dict:
        calls.append(1)
        return {"children": store.count_children(scope), "lock": threading.Lock()}

    assert cache.call(unpicklable, store, Scope.everything())["children"] == 0
    assert cache.call(unpicklable, store, Scope.everything())["children"] == 0
    assert len(calls) == 2
    assert "cannot be written" in caplog.text
    cache.close()


def test_the_cache_directory_is_a_setting():
    from pace_dash.settings import load_settings

    assert load_settings({}).cache_dir is None
    assert str(load_settings({"PACE_CACHE_DIR": " /srv/pace/cache "}).cache_dir) == "/srv/pace/cache"
