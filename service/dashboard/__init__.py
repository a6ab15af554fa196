"""The funders' dashboard: server-rendered pages over the same KPI engine and cache as the API.

    GET  /login, POST /login, POST /logout     sign in with an access token (session cookie)
    GET  /projects                             the projects the token reaches
    GET  /projects/{project}/dashboard         KPI cards, charts, breakdowns, snapshots, "as of"
    GET  /projects/{project}/dashboard/indicators.csv | .xlsx   the donor-layout KPI table
    GET  /static/{hashed name}, /favicon.ico   stylesheet and icons, cacheable forever

Wiring into the app (service/app.py)::

    from service.dashboard import PAGE_PATHS, TEMPLATE_CONFIG, SecurityHeadersMiddleware, dashboard_router
    Litestar(
        route_handlers=[..., dashboard_router],
        middleware=[
            SecurityHeadersMiddleware,
            DefineMiddleware(TokenAuthenticationMiddleware, exclude=[*PUBLIC_PATHS, *PAGE_PATHS]),
            request_logging,
        ],
        template_config=TEMPLATE_CONFIG,
        ...
    )

Pages authenticate themselves (``session.signed_in``: the session cookie or a bearer token) so a
browser without a session is sent to the login page instead of receiving a 401 document.

Modules: routes (pages, exports, error pages), session (sign-in, cookie, guard), view (the
page's content from the engine's results), charts (Altair → SVG, cached), live (the live view
refreshed in the background), snapshots (published snapshots, "as of"), exports (donor layout,
CSV/XLSX), formatting, rendering (templates), assets (static files), headers (security headers).
"""

from service.dashboard.headers import SecurityHeadersMiddleware
from service.dashboard.rendering import TEMPLATE_CONFIG
from service.dashboard.routes import dashboard_router
from service.dashboard.session import PAGE_PATHS

__all__ = ["PAGE_PATHS", "TEMPLATE_CONFIG", "SecurityHeadersMiddleware", "dashboard_router"]
