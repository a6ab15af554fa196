"""KPI time-series charts: Altair builds the Vega-Lite spec, vl-convert renders it to SVG here.

Server-side SVG keeps the page free of JavaScript (the content security policy forbids scripts
altogether) and makes a chart visible with scripts off and in print. Rendering costs tens of
milliseconds per chart, so SVGs are kept in a bounded cache keyed by a hash of the chart's own
data: a chart is rendered again only when something it shows has changed, whatever else moved
in the log, and every as-of view, user and project with the same figures shares it.
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import hashlib
import re
import threading
from typing import Any

import altair as alt
import msgspec
import vl_convert

ACTUAL_COLOUR = "#1d3557"
TARGET_COLOUR = "#8d99ae"
BOUNDARY_COLOUR = "#adb5bd"
AS_OF_COLOUR = "#e76f51"
# From this size on, axis labels use SI prefixes ("90k", "4M").
LARGE = 10_000
WIDTH = 340
HEIGHT = 130


class ChartPoint(msgspec.Struct, frozen=True, array_like=True):
    """One (day, value) of a line; the value is None where the figure is undefined."""

    day: dt.date
    value: float | None


class PeriodSpan(msgspec.Struct, frozen=True, array_like=True):
    """A reporting period drawn as a labelled band boundary."""

    period_id: str
    start: dt.date
    end: dt.date


class ChartSeries(msgspec.Struct, frozen=True, kw_only=True):
    """Everything one KPI chart shows, and nothing else (it is the chart's cache key)."""

    figure_id: str
    title: str
    unit: str
    # Percentages are drawn on 0–100 whatever the data.
    percent: bool
    # Targets of a level to hold (rates, yes/no) are drawn as steps; quantities to accumulate as
    # a straight path from the baseline to each period's cumulative target, the path the status
    # colour compares progress with.
    target_steps: bool
    window_start: dt.date
    window_end: dt.date
    periods: tuple[PeriodSpan, ...]
    actual: tuple[ChartPoint, ...]
    target: tuple[ChartPoint, ...]
    as_of: dt.date | None


def chart_spec(series: ChartSeries) -> dict[str, Any]:
    """The Vega-Lite spec of a KPI chart: cumulative actual vs cumulative target over the
    project's window, reporting-period boundaries and the as-of day marked."""
    # A copy of the shared layout (msgspec's round trip is the fastest deep copy), with the unit.
    values = [p.value for p in (*series.actual, *series.target) if p.value is not None]
    large = max((abs(v) for v in values), default=0) >= LARGE
    layout = _layout(series.percent, series.target_steps, large, series.window_start, series.window_end)
    spec: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(layout))
    for layer in spec["layer"]:
        if "y" in layer.get("encoding", {}):
            layer["encoding"]["y"]["title"] = series.unit
    spec["datasets"] = {
        "boundaries": [{"day": _ms(p.start)} for p in series.periods[1:]],
        "labels": [{"day": _ms(_middle(p.start, p.end)), "label": p.period_id} for p in series.periods],
        "target": [{"day": _ms(p.day), "value": p.value} for p in series.target],
        "as_of": [{"day": _ms(series.as_of)}] if series.as_of is not None else [],
        "actual": [{"day": _ms(p.day), "value": p.value} for p in series.actual if p.value is not None],
    }
    return spec


