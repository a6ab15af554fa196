"""The funders' dashboard checked from the outside, as a funder, an auditor and intruders would.

One service (uvicorn on 127.0.0.1, as tests/test_browser_dashboard.py starts it) serves the demo
project with a snapshot pinned to the middle of the log. Everything is asked over real HTTP: the
page's figures against GET /api/v1/projects/demo/indicators for the same "as of" position, small
cells (n < 5) withheld in the HTML and the CSV exactly where the API's funder view withholds them
(never in totals, never for an auditor), the snapshot view, sign-out, refused tokens, and, in
Debian's Chromium, that no request leaves 127.0.0.1 and the console stays clean.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
import pytest_asyncio

from events.admission import WriteModelAdmission
from events.read import read_head
from events.store import EventStore
from indicators import FIGURES
from service.auth import SESSION_COOKIE, TokenStore
from service.database import create_pool, migrate_pool
from service.demo import DEMO_ACTOR, demo_registration, load_demo
from service.recording import Recorder
from tests.conftest import MIGRATIONS, Database
from tests.test_dashboard import PageFigures, api_figures, page_figures, publish_snapshot

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SNAPSHOT_ID = "SNAP-OUTSIDE-P1"
DASHBOARD = "/projects/demo/dashboard"
API = "/api/v1/projects/demo"
HTML = {"Accept": "text/html,application/xhtml+xml"}
CATALOG = {sheet.figure_id for sheet in FIGURES}

try:
    from playwright.async_api import async_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    async_playwright = None  # type: ignore[assignment]

NO_BROWSER = (
    "Playwright is not installed"
    if async_playwright is None
    else f"no browser at {CHROMIUM} (apt-get install -y chromium)"
    if not CHROMIUM.exists()
    else None
)
needs_browser = pytest.mark.skipif(NO_BROWSER is not None, reason=NO_BROWSER or "")


@dataclass
class Site:
    base: str
    snapshot_position: int
    funder: str
    auditor: str
    foreign_staff: str
    revoked: str
    interim: dict[str, Any]


def secret(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(database_dsn: str) -> AsyncIterator[Site]:
    """The demo project, a snapshot of its first half, tokens, and the service on 127.0.0.1."""
    from tests.test_browser_dashboard import serve

    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(database_dsn)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    pool = await create_pool(database_dsn, schema=schema, min_size=1, max_size=12)
    try:
        await migrate_pool(pool, MIGRATIONS)
        db = Database(database_dsn, schema, pool)
        recorder = Recorder(EventStore(pool, admission=WriteModelAdmission()))
        await load_demo(recorder, "demo")
        await recorder.create_project("other", demo_registration("other"), actor=DEMO_ACTOR)
        head = await read_head(pool, "demo")
        assert head is not None
        half = head.position // 2
        await publish_snapshot(recorder, pool, "demo", SNAPSHOT_ID, half)
        tokens = TokenStore(pool)
        _, funder = await tokens.create("funder", ["demo"], name="outside-funder")
        _, auditor = await tokens.create("auditor", ["demo"], name="outside-auditor")
        _, staff = await tokens.create("staff", ["other"], name="outside-staff-other")
        _, revoked = await tokens.create("funder", ["demo"], name="outside-revoked")
        await tokens.revoke("outside-revoked")
        _, admin_token = await tokens.create("admin", [], name="outside-admin")
        with serve(db) as base:
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                published = await http.post(
                    f"{API}/snapshots",
                    json={"kind": "interim", "period_id": "P1"},
                    headers={"Authorization": f"Bearer {admin_token}"},
                )
                assert published.status_code in (200, 201), published.text
            yield Site(base, half, funder, auditor, staff, revoked, published.json())
    finally:
        await pool.close()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


def client(site: Site, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=site.base, headers=headers, timeout=60, follow_redirects=False)


async def sign_in(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.post(
        "/login", data={"token": token, "next": ""}, headers={"Origin": http.base_url.__str__().rstrip("/")}
    )


def as_of_position(text: str) -> int:
    (position,) = set(re.findall(r'data-as-of-position="(\d+)"', text))
    return int(position)


async def page_and_api(site: Site, token: str, query: str = "") -> tuple[PageFigures, dict[str, Any], int]:
    """The page signed in with `token` (by cookie), and the API's view at the page's position."""
    async with client(site) as http:
        answer = await sign_in(http, token)
        assert answer.status_code == 303, answer.text
        page = await http.get(f"{DASHBOARD}{query}", headers=HTML)
        assert page.status_code == 200
        position = as_of_position(page.text)
        api = await http.get(f"{API}/indicators", params={"as_of": str(position)})
        assert api.status_code == 200
        return page_figures(page.text), api_figures(api.json()), position


def api_cells(served: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {
        (figure_id, b["by"], c["category"]): c
        for figure_id, figure in served.items()
        for b in figure["breakdowns"]
        for c in b["cells"]
    }


def on_page(shown: PageFigures, served: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The API's cells of the dimensions the page has breakdown tables for; the page must show all."""
    dimensions = {d for (_, d, _) in shown.cells}
    assert dimensions, "the page shows no breakdown"
    expected = {k: c for k, c in api_cells(served).items() if k[1] in dimensions}
    assert set(shown.cells) == set(expected)
    return expected


