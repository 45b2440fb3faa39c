"""The server's guard: sessions, sign-in and sign-out, CSRF, route and callback access, security headers."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hmac
import logging
import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

import dash
import flask
import pandas as pd
from dash import Dash, html
from sqlalchemy.exc import OperationalError

from pace_dash.security.access import (
    CACHEABLE_ENDPOINTS,
    PUBLIC,
    REFUSED,
    SignedInUser,
    module_allows,
    route_access,
)
from pace_dash.security.passwords import DUMMY_HASH, verify_password
from pace_dash.security.sign_in_page import sign_in_page
from pace_dash.settings import Settings
from pace_dash.store.accounts import Accounts, AuditRecord, normal_username, utc_now

log = logging.getLogger(__name__)

SIGN_IN_PATH = "/login"
SIGN_OUT_PATH = "/logout"
CALLBACK_PATH = "/_dash-update-component"
LAYOUT_PATH = "/_dash-layout"
SESSION_COOKIE = "pace_session"
# The cookie and header names Dash's renderer uses: it copies the cookie into the header of every
# callback request, which is what lets the server check callbacks for CSRF.
CSRF_COOKIE = "_csrf_token"
CSRF_HEADER = "X-CSRFToken"
CSRF_FIELD = "csrf_token"
USER_KEY = "pace_user"
ERROR_ALERT_ID = "shell-error-alert"  # the shell's alert (components/shell.py ERROR_ALERT)
TOUCH_EVERY = dt.timedelta(minutes=1)  # write a session's last use at most this often
THROTTLE_WINDOW = dt.timedelta(minutes=15)
FAILURES_PER_ACCOUNT = 5
FAILURES_PER_ADDRESS = 20
UNKNOWN_USER = "(unknown user)"
WRONG_CREDENTIALS = "The username or password is not right."
THROTTLED = "Too many attempts to sign in. Wait 15 minutes and try again."
FORM_EXPIRED = "The sign-in form had expired. Please try again."
SESSION_ENDED = "Your session has ended. Sign in again to carry on."
FORBIDDEN = "Your role does not include this."
UNAVAILABLE = "The data is unavailable just now: the database is not answering. Try again in a minute."
# Content-Security-Policy. Scripts: the app's own files and Dash's inline scripts by hash, never
# other inline scripts. 'unsafe-eval' because Plotly's WebGL traces (regl, the cohort timeline)
# compile their drawing code at run time; without it Plotly reports WebGL as unsupported
# (tests/browser/test_csp_browser.py checks every page draws). Styles: Plotly and the grids write
# inline styles. Nothing may frame the app, and forms post only to it.
CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'", "'unsafe-eval'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "worker-src": ["'self'", "blob:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def current_user() -> SignedInUser | None:
    """Return the signed-in user of the current request, or None outside one or before sign-in."""
    if not flask.has_request_context():
        return None
    return flask.g.get(USER_KEY)


@contextlib.contextmanager
def as_nobody():
    """Run a block as if no one were signed in."""
    user = flask.g.pop(USER_KEY, None)
    try:
        yield
    finally:
        if user is not None:
            flask.g.setdefault(USER_KEY, user)


def is_callback_request() -> bool:
    """Say whether the current request is a Dash callback."""
    return flask.has_request_context() and flask.request.path == CALLBACK_PATH


def guard_layout(layout: Callable[..., object], module: str) -> Callable[..., object]:
    """Wrap a page's layout so only users whose role allows its module see it."""

    @functools.wraps(layout)
    def guarded(*args, **kwargs):
        if not is_callback_request():
            # Dash builds a validation layout from every page once and sends it to every user:
            # build it from no one's data.
            with as_nobody():
                return layout(*args, **kwargs)
        if not module_allows(current_user(), module):
            return html.Div(
                [html.H1("Not available", className="h3"), html.P(f"{FORBIDDEN} Ask an administrator.")],
                id="forbidden",
            )
        return layout(*args, **kwargs)

    return guarded


def _same_site_path(target: str | None) -> str:
    # Only a path of this site: never another host, so sign-in cannot be used to redirect away.
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path in (SIGN_IN_PATH, SIGN_OUT_PATH):
        return "/"
    return target


