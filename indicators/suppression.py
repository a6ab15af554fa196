"""Small-cell suppression for the funder view (DOMAIN.md §4 and (f)).

A disaggregated cell with n < 5 distinct persons or organisations behind it is withheld: its
figure and target are dropped and it is marked suppressed, so the category still shows but not
its numbers. Totals, period figures and the auditor view (the unsuppressed result) are never
touched.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

from indicators.results import Breakdown, Cell, FigureResult, ProjectIndicators, Series, SeriesPoint

MINIMUM_CELL_SIZE = 5

R = TypeVar("R", ProjectIndicators, Series)


def suppress_for_funders(result: R) -> R:
    """The funder view of an indicator table or series: every cell with n < 5 withheld."""
    if isinstance(result, Series):
        return msgspec.structs.replace(result, figure=_figure(result.figure))
    return msgspec.structs.replace(result, figures=tuple(_figure(figure) for figure in result.figures))


def _figure(result: FigureResult) -> FigureResult:
    return msgspec.structs.replace(
        result,
        breakdowns=tuple(Breakdown(by=b.by, cells=_cells(b.cells)) for b in result.breakdowns),
        points=_points(result.points),
    )


def _points(points: tuple[SeriesPoint, ...]) -> tuple[SeriesPoint, ...]:
    return tuple(
        msgspec.structs.replace(
            point, cells=_cells(point.cells), cumulative_cells=_cells(point.cumulative_cells)
        )
        for point in points
    )


def _cells(cells: tuple[Cell, ...]) -> tuple[Cell, ...]:
    return tuple(
        Cell(category=cell.category, figure=None, target=None, suppressed=True) if _small(cell) else cell
        for cell in cells
    )


def _small(cell: Cell) -> bool:
    return cell.figure is None or cell.figure.n < MINIMUM_CELL_SIZE
