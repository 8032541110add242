"""A slot copies as Python's default copy makes it, without Python's generic reduce protocol.

Every tracker copies each of the domain's slots, and most of that time went to the protocol
(figures: docs/performance.md).
"""
from __future__ import annotations

from rasa.shared.core.slots import Slot


def _copy_slot(self: Slot) -> Slot:
    """copy.copy of a slot, as Python's default copy makes it."""
    new = object.__new__(type(self))
    new.__dict__.update(self.__dict__)
    return new


def install() -> None:
    Slot.__copy__ = _copy_slot
