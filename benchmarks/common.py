"""What the benchmark scripts share: a scratch database made afresh (empty, or with the
demo programme) and a real Celery worker started beside the script."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
#: Databases a benchmark must never drop.
PROTECTED_DATABASES = {"test", "postgres", "template0", "template1"}


def recreate_database(url: str) -> None:
    """Drop the database ``url`` names (if there) and create it empty."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.replace("_", "").isalnum() or name in PROTECTED_DATABASES:
        raise SystemExit(f"refusing database name {name!r}")
    with psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname="postgres",
        autocommit=True,
    ) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def seeded(database: str) -> bool:
    """Whether ``database`` already holds a demo programme (any loan)."""
    import psycopg

    try:
        with psycopg.connect(database, connect_timeout=3) as probe:
            row = probe.execute("SELECT count(*) FROM loans_loan").fetchone()
            return row is not None and row[0] > 0
    except psycopg.Error:
        return False


def seed(months: int) -> None:
    """Migrate, seed the demo programme with ``months`` months of history, VACUUM ANALYZE,
    then CHECKPOINT: the seeding's dirty pages are written now, not by the checkpointer in
    the middle of the first timed run."""
    from django.core.management import call_command
    from django.db import connection

    started = time.perf_counter()
    print(f"seeding the demo programme with {months} months of history ...", flush=True)
    call_command("migrate", verbosity=0)
    call_command("seed_demo", months=months, allow_production=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
        cursor.execute("CHECKPOINT")
    print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)


def demo_programme(*, database: str, months: int, reuse: bool) -> None:
    """Set Django up on ``database`` (the environment already says the rest) with the demo
    programme: kept when ``reuse`` finds one there, else the database is made afresh and
    seeded with ``months`` months of history."""
    reused = reuse and seeded(database)
    if not reused:
        recreate_database(database)
    import django

    django.setup()
    if not reused:
        seed(months)


@contextmanager
def celery_worker(concurrency: int) -> Iterator[subprocess.Popen[bytes]]:
    """A Celery worker process (``concurrency`` prefork children) on this project's
    broker, answering pings before the block starts; stopped when it ends."""
    worker = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "config",
            "worker",
            "--loglevel=WARNING",
            f"--concurrency={concurrency}",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    try:
        from config.celery import app

        deadline = time.monotonic() + 60
        while not app.control.inspect(timeout=1).ping():
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit("the Celery worker did not start")
        yield worker
    finally:
        worker.terminate()
        worker.wait(timeout=30)
