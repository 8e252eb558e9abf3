"""Real Celery workers (and beat) in processes of their own, for the tests that start,
kill and stop them: their environment (this run's database, its queue, a broker), the
test process pointed at the same broker, and waiting for what they do."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from django.db import connection

from config.celery import app
from tests.processes import ROOT
from tests.services import REDIS, WORKER_WAIT

#: What the test run put in the environment (tests/settings.py) about tasks: a child
#: gets its own.
TASK_VARIABLES = ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CELERY_BROKER_WRITE_URL", "CELERY_TASK_ALWAYS_EAGER")
EMBEDDED_URL = "filesystem://localhost/"


def database_url() -> str:
    """This run's test database, as a child process is told it."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or "127.0.0.1"
    return f"postgres://{settings['USER']}{password}@{host}:{settings['PORT'] or 5432}/{settings['NAME']}"


def wait_for(condition: Callable[[], bool], what: str, *, seconds: float = WORKER_WAIT) -> None:
    """Wait until ``condition()`` holds; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def child_environment(*, broker: str, embedded_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a worker, beat or ``manage.py runall`` of this run: DEBUG on,
    this run's database and queue, and ``broker`` ("redis": this run's Redis;
    "embedded": development's default, the filesystem broker in ``embedded_dir``)."""
    env = {key: value for key, value in os.environ.items() if key not in TASK_VARIABLES}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="1",
        DATABASE_URL=database_url(),
        CELERY_QUEUE=app.conf.task_default_queue,
        EMBEDDED_BROKER_DIR=str(embedded_dir),
        PYTHONUNBUFFERED="1",
    )
    if broker == "redis":
        env.update(CELERY_BROKER_URL=REDIS.url, CELERY_RESULT_BACKEND=REDIS.url)
    env.update(extra)
    return env


def _reset_connections() -> None:
    """Drop the app's cached broker pool, producer pool and result backend, so the next
    send connects with the current configuration."""
    celery: Any = app  # private attributes: no public reset exists
    celery._pool = None
    celery.amqp._producer_pool = None
    celery._backend_cache = None
    celery._local.__dict__.pop("backend", None)


@contextmanager
def through_broker(broker: str, embedded_dir: Path, environ: Any) -> Iterator[None]:
    """While it runs, this process sends tasks through ``broker`` (as
    :func:`child_environment`) instead of running them eagerly. ``environ`` is a
    pytest MonkeyPatch (Celery reads its URLs from the environment first)."""
    keys = ("broker_url", "broker_write_url", "broker_transport_options", "result_backend", "task_always_eager")
    saved = {key: app.conf[key] for key in keys}
    for variable in TASK_VARIABLES:
        environ.delenv(variable, raising=False)
    if broker == "redis":
        app.conf.update(broker_url=REDIS.url, broker_write_url=None, result_backend=REDIS.url)
    else:
        folders = {name: embedded_dir / name for name in ("messages", "control", "results")}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        app.conf.update(
            broker_url=EMBEDDED_URL,
            broker_write_url=None,
            broker_transport_options={
                **saved["broker_transport_options"],
                "data_folder_in": str(folders["messages"]),
                "data_folder_out": str(folders["messages"]),
                "control_folder": str(folders["control"]),
                "polling_interval": 0.5,
            },
            result_backend=f"file://{folders['results']}",
        )
    app.conf.task_always_eager = False
    _reset_connections()
    try:
        yield
    finally:
        environ.undo()
        app.conf.update(saved)
        _reset_connections()


class Children:
    """Processes a test starts, each logging to a file of ``folder``; those still
    running at the end are stopped (SIGTERM, then SIGKILL)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[subprocess.Popen[bytes]] = []
        self.logs: list[IO[bytes]] = []

    def start(self, name: str, arguments: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}-{len(self.started)}.log").open("wb")
        self.logs.append(log)
        child = subprocess.Popen([sys.executable, *arguments], cwd=ROOT, env=dict(env), stdout=log, stderr=log)
        self.started.append(child)
        return child

    def log(self, index: int) -> str:
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.folder.glob(f"*-{index}.log")))

    def stop(self) -> None:
        for child in self.started:
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        for log in self.logs:
            log.close()


def worker_arguments() -> list[str]:
    """A worker with the stand-in document kind (tests/reports/worker_child.py)."""
    return ["-m", "tests.reports.worker_child"]


def beat_arguments(schedule: Path) -> list[str]:
    return ["-m", "celery", "-A", "config", "beat", "--loglevel=INFO", f"--schedule={schedule}"]


def descendants(pid: int) -> set[int]:
    """The processes below ``pid`` (Linux: from /proc), its children's children too."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead and not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
