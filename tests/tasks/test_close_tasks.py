"""The nightly close's tasks (tasks/close.py): the catch-up run eagerly (no broker) and
through a real Celery worker on Redis (a chord of chunk tasks per date), failures that
mark the run failed, and the beat entry."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from celery.schedules import crontab
from django.conf import settings as django_settings
from django.db import OperationalError
from django.utils import timezone

from banks.models import Allocation, Bank
from loans.models import CloseRun, FundDay, Loan, LoanSnapshot
from loans.services.close import business_date_last_closed, close_business_date
from tasks import close as close_tasks
from tasks.base import WibawaTask
from tasks.close import close_catch_up_task, close_chunk_task, close_failed_task, close_finish_task
from tests.factories import funded_bank, serviced_loan
from tests.services import WORKER_WAIT


def loans(count: int) -> list[Loan]:
    bank = funded_bank("PASAR", 1_000_000_000, kind=Bank.Kind.BPR)
    Allocation.objects.update(created_at=timezone.now() - timedelta(days=400))
    return [
        serviced_loan(bank=bank, principal=6_000_000, tenor_months=6, disbursed_on=date(2026, 1, 10))
        for _ in range(count)
    ]


def runs() -> list[tuple[date, str]]:
    return list(CloseRun.objects.order_by("id").values_list("business_date", "status"))


def test_the_tasks_are_named_retry_transient_errors_and_run_nightly() -> None:
    tasks = {
        close_catch_up_task: "tasks.close.close_catch_up",
        close_chunk_task: "tasks.close.close_chunk",
        close_finish_task: "tasks.close.close_finish",
        close_failed_task: "tasks.close.close_failed",
    }
    for task, name in tasks.items():
        assert task.name == name
        assert isinstance(task, WibawaTask)
        assert OperationalError in task.autoretry_for
    assert "tasks.close" in django_settings.CELERY_IMPORTS
    beat = django_settings.CELERY_BEAT_SCHEDULE["close-business-date"]
    assert beat["task"] == "tasks.close.close_catch_up"
    assert beat["schedule"] == crontab(hour=0, minute=30)
    assert django_settings.CELERY_TIMEZONE == "Asia/Jakarta"


@pytest.mark.django_db
def test_the_catch_up_closes_each_missed_date_in_order(settings: Any) -> None:
    settings.CLOSE_CHUNK_LOANS = 2
    made = loans(3)

    assert close_catch_up_task.delay("2026-03-01").get(timeout=10) == ["2026-03-01"]
    assert close_catch_up_task.delay("2026-03-04").get(timeout=10) == ["2026-03-02", "2026-03-03", "2026-03-04"]

    assert runs() == [(date(2026, 3, day), "done") for day in range(1, 5)]
    assert set(CloseRun.objects.values_list("chunks", "chunks_done", "loans")) == {(2, 2, 3)}
    assert LoanSnapshot.objects.count() == 4 * 3
    assert FundDay.objects.count() == 4
    assert {loan.as_of for loan in Loan.objects.filter(pk__in=[loan.pk for loan in made])} == {date(2026, 3, 4)}
    assert close_catch_up_task.delay("2026-03-04").get(timeout=10) == []


@pytest.mark.django_db
def test_the_catch_up_defaults_to_yesterday_in_jakarta() -> None:
    loans(1)
    yesterday = datetime.now(ZoneInfo("Asia/Jakarta")).date() - timedelta(days=1)

    assert close_catch_up_task.delay().get(timeout=10) == [yesterday.isoformat()]
    assert business_date_last_closed() == yesterday


@pytest.mark.django_db
def test_a_failed_chunk_fails_the_run_and_the_next_catch_up_closes_the_date_again(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CLOSE_CHUNK_LOANS = 1
    loans(2)
    close_business_date(business_date=date(2026, 3, 1))
    real_chunk = close_tasks.close_chunk
    calls = []

    def failing_chunk(**kwargs: Any) -> Any:
        calls.append(kwargs)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real_chunk(**kwargs)

    monkeypatch.setattr(close_tasks, "close_chunk", failing_chunk)

    assert close_catch_up_task.delay("2026-03-03").get(timeout=10) == ["2026-03-02"]

    failed = CloseRun.objects.get(business_date=date(2026, 3, 2))
    assert (failed.status, failed.chunks, failed.chunks_done) == ("failed", 2, 1)
    assert "disk full" in failed.error
    assert business_date_last_closed() == date(2026, 3, 1)
    assert not FundDay.objects.filter(business_date=date(2026, 3, 2)).exists()

    assert close_catch_up_task.delay("2026-03-03").get(timeout=10) == ["2026-03-02", "2026-03-03"]
    assert runs()[-2:] == [(date(2026, 3, 2), "done"), (date(2026, 3, 3), "done")]
    assert LoanSnapshot.objects.filter(business_date=date(2026, 3, 2)).count() == 2


@pytest.mark.django_db
def test_the_catch_up_leaves_a_running_close_alone() -> None:
    loans(1)
    CloseRun.objects.create(business_date=date(2026, 3, 1), started_at=timezone.now())

    assert close_catch_up_task.delay("2026-03-02").get(timeout=10) == []
    assert runs() == [(date(2026, 3, 1), "running")]


@pytest.mark.django_db
def test_tasks_of_a_run_that_is_not_running_do_nothing() -> None:
    loan = loans(1)[0]
    run = CloseRun.objects.create(business_date=date(2026, 3, 1), started_at=timezone.now(), status="failed")

    assert close_chunk_task.delay(run.pk, 0, 2**62).get(timeout=10) == 0
    assert close_finish_task.delay(run.pk, None).get(timeout=10) is None
    assert not LoanSnapshot.objects.exists()
    loan.refresh_from_db()
    assert loan.as_of is None
    assert CloseRun.objects.get(pk=run.pk).status == "failed"


@pytest.mark.django_db
def test_the_error_callback_marks_the_run_failed() -> None:
    run = CloseRun.objects.create(business_date=date(2026, 3, 1), started_at=timezone.now())
    close_failed_task.delay(run.pk).get(timeout=10)
    run.refresh_from_db()
    assert (run.status, run.finished_at is not None) == ("failed", True)


def wait_for(condition: Any, seconds: float = WORKER_WAIT) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {seconds} s: {runs()}")
        time.sleep(0.1)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_chord_closes_missed_dates_through_a_real_worker(celery_worker: Any, settings: Any) -> None:
    settings.CLOSE_CHUNK_LOANS = 1
    made = loans(3)
    close_business_date(business_date=date(2026, 3, 1))

    close_catch_up_task.delay("2026-03-03")

    wait_for(lambda: runs()[-1:] == [(date(2026, 3, 3), "done")])
    assert runs() == [(date(2026, 3, day), "done") for day in (1, 2, 3)]
    assert set(CloseRun.objects.values_list("chunks", "chunks_done", "loans")) == {(3, 3, 3)}
    assert LoanSnapshot.objects.filter(business_date=date(2026, 3, 3)).count() == 3
    assert FundDay.objects.filter(business_date=date(2026, 3, 3)).count() == 1
    assert {loan.as_of for loan in Loan.objects.filter(pk__in=[loan.pk for loan in made])} == {date(2026, 3, 3)}


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_chunk_failing_in_a_real_worker_marks_the_run_failed(
    celery_worker: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CLOSE_CHUNK_LOANS = 1
    loans(2)
    real_chunk = close_tasks.close_chunk

    def failing_chunk(**kwargs: Any) -> Any:
        if kwargs["low"] > 0:
            raise RuntimeError("disk full")
        return real_chunk(**kwargs)

    monkeypatch.setattr(close_tasks, "close_chunk", failing_chunk)

    close_catch_up_task.delay("2026-03-01")

    wait_for(lambda: runs() == [(date(2026, 3, 1), "failed")])
    assert business_date_last_closed() is None
    assert not FundDay.objects.exists()
