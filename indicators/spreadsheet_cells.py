"""Text that a spreadsheet program opens as text: the CSV and XLSX exports carry ids and category
names that partners typed (a session id, a coaching topic, an organisation id), and a cell that
starts with = + - @ (or a tab or carriage return) would be run as a formula by whoever opens the
file (CSV injection). Such text is prefixed with an apostrophe; numbers ("-12.50") stay numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(text: str) -> str:
    """The text, made inert if a spreadsheet would read it as a formula."""
    if not text.startswith(FORMULA_STARTS) or _is_number(text):
        return text
    return "'" + text


def inert_row(values: Iterable[object]) -> list[object]:
    """A row with every text made inert (other values as they are)."""
    return [inert(value) if isinstance(value, str) else value for value in values]


def _is_number(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False
