"""Who may read what: a document's groups against the asker's groups.

A document ingested without groups is readable by everyone; one with groups only by members of
at least one of them. The check runs inside the vector-store query (see store.search), and the
default everywhere is the narrowest grant: public documents only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Access:
    groups: frozenset[str] = frozenset()
    everything: bool = False  # operators and admins: no filter

    @classmethod
    def public(cls) -> Access:
        return cls()

    @classmethod
    def member_of(cls, groups: Iterable[str]) -> Access:
        return cls(groups=frozenset(groups))

    @classmethod
    def admin(cls) -> Access:
        return cls(everything=True)

    def allows(self, document_groups: Sequence[str]) -> bool:
        return self.everything or not document_groups or bool(self.groups & set(document_groups))


PUBLIC = Access.public()
