"""What browsers ask for that is not a page of ours: ``/favicon.ico`` and the API docs.

The docs (``/docs``: Swagger UI, ``/redoc``: ReDoc) are served with their scripts and styles from
the ``fastapi-offline`` package, mounted at ``/static/docs/``, so they work without the internet
(FastAPI's own pages load them from a CDN). Swagger UI is started by ``static/docs.js`` rather
than an inline script, so the pages need no ``'unsafe-inline'`` script; their Content-Security-
Policy allows what these two tools need and nothing more: inline styles (both set them), ``data:``
images (Swagger UI's icons) and ReDoc's ``blob:`` worker.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse
from markupsafe import escape

from dailypapers.web.deps import RequestRoute

STATIC = Path(__file__).parent / "static"
DOCS_ASSETS = "/static/docs"
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
DAY = 24 * 3600

router = APIRouter(include_in_schema=False, route_class=RequestRoute)


def docs_assets() -> str:
    """The folder of Swagger UI's and ReDoc's files inside the fastapi-offline package."""
    return str(files("fastapi_offline").joinpath("static"))


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return FileResponse(
        STATIC / "favicon.ico",
        media_type="image/x-icon",
        headers={"Cache-Control": f"public, max-age={7 * DAY}"},
    )


def _page(title: str, head: str, body: str) -> HTMLResponse:
    html = (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<title>{escape(title)}</title>\n<link rel="icon" href="/favicon.ico">\n{head}'
        f"</head>\n<body>\n{body}</body>\n</html>\n"
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": DOCS_CSP})


@router.get("/docs")
def swagger_ui() -> HTMLResponse:
    """Swagger UI over /openapi.json, from local files only."""
    return _page(
        "dailypapers API",
        f'<link rel="stylesheet" href="{DOCS_ASSETS}/swagger-ui.css">\n',
        '<div id="swagger-ui" data-openapi-url="/openapi.json"></div>\n'
        f'<script src="{DOCS_ASSETS}/swagger-ui-bundle.js"></script>\n'
        '<script src="/static/docs.js"></script>\n',
    )


@router.get("/redoc")
def redoc() -> HTMLResponse:
    """ReDoc over /openapi.json, from local files only."""
    return _page(
        "dailypapers API",
        "",
        '<redoc spec-url="/openapi.json"></redoc>\n'
        f'<script src="{DOCS_ASSETS}/redoc.standalone.js"></script>\n',
    )
