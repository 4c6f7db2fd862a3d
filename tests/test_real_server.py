"""End to end through a real server: `dailypapers demo` in a subprocess, read by HF's own client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from tests.helpers import dailypapers_server, free_port

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`dailypapers demo` exactly as the README runs it (its --data-dir wins over the setting)."""
    root: Path = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "DAILYPAPERS_DATA_DIR": "/nonexistent-should-be-overridden"}
    args = ["demo", "--data-dir", str(root / "data")]
    with dailypapers_server(args, port=free_port(), env=env, log=root / "demo.log") as url:
        yield url


def test_huggingface_hub_client_reads_our_api(demo_server: str) -> None:
    api = HfApi(endpoint=demo_server, token=False)
    daily = list(api.list_daily_papers(date="2025-06-17", limit=100))
    assert len(daily) == 100
    assert all(
        p.submitted_at is not None and p.submitted_at.date().isoformat() == "2025-06-17"
        for p in daily
    )
    first = daily[0]
    assert first.id and first.title and first.summary and first.authors and first.authors[0].name

    week = list(api.list_daily_papers(week="2025-W26", limit=5))
    assert len(week) == 5

    info = api.paper_info(first.id)
    assert (info.id, info.title) == (first.id, first.title)

    found = list(api.list_papers(query="gaussian splatting", limit=5))
    assert found and all("gaussian" in ((p.title or "") + (p.summary or "")).lower() for p in found)

    markdown = api.read_paper(first.id)
    assert markdown.startswith(f"# {first.title}")

    with pytest.raises(HfHubHTTPError) as missing:
        api.paper_info("2506.99999")
    assert missing.value.response is not None and missing.value.response.status_code == 404


def test_demo_serves_html(demo_server: str) -> None:
    home = httpx.get(demo_server + "/")
    assert home.status_code == 200 and "June 27, 2025" in home.text
