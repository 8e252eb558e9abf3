"""A real worker killed in the middle of a document: the document goes to the next
worker (through the sweep, within REPORT_STALE_SECONDS and a minute's beat), never stays
``running``, and is made whole."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from config.celery import app
from reports.models import Report
from reports.services.reports import ReportRequest, report_request, reports_sweep
from tests.processes import ROOT
from tests.reports.conftest import Programme
from tests.reports.reading import pdf_pages
from tests.services import REDIS, WORKER_WAIT

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]
STALE_SECONDS = 3


def database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    return (
        f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    )


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WORKER_WAIT
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    children: list[subprocess.Popen[bytes]] = []

    def start(**extra: str) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "1",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": REDIS.url,
            "CELERY_RESULT_BACKEND": REDIS.url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CELERY_QUEUE": app.conf.task_default_queue,
            "REPORTS_ROOT": str(tmp_path),
            "REPORT_STALE_SECONDS": str(STALE_SECONDS),
            **extra,
        }
        log = (tmp_path / f"worker-{len(children)}.log").open("wb")
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.reports.worker_child"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        children.append(child)
        return child

    yield start
    for child in children:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()


@pytest.fixture
def through_the_broker() -> Iterator[None]:
    app.conf.task_always_eager = False
    try:
        yield
    finally:
        app.conf.task_always_eager = True


def test_a_worker_killed_mid_document_leaves_it_to_the_next_worker(
    programme: Programme,
    settings: Any,
    tmp_path: Path,
    start_worker: Callable[..., subprocess.Popen[bytes]],
    through_the_broker: None,
) -> None:
    settings.REPORT_STALE_SECONDS = STALE_SECONDS
    first = start_worker(SLOW_RENDER="600")
    report, created = report_request(actor=programme.manager, request=ReportRequest(kind="programme", period="2026"))
    assert created

    def state() -> Report:
        return Report.objects.get(pk=report.pk)

    wait_for(lambda: state().status == "running" and state().progress_done >= 1, "the first worker to be mid-document")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    killed_at = time.monotonic()
    start_worker()
    assert state().status == "running"  # nobody knows yet
    # Beat's sweep, every minute: once the heartbeat is older than REPORT_STALE_SECONDS.
    wait_for(lambda: reports_sweep()["requeued"] == 1, "the sweep to notice the dead worker")
    wait_for(lambda: state().status == "done", "the second worker to make the document")
    recovered = time.monotonic() - killed_at
    made = state()
    assert made.attempts == 2
    assert made.error == ""
    # Where the workers stored it (their REPORTS_ROOT), read as a person holding it would.
    content = (tmp_path / str(made.file.name)).read_bytes()
    assert hashlib.sha256(content).hexdigest() == made.sha256
    assert len(content) == made.size
    pages = pdf_pages(content)
    assert "Dokumen uji" in pages[0]
    assert "row 3" in "".join(pages)
    print(f"document redone {recovered:.1f} s after its worker was killed")
