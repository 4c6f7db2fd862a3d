"""``/thumbnails/...``: the WebP thumbnails in ``data_dir/thumbnails``. A file's name holds the arXiv
version it shows, so it never changes: browsers keep it for a year."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from dailypapers.services.thumbnails import FILE_NAME, thumbnail_dir
from dailypapers.web.deps import RequestRoute, SettingsDep
from dailypapers.web.errors import HTTPProblem

router = APIRouter(include_in_schema=False, route_class=RequestRoute)


@router.get("/thumbnails/{name:path}")
async def thumbnail(name: str, settings: SettingsDep) -> Response:
    path = thumbnail_dir(settings) / name
    if not FILE_NAME.match(name) or not path.is_file():
        raise HTTPProblem(404, "no such thumbnail")
    return FileResponse(
        path,
        media_type="image/webp",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )
