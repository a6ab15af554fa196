"""The funders' dashboard over plain HTTP: sign-in, access, the page's figures against the API's,
"as of" a snapshot, exports, security headers and static assets.

`dashboard_app` is the app create_app builds; the browser tests (test_browser_dashboard.py)
use it too.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import html.parser
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import openpyxl
from litestar import Litestar

from events.admission import WriteModelAdmission
from events.read import read_head, read_log
from events.store import EventStore
from indicators import FIGURES
from service.app import create_app, run_services
from service.auth import SESSION_COOKIE
from service.commands import EventCommand
from service.dashboard.routes import chart_renderer, live_views
from service.demo import DEMO_ACTOR, demo_registration, load_demo
from service.recording import Recorder
from service.settings import Settings
from tests.conftest import MIGRATIONS, Database, bearer

DASHBOARD = "/projects/demo/dashboard"
API = "/api/v1/projects/demo"
HTML = {"Accept": "text/html,application/xhtml+xml"}


def service_settings(database_url: str) -> Settings:
    """Settings of a test service on the machine's database."""
    return Settings(
        database_url=database_url,
        data_dir=Path("/nonexistent"),
        migrations_dir=MIGRATIONS,
        host="127.0.0.1",
        port=0,
        pool_min=1,
        pool_max=4,
        log_level="INFO",
        max_body_bytes=1024 * 1024,
    )


def dashboard_app(settings: Settings, lifespan: Any = None) -> Litestar:
    """The service exactly as create_app builds it; `lifespan` replaces the standard one."""
    return create_app(settings, lifespan=lifespan)


