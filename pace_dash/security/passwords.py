"""Password policy and Argon2id hashing."""

from __future__ import annotations

import functools
import gzip

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pace_dash.settings import PROJECT_ROOT

MIN_LENGTH = 12
MAX_LENGTH = 256  # Argon2 takes any length; the cap stops a megabyte "password" costing a hash
# The 20,000 most common passwords (Royce Williams' list, as Django ships it), lowercased.
COMMON_PASSWORDS_FILE = PROJECT_ROOT / "data" / "common-passwords.txt.gz"


class PasswordRefused(ValueError):
    """A password the policy does not accept, with the reason in plain words."""


@functools.cache
def common_passwords() -> frozenset[str]:
    """Return the list of common passwords, read once."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def check_password(password: str, username: str) -> None:
    """Refuse a password that is too short, too long, common or the username; no composition rules."""
    if len(password) < MIN_LENGTH:
        raise PasswordRefused(f"The password must have at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise PasswordRefused(f"The password must have at most {MAX_LENGTH} characters.")
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) < 4:
        raise PasswordRefused("This password is too common or too easy to guess; choose another.")
    if username.lower() in lowered:
        raise PasswordRefused("The password must not contain the username.")


def hasher() -> PasswordHasher:
    """Return the Argon2id hasher with argon2-cffi's recommended parameters (RFC 9106, low memory)."""
    return PasswordHasher()


def hash_password(password: str, username: str) -> str:
    """Check a new password against the policy and return its Argon2id hash."""
    check_password(password, username)
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Say whether a password matches a stored hash."""
    try:
        return hasher().verify(password_hash, password[:MAX_LENGTH])
    except (VerificationError, InvalidHashError):
        return False


# Verified against when the username is unknown, so both failures take the same time.
DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$RKaJsHC9UOUCdhU1NKUQ7w$HUZfns4gz+qTyhFIlE/ovbD/fqnNc6T5M8ds1wGCBXw"
)
