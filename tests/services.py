"""Which real services the suite runs against, decided once before Django starts.

* ``REQUIRE_SERVICES=1`` (CI): PostgreSQL at DATABASE_URL (default
  postgres://postgres@127.0.0.1:5432/test) and Redis at REDIS_URL (default
  redis://127.0.0.1:6379/0) must answer; if one does not, the run stops at once,
  naming it.
* Otherwise each is used when it answers; without PostgreSQL the suite runs on SQLite,
  and tests marked ``postgres`` or ``redis`` are skipped with the reason printed.
* ``TEST_DATABASE=sqlite``: the suite runs on SQLite even when PostgreSQL answers (the
  embedded default's leg of CI). With ``REQUIRE_SERVICES=1`` only Redis must answer, and
  a selected test marked ``postgres`` fails the run: deselect them (``-m "not postgres"``).

On SQLite the suite's database is a file (see tests/settings.py), never ``:memory:``:
an in-memory database is one connection shared by every thread, so a test of
concurrent requests would prove nothing there.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
#: Seconds a test waits for a real Celery worker (to start, answer, finish) before it
#: fails: a generous bound for a busy machine, not a speed check.
WORKER_WAIT = 120.0


@dataclass
class Service:
    name: str
    url: str
    error: str | None  # None: it answered

    @property
    def available(self) -> bool:
        return self.error is None


def _probe_postgres(url: str) -> str | None:
    import psycopg

    parts = urlsplit(url)
    try:
        psycopg.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password or None,
            dbname=parts.path.lstrip("/") or "postgres",
            connect_timeout=3,
        ).close()
    except Exception as exc:  # psycopg reports refusals, auth and DNS alike
        return f"{type(exc).__name__}: {exc}".strip()
    return None


def _probe_redis(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    except Exception as exc:  # redis-py's connection and timeout errors
        return f"{type(exc).__name__}: {exc}"
    return None


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


#: Without PostgreSQL, the SQLite file of this run's own (pytest-django creates it afresh and
#: deletes it at the end).
SQLITE_TEST_FILE = Path(tempfile.gettempdir()) / f"wibawa-tests-{os.getpid()}.sqlite3"
#: The suite runs on SQLite whatever answers (TEST_DATABASE=sqlite).
SQLITE_REQUESTED = os.environ.get("TEST_DATABASE", "") == "sqlite"
#: Services that must answer (REQUIRE_SERVICES=1, CI).
REQUIRED = os.environ.get("REQUIRE_SERVICES") == "1"


def discover() -> tuple[Service, Service]:
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    if SQLITE_REQUESTED:
        postgres = Service("PostgreSQL", database_url, "TEST_DATABASE=sqlite: the suite runs on SQLite")
    elif database_url.startswith(("postgres://", "postgresql://")):
        postgres = Service("PostgreSQL", database_url, _probe_postgres(database_url))
    else:
        postgres = Service("PostgreSQL", database_url, "DATABASE_URL is not a PostgreSQL URL")
    redis_service = Service("Redis", redis_url, _probe_redis(redis_url))
    if REQUIRED:
        wanted = (redis_service,) if SQLITE_REQUESTED else (postgres, redis_service)
        missing = [s for s in wanted if not s.available]
        if missing:
            lines = "; ".join(f"{s.name} at {_redacted(s.url)} is unreachable ({s.error})" for s in missing)
            raise SystemExit(f"REQUIRE_SERVICES=1 but {lines}")
    return postgres, redis_service


POSTGRES, REDIS = discover()
