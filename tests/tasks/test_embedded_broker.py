"""Development's embedded default makes documents outside the request, as production
does: ``make run`` (``manage.py runall``) starts the web server, a Celery worker and beat
on the embedded broker (kombu's filesystem transport, Celery's file-system result
backend), against this run's database; a report asked for over the API is made by that
worker, the nightly close's chord completes through those files, and Ctrl-C stops all
three, leaving no process behind."""

from __future__ import annotations

import hashlib
import json
import re
import signal
import socket
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from loans.models import CloseRun, FundDay, LoanSnapshot
from loans.services.close import close_business_date
from reports.models import Report, reports_storage
from tasks.close import close_catch_up_task
from tests.loans import conftest as loans_fixtures
from tests.loans.conftest import Programme
from tests.reports.reading import pdf_pages
from tests.tasks.test_close_tasks import loans
from tests.workers import Children, alive, child_environment, descendants, through_broker, wait_for, worker_arguments

pytestmark = pytest.mark.django_db(transaction=True)
programme = loans_fixtures.programme  # the loans tests' small programme, a fixture here too


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """This process sends its tasks to the embedded broker in the folder returned."""
    folder = tmp_path / "celery"
    with through_broker("embedded", folder, monkeypatch):
        yield folder


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Children]:
    started = Children(tmp_path)
    yield started
    started.stop()


def test_a_report_asked_for_over_the_api_is_made_by_the_embedded_worker(
    programme: Programme, embedded: Path, children: Children
) -> None:
    files = reports_storage().location  # type: ignore[attr-defined]
    children.start("worker", worker_arguments(), child_environment(broker="embedded", embedded_dir=embedded,
                                                                    REPORTS_ROOT=str(files)))  # fmt: skip
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(programme.manager)

    answer = client.post("/api/v1/reports/", {"kind": "programme", "period": "2026"}, format="json")

    assert answer.status_code == 202, answer.json()
    assert answer.json()["status"] == "queued"  # the request only queued it
    wait_for(lambda: client.get(answer.json()["url"]).json()["status"] in ("done", "failed"), "the worker")
    shown = client.get(answer.json()["url"]).json()
    assert shown["status"] == "done", (shown, children.log(0))
    download = client.get(shown["download_url"])
    content = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    try:
        assert hashlib.sha256(content).hexdigest() == shown["sha256"]
        assert len(content) == shown["size"]
        assert "Dokumen uji" in pdf_pages(content)[0]
        assert Report.objects.get(pk=shown["id"]).attempts == 1
    finally:
        reports_storage().delete(str(Report.objects.get(pk=shown["id"]).file.name))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def health(port: int) -> dict[str, str] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health/", timeout=2) as answer:
            return dict(json.load(answer))
    except OSError:
        return None


def running_with(argument: str) -> list[str]:
    """The command lines of the running processes given ``argument``."""
    found = []
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = path.read_bytes().split(b"\0")
        except OSError:
            continue
        if argument.encode() in arguments and alive(int(path.parent.name)):
            found.append(b" ".join(arguments).decode(errors="replace"))
    return found


def runs() -> list[tuple[date, str, int, int]]:
    return list(CloseRun.objects.order_by("id").values_list("business_date", "status", "chunks", "chunks_done"))


def test_make_run_serves_the_web_a_worker_and_beat_the_close_chord_completes_and_ctrl_c_stops_all(
    embedded: Path, children: Children, tmp_path: Path
) -> None:
    loans(3)
    close_business_date(business_date=date(2026, 3, 1))
    port = free_port()
    env = child_environment(broker="embedded", embedded_dir=embedded, CLOSE_CHUNK_LOANS="1", REPORTS_SWEEP_SECONDS="1")
    run = children.start("runall", ["manage.py", "runall", f"127.0.0.1:{port}", "--noreload"], env)
    wait_for(lambda: health(port) is not None or run.poll() is not None, "the web server")
    assert health(port) == {"status": "ok", "database": "ok", "broker": "ok"}, children.log(0)

    close_catch_up_task.delay("2026-03-03")  # as beat sends it at 00:30

    wait_for(lambda: runs()[-1:] == [(date(2026, 3, 3), "done", 3, 3)], "the close of 3 March")
    assert runs() == [
        (date(2026, 3, 1), "done", 1, 1),
        (date(2026, 3, 2), "done", 3, 3),
        (date(2026, 3, 3), "done", 3, 3),
    ]
    assert LoanSnapshot.objects.filter(business_date=date(2026, 3, 3)).count() == 3
    assert FundDay.objects.filter(business_date=date(2026, 3, 3)).exists()
    # The chunks' results, which each chord waited on, are files of the embedded backend
    # (which counts no chord parts: Celery's chord_unlock task polls them).
    assert len(list((embedded / "results").glob("celery-task-meta-*"))) >= 6
    assert re.search(r"Task celery\.chord_unlock\[[-0-9a-f]+\] succeeded", children.log(0))
    # Beat (its sweep every second here) sends through the same broker.
    sweep = re.compile(r"\[worker\] .*Task tasks\.reports\.reports_sweep\[[-0-9a-f]+\] succeeded")
    wait_for(lambda: bool(sweep.search(children.log(0))), "beat's sweep to be run by the worker")

    processes = descendants(run.pid)
    assert len(running_with(f"127.0.0.1:{port}")) == 2  # runall and the web server
    assert len(processes) >= 4, processes  # web, worker and its pool, beat
    run.send_signal(signal.SIGINT)  # Ctrl-C
    assert run.wait(timeout=60) == 0
    wait_for(lambda: not any(alive(pid) for pid in processes), "every process to stop", seconds=10)
    assert running_with(f"127.0.0.1:{port}") == []
    output = children.log(0)
    assert f"embedded broker (kombu's filesystem transport) in {embedded}/" in output
    assert "[worker] " in output
    assert "[beat  ] " in output
    assert "Stopped the web server, the worker and beat." in output


def test_a_chunk_failing_on_the_embedded_broker_fails_the_run_through_the_chord_error_callback(
    embedded: Path, children: Children
) -> None:
    loans(2)
    env = child_environment(broker="embedded", embedded_dir=embedded, CLOSE_CHUNK_LOANS="1")
    children.start("worker", ["-m", "tests.tasks.close_worker_child"], env)

    close_catch_up_task.delay("2026-03-01")

    wait_for(lambda: runs()[-1:] != [] and runs()[-1][1] != "running", "the close to end")
    assert runs() == [(date(2026, 3, 1), "failed", 2, 1)], children.log(0)
    assert "disk full" in children.log(0)
    assert not FundDay.objects.exists()


def test_make_run_stops_when_the_web_server_cannot_start(embedded: Path, children: Children) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = child_environment(broker="embedded", embedded_dir=embedded)
        run = children.start("runall", ["manage.py", "runall", f"127.0.0.1:{port}", "--noreload"], env)
        assert run.wait(timeout=120) == 1
    output = children.log(0)
    assert "That port is already in use" in output
    assert "web stopped by itself: stopping the others." in output
    assert running_with(f"127.0.0.1:{port}") == []
