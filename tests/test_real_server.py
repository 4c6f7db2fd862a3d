"""End to end through a real server: `dailypapers demo` in a subprocess, read by HF's own client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

pytestmark = pytest.mark.server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    data_dir: Path = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "DAILYPAPERS_DATA_DIR": "/nonexistent-should-be-overridden"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dailypapers",
            "demo",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/api/daily_papers?limit=1", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"demo server did not start:\n{output}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


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