def assert_cards_match(shown: PageFigures, served: dict[str, Any]) -> None:
    assert set(shown.cards) == CATALOG == set(served)
    for figure_id, card in shown.cards.items():
        figure = served[figure_id]
        target = figure["target"] or {}
        expected = {
            "data-value": figure["total"]["value"] or "",
            "data-n": str(figure["total"]["n"]),
            "data-target": target.get("target") or "",
            "data-progress": target.get("progress") or "",
            "data-status": target.get("status") or "",
        }
        assert {k: card[k] for k in expected} == expected, figure_id


async def test_every_kpi_card_matches_the_funder_api_at_the_same_position(site: Site) -> None:
    shown, served, _ = await page_and_api(site, site.funder)
    assert_cards_match(shown, served)
    # Targets exist in the demo: progress and status are really compared, not only blanks.
    assert sum(1 for c in shown.cards.values() if c["data-status"]) >= 5


async def test_small_cells_are_withheld_in_the_html_exactly_as_in_the_funder_api(site: Site) -> None:
    shown, served, _ = await page_and_api(site, site.funder)
    # Every cell the API serves (in the page's dimensions) is on the page, and no other.
    expected = on_page(shown, served)
    withheld = 0
    for key, cell in shown.cells.items():
        if expected[key]["suppressed"]:
            assert cell.get("data-suppressed") == "true" and "data-value" not in cell, key
            assert "data-n" not in cell, key
            withheld += 1
        else:
            assert cell.get("data-suppressed") != "true", key
            assert cell["data-value"] == (expected[key]["figure"]["value"] or ""), key
            assert int(expected[key]["figure"]["n"]) >= 5, key
    assert withheld > 0


async def test_totals_are_never_withheld_even_when_small(site: Site) -> None:
    shown, served, _ = await page_and_api(site, site.funder)
    for figure_id, figure in served.items():
        assert not figure["total"].get("suppressed"), figure_id
        assert shown.cards[figure_id]["data-value"] == (figure["total"]["value"] or ""), figure_id
    # The snapshot (first half of the log) has small totals: still shown.
    shown, served, _ = await page_and_api(site, site.funder, f"?snapshot={SNAPSHOT_ID}")
    small = [f for f, fig in served.items() if 0 < fig["total"]["n"] < 5]
    for figure_id in small:
        assert shown.cards[figure_id]["data-value"] == (served[figure_id]["total"]["value"] or "")


