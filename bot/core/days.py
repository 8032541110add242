"""Days typed into a filter: a malformed one is refused, one beyond the calendar's usable range is clamped."""
from __future__ import annotations

from datetime import date
from typing import Optional

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
