"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against the service
listening on 127.0.0.1 (uvicorn in a thread of this process).

A funder signs in, opens the demo dashboard, sees every KPI card and every chart drawn, with no
console error and no request to any host but the service; then switches "as of" to a snapshot
and sees the snapshot's figures. Full-page screenshots go to tests/artifacts/ (git-ignored).

The browser is the machine's (/usr/bin/chromium, `apt-get install -y chromium`); Playwright never
downloads one here. Without it the test is skipped, unless IMPACTLOG_REQUIRE_BROWSER=1 (CI sets
it), which turns the skip into a failure.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn

from events.admission import WriteModelAdmission
from events.read import read_head
from events.store import EventStore
from indicators import FIGURES
from service.app import run_services
from service.database import create_pool
from service.demo import load_demo
from service.recording import Recorder
from tests.conftest import Database, bearer
from tests.test_dashboard import dashboard_app, publish_snapshot, service_settings

if TYPE_CHECKING:
    from playwright.async_api import ViewportSize

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DESKTOP: ViewportSize = {"width": 1440, "height": 1000}
PHONE: ViewportSize = {"width": 390, "height": 844}
SNAPSHOT_ID = "SNAP-P1-interim"

try:
    from playwright.async_api import ConsoleMessage, Page, Request, async_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    async_playwright = None  # type: ignore[assignment]

_missing = (
    "Playwright is not installed (pip install -e '.[test]')"
    if async_playwright is None
    else f"no browser at {CHROMIUM} (apt-get install -y chromium)"
    if not CHROMIUM.exists()
    else None
)
if _missing and os.environ.get("IMPACTLOG_REQUIRE_BROWSER") == "1":
    raise RuntimeError(f"browser tests required but {_missing}")
pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")


@contextlib.contextmanager
def serve(db: Database) -> Iterator[str]:
    """The dashboard app on a free 127.0.0.1 port, in a thread with its own event loop and pool."""
    settings = service_settings(db.dsn)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        # The test's pool belongs to the test's event loop; the server's loop needs its own, as
        # large as the test's: each projection runner keeps one connection for itself.
        pool = await create_pool(db.dsn, schema=db.schema, min_size=1, max_size=12)
        try:
            async with run_services(app, settings, pool, None):
                yield
        finally:
            await pool.close()

    app = dashboard_app(settings, lifespan=lifespan)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the dashboard server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


class BrowserLog:
    """Console errors, failed requests and every URL the page asked for."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.urls: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("request", self._request)
        page.on("requestfailed", self._failed)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def _request(self, request: Request) -> None:
        self.urls.append(request.url)

    def _failed(self, request: Request) -> None:
        # A navigation cancels what the page was still fetching (often the icon): ERR_ABORTED is
        # the browser's doing, not an answer of the service.
        if request.failure != "net::ERR_ABORTED":
            self.errors.append(f"request failed: {request.url} {request.failure}")


async def card_values(page: Page) -> dict[str, str]:
    """The figure of every KPI card, as the page carries it."""
    values: dict[str, str] = await page.eval_on_selector_all(
        "article.kpi", "cards => Object.fromEntries(cards.map(c => [c.dataset.figure, c.dataset.value]))"
    )
    return values


async def test_a_funder_signs_in_and_reads_the_dashboard_live_and_as_of_a_snapshot(db: Database) -> None:
    recorder = Recorder(EventStore(db.pool, admission=WriteModelAdmission()))
    await load_demo(recorder, "demo")
    head = await read_head(db.pool, "demo")
    assert head is not None
    # A snapshot of the first half of the log: its figures visibly differ from the live ones.
    half = head.position // 2
    await publish_snapshot(recorder, db.pool, "demo", SNAPSHOT_ID, half)
    funder = await bearer(db, "funder", "demo", name="eismea-project-officer")
    ARTIFACTS.mkdir(exist_ok=True)
    assert async_playwright is not None
    with serve(db) as base:
        async with httpx.AsyncClient(base_url=base, headers=funder, timeout=60) as api:
            live_api = (await api.get("/api/v1/projects/demo/indicators")).json()
            pinned_api = (await api.get(f"/api/v1/projects/demo/indicators?as_of={half}")).json()
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
            try:
                context = await browser.new_context(viewport=DESKTOP)
                page = await context.new_page()
                page.set_default_timeout(60_000)
                log = BrowserLog(page)

                # Not signed in: the dashboard sends the browser to the login page.
                await page.goto(f"{base}/projects/demo/dashboard")
                assert urlsplit(page.url).path == "/login"
                await page.screenshot(path=str(ARTIFACTS / "login.png"))
                await page.fill("#token", funder["Authorization"].removeprefix("Bearer "))
                await page.click("form.login-form button[type=submit]")
                await page.wait_for_url(f"{base}/projects/demo/dashboard")
                await page.wait_for_load_state("load")

                # Every KPI card, each chart drawn with a size, figures as the API serves them.
                ids = [sheet.figure_id for sheet in FIGURES]
                for figure_id in ids:
                    assert await page.locator(f'article.kpi[data-figure="{figure_id}"]').count() == 1
                sizes = await page.eval_on_selector_all(
                    "article.kpi svg.chart",
                    "charts => charts.map(c => c.getBoundingClientRect()).map(r => [r.width, r.height])",
                )
                assert len(sizes) == len(ids) and all(w > 0 and h > 0 for w, h in sizes), sizes
                live = await card_values(page)
                served = {
                    f["figure_id"]: f["total"]["value"] or "" for f in live_api["indicators"]["figures"]
                }
                assert live == served
                await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
                # The first screen, as the README shows it.
                await page.screenshot(path=str(ARTIFACTS / "dashboard-first-screen.png"))

                # As of the snapshot: every figure is the snapshot's.
                await page.select_option("#snapshot", SNAPSHOT_ID)
                await page.click("#as-of-snapshot button[type=submit]")
                await page.wait_for_url(f"{base}/projects/demo/dashboard?snapshot={SNAPSHOT_ID}")
                await page.wait_for_load_state("load")
                assert await page.locator("p.banner").is_visible()
                pinned = await card_values(page)
                expected = {
                    f["figure_id"]: f["total"]["value"] or "" for f in pinned_api["indicators"]["figures"]
                }
                assert pinned == expected
                assert any(pinned[f] != live[f] for f in ids)
                assert await page.locator("article.kpi svg.chart").count() == len(ids)
                await page.screenshot(path=str(ARTIFACTS / "dashboard-as-of-snapshot.png"), full_page=True)
                await page.screenshot(path=str(ARTIFACTS / "dashboard-as-of-snapshot-first-screen.png"))

                # On a phone the page does not scroll sideways (wide tables scroll in place) and
                # the "as of" controls stay on screen, a long snapshot name notwithstanding.
                await page.set_viewport_size(PHONE)
                assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
                button = await page.locator("#as-of-snapshot button[type=submit]").bounding_box()
                assert button is not None and button["x"] + button["width"] <= PHONE["width"], button
                await page.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)
                await page.set_viewport_size(DESKTOP)

                # Signing out ends the session in this browser.
                await page.click("header.topbar form button[type=submit]")
                await page.wait_for_url(f"{base}/login?signed_out=1")
                await page.goto(f"{base}/projects/demo/dashboard")
                assert urlsplit(page.url).path == "/login"

                assert log.errors == []
                foreign = [u for u in log.urls if urlsplit(u).netloc != urlsplit(base).netloc]
                assert foreign == [], foreign
            finally:
                await browser.close()
