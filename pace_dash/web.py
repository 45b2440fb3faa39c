"""What a callback may ask of the server: the store, the settings and the user's Scope."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import flask
import pandas as pd
from sqlalchemy.exc import OperationalError

from pace_dash.domain.rules import RULE_COLUMNS
from pace_dash.figures.export import ImageExporter
from pace_dash.settings import Settings
from pace_dash.store.queries import Store
from pace_dash.store.scope import Scope

log = logging.getLogger(__name__)

EXTENSION_KEY = "pace_dash"


@dataclass(frozen=True)
class Services:
    """The objects one app instance serves with, kept on its Flask server."""

    settings: Settings
    store: Store
    exporter: ImageExporter  # one kept-running browser for the images of this process


def services() -> Services:
    """Return the services of the app handling the current request."""
    return flask.current_app.extensions[EXTENSION_KEY]


def current_scope() -> Scope:
    """Return the Scope of the user making the current request, decided on the server alone.

    Until sign-in exists every request sees every authority (the demo); a server started in
    presentation mode sees them without names, references or dates of birth. Sign-in changes this
    one function; no page reads a scope from callback inputs, stores, URLs or cookies.
    """
    settings = services().settings
    if settings.presentation:
        return Scope.presentation(settings.secret_key)
    return Scope.everything()


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
