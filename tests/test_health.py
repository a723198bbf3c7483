"""/healthz, which load balancers and the web container's health check ask."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from django.db import OperationalError, connections

from medtech import health


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port bound but not listening: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def missing_database(db) -> Iterator[object]:
    """A real connection to the real server, for a database that does not exist there."""
    default = connections["default"]
    wrapper = type(default)({**default.settings_dict, "NAME": "medtech_healthz_no_such_db"})
    yield wrapper
    wrapper.close()


def test_it_answers_ok_when_database_and_redis_answer(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_it_answers_503_naming_redis_when_redis_is_down(client, db, settings, closed_port):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port}/0"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "redis": "unreachable"}


def test_it_answers_503_naming_the_database_when_it_cannot_connect(
    client, monkeypatch, missing_database
):
    monkeypatch.setattr(health, "connection", missing_database)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable", "redis": "ok"}
    with pytest.raises(OperationalError, match="does not exist"):
        missing_database.ensure_connection()


def test_it_refuses_post(client, db):
    response = client.post("/healthz")

    assert response.status_code == 405
    assert response["Allow"] == "GET"


def test_it_tells_caches_and_proxies_not_to_keep_the_answer(client, db):
    response = client.get("/healthz")

    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-cache", "no-store", "must-revalidate"} <= cache_control
