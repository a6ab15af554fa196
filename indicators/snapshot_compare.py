"""Figure by figure: what differs between two snapshot documents.

Both a reproduction (the stored document against a fresh replay) and a diff (an earlier snapshot
against a later one) need the same answer: for each figure, every value that changed, named by a
path a person can read, e.g. ``O2`` ``points[RP1].value.value: "10.00" → "12.00"`` or ``O3``
``breakdowns[gender][F].figure.n: 4 → 5``. List items are matched by what they are (a figure id,
a period id, a dimension, a category), never by their index, so a new category is one change.
"""

from __future__ import annotations

from typing import Any

import msgspec

from indicators.snapshot import SnapshotDocument

# A value absent on one side (a category that appeared, a figure the catalog added).
ABSENT = "(absent)"
# Differences outside any figure: the header, the period list, the survey panel.
DOCUMENT = "document"
PANEL = "panel"


class ValueChange(msgspec.Struct, frozen=True, kw_only=True):
    """One value that differs: where it is in its figure, and both sides."""

    path: str
    before: Any
    after: Any


class FigureDifference(msgspec.Struct, frozen=True, kw_only=True):
    """Every changed value of one figure ("O1", "O9.orgs"), or of "document" / "panel"."""

    figure_id: str
    changes: tuple[ValueChange, ...]


def document_differences(before: SnapshotDocument, after: SnapshotDocument) -> list[FigureDifference]:
    """Every difference between two documents, header and panel included (reproduction)."""
    old, new = msgspec.to_builtins(before), msgspec.to_builtins(after)
    old_figures, new_figures = old["indicators"].pop("figures"), new["indicators"].pop("figures")
    old_panel, new_panel = old["indicators"].pop("panel"), new["indicators"].pop("panel")
    return (
        _grouped(DOCUMENT, _changes(old, new))
        + _grouped(PANEL, _changes(old_panel, new_panel))
        + _figure_changes(old_figures, new_figures)
    )


def figure_differences(before: SnapshotDocument, after: SnapshotDocument) -> list[FigureDifference]:
    """The figures (and the panel) that differ between two snapshots, ignoring what pins each one
    (its id, position, hash, as-of time), which always differs (a diff)."""
    old, new = msgspec.to_builtins(before.indicators), msgspec.to_builtins(after.indicators)
    return _grouped(PANEL, _changes(old["panel"], new["panel"])) + _figure_changes(
        old["figures"], new["figures"]
    )


def _figure_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[FigureDifference]:
    old_figures = {f["figure_id"]: f for f in old}
    new_figures = {f["figure_id"]: f for f in new}
    found: list[FigureDifference] = []
    for figure_id in [*old_figures, *(f for f in new_figures if f not in old_figures)]:
        found += _grouped(
            figure_id, _changes(old_figures.get(figure_id, ABSENT), new_figures.get(figure_id, ABSENT))
        )
    return found


def _grouped(figure_id: str, changes: list[ValueChange]) -> list[FigureDifference]:
    return [FigureDifference(figure_id=figure_id, changes=tuple(changes))] if changes else []


def _changes(old: Any, new: Any) -> list[ValueChange]:
    found: list[ValueChange] = []
    _walk("", old, new, found)
    return found


def _walk(path: str, old: Any, new: Any, out: list[ValueChange]) -> None:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            _walk(f"{path}.{key}" if path else key, old.get(key, ABSENT), new.get(key, ABSENT), out)
    elif isinstance(old, list) and isinstance(new, list) and _identified(old) and _identified(new):
        old_items = {_identity(item): item for item in old}
        new_items = {_identity(item): item for item in new}
        for key in [*old_items, *(k for k in new_items if k not in old_items)]:
            _walk(f"{path}[{key}]", old_items.get(key, ABSENT), new_items.get(key, ABSENT), out)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            _walk(f"{path}[{index}]", a, b, out)
    else:
        out.append(ValueChange(path=path or "(whole)", before=old, after=new))


def _identity(item: dict[str, Any]) -> str:
    """What a list item is: a point's period, a breakdown's dimension, a cell's category…"""
    for key in ("figure_id", "by", "category", "period_id"):
        if key in item:
            return str(item[key])
    return str(item["period"]["period_id"])


def _identified(items: list[Any]) -> bool:
    if not all(isinstance(item, dict) for item in items):
        return False
    try:
        identities = [_identity(item) for item in items]
    except (KeyError, TypeError):
        return False
    return len(set(identities)) == len(identities)
