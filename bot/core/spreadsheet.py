"""CSV that a spreadsheet opens as text: every export of the inbox and the command line writes its cells here."""
from __future__ import annotations

import csv
import io
from typing import Any, Dict, Iterable, List

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A spreadsheet runs a cell starting with = + - @ (or a tab or CR before one) as a formula: such text gets a '.

    Every such cell, whatever follows: "-1+1+HYPERLINK(...)" is as much a formula as "=HYPERLINK(...)".
    """
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA) else value


def csv_text(rows: Iterable[Dict[str, Any]], fields: List[str]) -> str:
    """The rows as CSV with a header, only `fields`, every cell made safe."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: safe_cell(value) for key, value in row.items() if key in fields})
    return out.getvalue()
