"""The Scope every query takes: which authorities a user may see, and whether names."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Scope:
    """What one user may see; build it on the server, never from browser input."""

    la_ids: frozenset[int] | None  # None: every authority
    see_names: bool = False
    # False in presentation mode: case references become pseudonyms made with pseudonym_key.
    identifiable: bool = True
    pseudonym_key: bytes = b""

    @classmethod
    def everything(cls) -> Scope:
        """Return the all-seeing scope of the command line and of an administrator."""
        return cls(la_ids=None, see_names=True)

    @classmethod
    def nothing(cls) -> Scope:
        """Return the scope of a request with no signed-in user: no authority, no names."""
        return cls(la_ids=frozenset(), see_names=False)

    @classmethod
    def authorities(cls, *la_ids: int, see_names: bool = False) -> Scope:
        """Return a scope limited to the given authorities."""
        return cls(la_ids=frozenset(la_ids), see_names=see_names)

    def narrowed_to(self, la_id: int) -> Scope:
        """Return this scope limited to one authority (seeing nothing if it was outside it)."""
        allowed = frozenset({la_id}) if self.la_ids is None else self.la_ids & {la_id}
        return replace(self, la_ids=allowed)

    @classmethod
    def presentation(cls, pseudonym_key: bytes, la_ids: frozenset[int] | None = None) -> Scope:
        """Return a scope for showing journeys to an audience: no names, references or birth dates."""
        return cls(la_ids=la_ids, see_names=False, identifiable=False, pseudonym_key=pseudonym_key)