class Guard:
    """Everything the server checks before and after each request, for one app."""

    def __init__(self, app: Dash, settings: Settings, accounts: Accounts):
        self.app = app
        self.settings = settings
        self.accounts = accounts
        self.idle_timeout = dt.timedelta(minutes=settings.session_idle_minutes)
        self.absolute_timeout = dt.timedelta(hours=settings.session_max_hours)

    def install(self) -> None:
        """Guard every page module's layout, every route and every response of the app."""
        for page in dash.page_registry.values():
            page["layout"] = guard_layout(page["layout"], page["module"])
        server = self.app.server
        server.before_request(self.before_request)
        server.after_request(self.after_request)
        server.add_url_rule(SIGN_IN_PATH, "sign_in", self.sign_in, methods=["GET", "POST"])
        server.add_url_rule(SIGN_OUT_PATH, "sign_out", self.sign_out, methods=["POST"])

    # Every request

    def before_request(self):
        """Find the user, then refuse what the route, the role, CSRF or the content type does not allow."""
        endpoint = flask.request.endpoint
        if endpoint is None:
            return None  # no route matched: Flask answers 404
        access = route_access(endpoint)
        if access == REFUSED:
            flask.abort(404)  # deny by default: an unclassified route serves no one
        try:
            setattr(flask.g, USER_KEY, self._signed_in_user())
        except OperationalError:
            log.error("the database is unavailable; request refused")
            if flask.request.path == CALLBACK_PATH:
                # Shaped as a callback answer, so the page shows the message where it shows errors.
                alert = {"children": UNAVAILABLE, "is_open": True}
                return flask.jsonify(multi=True, response={}, sideUpdate={ERROR_ALERT_ID: alert})
            return flask.Response(UNAVAILABLE, status=503, mimetype="text/plain")
        if access == PUBLIC:
            return None
        user = current_user()
        if user is None:
            if flask.request.method == "GET" and endpoint in ("/", "/<path:path>"):
                return flask.redirect(f"{SIGN_IN_PATH}?next={flask.request.full_path.rstrip('?')}")
            return flask.jsonify(message=SESSION_ENDED), 401
        if flask.request.method == "POST":
            return self._check_post(user)
        return None

    def _signed_in_user(self) -> SignedInUser | None:
        token = flask.request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        record = self.accounts.session_for(token)
        if record is None:
            flask.g.clear_session_cookie = True
            return None
        now = utc_now()
        expired = (
            now - record.last_seen_at > self.idle_timeout or now - record.created_at > self.absolute_timeout
        )
        if expired or record.account.disabled:
            self.accounts.end_session(record.session_id)
            flask.g.clear_session_cookie = True
            return None
        if now - record.last_seen_at > TOUCH_EVERY:
            self.accounts.touch_session(record.session_id, now)
        return SignedInUser.of(record.account, record.session_id, record.csrf_token)

    def _check_post(self, user: SignedInUser):
        sent = flask.request.headers.get(CSRF_HEADER) or flask.request.form.get(CSRF_FIELD, "")
        if not hmac.compare_digest(sent.encode(), user.csrf_token.encode()):
            return flask.jsonify(message="This request did not come from the dashboard's own page."), 403
        if flask.request.path != CALLBACK_PATH:
            return None
        if flask.request.mimetype != "application/json":
            return flask.jsonify(message="Callbacks accept JSON only."), 415
        body = flask.request.get_json(silent=True)
        entry = self.app.callback_map.get(body.get("output")) if isinstance(body, dict) else None
        function = (entry or {}).get("callback")
        if not module_allows(user, getattr(function, "__module__", None)):
            return flask.jsonify(message=FORBIDDEN), 403
        return None

    def after_request(self, response: flask.Response) -> flask.Response:
        """Add the security headers, and set or clear the session cookies."""
        headers = response.headers
        headers["Content-Security-Policy"] = self._csp()
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "same-origin"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if flask.request.endpoint not in CACHEABLE_ENDPOINTS:
            headers["Cache-Control"] = "no-store"
        if self._secure():
            headers["Strict-Transport-Security"] = "max-age=31536000"
        if flask.g.get("clear_session_cookie"):
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    def _csp(self) -> str:
        # Hashed on each response: Dash adds inline scripts (clientside callbacks) on its first request.
        sources = {**CSP, "script-src": [*CSP["script-src"], *self.app.csp_hashes()]}
        return "; ".join(f"{name} {' '.join(values)}" for name, values in sources.items())

    def _secure(self) -> bool:
        return self.settings.production or flask.request.is_secure

    def _set_cookie(self, response: flask.Response, name: str, value: str, *, http_only: bool) -> None:
        response.set_cookie(
            name,
            value,
            httponly=http_only,
            secure=self._secure(),
            samesite="Lax",
            path="/",
            max_age=int(self.absolute_timeout.total_seconds()),
        )

    # Sign-in and sign-out

    def sign_in(self):
        """Show the sign-in form, or check a submitted one and start a session."""
        target = _same_site_path(flask.request.values.get("next"))
        if current_user() is not None:
            return flask.redirect(target)
        form_token = flask.request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        message = None
        if flask.request.method == "POST":
            sent = flask.request.form.get(CSRF_FIELD, "")
            if not hmac.compare_digest(sent.encode(), form_token.encode()):
                message = FORM_EXPIRED
            else:
                try:
                    outcome = self._try_sign_in(
                        flask.request.form.get("username", "").strip(), flask.request.form.get("password", "")
                    )
                except OperationalError:
                    log.error("the database is unavailable; sign-in refused")
                    outcome = UNAVAILABLE
                if isinstance(outcome, flask.Response):
                    return outcome
                message = outcome
        demo_accounts = self._demo_accounts()
        if flask.g.get("database_unavailable"):
            message = UNAVAILABLE
        page = sign_in_page(form_token, target, message, demo_accounts)
        status = 503 if flask.g.get("database_unavailable") else 401 if message else 200
        response = flask.make_response(page, status)
        self._set_cookie(response, CSRF_COOKIE, form_token, http_only=True)
        return response

    def _demo_accounts(self) -> pd.DataFrame:
        # Listed only where demo accounts exist, which is the demo database alone.
        try:
            users = self.accounts.users()
        except OperationalError:
            flask.g.database_unavailable = True
            return pd.DataFrame(columns=["username", "role", "authorities"])
        return users[users["demo"] & ~users["disabled"]]

    def _try_sign_in(self, username: str, password: str) -> flask.Response | str:
        username = normal_username(username)
        address = flask.request.remote_addr or "unknown"
        since = utc_now() - THROTTLE_WINDOW
        # Attempts older than the window throttle no one; the audit trail keeps the history.
        self.accounts.forget_attempts_before(since)
        # Counted as a failure before the password is checked, and the count includes it: requests
        # sent at the same moment cannot all slip under the limit together.
        attempt = self.accounts.record_attempt(username, address, succeeded=False)
        throttled = (
            self.accounts.recent_failures(since, username=username) > FAILURES_PER_ACCOUNT
            or self.accounts.recent_failures(since, address=address) > FAILURES_PER_ADDRESS
        )
        account = self.accounts.account(username) if username else None
        # The trail names only real accounts: a password typed as a username must not stay in it.
        named = account.username if account else UNKNOWN_USER
        if throttled:
            self.accounts.audit(AuditRecord(action="sign-in", outcome="throttled", username=named))
            return THROTTLED
        # Verify against a dummy hash for an unknown user, so both failures take the same time.
        matches = verify_password(account.password_hash if account else DUMMY_HASH, password)
        if not (account and matches and not account.disabled):
            self.accounts.audit(AuditRecord(action="sign-in", outcome="refused", username=named))
            return WRONG_CREDENTIALS
        self.accounts.mark_succeeded(attempt)
        token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.accounts.start_session(account.user_id, token, csrf_token)
        self.accounts.audit(
            AuditRecord(
                action="sign-in", outcome="ok", username=account.username, user_id=account.user_id,
                role=account.role,
            )
        )  # fmt: skip
        response = flask.redirect(_same_site_path(flask.request.values.get("next")))
        self._set_cookie(response, SESSION_COOKIE, token, http_only=True)
        # Readable by the page's script, which sends it back in the X-CSRFToken header.
        self._set_cookie(response, CSRF_COOKIE, csrf_token, http_only=False)
        return response

    def sign_out(self):
        """End the session and go back to the sign-in page."""
        user = current_user()
        if user is not None:
            self.accounts.end_session(user.session_id)
            self.accounts.audit(
                AuditRecord(
                    action="sign-out", outcome="ok", username=user.username, user_id=user.user_id,
                    role=user.role,
                )
            )  # fmt: skip
        response = flask.redirect(SIGN_IN_PATH)
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie(CSRF_COOKIE, path="/")
        return response
