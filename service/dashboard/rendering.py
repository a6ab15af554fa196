"""HTML pages: the Jinja templates (service/templates) through Litestar's template engine.

Every page, error pages included, is rendered by ``render_page`` so they share one layout, one
set of headers (pages hold a funder's figures: never cached by the browser or a proxy) and one
way of escaping (Jinja's autoescape; the only markup passed through unescaped is the charts'
SVG, made by vl-convert from numbers and dates).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined
from litestar import Request, Response
from litestar.enums import MediaType
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from service.dashboard.assets import asset_url
from service.dashboard.formatting import moment

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
# Figures of a project are not for shared caches, and a signed-out browser should not show
# them again from its history.
PAGE_CACHE_CONTROL = "no-store"


class PageError(Exception):
    """A request a page cannot answer (unknown snapshot, bad date…): shown as an HTML error page."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


def _configure(engine: JinjaTemplateEngine) -> None:
    engine.engine.globals["asset_url"] = asset_url
    engine.engine.globals["fmt_moment"] = moment
    # Templates fail loudly on a misspelt name rather than rendering an empty string.
    engine.engine.undefined = StrictUndefined
    engine.engine.trim_blocks = True
    engine.engine.lstrip_blocks = True


TEMPLATE_CONFIG: TemplateConfig[JinjaTemplateEngine] = TemplateConfig(
    directory=TEMPLATES_DIR, engine=JinjaTemplateEngine, engine_callback=_configure
)


def render_page(
    request: Request[Any, Any, Any],
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    """A template rendered into an HTML response that no cache keeps."""
    engine = request.app.template_engine
    if engine is None:
        raise RuntimeError("the app has no template engine: pass template_config=TEMPLATE_CONFIG")
    html = engine.get_template(template).render(request=request, **context)
    return Response(
        html,
        status_code=status_code,
        media_type=MediaType.HTML,
        headers={"Cache-Control": PAGE_CACHE_CONTROL, **(headers or {})},
    )
