"""The broker down: a committed disbursement answers its success at once, leaves its
schedule pending for the beat sweep, and a manager's close is refused fast with a 503
(nothing started, nothing audited). The Celery app is pointed at a port where no Redis
listens, as the broker and as the result backend; each answer's time is printed
(``-s`` shows it), bounded generously, not measured here."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from config.celery import app
from loans.models import CloseRun, Loan
from tasks.schedules import store_pending_schedules
from tests.factories import UserFactory
from tests.loans.conftest import Programme
from tests.loans.test_applications import approved_batch, post

UNREACHABLE = "redis://127.0.0.1:1/0"
#: Far above the second the settings allow, far below the 19 s the unbounded retries took.
GENEROUS_SECONDS = 10


def _reset_connections() -> None:
    """Drop the app's cached broker pool, producer pool and result backend, so the next
    send connects with the current configuration."""
    # Private attributes (celery-types does not know them): no public reset exists.
    # kombu's global pool group keeps (and reuses) the pool itself.
    celery: Any = app
    celery._pool = None
    celery.amqp._producer_pool = None
    celery._backend_cache = None
    celery._local.__dict__.pop("backend", None)


@pytest.fixture
def broker_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tasks go through a broker (not eagerly) that cannot be reached; restored after."""
    saved = {key: app.conf[key] for key in ("broker_url", "broker_write_url", "result_backend", "task_always_eager")}
    # Celery reads these from the environment before its configuration (tests/settings.py sets them).
    for variable in ("CELERY_BROKER_URL", "CELERY_BROKER_WRITE_URL", "CELERY_RESULT_BACKEND"):
        monkeypatch.setenv(variable, UNREACHABLE)
    app.conf.update(broker_url=UNREACHABLE, broker_write_url=UNREACHABLE, result_backend=UNREACHABLE)
    app.conf.task_always_eager = False
    _reset_connections()
    backend: Any = app.backend
    assert (app.conf.broker_write_url, backend.url) == (UNREACHABLE, UNREACHABLE)
    try:
        yield
    finally:
        monkeypatch.undo()
        app.conf.update(saved)
        _reset_connections()


def timed(label: str, send: Any) -> tuple[Any, float]:
    started = time.monotonic()
    answer = send()
    seconds = time.monotonic() - started
    print(f"broker down: {label} answered {answer.status_code} in {seconds:.3f} s")
    return answer, seconds


def test_a_disbursement_answers_at_once_and_the_sweep_stores_its_schedule(
    api_client: Any, programme: Programme, broker_down: None, django_capture_on_commit_callbacks: Any
) -> None:
    (application,) = approved_batch(programme, 1)
    today = timezone.localdate().isoformat()

    def disburse() -> Any:
        # The on-commit send runs as the block exits, inside the timed call.
        with django_capture_on_commit_callbacks(execute=True):
            return post(
                api_client, programme.pasar_staff, f"applications/{application.pk}/disburse/", {"disbursed_on": today}
            )

    answer, seconds = timed("POST applications/{id}/disburse/", disburse)

    assert answer.status_code == 200, answer.json()
    assert answer.json()["state"] == "disbursed"
    assert seconds < GENEROUS_SECONDS
    loan = Loan.objects.get(pk=answer.json()["loan"])
    assert loan.disbursed_on.isoformat() == today
    assert loan.schedule_status == Loan.ScheduleStatus.PENDING
    # The beat sweep (run here in-process) stores what the broker did not take.
    app.conf.task_always_eager = True
    assert store_pending_schedules.delay().get() == 1
    loan.refresh_from_db()
    assert loan.schedule_status == Loan.ScheduleStatus.READY
    assert loan.installments.count() == loan.tenor_months


def test_a_batch_disbursement_answers_at_once_and_the_sweep_stores_its_schedules(
    api_client: Any, programme: Programme, broker_down: None, django_capture_on_commit_callbacks: Any
) -> None:
    applications = approved_batch(programme, 3)
    today = timezone.localdate().isoformat()
    body = {"disbursements": [{"application": a.pk, "disbursed_on": today} for a in applications]}

    def disburse() -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return post(api_client, programme.pasar_staff, "applications/disburse/", body)

    answer, seconds = timed("POST applications/disburse/ (3)", disburse)

    assert answer.status_code == 200, answer.json()
    assert [row["state"] for row in answer.json()["applications"]] == ["disbursed"] * 3
    assert seconds < GENEROUS_SECONDS
    loans = Loan.objects.filter(application__in=applications)
    assert [loan.schedule_status for loan in loans] == [Loan.ScheduleStatus.PENDING] * 3
    app.conf.task_always_eager = True
    assert store_pending_schedules.delay().get() == 3
    assert set(loans.values_list("schedule_status", flat=True)) == {Loan.ScheduleStatus.READY}


def test_a_close_is_refused_fast_with_503_and_starts_nothing(api_client: Any, db: None, broker_down: None) -> None:
    api_client.force_authenticate(UserFactory.create(role="manager"))

    answer, seconds = timed(
        "POST close/", lambda: api_client.post("/api/v1/close/", {"until": "2026-04-01"}, format="json")
    )

    assert answer.status_code == 503
    assert answer.json() == {
        "message": "The task queue is unavailable; the close was not started. Try again later.",
        "errors": {},
    }
    assert seconds < GENEROUS_SECONDS
    assert not CloseRun.objects.exists()
    assert not AuditEntry.objects.filter(action="close_request").exists()
    # The broker back: the same request is taken.
    app.conf.task_always_eager = True
    retried = api_client.post("/api/v1/close/", {"until": "2026-04-01"}, format="json")
    assert retried.status_code == 202, retried.json()
    assert retried.json()["last_closed"] == date(2026, 4, 1).isoformat()
