"""The API documentation pages, `/docs` (Swagger UI) and `/redoc`, with their scripts, styles
and icon served by the service itself from the files the fastapi-offline package ships: on an
office network without internet they render all the same. Their Content-Security-Policy keeps
them to the service's own origin, so nothing a script would fetch from elsewhere (ReDoc's
attribution logo, Swagger UI's validator badge) leaves the machine.

Like the OpenAPI document they describe, the pages and their files are public (they hold no
data); `GuardMiddleware` lets exactly these paths through."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
OPENAPI_URL = "/openapi.json"
ASSETS_PREFIX = "/docs-assets"
_ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def asset_paths() -> Iterator[str]:
    """Each file the pages load, exactly: nothing else under the prefix becomes public."""
    for file in sorted(_ASSETS_DIR.rglob("*")):
        if file.is_file():
            yield f"{ASSETS_PREFIX}/{file.relative_to(_ASSETS_DIR).as_posix()}"


PUBLIC_DOCS_PATHS = frozenset(
    {OPENAPI_URL, DOCS_URL, OAUTH2_REDIRECT_URL, REDOC_URL, *asset_paths()}
)


def _same_origin_only(page: HTMLResponse) -> HTMLResponse:
    """The page loads from the service alone; its inline scripts (Swagger UI's set-up) run by
    their hash. Styles are inline (both bundles inject them); ReDoc's search runs in a worker
    made from a blob."""
    body = bytes(page.body).decode()
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(body)
    )
    page.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    page.headers["X-Content-Type-Options"] = "nosniff"
    return page


def install_docs(app: FastAPI) -> None:
    """`/docs`, `/docs/oauth2-redirect` and `/redoc` on an app made with `docs_url=None,
    redoc_url=None`, and their files under `/docs-assets`."""
    app.mount(ASSETS_PREFIX, StaticFiles(directory=_ASSETS_DIR), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=root + OPENAPI_URL,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
            swagger_js_url=f"{root}{ASSETS_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PREFIX}/favicon.png",
            # Swagger UI would send the document to validator.swagger.io for a badge.
            swagger_ui_parameters={"validatorUrl": None},
        )
        return _same_origin_only(page)

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=root + OPENAPI_URL,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_PREFIX}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_PREFIX}/favicon.png",
            with_google_fonts=False,
        )
        return _same_origin_only(page)