async def test_an_auditor_sees_every_small_cell(site: Site) -> None:
    shown, served, _ = await page_and_api(site, site.auditor)
    assert_cards_match(shown, served)
    expected = on_page(shown, served)
    assert not any(c["suppressed"] for c in expected.values())
    small = 0
    for key, cell in shown.cells.items():
        assert cell.get("data-suppressed") != "true", key
        assert cell["data-value"] == (expected[key]["figure"]["value"] or ""), key
        small += int(expected[key]["figure"]["n"]) < 5
    assert small > 0


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def dashboard_csv(site: Site, token: str) -> tuple[list[dict[str, str]], dict[str, Any]]:
    async with client(site, token) as http:
        answer = await http.get(f"{DASHBOARD}/indicators.csv")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        rows = csv_rows(answer.text)
        position = {int(r["as_of_position"]) for r in rows}
        assert len(position) == 1
        api = await http.get(f"{API}/indicators", params={"as_of": str(position.pop())})
        return rows, api_figures(api.json())


async def test_the_csv_withholds_exactly_the_funder_apis_small_cells(site: Site) -> None:
    rows, served = await dashboard_csv(site, site.funder)
    life = {r["figure_id"]: r for r in rows if r["period_id"] == "LoP"}
    assert set(life) == CATALOG
    compared = withheld = 0
    for (figure_id, by, category), cell in api_cells(served).items():
        column = f"{by}={category}"
        if column not in life[figure_id]:
            continue  # the donor layout exports some dimensions only
        value = life[figure_id][column]
        if cell["suppressed"]:
            assert value == "suppressed", (figure_id, column)
            withheld += 1
        else:
            assert value == (cell["figure"]["value"] or ""), (figure_id, column)
        compared += 1
    assert compared > 50 and withheld > 0
    # Totals are never withheld.
    for figure_id, figure in served.items():
        assert life[figure_id]["actual"] == (figure["total"]["value"] or ""), figure_id
        assert life[figure_id]["n"] == str(figure["total"]["n"]), figure_id
    assert not any(r[c] == "suppressed" for r in rows for c in ("actual", "actual_cumulative", "n"))


async def test_the_auditors_csv_withholds_nothing(site: Site) -> None:
    rows, served = await dashboard_csv(site, site.auditor)
    split_columns = [c for c in rows[0] if "=" in c]
    withheld = [
        (r["figure_id"], r["period_id"], c) for r in rows for c in split_columns if r[c] == "suppressed"
    ]
    assert withheld == [], withheld[:10]
    life = {r["figure_id"]: r for r in rows if r["period_id"] == "LoP"}
    for (figure_id, by, category), cell in api_cells(served).items():
        column = f"{by}={category}"
        if column in life[figure_id]:
            assert life[figure_id][column] == (cell["figure"]["value"] or ""), (figure_id, column)


async def test_as_of_the_snapshot_the_page_shows_the_snapshots_figures(site: Site) -> None:
    shown, served, position = await page_and_api(site, site.funder, f"?snapshot={SNAPSHOT_ID}")
    assert position == site.snapshot_position
    assert_cards_match(shown, served)
    expected = on_page(shown, served)
    for key, cell in shown.cells.items():
        assert (cell.get("data-suppressed") == "true") == expected[key]["suppressed"], key
    async with client(site, site.funder) as http:
        live = api_figures((await http.get(f"{API}/indicators")).json())
    assert any(live[f]["total"]["value"] != served[f]["total"]["value"] for f in CATALOG)


