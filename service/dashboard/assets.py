"""The dashboard's static files (stylesheet, icons), served by the service itself.

Each file is read once and served under a name carrying a hash of its content
(``/static/dashboard.3f9c0a1b2c4d.css``), so a response can be cached for a year and marked
immutable: a changed file gets a new URL, and no browser ever holds a stale one. Pages link
the files with ``asset_url``; nothing is fetched from any other host.
"""

from __future__ import annotations

import functools
import hashlib
import mimetypes
from pathlib import Path

import msgspec
from litestar import Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
# Browsers and link checkers ask for /favicon.ico whatever the page says; a 404 there is a
# console error on every page.
FAVICON_ICO = "favicon.ico"

_TYPES = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".ico": "image/x-icon"}


class Asset(msgspec.Struct, frozen=True, kw_only=True):
    """One static file: its bytes, media type and content-hashed URL."""

    name: str
    url: str
    content: bytes
    media_type: str


@functools.cache
def assets() -> dict[str, Asset]:
    """Every file of service/static by its hashed name (read once per process)."""
    found: dict[str, Asset] = {}
    for path in sorted(STATIC_DIR.iterdir()):
        if not path.is_file():
            continue
        content = path.read_bytes()
        digest = hashlib.sha256(content).hexdigest()[:12]
        hashed = f"{path.stem}.{digest}{path.suffix}"
        media = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        found[hashed] = Asset(name=path.name, url=f"/static/{hashed}", content=content, media_type=media)
    return found


@functools.cache
def asset_url(name: str) -> str:
    """The hashed URL of a file of service/static ("dashboard.css" → "/static/dashboard.<hash>.css")."""
    for asset in assets().values():
        if asset.name == name:
            return asset.url
    raise KeyError(f"no static file {name!r} in {STATIC_DIR}")


def _by_name(name: str) -> Asset:
    for asset in assets().values():
        if asset.name == name:
            return asset
    raise NotFoundException(detail=f"no static file {name!r}")


@get("/static/{name:str}", include_in_schema=False, cache_control=None)
async def static_asset(name: FromPath[str]) -> Response[bytes]:
    """A static file by its hashed name; cacheable forever, since the name changes with it."""
    asset = assets().get(name)
    if asset is None:
        raise NotFoundException(detail=f"no static file {name!r}")
    return Response(asset.content, media_type=asset.media_type, headers={"Cache-Control": IMMUTABLE})


@get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response[bytes]:
    """The icon at the path browsers try by default (pages link the SVG one)."""
    asset = _by_name(FAVICON_ICO)
    headers = {"Cache-Control": "public, max-age=86400"}
    return Response(asset.content, media_type=asset.media_type, headers=headers)
