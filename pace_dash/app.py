"""The app factory: build the one Dash app of a process from Settings."""

from __future__ import annotations

import atexit
import functools
import importlib
import logging
import secrets

import dash
import flask
from dash import Dash
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from werkzeug.middleware.proxy_fix import ProxyFix

from pace_dash.components import shell
from pace_dash.domain.rules import load_rules_file
from pace_dash.figures.export import ImageExporter
from pace_dash.security.guard import LAYOUT_PATH, Guard, as_nobody
from pace_dash.settings import PROJECT_ROOT, TARGETS_FILE, Settings, load_settings
from pace_dash.store.accounts import Accounts
from pace_dash.store.cache import CacheDirectoryNotPrivate, ResultCache, check_private
from pace_dash.store.db import create_schema, load_default_rules, make_engine
from pace_dash.store.queries import Store
from pace_dash.web import (
    EXTENSION_KEY,
    DatabaseReadiness,
    Services,
    current_scope,
    services,
    signed_in_user,
)

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
# Room in a callback's JSON body beside the uploaded file itself (the other inputs, the framing).
UPLOAD_BODY_MARGIN = 1024 * 1024
# Page modules, imported once the app exists because dash.register_page needs it.
PAGE_MODULES = (
    "pace_dash.pages.home",
    "pace_dash.pages.child",
    "pace_dash.pages.qi",
    "pace_dash.pages.cohort",
    "pace_dash.pages.watchlist",
    "pace_dash.pages.imports",
    "pace_dash.pages.audit",
    "pace_dash.pages.not_found_404",
)
FRIENDLY_ERROR = (
    "Something went wrong while updating this view. It has been logged under reference {reference}; "
    "please try again, and quote the reference if it happens again."
)
# SQLite's answer when another writer held the database for longer than the busy timeout.
DATA_BUSY = "The database is busy with another change just now, so nothing was changed. Try again shortly."
DATA_UNAVAILABLE = (
    "The data is unavailable just now: the database is not answering. This page will work again as soon "
    "as it does; try again in a minute."
)


def prepare_schema(engine: Engine) -> bool:
    """Create the schema and default rules where missing; say whether the database answered."""
    try:
        create_schema(engine)
        with Session(engine) as session, session.begin():
            load_default_rules(session, load_rules_file(TARGETS_FILE))
    except (OperationalError, IntegrityError):
        # IntegrityError: another server created the same rows first; the next attempt finds them.
        return False
    return True


def prepare_database(settings: Settings) -> Store:
    """Create the schema and default rules where missing, and return the store.

    A database that cannot be reached does not stop the app: it starts, its health check says
    the data is unavailable, pages say so until the database answers, and the first request
    after that creates what is missing (Services.database).
    """
    engine = make_engine(settings.database_url)
    if not prepare_schema(engine):
        log.error("the database cannot be reached at start-up; serving with the data unavailable")
    return Store(engine)


class ProductionSettingsError(SystemExit):
    """Settings the app must not serve children's data with; the message is one line."""


def error_reference() -> str:
    """Return a short reference that ties a message a user sees to the details in the log."""
    return secrets.token_hex(4).upper()


def _report_callback_error(error: Exception) -> None:
    # The details go to the log under a reference; the user sees a plain message and the reference.
    reference = error_reference()
    log.error("callback failed [reference %s]", reference, exc_info=error)
    if isinstance(error, OperationalError) and "locked" in str(error.orig).lower():
        message = DATA_BUSY
    elif isinstance(error, OperationalError):
        message = DATA_UNAVAILABLE
    else:
        message = FRIENDLY_ERROR.format(reference=reference)
    dash.set_props(shell.ERROR_ALERT, {"children": message, "is_open": True})


def _shell_layout() -> object:
    # Served to one user through /_dash-layout; any other call is Dash building the validation
    # layout it sends to every user, so that one is built from no one's data.
    if flask.has_request_context() and flask.request.path == LAYOUT_PATH:
        return shell.layout(presenting=not current_scope().identifiable, user=signed_in_user())
    presenting = services().settings.presentation
    if flask.has_request_context():
        with as_nobody():
            return shell.layout(presenting=presenting)
    return shell.layout(presenting=presenting)


def create_app(settings: Settings | None = None) -> Dash:
    """Build the app: database ready, pages registered, services attached to the server."""
    settings = settings or load_settings()
    problems = settings.production_problems()
    if problems:
        raise ProductionSettingsError(f"Refusing to start in production: {'; '.join(problems)}.")
    if settings.cache_dir is not None and settings.cache_dir.exists():
        try:
            check_private(settings.cache_dir)
        except CacheDirectoryNotPrivate as refused:
            raise ProductionSettingsError(f"Refusing to start: {refused}.") from None
    store = prepare_database(settings)
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder="",
        assets_folder=str(PROJECT_ROOT / "assets"),
        title="PACE child timelines",
        update_title="Loading… PACE child timelines",
        on_error=_report_callback_error,
    )
    for module in PAGE_MODULES:
        importlib.import_module(module)
    exporter = ImageExporter()
    atexit.register(exporter.close)
    # An upload arrives base64-encoded (4 bytes for 3) in a callback's JSON body: refuse bodies much
    # larger than the biggest file allowed before reading them; the callback checks the exact size.
    app.server.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes * 4 // 3 + UPLOAD_BODY_MARGIN
    accounts = Accounts(store.engine)
    cache = ResultCache(store, settings.cache_dir)
    atexit.register(cache.close)
    # Ready or not at start-up, each worker checks on its first request (cheap when all is there),
    # before the guard reads the session tables.
    database = DatabaseReadiness(
        prepare=functools.partial(prepare_schema, store.engine),
        lock=functools.partial(cache.lock, "prepare-database"),
    )
    app.server.extensions[EXTENSION_KEY] = Services(
        settings=settings, store=store, accounts=accounts, exporter=exporter, cache=cache, database=database
    )
    app.server.before_request(lambda: services().database.ensure())
    app.server.secret_key = settings.secret_key
    if settings.proxy_hops:
        app.server.wsgi_app = ProxyFix(
            app.server.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops
        )
    Guard(app, settings, accounts).install()
    with app.server.app_context():
        app.layout = _shell_layout

    @app.server.errorhandler(500)
    def _server_error(error):
        reference = error_reference()
        log.error(
            "request failed [reference %s]", reference, exc_info=getattr(error, "original_exception", error)
        )
        return flask.Response(FRIENDLY_ERROR.format(reference=reference), status=500, mimetype="text/plain")

    @app.server.errorhandler(413)
    def _too_large(_error):
        # The import page checks a file's size in the browser; a body over the limit is refused unread.
        from pace_dash.pages.imports import TOO_BIG_WORDS  # imported here: pages load after the app

        return flask.jsonify(message=TOO_BIG_WORDS.format(mb=settings.max_upload_mb)), 413

    @app.server.route(HEALTH_PATH, endpoint="health")
    def _health():
        # For a load balancer or monitor: 200 while the database answers, 503 while it does not.
        if store.available():
            return flask.jsonify(status="ok", data_version=store.data_version())
        return flask.jsonify(status="unavailable"), 503

    return app
