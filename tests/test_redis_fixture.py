"""The tests needing a real ``redis-server``: CI installs it, and without it they skip saying why
(rather than fail, or hang on a port nothing listens on)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import redis_server as module

CI_RUN = Path(__file__).resolve().parents[1] / ".ci" / "run"


def test_ci_installs_redis_server_with_apt_get() -> None:
    script = CI_RUN.read_text()
    assert re.search(r"command -v redis-server .*\|\| missing\+=\(redis-server\)", script), script
    assert 'apt-get install -y -qq "${missing[@]}"' in script, script
    assert script.index("apt-get install") < script.index("pytest")


def test_without_redis_server_the_fixture_skips_with_a_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(module, "REDIS_SERVER", None)
    with pytest.raises(pytest.skip.Exception) as skipped:
        with module.redis_server():
            pytest.fail("started a redis-server that is not installed")
    assert "needs redis-server" in str(skipped.value)
    assert ".ci/run installs it" in str(skipped.value)
