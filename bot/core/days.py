"""Filters typed into a query: a malformed or unknown value is refused, a day beyond the calendar's range clamped."""
from __future__ import annotations

from datetime import date
from typing import Iterable, Optional

# A day a date range can be built around in any time zone: 9999-12-31 plus a day does not exist.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)


class BadFilter(ValueError):
    """A filter value that means nothing; the message says which and how to write it."""


def query_day(name: str, value: Optional[str]) -> Optional[date]:
    """The day a filter names, or None when it is left empty.

    Ignoring a bad day used to list everything while the page said "from
    9999-12-31": a filter must either mean what it says or be refused. A day
    past the range keeps its meaning (nothing is that late) at the range's end.
    """
    text = (value or "").strip()
    if not text:
        return None
    try:
        found = date.fromisoformat(text)
    except ValueError:
        raise BadFilter(f"'{name}' must be a day written as YYYY-MM-DD.") from None
    return min(max(found, FIRST_DAY), LAST_DAY)


def query_choice(name: str, value: Optional[str], choices: Iterable[str]) -> str:
    """One of a filter's choices, in any case, or "" when left empty; anything else is refused, so a
    mistyped filter never lists everything while it seems to list some."""
    text = (value or "").strip().lower()
    allowed = list(choices)
    if text and text not in allowed:
        raise BadFilter(f"'{name}' must be one of: {', '.join(allowed)}.")
    return text


def query_id(name: str, value: Optional[str]) -> Optional[int]:
    """A record id a filter names (up to 18 digits, as ids in paths), or None when left empty."""
    text = (value or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 18:
        raise BadFilter(f"'{name}' must be a number.")
    return int(text)
