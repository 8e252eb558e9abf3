"""A real worker killed in the middle of a document (SIGKILL: a crash, no goodbye): the
document goes to the next worker through beat's sweep (once its heartbeat is older than
REPORT_STALE_SECONDS), never stays ``running``, and is made whole. On Redis and on
development's embedded broker (kombu's filesystem transport), with a real beat."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reports.models import Report
from reports.services.reports import ReportRequest, report_request
from tasks.reports import report_make_task
from tests.reports.conftest import Programme
from tests.reports.reading import pdf_pages
from tests.workers import Children, beat_arguments, child_environment, through_broker, wait_for, worker_arguments

pytestmark = pytest.mark.django_db(transaction=True)
STALE_SECONDS = 3


@pytest.fixture(params=[pytest.param("redis", marks=pytest.mark.redis), "embedded"])
def broker(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Which broker the workers, beat and this process use (this process sends the task
    after its commit, as the API does)."""
    with through_broker(request.param, tmp_path / "celery", monkeypatch):
        yield request.param


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Children]:
    started = Children(tmp_path)
    yield started
    started.stop()


def test_a_worker_killed_mid_document_leaves_it_to_the_next_worker(
    programme: Programme, settings: Any, tmp_path: Path, broker: str, children: Children
) -> None:
    settings.REPORT_STALE_SECONDS = STALE_SECONDS
    env = child_environment(
        broker=broker,
        embedded_dir=tmp_path / "celery",
        REPORTS_ROOT=str(tmp_path / "files"),
        REPORT_STALE_SECONDS=str(STALE_SECONDS),
        REPORTS_SWEEP_SECONDS="1",
    )
    first = children.start("worker", worker_arguments(), {**env, "SLOW_RENDER": "600"})
    children.start("beat", beat_arguments(tmp_path / "beat-schedule"), env)
    report, created = report_request(actor=programme.manager, request=ReportRequest(kind="programme", period="2026"))
    assert created

    def state() -> Report:
        return Report.objects.get(pk=report.pk)

    try:
        wait_for(lambda: state().status == "running" and state().progress_done >= 1, "the worker to be mid-document")
    except AssertionError:
        print(children.log(0))
        raise
    assert (state().progress_done, state().progress_total) == (1, 3)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    killed_at = time.monotonic()
    assert state().status == "running"  # nobody knows yet
    children.start("worker", worker_arguments(), env)
    wait_for(lambda: state().status in ("done", "failed"), "the second worker to make the document")
    recovered = time.monotonic() - killed_at
    made = state()
    assert made.status == "done", made.error
    assert made.attempts == 2
    assert made.error == ""
    # Where the workers stored it (their REPORTS_ROOT), read as a person holding it would.
    content = (tmp_path / "files" / str(made.file.name)).read_bytes()
    assert hashlib.sha256(content).hexdigest() == made.sha256
    assert len(content) == made.size
    pages = pdf_pages(content)
    assert "Dokumen uji" in pages[0]
    assert "row 3" in "".join(pages)
    print(f"{broker}: document redone {recovered:.1f} s after its worker was killed")


def test_a_document_past_its_time_limit_in_a_real_worker_is_failed_and_made_when_asked_again(
    programme: Programme, tmp_path: Path, broker: str, children: Children, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sender's time limits travel with the task's message (the web's settings are
    # the worker's in production).
    monkeypatch.setattr(report_make_task, "soft_time_limit", 2)
    monkeypatch.setattr(report_make_task, "time_limit", 32)
    monkeypatch.setattr(report_make_task, "_exec_options", None)  # Celery's cache of them
    env = child_environment(broker=broker, embedded_dir=tmp_path / "celery", REPORTS_ROOT=str(tmp_path / "files"))
    # The pool that holds tasks to their limits (production's), a document far too slow.
    children.start("worker", worker_arguments(), {**env, "WORKER_POOL": "prefork", "SLOW_RENDER": "600",
                                                  "REPORT_TIME_LIMIT": "2"})  # fmt: skip
    request = ReportRequest(kind="programme", period="2026")
    report, _created = report_request(actor=programme.manager, request=request)

    wait_for(lambda: Report.objects.get(pk=report.pk).status == "failed", "the time limit to stop the document")
    failed = Report.objects.get(pk=report.pk)
    assert failed.error == "Still running after its time limit (2 s); ask for the report again."
    assert failed.progress_done < 3
    assert not failed.file
    children.stop()

    children.start("worker", worker_arguments(), env)
    again, created = report_request(actor=programme.manager, request=request)
    assert created
    assert again.pk != report.pk
    wait_for(lambda: Report.objects.get(pk=again.pk).status == "done", "the document asked for again")
    made = Report.objects.get(pk=again.pk)
    assert hashlib.sha256((tmp_path / "files" / str(made.file.name)).read_bytes()).hexdigest() == made.sha256
