"""How figures read on the page: thousands separated, the engine's decimal places kept, units said.

The engine serves Decimals at fixed places (counts 0, hours/EUR/FTE/percent 2); the page shows
exactly those digits, so a figure on screen is the same text as in the API, the CSV and a
snapshot, only with thousands separators.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

STATUS_LABELS = {"on_track": "On track", "at_risk": "At risk", "off_track": "Off track"}
# Where a figure stands: the engine's status, or why it has none.
STANDING_LABELS = {**STATUS_LABELS, "no_data": "No data yet", "no_target": "No target"}

# Names of the ISO 3166 codes a European cluster project meets; any other code shows as is.
COUNTRY_NAMES = {
    "AL": "Albania", "AM": "Armenia", "AT": "Austria", "BA": "Bosnia and Herzegovina", "BE": "Belgium",
    "BG": "Bulgaria", "CH": "Switzerland", "CY": "Cyprus", "CZ": "Czechia", "DE": "Germany",
    "DK": "Denmark", "EE": "Estonia", "EL": "Greece", "ES": "Spain", "FI": "Finland", "FR": "France",
    "GB": "United Kingdom", "GE": "Georgia", "GR": "Greece", "HR": "Croatia", "HU": "Hungary",
    "IE": "Ireland", "IL": "Israel", "IS": "Iceland", "IT": "Italy", "LI": "Liechtenstein",
    "LT": "Lithuania", "LU": "Luxembourg", "LV": "Latvia", "MD": "Moldova", "ME": "Montenegro",
    "MK": "North Macedonia", "MT": "Malta", "NL": "Netherlands", "NO": "Norway", "PL": "Poland",
    "PT": "Portugal", "RO": "Romania", "RS": "Serbia", "SE": "Sweden", "SI": "Slovenia",
    "SK": "Slovakia", "TR": "Türkiye", "UA": "Ukraine", "UK": "United Kingdom", "XK": "Kosovo",
}  # fmt: skip


def grouped(value: Decimal | int) -> str:
    """A number with comma thousands separators and its own decimal places ("2,888.50")."""
    return f"{value:,}"


def quantity(value: Decimal | None, measure: str, unit: str) -> str:
    """A figure as the page shows it, unit included ("2,888.50 hours", "87.50 %", "Yes")."""
    if value is None:
        return "no data yet"
    if measure == "yes_no":
        return "Yes" if value else "No"
    if measure == "eur":
        # "EUR" or "EUR per exchange": the currency leads, any rest of the unit follows.
        return f"EUR {grouped(value)}{unit.removeprefix('EUR')}"
    # Changes (turnover growth, FTE change) carry their sign: "+6.33 %" reads as growth.
    sign = "+" if measure in ("median_percent", "fte") and value > 0 else ""
    text = f"{sign}{grouped(value)}"
    return f"{text} {unit}"


def bare(value: Decimal | None, measure: str) -> str:
    """A figure without its unit, for tables whose header names the unit ("—" when undefined)."""
    if value is None:
        return "—"
    if measure == "yes_no":
        return "Yes" if value else "No"
    return grouped(value)


def percent(value: Decimal | None) -> str:
    """A progress share ("113.64 %"), "—" when undefined."""
    return "—" if value is None else f"{grouped(value)} %"


def standing(has_target: bool, status: str | None) -> str:
    """Where a figure stands against its target: the engine's status; "no_data" when a target is
    set but nothing measured yet (an impact KPI before the endline); "no_target" without one."""
    if status is not None:
        return status
    return "no_data" if has_target else "no_target"


def status_label(status: str | None, has_target: bool = False) -> str:
    """The words for a standing (never colour alone)."""
    return STANDING_LABELS[standing(has_target, status)]


def country_name(code: str) -> str:
    """A country's English short name, else the code itself."""
    return COUNTRY_NAMES.get(code, code)


def moment(value: dt.datetime | None) -> str:
    """A recorded_at time in UTC to the minute ("2026-03-04 14:05 UTC")."""
    if value is None:
        return "—"
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def day(value: dt.date | None) -> str:
    """A date as ISO 8601 (unambiguous across the consortium's languages)."""
    return "—" if value is None else value.isoformat()
