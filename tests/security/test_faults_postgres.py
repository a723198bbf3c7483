"""A PostgreSQL restart is survived by the web process without restarting it.

A throwaway PostgreSQL (``pgserver`` in a temporary folder) and a real web process
(gunicorn, one synchronous worker, so one persistent database connection: the
production shape, ``CONN_MAX_AGE`` 60) serving the app on it. The server is restarted
under the running web process; its next request must find the database again, because
``CONN_HEALTH_CHECKS`` checks a kept connection before using it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tests.security.conftest import free_port

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("faults")]


def _pg_ctl_user() -> str | None:
    return "pgserver" if os.geteuid() == 0 else None


@pytest.fixture
def throwaway_postgres() -> Iterator[tuple[str, Path]]:
    import pgserver

    folder = Path(tempfile.mkdtemp(prefix="medtech-pg-restart-"))
    folder.chmod(0o755)  # pgserver runs the server as its own user when we are root
    server = pgserver.get_server(folder / "pg", cleanup_mode="stop")
    try:
        yield server.get_uri(), folder / "pg"
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def web(throwaway_postgres, throwaway_redis, tmp_path) -> Iterator[str]:
    uri, _ = throwaway_postgres
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "medtech.settings",
        "DATABASE_URL": uri,
        "REDIS_URL": throwaway_redis.url,
        "SECRET_KEY": "pg-restart-test-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DEBUG": "0",
    }
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable, "-m", "gunicorn", "medtech.wsgi",
            "--bind", f"127.0.0.1:{port}", "--workers", "1", "--worker-class", "sync",
            "--timeout", "30",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                get(base + "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError((tmp_path / "gunicorn.log").read_text()[-3000:])
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        log.close()


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our server
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_web_process_survives_a_postgres_restart(web, throwaway_postgres):
    from pgserver._commands import pg_ctl

    _, pgdata = throwaway_postgres
    before = [get(web + "/healthz") for _ in range(3)]  # the connection is kept between them

    pg_ctl(["-w", "-m", "fast", "restart"], pgdata=pgdata, user=_pg_ctl_user(), timeout=60)
    after = [get(web + "/healthz") for _ in range(3)]

    assert [status for status, _ in before] == [200, 200, 200]
    # The very first request after the restart already finds the database.
    assert after == [(200, {"status": "ok", "database": "ok", "redis": "ok"})] * 3


def test_the_web_process_keeps_its_database_connections_checked():
    database = settings.DATABASES["default"]

    assert database["CONN_HEALTH_CHECKS"] is True
    assert database["CONN_MAX_AGE"] > 0  # kept, hence checked: the case the test covers
