"""Each event name's class is found once per process, not by walking every subclass of Event for each event read.

Reading a conversation back from the tracker store did that walk for every event stored
(figures: docs/performance.md).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Dict, Optional

from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses

_rasa_resolve_event = Event.resolve_by_type


@lru_cache(maxsize=1)
def _event_classes() -> Dict[str, type]:
    """Each event name's class, as Rasa's walk over Event's subclasses finds it (the first one wins)."""
    return {cls.type_name: cls for cls in reversed(all_subclasses(Event))}


def _resolve_event(type_name: str, default: Optional[type] = None) -> Optional[type]:
    """Event.resolve_by_type without walking every subclass of Event for each event read."""
    found = _event_classes().get(type_name) if isinstance(type_name, str) else None
    return found or _rasa_resolve_event(type_name, default)  # else Rasa's own answer, or its error


def install() -> None:
    Event.resolve_by_type = staticmethod(_resolve_event)
