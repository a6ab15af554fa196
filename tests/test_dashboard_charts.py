"""The dashboard's charts and figures as text, without a database: target lines, SVG output and
its cache, number formatting."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from indicators.results import Figure, FigureResult, Period, SeriesPoint, TargetProgress
from service.dashboard import formatting as fmt
from service.dashboard.charts import ChartPoint, ChartRenderer, ChartSeries, PeriodSpan
from service.dashboard.view import _target_path

START, MIDDLE, END = dt.date(2025, 1, 1), dt.date(2025, 12, 31), dt.date(2026, 12, 31)
P1 = Period(period_id="P1", start=START, end=MIDDLE)
P2 = Period(period_id="P2", start=dt.date(2026, 1, 1), end=END)


def target(period: str, value: str, cumulative: bool) -> TargetProgress:
    return TargetProgress(
        period_id=period,
        disaggregation_key=None,
        target=Decimal(value),
        cumulative=cumulative,
        baseline=None,
        actual=None,
        progress=None,
        expected=None,
        status=None,
    )


def figure(
    measure: str, p1: TargetProgress | None, p2: TargetProgress | None, life: TargetProgress | None
) -> FigureResult:
    nothing = Figure(value=Decimal(0), n=0)
    return FigureResult(
        figure_id="X1",
        indicator_id="X1",
        name="A figure",
        unit="things",
        measure=measure,
        self_reported=False,
        total=nothing,
        baseline=Decimal(0),
        target=life,
        breakdowns=(),
        points=tuple(
            SeriesPoint(period=period, value=nothing, cumulative=nothing, target=t)
            for period, t in ((P1, p1), (P2, p2))
        ),
    )


def test_incremental_period_targets_add_up_along_the_cumulative_target_line() -> None:
    # O5 in the demo: 15 exchanges in P1, 21 more in P2, 36 over the life of the project.
    exchanges = figure(
        "number", target("P1", "15", False), target("P2", "21", False), target("LoP", "36", True)
    )
    assert _target_path(exchanges, START, END, steps=False) == (
        ChartPoint(START, 0.0),
        ChartPoint(MIDDLE, 15.0),
        ChartPoint(END, 36.0),
    )


def test_the_life_of_project_target_ends_the_line_the_card_is_judged_on() -> None:
    revised = figure("number", target("P1", "10", True), target("P2", "20", True), target("LoP", "18", True))
    assert _target_path(revised, START, END, steps=False)[-1] == ChartPoint(END, 18.0)


def test_a_rate_target_is_a_level_held_per_period() -> None:
    satisfaction = figure(
        "percent", target("P1", "75", True), target("P2", "80", True), target("LoP", "80", True)
    )
    assert _target_path(satisfaction, START, END, steps=True) == (
        ChartPoint(START, 75.0),
        ChartPoint(P2.start, 80.0),
        ChartPoint(END, 80.0),
    )
    only_life = figure("percent", None, None, target("LoP", "30", True))
    assert _target_path(only_life, START, END, steps=True) == (ChartPoint(START, 30.0), ChartPoint(END, 30.0))
    assert _target_path(figure("number", None, None, None), START, END, steps=False) == ()


def series(values: tuple[float, ...]) -> ChartSeries:
    return ChartSeries(
        figure_id="O1",
        title="Training sessions delivered",
        unit="sessions",
        percent=False,
        target_steps=False,
        window_start=START,
        window_end=END,
        periods=(PeriodSpan("P1", START, MIDDLE), PeriodSpan("P2", P2.start, END)),
        actual=tuple(ChartPoint(dt.date(2025, 3 * i, 28), v) for i, v in enumerate(values, start=1)),
        target=(ChartPoint(START, 0.0), ChartPoint(END, 22.0)),
        as_of=dt.date(2025, 11, 1),
    )


def test_a_chart_is_an_svg_drawn_once_per_content() -> None:
    renderer = ChartRenderer()
    svg = renderer.svg(series((3.0, 7.0, 10.0)))
    assert svg.startswith("<svg") and 'class="marks chart" aria-hidden="true"' in svg
    assert "<script" not in svg and "style=" not in svg  # nothing the page's CSP would block
    assert renderer.svg(series((3.0, 7.0, 10.0))) == svg and renderer.rendered == 1
    assert renderer.svg(series((3.0, 7.0, 11.0))) != svg and renderer.rendered == 2


def test_figures_read_with_their_units_and_the_engines_decimals() -> None:
    assert fmt.quantity(Decimal("2888.50"), "hours", "hours") == "2,888.50 hours"
    assert fmt.quantity(Decimal("27640.00"), "eur", "EUR") == "EUR 27,640.00"
    assert fmt.quantity(Decimal("767.78"), "eur", "EUR per exchange") == "EUR 767.78 per exchange"
    assert fmt.quantity(Decimal("6.33"), "median_percent", "%") == "+6.33 %"
    assert fmt.quantity(Decimal("1"), "yes_no", "yes/no") == "Yes"
    assert fmt.quantity(None, "percent", "%") == "no data yet"
    assert fmt.status_label("at_risk") == "At risk" and fmt.status_label(None) == "No target"
    assert fmt.status_label(None, has_target=True) == "No data yet"
