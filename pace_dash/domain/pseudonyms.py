"""Pseudonyms that stand for children in presentation mode: stable for a key, not reversible."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

import pandas as pd

PREFIX = "P-"


def pseudonym(child_id: int, key: bytes) -> str:
    """Return the pseudonym of one child under a key, such as P-KQ7M-2XPA."""
    digest = hmac.new(key, str(int(child_id)).encode(), hashlib.sha256).digest()
    letters = base64.b32encode(digest).decode()[:8]
    return f"{PREFIX}{letters[:4]}-{letters[4:]}"


def pseudonyms(child_ids: Iterable[int], key: bytes) -> pd.Series:
    """Return the pseudonyms of many children, in order (40 bits each: collisions are negligible)."""
    return pd.Series([pseudonym(child_id, key) for child_id in child_ids], dtype="str")
