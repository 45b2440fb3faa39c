"""The Scope every query takes: which authorities a user may see, and whether names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """What one user may see; build it on the server, never from browser input."""

    la_ids: frozenset[int] | None  # None: every authority
    see_names: bool = False

    @classmethod
    def everything(cls) -> Scope:
        """Return the all-seeing scope the demo runs with until sign-in exists."""
        return cls(la_ids=None, see_names=True)

    @classmethod
    def authorities(cls, *la_ids: int, see_names: bool = False) -> Scope:
        """Return a scope limited to the given authorities."""
        return cls(la_ids=frozenset(la_ids), see_names=see_names)