@functools.lru_cache(maxsize=256)
def _layout(percent: bool, steps: bool, large: bool, start: dt.date, end: dt.date) -> dict[str, Any]:
    """A chart's layers, scales and axes, with data by name: Altair takes ~0.1 s to build and
    serialise one, and a project's charts differ in these few arguments only."""
    x_scale = alt.Scale(domain=[_ms(start), _ms(end)])
    x = alt.X("day:T", scale=x_scale, title=None, axis=alt.Axis(format="%b %Y", tickCount=6, grid=False))
    y_scale = alt.Scale(domain=[0, 100]) if percent else alt.Scale(zero=True, nice=True)
    # "4M" reads better than "4,000,000" on an axis; "~s" would also write 0.5 as "500m".
    y = alt.Y("value:Q", scale=y_scale, axis=alt.Axis(format="~s" if large else ",~r", tickCount=4))
    boundaries = (
        alt.Chart(_named("boundaries"))
        .mark_rule(color=BOUNDARY_COLOUR, strokeDash=[2, 3])
        .encode(x=alt.X("day:T", scale=x_scale))
    )
    labels = (
        alt.Chart(_named("labels"))
        .mark_text(color="#6c757d", fontSize=10, baseline="top", dy=-HEIGHT / 2 + 2)
        .encode(x=alt.X("day:T", scale=x_scale), text="label:N")
    )
    target = (
        alt.Chart(_named("target"))
        .mark_line(
            color=TARGET_COLOUR,
            strokeDash=[6, 4],
            strokeWidth=2,
            interpolate="step-after" if steps else "linear",
        )
        .encode(x=x, y=y)
    )
    as_of = (
        alt.Chart(_named("as_of"))
        .mark_rule(color=AS_OF_COLOUR, strokeWidth=1)
        .encode(x=alt.X("day:T", scale=x_scale))
    )
    actual = (
        alt.Chart(_named("actual"))
        .mark_line(
            color=ACTUAL_COLOUR, strokeWidth=2.5, point=alt.OverlayMarkDef(color=ACTUAL_COLOUR, size=28)
        )
        .encode(x=x, y=y)
    )
    chart = alt.layer(boundaries, labels, target, as_of, actual).properties(width=WIDTH, height=HEIGHT)
    spec: dict[str, Any] = (
        chart.configure_view(stroke=None)
        .configure_axis(labelFontSize=10, titleFontSize=10, labelColor="#495057", titleColor="#495057")
        .to_dict(validate=False)
    )
    return spec


def _named(name: str) -> alt.NamedData:
    """A layer's data by name, filled from the spec's top-level `datasets` per chart."""
    return alt.NamedData(name=name)


def _ms(day: dt.date) -> int:
    """A day as Vega's time value (UTC milliseconds), so no time zone shifts it."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)


def _middle(start: dt.date, end: dt.date) -> dt.date:
    return start + (end - start) / 2


_ID = re.compile(r'\bid="([^"]+)"')


def _namespaced(svg: str, prefix: str) -> str:
    """Make the SVG's ids unique on a page holding many charts (clip paths would collide)."""
    for name in set(_ID.findall(svg)):
        svg = svg.replace(f'id="{name}"', f'id="{prefix}-{name}"').replace(f"#{name})", f"#{prefix}-{name})")
        svg = svg.replace(f'href="#{name}"', f'href="#{prefix}-{name}"')
    return svg


class ChartRenderer:
    """Renders ChartSeries to SVG, keeping the last `size` SVGs by a hash of their data."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._svgs: collections.OrderedDict[str, str] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.rendered = 0  # how many charts were actually rendered (tests and the benchmark read it)

    def svg(self, series: ChartSeries) -> str:
        """The chart as an SVG document (from the cache when the same data was drawn before)."""
        key = hashlib.sha256(msgspec.json.encode(series)).hexdigest()
        with self._lock:
            cached = self._svgs.get(key)
            if cached is not None:
                self._svgs.move_to_end(key)
                return cached
        # vl-convert renders one chart at a time whatever the threads; rendering outside the lock
        # at worst renders a chart twice, never blocks a cache hit behind a render.
        svg = _namespaced(vl_convert.vegalite_to_svg(chart_spec(series)), f"c{key[:10]}")
        # The table beside the chart says the same to a screen reader, without vl-convert's
        # per-mark labels; "chart" is the class the stylesheet sizes charts by.
        svg = svg.replace('class="marks"', 'class="marks chart" aria-hidden="true" focusable="false"', 1)
        with self._lock:
            self.rendered += 1
            self._svgs[key] = svg
            if len(self._svgs) > self._size:
                self._svgs.popitem(last=False)
        return svg