async def test_as_of_a_published_snapshot_the_page_shows_its_published_figures(site: Site) -> None:
    snapshot_id = site.interim["snapshot_id"]
    async with client(site, site.funder) as http:
        document = await http.get(f"{API}/snapshots/{snapshot_id}.csv")
        assert document.status_code == 200
    shown, served, position = await page_and_api(site, site.funder, f"?snapshot={snapshot_id}")
    assert position == site.interim["as_of_position"]
    assert_cards_match(shown, served)
    # The page's figures are the published document's own (its CSV rendering, life of project).
    life = [r for r in csv_rows(document.text) if r["period_id"] == "LoP"]
    totals = {r["figure_id"]: r for r in life if r["dimension"] == ""}
    assert set(totals) == CATALOG
    for figure_id, card in shown.cards.items():
        row = totals[figure_id]
        published = {
            "data-value": row["value"],
            "data-n": row["n"],
            "data-target": row["target"],
            "data-progress": row["progress_pct"],
            "data-status": row["status"],
        }
        assert {k: card[k] for k in published} == published, figure_id
    cells = {(r["figure_id"], r["dimension"], r["category"]): r for r in life if r["dimension"]}
    compared = 0
    for key, cell in shown.cells.items():
        row = cells[key]
        if row["suppressed"] == "true":
            assert cell.get("data-suppressed") == "true", key
        else:
            assert cell["data-value"] == row["value"], key
        compared += 1
    assert compared > 100


async def test_signing_out_ends_the_session_and_the_cookie_stops_working(site: Site) -> None:
    async with client(site) as http:
        assert (await sign_in(http, site.funder)).status_code == 303
        cookie = http.cookies[SESSION_COOKIE]
        assert (await http.get(DASHBOARD, headers=HTML)).status_code == 200
        out = await http.post("/logout", headers={"Origin": site.base})
        assert out.status_code == 303
    async with client(site) as replay:
        replay.cookies.set(SESSION_COOKIE, cookie)
        page = await replay.get(DASHBOARD, headers=HTML)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        assert (await replay.get(f"{DASHBOARD}/indicators.csv")).status_code == 401
        assert (await replay.get(f"{API}/indicators")).status_code == 401


async def test_a_foreign_staff_token_a_revoked_token_and_no_token_are_refused(site: Site) -> None:
    for path in (DASHBOARD, f"{DASHBOARD}/indicators.csv", f"{DASHBOARD}/indicators.xlsx"):
        async with client(site, site.foreign_staff) as http:
            assert (await http.get(path, headers=HTML)).status_code == 403, path
            assert (await http.get(path)).status_code == 403, path
        async with client(site, site.revoked) as http:
            assert (await http.get(path)).status_code == 401, path
            assert (await http.get(path, headers=HTML)).status_code in (303, 401), path
        async with client(site) as http:
            browser = await http.get(path, headers=HTML)
            assert browser.status_code == 303 and browser.headers["location"].startswith("/login"), path
            assert (await http.get(path)).status_code == 401, path
    async with client(site) as http:
        # A revoked token cannot open a session.
        refused = await sign_in(http, site.revoked)
        assert refused.status_code == 401 and SESSION_COOKIE not in http.cookies
        # A staff token of another project signs in, but the demo's page stays closed.
        assert (await sign_in(http, site.foreign_staff)).status_code == 303
        foreign = await http.get(DASHBOARD, headers=HTML)
        assert foreign.status_code == 403
        # No secret is echoed back.
        for token in (site.funder, site.auditor, site.foreign_staff):
            assert token not in foreign.text


