"""The dashboard: one page and its static files, served without credentials (they hold no
data); the page calls the API with a token or API key the user gives it (see docs/analytics.md).
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/static"
# The page must not be framed by another site, and runs only the scripts shipped with it.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def public_paths() -> list[str]:
    """The page and each file shipped beside it, exactly: nothing else becomes public."""
    files = sorted(p for p in STATIC_DIR.rglob("*") if p.is_file())
    return ["/", *(f"{STATIC_PREFIX}/{p.relative_to(STATIC_DIR).as_posix()}" for p in files)]


def mount(app: FastAPI, *, regency_code: str) -> None:
    """The page at `/` (opening on the regency) and the static files under `/static`."""
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    page = page.replace("{{REGENCY}}", html.escape(regency_code))

    async def dashboard_page(request: Request) -> Response:
        return HTMLResponse(page, headers=_PAGE_HEADERS)

    # Plain Starlette routes, not API operations: they carry no scope and no data.
    app.add_route("/", dashboard_page, methods=["GET"], include_in_schema=False)
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="static")
