"""Whether the domain is empty is worked out once for a domain (a loaded one does not change).

Rasa asked it of every message parsed, building an empty domain and writing both out as dicts
to compare them (figures: docs/performance.md).
"""
from __future__ import annotations

from rasa.shared.core.domain import Domain

_rasa_is_empty = Domain.is_empty


def _domain_is_empty(self: Domain) -> bool:
    """Domain.is_empty, remembered on the domain."""
    known = self.__dict__.get("_medius_is_empty")
    if known is None:
        known = self.__dict__["_medius_is_empty"] = _rasa_is_empty(self)
    return bool(known)


def install() -> None:
    Domain.is_empty = _domain_is_empty
