"""Who may reach what: roles, the access each page module needs, and how every route is classified."""

from __future__ import annotations

from dataclasses import dataclass

from pace_dash.store.accounts import ROLES, Account
from pace_dash.store.scope import Scope

ROLE_RANK = {role: rank for rank, role in enumerate(ROLES, start=1)}
ROLE_LABELS = {"viewer": "Viewer", "manager": "Manager", "admin": "Administrator"}

# The role each module's pages and callbacks need. Deny by default: a callback of a module missing
# here is refused for everyone, so a new page must be placed here before anyone can use it.
MODULE_ROLES = {
    "pace_dash.components.shell": "viewer",
    "pace_dash.pages.home": "viewer",
    "pace_dash.pages.child": "viewer",
    "pace_dash.pages.not_found_404": "viewer",
    "pace_dash.pages.cohort": "manager",
    "pace_dash.pages.qi": "manager",
    "pace_dash.pages.watchlist": "manager",
    "pace_dash.pages.imports": "admin",
    "pace_dash.pages.audit": "admin",
    # Dash Pages' own router: it only calls page layouts, and each of those is guarded itself.
    "dash.dash": "viewer",
}

# Every Flask endpoint, classified. Deny by default: an endpoint missing here answers 404 to
# everyone, and tests/security/test_routes.py fails until it is classified.
PUBLIC_ENDPOINTS = frozenset({"sign_in", "_dash_assets.static", "/_favicon.ico", "health"})
SIGNED_IN_ENDPOINTS = frozenset(
    {
        "sign_out",
        "/",
        "/<path:path>",
        "/_dash-layout",
        "/_dash-dependencies",
        "/_dash-update-component",
        "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>",
    }
)
# Static files every user gets alike, which browsers may cache; every other response is no-store.
CACHEABLE_ENDPOINTS = frozenset(
    {"_dash_assets.static", "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>"}
)
# Flask's own static folder and Dash's hot-reload poll: not used by this app, so refused.
REFUSED_ENDPOINTS = frozenset({"static", "/_reload-hash"})


PUBLIC, SIGNED_IN, REFUSED = "public", "signed in", "refused"


def route_access(endpoint: str) -> str:
    """Return who may use a Flask endpoint: the public, signed-in users, or no one (the default)."""
    if endpoint in PUBLIC_ENDPOINTS:
        return PUBLIC
    if endpoint in SIGNED_IN_ENDPOINTS:
        return SIGNED_IN
    return REFUSED


@dataclass(frozen=True)
class SignedInUser:
    """The user of the current request, as the server knows them now."""

    user_id: int
    username: str
    role: str
    la_ids: frozenset[int]
    presenter: bool
    session_id: int
    csrf_token: str

    @classmethod
    def of(cls, account: Account, session_id: int, csrf_token: str) -> SignedInUser:
        """Return the signed-in form of an account for one session."""
        return cls(
            user_id=account.user_id,
            username=account.username,
            role=account.role,
            la_ids=account.la_ids,
            presenter=account.presenter,
            session_id=session_id,
            csrf_token=csrf_token,
        )

    def may(self, role: str) -> bool:
        """Say whether this user has at least a role."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


def scope_for(user: SignedInUser | None, *, presentation: bool, secret_key: bytes) -> Scope:
    """Return the one Scope a user's queries run in: the only place a Scope is made for a request."""
    if user is None:
        return Scope.nothing()
    la_ids = None if user.role == "admin" else user.la_ids
    if presentation or user.presenter:
        return Scope.presentation(secret_key, la_ids=la_ids)
    return Scope(la_ids=la_ids, see_names=True)


def module_allows(user: SignedInUser | None, module: str | None) -> bool:
    """Say whether a user may use the pages and callbacks of a module."""
    role = MODULE_ROLES.get(module or "")
    return user is not None and role is not None and user.may(role)