@needs_browser
async def test_in_chromium_the_page_stays_on_127_0_0_1_and_the_console_is_clean(site: Site) -> None:
    assert async_playwright is not None
    errors: list[str] = []
    requests: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            context = await browser.new_context()
            page = await context.new_page()
            page.set_default_timeout(30_000)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            await page.goto(f"{site.base}{DASHBOARD}")
            assert urlsplit(page.url).path == "/login"
            await page.fill("#token", site.funder)
            await page.click("form.login-form button[type=submit]")
            await page.wait_for_url(f"{site.base}{DASHBOARD}")
            await page.wait_for_load_state("load")
            assert await page.locator("article.kpi").count() == len(CATALOG)
            # Charts are inline SVG drawn with a size; no <img>, <iframe>, <object> or <script>.
            sizes = await page.eval_on_selector_all(
                "article.kpi svg.chart", "cs => cs.map(c => c.getBoundingClientRect().width)"
            )
            assert len(sizes) == len(CATALOG) and all(w > 0 for w in sizes)
            assert await page.locator("iframe, object, embed, script").count() == 0
            images = await page.eval_on_selector_all("img", "is => is.map(i => i.src)")
            assert all(urlsplit(src).hostname == "127.0.0.1" for src in images), images
            # Small cells read "n < 5" on screen; no number hides behind them.
            withheld = page.locator('td[data-suppressed="true"]')
            assert await withheld.count() > 0
            texts = set(await withheld.all_inner_texts())
            assert all(not re.search(r"\d(?!\s*$)", t.replace("n < 5", "")) for t in texts), texts
            # As of the snapshot.
            await page.select_option("#snapshot", SNAPSHOT_ID)
            await page.click("#as-of-snapshot button[type=submit]")
            await page.wait_for_url(f"{site.base}{DASHBOARD}?snapshot={SNAPSHOT_ID}")
            await page.wait_for_load_state("load")
            assert await page.locator("p.banner").is_visible()
            # Sign out: the same browser is sent back to sign in.
            cookies = await context.cookies()
            assert any(c["name"] == SESSION_COOKIE for c in cookies)
            await page.click("header.topbar form button[type=submit]")
            await page.wait_for_url(f"{site.base}/login?signed_out=1")
            await page.goto(f"{site.base}{DASHBOARD}")
            assert urlsplit(page.url).path == "/login"
        finally:
            await browser.close()
    assert errors == []
    assert requests
    foreign = sorted({u for u in requests if urlsplit(u).hostname != "127.0.0.1"})
    assert foreign == [], foreign


async def test_the_csvs_period_rows_withhold_exactly_the_funder_series_small_cells(site: Site) -> None:
    rows, _ = await dashboard_csv(site, site.funder)
    position = rows[0]["as_of_position"]
    split_columns = [c for c in rows[0] if "=" in c]
    dimensions = sorted({c.split("=")[0] for c in split_columns})
    by_row = {(r["figure_id"], r["period_id"]): r for r in rows}
    compared = withheld = 0
    async with client(site, site.funder) as http:
        for figure_id in sorted(CATALOG):
            for dimension in dimensions:
                answer = await http.get(
                    f"{API}/indicators/{figure_id}/series",
                    params={"period": "reporting_period", "by": dimension, "as_of": position},
                )
                if answer.status_code == 400:
                    continue  # the figure has no such split
                assert answer.status_code == 200, answer.text
                for point in answer.json()["figure"]["points"]:
                    row = by_row[figure_id, point["period"]["period_id"]]
                    for cell in point["cells"]:
                        value = row[f"{dimension}={cell['category']}"]
                        if cell["suppressed"]:
                            assert value == "suppressed", (figure_id, point["period"]["period_id"], cell)
                            withheld += 1
                        else:
                            assert value == (cell["figure"]["value"] or ""), (figure_id, cell)
                        compared += 1
    assert compared > 100 and withheld > 0


async def test_exports_and_dates_follow_the_as_of_view(site: Site) -> None:
    async with client(site, site.funder) as http:
        pinned = await http.get(f"{DASHBOARD}/indicators.csv", params={"snapshot": SNAPSHOT_ID})
        assert pinned.status_code == 200
        assert {r["as_of_position"] for r in csv_rows(pinned.text)} == {str(site.snapshot_position)}
        for day in ("2026-01-31", "2026-12-31"):
            page = await http.get(DASHBOARD, params={"as_of": day}, headers=HTML)
            api = (await http.get(f"{API}/indicators", params={"as_of": day})).json()
            assert page.status_code == 200
            assert as_of_position(page.text) == api["indicators"]["as_of_position"], day
            assert_cards_match(page_figures(page.text), api_figures(api))
