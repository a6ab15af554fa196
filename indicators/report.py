"""A snapshot as a funder reads it: a CSV of every figure, and a printable HTML report.

- **CSV**: one row per figure × period × disaggregation cell. Each reporting period gives a
  ``total`` row (its own value, the cumulative value to its end, its target); the life of the
  project to date (period ``LoP``) gives the total row with the life-of-project baseline and
  target, then one row per category of each dimension (suppressed cells flagged, figures blank).
- **HTML**: the header that pins the snapshot, charts, and the indicator table grouped
  impact → outcome → output, then every disaggregation. Charts are Altair specs rendered by
  vl-convert (bundled Vega, no network: ``allowed_base_urls=[]``) into SVG inlined in the page,
  so the file prints and archives on its own, with no script.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterator
from typing import Any

import altair as alt
import vl_convert

from indicators.kpi_catalog import INDICATOR_OF, IndicatorSheet
from indicators.results import Cell, Figure, FigureResult, TargetProgress
from indicators.snapshot import SnapshotDocument
from indicators.snapshot_signing import signature_key
from indicators.snapshot_store import SnapshotRecord
from indicators.spreadsheet_cells import inert_row

LEVEL_ORDER = ("impact", "outcome", "output")
LIFE_OF_PROJECT = "LoP"
SUPPRESSED = "<5"
STATUS_COLOURS = {"on_track": "#2e7d32", "at_risk": "#f9a825", "off_track": "#c62828"}

CSV_COLUMNS = [
    "snapshot_id",
    "level",
    "indicator_id",
    "figure_id",
    "name",
    "unit",
    "period_id",
    "period_start",
    "period_end",
    "dimension",
    "category",
    "value",
    "numerator",
    "denominator",
    "n",
    "cumulative_value",
    "cumulative_n",
    "baseline",
    "target",
    "progress_pct",
    "status",
    "suppressed",
    "as_of_position",
]


def figures_by_level(document: SnapshotDocument) -> Iterator[tuple[str, list[FigureResult]]]:
    """The document's figures grouped impact → outcome → output, in catalog order within each."""
    for level in LEVEL_ORDER:
        found = [f for f in document.indicators.figures if _sheet(f).level == level]
        if found:
            yield level, found


def _in_report_order(document: SnapshotDocument) -> list[FigureResult]:
    return [figure for _, figures in figures_by_level(document) for figure in figures]


def _sheet(figure: FigureResult) -> IndicatorSheet:
    return INDICATOR_OF[figure.figure_id]


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _figure_columns(figure: Figure | None) -> list[str]:
    if figure is None:
        return ["", "", "", ""]
    return [_text(figure.value), _text(figure.numerator), _text(figure.denominator), str(figure.n)]


def _target_columns(target: TargetProgress | None) -> list[str]:
    if target is None:
        return ["", "", ""]
    return [_text(target.target), _text(target.progress), _text(target.status)]


# --- CSV -------------------------------------------------------------------------------------