@contextlib.asynccontextmanager
async def dashboard_service(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The app with the dashboard on the test's schema, in this event loop, and a client to it."""
    settings = service_settings(db.dsn)
    app = dashboard_app(settings)
    async with run_services(app, settings, db.pool, None):
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://impactlog.test") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


async def publish_snapshot(
    recorder: Recorder, pool: asyncpg.Pool, project: str, snapshot_id: str, as_of_seq: int
) -> int:
    """Record a SnapshotPublished pinned to `as_of_seq` (as the snapshots API will); its position."""
    (pinned,) = await read_log(pool, project, after=as_of_seq - 1, limit=1)
    command = EventCommand(
        type="SnapshotPublished",
        # Dated like the position it pins, so it is inside the project whatever today is.
        occurred_on=pinned.occurred_on or dt.date(2025, 12, 31),
        data={
            "snapshot_id": snapshot_id,
            "kind": "interim",
            "period_id": "P1",
            "as_of_seq": as_of_seq,
            "log_head_hash": pinned.hash,
            "definitions_version": "2025.1",
            "code_version": "impactlog test",
            "signature": "test:unsigned",
        },
    )
    (appended,) = await recorder.record(project, [command], actor=DEMO_ACTOR)
    return appended.position


class PageFigures(html.parser.HTMLParser):
    """The figures a dashboard page carries in data attributes: cards and breakdown cells."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: dict[str, dict[str, str]] = {}
        self.cells: dict[tuple[str, str, str], dict[str, str]] = {}
        self.links: list[str] = []
        self._row_figure: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        for name in ("href", "src", "action"):
            if name in values:
                self.links.append(values[name])
        if tag == "article" and "data-figure" in values:
            self.cards[values["data-figure"]] = values
        elif tag == "tr":
            self._row_figure = values.get("data-figure")
        elif tag == "td" and self._row_figure and "data-dimension" in values:
            self.cells[self._row_figure, values["data-dimension"], values["data-category"]] = values


def page_figures(text: str) -> PageFigures:
    parser = PageFigures()
    parser.feed(text)
    return parser


def api_figures(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["figure_id"]: f for f in body["indicators"]["figures"]}


async def demo_project(service: httpx.AsyncClient) -> None:
    await load_demo(service.app.state.recorder, "demo")  # type: ignore[attr-defined]


async def sign_in(service: httpx.AsyncClient, token: str, next_path: str = "") -> httpx.Response:
    return await service.post(
        "/login",
        data={"token": token, "next": next_path},
        headers={"Origin": "http://impactlog.test", "Sec-Fetch-Site": "same-origin"},
    )


def secret_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def test_a_browser_without_a_session_is_sent_to_the_login_page_and_a_script_gets_401(
    db: Database,
) -> None:
    async with dashboard_service(db) as service:
        await demo_project(service)
        browser = await service.get(f"{DASHBOARD}?snapshot=S1", headers=HTML)
        assert browser.status_code == 303
        assert browser.headers["location"] == "/login?next=/projects/demo/dashboard%3Fsnapshot%3DS1"
        login_page = await service.get(browser.headers["location"], headers=HTML)
        assert login_page.status_code == 200 and 'name="token"' in login_page.text
        script = await service.get(DASHBOARD, headers={"Accept": "application/json"})
        assert script.status_code == 401 and script.headers["www-authenticate"].startswith("Bearer")
        bad_bearer = await service.get(DASHBOARD, headers={"Authorization": "Bearer il_nope", **HTML})
        assert bad_bearer.status_code == 401


async def test_signing_in_sets_a_strict_http_only_session_cookie_and_opens_the_dashboard(
    db: Database,
) -> None:
    async with dashboard_service(db) as service:
        await demo_project(service)
        funder = await bearer(db, "funder", "demo", name="eismea-officer")
        answer = await sign_in(service, secret_of(funder))
        # One project: straight to its dashboard.
        assert answer.status_code == 303 and answer.headers["location"] == DASHBOARD
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=ils_")
        assert secret_of(funder) not in cookie  # a session's own secret, never the token
        assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Path=/" in cookie
        assert "Max-Age=28800" in cookie
        assert "Secure" not in cookie  # plain http on a test host: a Secure cookie would be dropped
        page = await service.get(DASHBOARD, headers=HTML)
        assert page.status_code == 200
        assert "Signed in as <strong>eismea-officer</strong> (funder)" in page.text
        assert page.headers["cache-control"] == "no-store"
        # Back where the user was going when sent to sign in.
        service.cookies.clear()
        back = await sign_in(service, secret_of(funder), f"{DASHBOARD}?as_of=2025-06-30")
        assert back.headers["location"] == f"{DASHBOARD}?as_of=2025-06-30"
        # Never to another site.
        away = await sign_in(service, secret_of(funder), "//evil.example/phish")
        assert away.headers["location"] == DASHBOARD


async def test_the_session_cookie_is_secure_behind_tls(db: Database) -> None:
    async with dashboard_service(db) as service:
        await demo_project(service)
        funder = await bearer(db, "funder", "demo")
        answer = await service.post(
            "https://impactlog.test/login",
            data={"token": secret_of(funder)},
            headers={"Origin": "https://impactlog.test"},
        )
        assert answer.status_code == 303 and "Secure" in answer.headers["set-cookie"]
        assert answer.headers["strict-transport-security"].startswith("max-age=")


async def test_a_wrong_token_shows_the_form_again_and_a_cross_site_post_is_refused(db: Database) -> None:
    async with dashboard_service(db) as service:
        await demo_project(service)
        wrong = await sign_in(service, "il_" + "x" * 43)
        assert wrong.status_code == 401 and "not valid or has been revoked" in wrong.text
        assert "set-cookie" not in wrong.headers
        funder = await bearer(db, "funder", "demo")
        for origin, site in (("https://evil.example", "cross-site"), ("null", "cross-site"), ("null", None)):
            headers = {"Origin": origin, **({"Sec-Fetch-Site": site} if site else {})}
            forged = await service.post("/login", data={"token": secret_of(funder)}, headers=headers)
            assert forged.status_code == 403 and "set-cookie" not in forged.headers, headers


async def signed_in_cookie(service: httpx.AsyncClient, token: str) -> str:
    """Sign in with `token`; the session cookie's value the browser now holds."""
    answer = await sign_in(service, token)
    assert answer.status_code == 303
    return service.cookies[SESSION_COOKIE]


async def assert_cookie_refused(service: httpx.AsyncClient, cookie: str) -> None:
    """`cookie`, sent again as a copied cookie would be: login redirect for pages, 401 for the API."""
    service.cookies.clear()
    service.cookies.set(SESSION_COOKIE, cookie)
    page = await service.get(DASHBOARD, headers=HTML)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    api = await service.get(f"{API}/indicators")
    assert api.status_code == 401 and api.headers["www-authenticate"].startswith("Bearer")
    service.cookies.clear()


async def test_a_session_cookie_opens_the_pages_and_the_api_as_its_token(db: Database) -> None:
    async with dashboard_service(db) as service:
        await demo_project(service)
        funder = await bearer(db, "funder", "demo", name="officer")
        cookie = await signed_in_cookie(service, secret_of(funder))
        assert cookie != secret_of(funder) and cookie.startswith("ils_")
        assert (await service.get(DASHBOARD, headers=HTML)).status_code == 200
        assert (await service.get(f"{API}/indicators")).status_code == 200
        assert (await service.get(f"{API}/events")).status_code == 403  # still a funder's token
        # The database keeps the secret's hash, never the secret or the token.
        stored = await db.pool.fetchval("SELECT secret_hash FROM sessions")
        assert bytes(stored) == hashlib.sha256(cookie.encode()).digest()


async def test_signing_out_ends_the_session_on_the_server_so_a_copied_cookie_stops_working(
    db: Database,
) -> None:
    async with dashboard_service(db) as service:
        await demo_project(service)
        funder = await bearer(db, "funder", "demo", name="officer")
        cookie = await signed_in_cookie(service, secret_of(funder))
        assert (await service.get(DASHBOARD, headers=HTML)).status_code == 200
        out = await service.post("/logout", headers={"Origin": "http://impactlog.test"})
        assert out.status_code == 303 and out.headers["location"] == "/login?signed_out=1"
        assert "Max-Age=0" in out.headers["set-cookie"]
        assert (await service.get(DASHBOARD, headers=HTML)).status_code == 303
        await assert_cookie_refused(service, cookie)
        # The token itself still works, and signs in again.
        assert (await service.get(DASHBOARD, headers={**funder, **HTML})).status_code == 200
        assert await signed_in_cookie(service, secret_of(funder)) != cookie


async def test_a_revoked_token_ends_its_sessions(db: Database) -> None:
    async with dashboard_service(db) as service:
        await demo_project(service)
        funder = await bearer(db, "funder", "demo", name="officer")
        cookie = await signed_in_cookie(service, secret_of(funder))
        await service.app.state.tokens.revoke("officer")  # type: ignore[attr-defined]
        await assert_cookie_refused(service, cookie)


async def test_an_expired_session_stops_working(db: Database) -> None:
    async with dashboard_service(db) as service:
        await demo_project(service)
        funder = await bearer(db, "funder", "demo", name="officer")
        cookie = await signed_in_cookie(service, secret_of(funder))
        await db.pool.execute(
            "UPDATE sessions SET created_at = now() - interval '9 hours', "
            "expires_at = now() - interval '1 hour'"
        )
        await assert_cookie_refused(service, cookie)


async def test_a_link_followed_from_another_site_reloads_once_from_our_origin(db: Database) -> None:
    async with dashboard_service(db) as service:
        await demo_project(service)
        # SameSite=Strict withholds the cookie on a cross-site navigation: reload from here.
        arriving = await service.get(DASHBOARD, headers={**HTML, "Sec-Fetch-Site": "cross-site"})
        assert arriving.status_code == 200
        assert '<meta http-equiv="refresh" content="0; url=/projects/demo/dashboard">' in arriving.text
        # The reload is same-origin: without a session it goes to the login page.
        reload = await service.get(DASHBOARD, headers={**HTML, "Sec-Fetch-Site": "same-origin"})
        assert reload.status_code == 303


async def test_a_foreign_project_is_a_403_page_and_an_unknown_one_404(db: Database) -> None:
    async with dashboard_service(db) as service:
        await demo_project(service)
        recorder: Recorder = service.app.state.recorder  # type: ignore[attr-defined]
        await recorder.create_project("other", demo_registration("other"), actor=DEMO_ACTOR)
        funder = await bearer(db, "funder", "demo")
        foreign = await service.get("/projects/other/dashboard", headers={**funder, **HTML})
        assert foreign.status_code == 403 and foreign.headers["content-type"].startswith("text/html")
        assert "has no access to project &#39;other&#39;" in foreign.text
        admin = await bearer(db, "admin")
        unknown = await service.get("/projects/nowhere/dashboard", headers={**admin, **HTML})
        assert unknown.status_code == 404 and "There is no project &#39;nowhere&#39;" in unknown.text


async def test_the_project_list_shows_the_projects_a_token_reaches(db: Database) -> None:
    async with dashboard_service(db) as service:
        await demo_project(service)
        recorder: Recorder = service.app.state.recorder  # type: ignore[attr-defined]
        for project in ("other", "third"):
            await recorder.create_project(project, demo_registration(project), actor=DEMO_ACTOR)
        auditor = await bearer(db, "auditor", "demo", "other")
        listed = await service.get("/projects", headers={**auditor, **HTML})
        assert listed.status_code == 200
        links = set(re.findall(r'href="(/projects/[^"]+/dashboard)"', listed.text))
        assert links == {"/projects/demo/dashboard", "/projects/other/dashboard"}
        assert "101144892" in listed.text  # the grant agreement number
        # Signing in with a token for several projects lands on the list.
        answer = await sign_in(service, secret_of(auditor))
        assert answer.headers["location"] == "/projects"


async def test_the_page_shows_every_kpi_with_the_apis_figures_small_cells_withheld(db: Database) -> None:
    async with dashboard_service(db) as service:
        await demo_project(service)
        funder = await bearer(db, "funder", "demo")
        page = await service.get(DASHBOARD, headers={**funder, **HTML})
        assert page.status_code == 200
        api = await service.get(f"{API}/indicators", headers=funder)
        shown, served = page_figures(page.text), api_figures(api.json())
        assert set(shown.cards) == {sheet.figure_id for sheet in FIGURES} == set(served)
        for figure_id, card in shown.cards.items():
            figure = served[figure_id]
            assert card["data-value"] == (figure["total"]["value"] or ""), figure_id
            assert card["data-n"] == str(figure["total"]["n"]), figure_id
            target = figure["target"] or {}
            assert card["data-target"] == (target.get("target") or ""), figure_id
            assert card["data-progress"] == (target.get("progress") or ""), figure_id
            assert card["data-status"] == (target.get("status") or ""), figure_id
        # Breakdown cells: the same values, and the same cells withheld as in the API.
        compared = suppressed = 0
        for (figure_id, dimension, category), cell in shown.cells.items():
            (breakdown,) = [b for b in served[figure_id]["breakdowns"] if b["by"] == dimension]
            (expected,) = [c for c in breakdown["cells"] if c["category"] == category]
            if expected["suppressed"]:
                assert cell.get("data-suppressed") == "true" and "data-value" not in cell
                suppressed += 1
            else:
                assert cell["data-value"] == (expected["figure"]["value"] or "")
                assert cell["data-n"] == str(expected["figure"]["n"])
            compared += 1
        assert compared > 100 and suppressed > 0
        # An auditor sees the small cells.
        auditor = await bearer(db, "auditor", "demo")
        full = page_figures((await service.get(DASHBOARD, headers={**auditor, **HTML})).text)
        assert not any(c.get("data-suppressed") for c in full.cells.values())


async def test_as_of_a_snapshot_the_page_shows_the_snapshots_figures(db: Database) -> None:
    async with dashboard_service(db) as service:
        await demo_project(service)
        # A snapshot event written straight to the store, as the publisher does (the API's
        # general event path refuses SnapshotPublished).
        recorder = Recorder(EventStore(db.pool, admission=WriteModelAdmission()))
        head = await read_head(db.pool, "demo")
        assert head is not None
        half = head.position // 2
        await publish_snapshot(recorder, db.pool, "demo", "SNAP-P1-interim", half)
        funder = await bearer(db, "funder", "demo")
        page = await service.get(
            DASHBOARD, params={"snapshot": "SNAP-P1-interim"}, headers={**funder, **HTML}
        )
        assert page.status_code == 200
        assert "Showing the figures as of snapshot SNAP-P1-interim" in page.text
        assert f'data-as-of-position="{half}"' in page.text
        for link in ("SNAP-P1-interim.html", "SNAP-P1-interim.csv", 'SNAP-P1-interim"'):
            assert f"/api/v1/projects/demo/snapshots/{link}" in page.text
        pinned = api_figures((await service.get(f"{API}/indicators?as_of={half}", headers=funder)).json())
        live = api_figures((await service.get(f"{API}/indicators", headers=funder)).json())
        cards = page_figures(page.text).cards
        assert all(cards[f]["data-value"] == (pinned[f]["total"]["value"] or "") for f in cards)
        assert any(pinned[f]["total"]["value"] != live[f]["total"]["value"] for f in cards)
        # Exports follow the view.
        assert "indicators.csv?snapshot=SNAP-P1-interim" in page.text
        unknown = await service.get(DASHBOARD, params={"snapshot": "NOPE"}, headers={**funder, **HTML})
        assert unknown.status_code == 404 and "NOPE" in unknown.text
        bad_date = await service.get(DASHBOARD, params={"as_of": "soon"}, headers={**funder, **HTML})
        assert bad_date.status_code == 400
        by_date = await service.get(DASHBOARD, params={"as_of": "2025-06-30"}, headers={**funder, **HTML})
        assert by_date.status_code == 200 and "as recorded by the end of 2025-06-30" in by_date.text
        # Before anything was recorded (the demo was recorded today): an empty but honest page.
        assert 'data-as-of-position="0"' in by_date.text
        by_position = await service.get(DASHBOARD, params={"as_of": "10"}, headers={**funder, **HTML})
        assert by_position.status_code == 200 and 'data-as-of-position="10"' in by_position.text


async def test_the_live_page_answers_at_once_when_the_log_moved_and_says_how_far_behind_it_is(
    db: Database,
) -> None:
    async with dashboard_service(db) as service:
        await demo_project(service)
        funder = await bearer(db, "funder", "demo")
        first = await service.get(DASHBOARD, headers={**funder, **HTML})
        position = int(re.findall(r'data-as-of-position="(\d+)"', first.text)[0])
        assert "Up to date with the log" in first.text
        recorder: Recorder = service.app.state.recorder  # type: ignore[attr-defined]
        webinar = EventCommand(
            type="OutreachEventHeld",
            occurred_on=dt.date(2026, 6, 15),
            partner_org_id="mobitech-de",
            data={
                "outreach_id": "OUT-LATE-1",
                "event_type": "webinar",
                "attendees": 12,
                "orgs_reached": [],
                "sme_count": 0,
                "countries": ["DE"],
                "b2b_meetings": 0,
                "country": "DE",
            },
        )
        await recorder.record("demo", [webinar], actor=DEMO_ACTOR)
        # The newest view at once, saying it lags one event, while the next one is computed.
        stale = await service.get(DASHBOARD, headers={**funder, **HTML})
        assert f'data-as-of-position="{position}"' in stale.text
        assert 'data-behind-head="1"' in stale.text and "1 newer event is being included" in stale.text
        refresh = live_views(service.app.state).refreshing("demo", True)  # type: ignore[attr-defined]
        assert refresh is not None
        await refresh
        fresh = await service.get(DASHBOARD, headers={**funder, **HTML})
        assert f'data-as-of-position="{position + 1}"' in fresh.text and "Up to date" in fresh.text
        served = api_figures((await service.get(f"{API}/indicators", headers=funder)).json())
        assert (
            page_figures(fresh.text).cards["O9.contacts"]["data-value"]
            == served["O9.contacts"]["total"]["value"]
        )


async def test_charts_are_svg_rendered_once_per_content(db: Database) -> None:
    async with dashboard_service(db) as service:
        await demo_project(service)
        staff = await bearer(db, "staff", "demo")
        first = await service.get(DASHBOARD, headers={**staff, **HTML})
        charts = re.findall(r'<svg[^>]*class="marks chart"', first.text)
        assert len(charts) == len(FIGURES)
        renderer = chart_renderer(service.app.state)  # type: ignore[attr-defined]
        rendered = renderer.rendered
        # A funder's page at the same position has the same series: no chart is drawn again.
        funder = await bearer(db, "funder", "demo")
        assert (await service.get(DASHBOARD, headers={**funder, **HTML})).status_code == 200
        assert renderer.rendered == rendered


async def test_security_headers_and_no_reference_to_another_host(db: Database) -> None:
    async with dashboard_service(db) as service:
        await demo_project(service)
        funder = await bearer(db, "funder", "demo")
        page = await service.get(DASHBOARD, headers={**funder, **HTML})
        policy = page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
        assert "http" not in policy and "script-src" not in policy  # no script source at all
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["x-frame-options"] == "DENY"
        assert "<script" not in page.text
        links = page_figures(page.text).links
        assert links and all(link.startswith(("/", "?", "#")) and not link.startswith("//") for link in links)
        # The API answers carry the headers too.
        assert (await service.get(f"{API}/indicators", headers=funder)).headers["x-content-type-options"]


async def test_static_assets_are_content_addressed_and_the_favicon_exists(db: Database) -> None:
    async with dashboard_service(db) as service:
        login_page = await service.get("/login", headers=HTML)
        css_url = re.search(r'href="(/static/dashboard\.[0-9a-f]{12}\.css)"', login_page.text)
        assert css_url is not None
        css = await service.get(css_url.group(1))
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert (await service.get("/static/dashboard.000000000000.css")).status_code == 404
        icon = await service.get("/favicon.ico")
        assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"


async def test_the_kpi_table_exports_in_the_donor_layout(db: Database) -> None:
    async with dashboard_service(db) as service:
        await demo_project(service)
        funder = await bearer(db, "funder", "demo")
        served = api_figures((await service.get(f"{API}/indicators", headers=funder)).json())
        as_csv = await service.get(f"{DASHBOARD}/indicators.csv", headers=funder)
        assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
        assert 'filename="demo-indicators-' in as_csv.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(as_csv.text)))
        # One row per figure and reporting period (P1, P2), then its life-of-project row.
        assert len(rows) == len(FIGURES) * 3
        assert [r["level"] for r in rows[:3]] == ["impact"] * 3 and rows[-1]["level"] == "output"
        life = {r["figure_id"]: r for r in rows if r["period_id"] == "LoP"}
        for figure_id, figure in served.items():
            assert life[figure_id]["actual"] == (figure["total"]["value"] or "")
        o2 = {r["period_id"]: r for r in rows if r["figure_id"] == "O2"}
        assert o2["P1"]["target_type"] == "incremental" and o2["LoP"]["target_type"] == "cumulative"
        split_columns = [c for c in rows[0] if "=" in c]
        assert {c.split("=")[0] for c in split_columns} == {"country", "partner", "gender", "size_class"}
        assert any(r[c] == "suppressed" for r in rows for c in split_columns)
        as_xlsx = await service.get(f"{DASHBOARD}/indicators.xlsx", headers=funder)
        assert as_xlsx.status_code == 200
        workbook = openpyxl.load_workbook(io.BytesIO(as_xlsx.content))
        sheet = workbook["Indicators"]
        assert sheet.max_row == len(rows) + 1
        header = [c.value for c in sheet[1]]
        assert header == list(rows[0].keys())
        o1_life = next(
            r for r in sheet.iter_rows(min_row=2, values_only=True) if r[2] == "O1" and r[5] == "LoP"
        )
        assert o1_life[header.index("actual")] == float(served["O1"]["total"]["value"])
        assert "About" in workbook.sheetnames
