"""The deployment files in ``deploy/`` (not run here: no Docker engine on the test machines):
compose.yaml parsed and checked (services, images, ports, health checks, start order, and that
every DAILYPAPERS_* variable it or its env file sets is a real setting), the Dockerfile's
essentials, the nginx site, and the systemd units checked with ``systemd-analyze verify`` when
it is there (else parsed)."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from dailypapers.config import Settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
SETTINGS = {f"DAILYPAPERS_{name.upper()}" for name in Settings.model_fields}


def compose() -> dict:  # type: ignore[type-arg]
    loaded = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"{path.name}: not NAME=value: {line!r}"
            pairs[name.strip()] = value
    return pairs


def test_compose_runs_the_whole_instance() -> None:
    services = compose()["services"]
    assert set(services) == {"db", "redis", "migrate", "web1", "web2", "worker", "proxy"}
    assert services["db"]["image"] == "pgvector/pgvector:pg17"
    assert "./initdb:/docker-entrypoint-initdb.d:ro" in services["db"]["volumes"]
    assert "CREATE EXTENSION IF NOT EXISTS vector" in (DEPLOY / "initdb" / "vector.sql").read_text()
    assert services["redis"]["image"].startswith("redis:")
    for name in ("web1", "web2"):
        web = services[name]
        assert web["command"][:2] == ["dailypapers", "serve"]
        assert "ports" not in web  # only the proxy is published
        assert any("/readyz" in part for part in web["healthcheck"]["test"])
        assert web["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert web["depends_on"]["db"]["condition"] == "service_healthy"
        assert web["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["worker"]["command"][:2] == ["dailypapers", "worker"]
    assert services["migrate"]["command"] == ["dailypapers", "init"]
    assert services["proxy"]["ports"] == ["8080:80"]
    assert any("/healthz" in part for part in services["proxy"]["healthcheck"]["test"])
    for name in ("db", "redis"):
        assert services[name]["healthcheck"]["test"]
    for name in ("web1", "web2", "worker", "migrate"):
        assert services[name]["env_file"] == "dailypapers.env"
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (DEPLOY.parent / services[name]["build"]["dockerfile"]).is_file()
    assert set(compose()["volumes"]) >= {"pgdata", "redisdata"}


def test_every_dailypapers_variable_set_is_a_setting() -> None:
    named = set(re.findall(r"DAILYPAPERS_[A-Z_]+", (DEPLOY / "compose.yaml").read_text()))
    example = env_file(DEPLOY / "dailypapers.env.example")
    units = env_file(DEPLOY / "systemd" / "dailypapers.env")
    docker = set(re.findall(r"(DAILYPAPERS_[A-Z_]+)=", (DEPLOY / "Dockerfile").read_text()))
    for origin, names in [
        ("compose.yaml", named),
        ("dailypapers.env.example", {n for n in example if n.startswith("DAILYPAPERS_")}),
        ("systemd/dailypapers.env", {n for n in units if n.startswith("DAILYPAPERS_")}),
        ("Dockerfile", docker),
    ]:
        assert names <= SETTINGS, f"{origin} sets what config.py does not know: {names - SETTINGS}"
    # the values are valid settings too (a malformed queue URL would stop every process)
    values = {
        k.removeprefix("DAILYPAPERS_").lower(): v for k, v in example.items() if k in SETTINGS
    }
    Settings(**values, _env_file=None)  # type: ignore[arg-type]
    assert example["DAILYPAPERS_QUEUE_URL"].startswith("redis://redis:")
    assert "@db:5432/" in example["DAILYPAPERS_DATABASE_URL"]
    password = example["POSTGRES_PASSWORD"]
    assert f":{password}@" in example["DAILYPAPERS_DATABASE_URL"]


def test_the_dockerfile_installs_and_runs_the_app() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert text.startswith("#") and re.search(r"^FROM python:3\.11", text, re.M)
    assert re.search(r"^RUN pip install \. ", text, re.M)
    assert re.search(r"^USER dailypapers$", text, re.M)
    assert "/healthz" in text and re.search(r"^CMD \[\"dailypapers\", \"serve\"", text, re.M)


def test_nginx_passes_the_client_and_keeps_metrics_inside() -> None:
    text = (DEPLOY / "nginx" / "dailypapers.conf").read_text()
    assert "location = /metrics { deny all; }" in text
    for header in ("Host $host", "X-Forwarded-For $remote_addr", "X-Forwarded-Proto $scheme"):
        assert f"proxy_set_header {header};" in text
    assert compose()["services"]["web1"]["environment"]["FORWARDED_ALLOW_IPS"] == "*"


UNITS = ["dailypapers-migrate.service", "dailypapers-web@.service", "dailypapers-worker.service"]


@pytest.mark.parametrize("name", UNITS)
def test_systemd_units_parse_and_read_the_env_file(name: str) -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / "systemd" / name)
    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    assert service["EnvironmentFile"] == "/etc/dailypapers/dailypapers.env"
    assert service["ExecStart"].startswith("/opt/dailypapers/venv/bin/dailypapers ")
    assert service["User"] == "dailypapers"
    if name != "dailypapers-migrate.service":
        assert "dailypapers-migrate.service" in unit["Unit"]["Requires"]
    assert unit["Install"]["WantedBy"] == "dailypapers.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    """``systemd-analyze verify`` checks every directive; it also wants ExecStart to exist, so
    the copies point at /bin/true instead of the installed dailypapers."""
    for path in (DEPLOY / "systemd").iterdir():
        if path.suffix in (".service", ".target"):
            name = path.name.replace("@.service", "@8001.service")
            text = path.read_text().replace("/opt/dailypapers/venv/bin/dailypapers", "/bin/true")
            (tmp_path / name).write_text(text)
    units = sorted(str(p) for p in tmp_path.iterdir())
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *units],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    problems = [
        line
        for line in done.stderr.splitlines()
        if str(tmp_path) in line or "Unknown" in line or "bad" in line.lower()
    ]
    assert problems == [], done.stderr