def snapshot_csv(document: SnapshotDocument) -> str:
    """One row per figure × period × disaggregation cell, grouped impact → outcome → output."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for level, figures in figures_by_level(document):
        for figure in figures:
            for row in _figure_rows(document, figure):
                identity = [document.snapshot_id, level, figure.indicator_id, figure.figure_id]
                writer.writerow(
                    inert_row([*identity, figure.name, figure.unit, *row, document.as_of_position])
                )
    return out.getvalue()


def _figure_rows(document: SnapshotDocument, figure: FigureResult) -> Iterator[list[str]]:
    for point in figure.points:
        period = point.period
        yield [
            period.period_id, period.start.isoformat(), period.end.isoformat(), "", "total",
            *_figure_columns(point.value), _text(point.cumulative.value), str(point.cumulative.n),
            "", *_target_columns(point.target), "false",
        ]  # fmt: skip
    project_span = ["", _text(document.indicators.as_of_date)]
    yield [
        LIFE_OF_PROJECT, *project_span, "", "total", *_figure_columns(figure.total), "", "",
        _text(figure.baseline), *_target_columns(figure.target), "false",
    ]  # fmt: skip
    for breakdown in figure.breakdowns:
        for cell in breakdown.cells:
            yield [
                LIFE_OF_PROJECT, *project_span, breakdown.by, cell.category, *_figure_columns(cell.figure),
                "", "", "", *_target_columns(cell.target), "true" if cell.suppressed else "false",
            ]  # fmt: skip


# --- charts ----------------------------------------------------------------------------------


def _svg(chart: alt.TopLevelMixin) -> str:
    """An Altair chart as SVG markup, rendered offline."""
    return vl_convert.vegalite_to_svg(chart.to_dict(), allowed_base_urls=[])


def progress_chart(document: SnapshotDocument) -> str | None:
    """Bars of progress towards each life-of-project target, coloured by status (SVG)."""
    progress = {
        f.figure_id: (f.target.progress, f.target.status or "no status")
        for f in _in_report_order(document)
        if f.target is not None and f.target.progress is not None
    }
    rows = [{"figure": k, "progress": float(p), "status": status} for k, (p, status) in progress.items()]
    if not rows:
        return None
    data = alt.InlineData(values=rows)
    colours = alt.Scale(domain=[*STATUS_COLOURS, "no status"], range=[*STATUS_COLOURS.values(), "#9e9e9e"])
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("progress:Q", title="progress towards the life-of-project target (%)"),
            y=alt.Y("figure:N", sort=list(progress), title=None),
            color=alt.Color("status:N", scale=colours, title="status"),
            tooltip=["figure:N", "progress:Q", "status:N"],
        )
    )
    goal = alt.Chart(alt.InlineData(values=[{"goal": 100}])).mark_rule(strokeDash=[4, 3]).encode(x="goal:Q")
    return _svg((bars + goal).properties(width=520, height=alt.Step(14), title="Progress towards targets"))


def period_chart(document: SnapshotDocument) -> str | None:
    """Each figure's value per reporting period, one small chart per figure (SVG)."""
    order = [f.figure_id for f in _in_report_order(document)]
    rows = [
        {"figure": f.figure_id, "period": p.period.period_id, "value": float(p.value.value)}
        for f in _in_report_order(document)
        for p in f.points
        if p.value.value is not None
    ]
    if not rows:
        return None
    chart = (
        alt.Chart(alt.InlineData(values=rows))
        .mark_bar()
        .encode(
            x=alt.X("period:N", title=None),
            y=alt.Y("value:Q", title=None),
            tooltip=["figure:N", "period:N", "value:Q"],
        )
        .properties(width=110, height=70)
        .facet(facet=alt.Facet("figure:N", sort=order, title=None), columns=6)
        .resolve_scale(y="independent")
        .properties(title="Value per reporting period")
    )
    return _svg(chart)


# --- HTML ------------------------------------------------------------------------------------

_STYLE = """
body { font: 11pt/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 18pt; margin-bottom: 0.2em; } h2 { font-size: 14pt; margin-top: 1.6em; }
h3 { font-size: 11pt; margin: 1em 0 0.3em; }
dl.pins { display: grid; grid-template-columns: max-content auto; gap: 0.1em 1em; font-size: 9pt; }
dl.pins dt { color: #555; }
dl.pins dd { margin: 0; font-family: ui-monospace, monospace; word-break: break-all; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; margin-bottom: 0.8em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.4em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.status-on_track { color: #2e7d32; } .status-at_risk { color: #b07d00; } .status-off_track { color: #c62828; }
.note { font-size: 9pt; color: #555; }
figure.chart { margin: 1em 0; } figure.chart svg { max-width: 100%; height: auto; }
@media print {
  body { margin: 1cm; } section.level, section.cells { break-before: page; } tr { break-inside: avoid; }
}
"""


def snapshot_html(document: SnapshotDocument, record: SnapshotRecord) -> str:
    """The printable report: pins, charts, the indicator table by level, the disaggregations."""
    title = f"{document.project_id}: {_headline(document)}"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<header><h1>{html.escape(title)}</h1>{_pins(document, record)}</header>",
        _notes(document),
        _charts(document),
        *(_level_section(level, figures, document) for level, figures in figures_by_level(document)),
        _cells_section(document),
        "</body></html>",
    ]
    return "\n".join(parts)


def _headline(document: SnapshotDocument) -> str:
    kind = {"interim": "Interim", "final": "Final", "periodic": "Periodic", "adhoc": "Ad-hoc"}[document.kind]
    period = document.period
    if period is None:
        return f"{kind} snapshot as of log position {document.as_of_position}"
    return f"{kind} snapshot, period {period.period_id} ({period.start} – {period.end})"


