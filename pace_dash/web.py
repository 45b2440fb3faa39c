"""What a callback may ask of the server: the store, the settings and the user's Scope."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import flask
import pandas as pd
from sqlalchemy.exc import OperationalError

from pace_dash.domain.rules import RULE_COLUMNS
from pace_dash.figures.export import ImageExporter
from pace_dash.security.access import SignedInUser, scope_for
from pace_dash.security.guard import current_user
from pace_dash.settings import Settings
from pace_dash.store.accounts import Accounts, AuditRecord
from pace_dash.store.cache import ResultCache
from pace_dash.store.queries import Store
from pace_dash.store.scope import Scope

log = logging.getLogger(__name__)

EXTENSION_KEY = "pace_dash"
PREPARE_RETRY_SECONDS = 2.0


@dataclass
class DatabaseReadiness:
    """Whether this process has seen the schema and default rules in place; made so on a later request if not.

    A database down at start-up gets its schema and rules when it comes back, without a restart:
    each request tries again (at most every PREPARE_RETRY_SECONDS) until it succeeds, under a lock
    every worker sharing the cache directory respects, so they never create them at once.
    """

    prepare: Callable[[], bool]  # creates what is missing; says whether the database answered
    lock: Callable[[], AbstractContextManager]
    ready: bool = False
    next_attempt: float = 0.0
    _threads: threading.Lock = field(default_factory=threading.Lock)

    def ensure(self) -> None:
        """Prepare the database now unless done already or tried too recently."""
        if self.ready or time.monotonic() < self.next_attempt:
            return
        with self._threads, self.lock():
            if self.ready:
                return
            self.ready = self.prepare()
            if not self.ready:
                self.next_attempt = time.monotonic() + PREPARE_RETRY_SECONDS


@dataclass(frozen=True)
class Services:
    """The objects one app instance serves with, kept on its Flask server."""

    settings: Settings
    store: Store
    accounts: Accounts
    exporter: ImageExporter  # one kept-running browser for the images of this process
    cache: ResultCache  # query and computation results, shared by every worker, keyed by data version
    database: DatabaseReadiness


def services() -> Services:
    """Return the services of the app handling the current request."""
    return flask.current_app.extensions[EXTENSION_KEY]


def current_scope() -> Scope:
    """Return the Scope of the user making the current request, decided on the server alone.

    It comes from the server-side session (the user's role, authorities and presenter flag, read
    afresh on every request) and the server's presentation setting; no page reads a scope from
    callback inputs, stores, URLs or cookies. With no signed-in user it sees nothing.
    """
    settings = services().settings
    return scope_for(current_user(), presentation=settings.presentation, secret_key=settings.secret_key)


def signed_in_user() -> SignedInUser | None:
    """Return the signed-in user of the current request, or None."""
    return current_user()


def audit(
    action: str, outcome: str = "ok", *, child_id: int | None = None, records: int | None = None
) -> None:
    """Append an action of the current user to the audit trail."""
    user = current_user()
    # Also logged, for log-based monitoring: ids and counts only, never names or dates of birth.
    log.info(
        "audit: %s %s by user %s, child id %s, %s records",
        action,
        outcome,
        user and user.user_id,
        child_id,
        records,
    )
    services().accounts.audit(
        AuditRecord(
            action=action,
            outcome=outcome,
            username=user.username if user else "(nobody)",
            user_id=user.user_id if user else None,
            role=user.role if user else None,
            child_id=child_id,
            records=records,
        )
    )


def choice_lists(store: Store, scope: Scope) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the authorities and rules in scope for a page's controls; empty while the data is unavailable.

    Dash also builds every page's layout on the first request to check callback ids, which must
    not fail because the database is down: the page's callbacks say so instead.
    """
    try:
        return store.authorities(scope), store.rules(scope)
    except OperationalError:
        log.warning("the database is unavailable; page controls left empty")
        rules = pd.DataFrame(columns=["la_id", *RULE_COLUMNS]).astype({"active": bool})
        return pd.DataFrame(columns=["la_id", "code", "name"]), rules
