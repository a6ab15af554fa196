"""Reading one cell as its column's type, the same way for CSV text and typed XLSX cells.

Lenient where the meaning is certain (a number typed as text "6.5", a date typed as text
"2025-03-04", an integer id typed as a number), strict where it is not: "6,5", "04/03/2025",
"yes please" are refused with a reason, never guessed.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from service.imports.columns import Column

_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
# "12,500" may be twelve thousand five hundred or twelve and a half: never guess which.
_COMMA_GROUPS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+$")
_COMMA_DECIMAL = re.compile(r"^[+-]?\d+,\d+$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}([ '.]\d{3})+(,\d+)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TRUE = frozenset({"true", "yes", "y", "1", "x"})
_FALSE = frozenset({"false", "no", "n", "0"})


class CellError(ValueError):
    """The cell cannot be read as its column's type; the message says how to write it."""


def is_blank(value: Any) -> bool:
    """An empty cell (None, or text of whitespace only)."""
    return value is None or (isinstance(value, str) and not value.strip())


def read_cell(column: Column, value: Any) -> Any:
    """The JSON value a payload takes from this cell (dates as ISO text, decimals as text, as the
    JSON API takes them); CellError when it cannot be read. Blank cells are not passed here."""
    reader = _READERS[column.kind]
    return reader(value)


def _text(value: Any) -> str:
    if isinstance(value, bool) or isinstance(value, dt.date | dt.time):
        raise CellError("expected text, got a date, time or TRUE/FALSE cell")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an id typed as a number: 101 is shown and stored as 101.0
    return str(value).strip()


def _date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        if _ISO_DATE.match(text):
            try:
                return dt.date.fromisoformat(text).isoformat()
            except ValueError as error:
                raise CellError(f"{text} is not a calendar date") from error
        raise CellError("a date written as text must be YYYY-MM-DD; better, enter it as a date cell")
    if isinstance(value, int | float):
        raise CellError("a number, not a date: format the cell as a date")
    raise CellError("expected a date")


def _dates(value: Any) -> list[str]:
    if isinstance(value, str):
        return [_date(part) for part in value.split(";") if part.strip()]
    return [_date(value)]


def _decimal(value: Any) -> str:
    if isinstance(value, bool):
        raise CellError("expected a number, got TRUE/FALSE")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # repr is the shortest text that reads back as the same float: 6.5, not 6.49999…
        return str(Decimal(repr(value)))
    if isinstance(value, str):
        text = value.strip()
        if _PLAIN_NUMBER.match(text):
            try:
                return str(Decimal(text))
            except InvalidOperation as error:  # pragma: no cover - the pattern admits only numbers
                raise CellError("not a number") from error
        if _COMMA_GROUPS.match(text):
            raise CellError("ambiguous: write 12500 (no thousands separator) or 12.5 (decimal point)")
        if _COMMA_DECIMAL.match(text):
            raise CellError("write decimals with a point (6.5), not a comma")
        if _GROUPED.match(text):
            raise CellError("write numbers without thousands separators (12500, not 12 500)")
        raise CellError("not a number")
    raise CellError("expected a number")


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise CellError("expected a whole number, got TRUE/FALSE")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.match(r"^[+-]?\d+$", value.strip()):
        return int(value.strip())
    raise CellError("expected a whole number")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise CellError("expected TRUE or FALSE (or yes/no)")


def _items(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip()]
    return [_text(value)]


_READERS = {
    "id": _text,
    "text": _text,
    "date": _date,
    "dates": _dates,
    "decimal": _decimal,
    "int": _integer,
    "bool": _boolean,
    "list": _items,
}