def _pins(document: SnapshotDocument, record: SnapshotRecord) -> str:
    indicators = document.indicators
    pins: list[tuple[str, Any]] = [
        ("snapshot", document.snapshot_id),
        ("grant", indicators.grant_no),
        ("as of log position", document.as_of_position),
        ("as of (recorded)", indicators.as_of_recorded_at),
        ("log head hash", document.log_head_hash),
        ("content hash (sha256)", record.content_hash),
        ("signing key (ed25519)", signature_key(record.signature)),
        ("published", record.published_at),
        ("KPI catalog", document.catalog_version),
        ("code", document.code_version),
    ]
    rows = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(_text(v))}</dd>" for k, v in pins)
    return f'<dl class="pins">{rows}</dl>'


def _notes(document: SnapshotDocument) -> str:
    panel = document.indicators.panel
    command = f"impactlog audit reproduce --snapshot {document.snapshot_id}"
    return (
        '<p class="note">Figures are computed from the event log up to the position above and can be '
        f"reproduced by replaying it: <code>{html.escape(command)}</code>. Disaggregated cells with "
        f"fewer than 5 persons or organisations are withheld ({SUPPRESSED}); "
        f"totals never are. SME survey panel: {panel.panel_size} of {panel.baseline_respondents} baseline "
        f"respondents (response rate {html.escape(_text(panel.response_rate.value))}%); impact figures I1–I6 "
        "use the panel only and I6 is self-reported.</p>"
    )


def _charts(document: SnapshotDocument) -> str:
    charts = [svg for svg in (progress_chart(document), period_chart(document)) if svg is not None]
    return "".join(f'<figure class="chart">{svg}</figure>' for svg in charts)


def _level_section(level: str, figures: list[FigureResult], document: SnapshotDocument) -> str:
    periods = [p.period_id for p in document.indicators.periods]
    head = ["Indicator", "Figure", "Unit", "Baseline", "Target", "Actual", "Progress %", "Status", "n"]
    header = "".join(f"<th>{html.escape(h)}</th>" for h in [*head, *periods])
    body = "".join(_figure_row(figure) for figure in figures)
    return (
        f'<section class="level"><h2>{level.capitalize()} indicators</h2>'
        f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table></section>"
    )


def _figure_row(figure: FigureResult) -> str:
    target = figure.target
    status = target.status if target is not None else None
    cells = [
        (figure.indicator_id, ""),
        (figure.name, ""),
        (figure.unit, ""),
        (_text(figure.baseline), "num"),
        (_text(target.target if target else None), "num"),
        (_text(figure.total.value), "num"),
        (_text(target.progress if target else None), "num"),
        ((status or "").replace("_", " "), f"status-{status}" if status else ""),
        (str(figure.total.n), "num"),
        *((_text(point.value.value), "num") for point in figure.points),
    ]
    return "<tr>" + "".join(f'<td class="{c}">{html.escape(v)}</td>' for v, c in cells) + "</tr>"


def _cells_section(document: SnapshotDocument) -> str:
    parts = ['<section class="cells"><h2>Disaggregations (project to date)</h2>']
    for _, figures in figures_by_level(document):
        for figure in figures:
            for breakdown in figure.breakdowns:
                if breakdown.cells:
                    parts.append(_breakdown_table(figure, breakdown.by, breakdown.cells))
    parts.append("</section>")
    return "".join(parts)


def _breakdown_table(figure: FigureResult, by: str, cells: tuple[Cell, ...]) -> str:
    rows = "".join(
        f'<tr><td>{html.escape(cell.category)}</td><td class="num">{html.escape(_shown_value(cell))}</td>'
        f'<td class="num">{html.escape(_shown_n(cell))}</td></tr>'
        for cell in cells
    )
    caption = f"{figure.figure_id} {figure.name} by {by}"
    return (
        f"<h3>{html.escape(caption)}</h3><table><thead><tr><th>{html.escape(by)}</th><th>value</th>"
        f"<th>n</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _shown_value(cell: Cell) -> str:
    if cell.suppressed:
        return SUPPRESSED
    return _text(cell.figure.value if cell.figure is not None else None)


def _shown_n(cell: Cell) -> str:
    return "" if cell.suppressed or cell.figure is None else str(cell.figure.n)
