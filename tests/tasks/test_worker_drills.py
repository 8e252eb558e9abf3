"""Drills: a real worker killed (SIGKILL: a crash, no goodbye) in the middle of a
schedule store and of a chunk of the nightly close. Another worker (and beat) redo the
work within the bound config/settings.py states ("Recovery bounds"), and the result is
exactly what an undisturbed run gives. The settings are made small here (a sweep every
second, a visibility timeout of a few seconds); the time to recover is printed, and
checked against the bound with a margin for a busy machine (worker start-up included).
The document's drill is tests/reports/test_worker_drill.py."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings as django_settings
from django.db import transaction

from loans.models import CloseRun, FundDay, Installment, Loan, LoanSnapshot
from loans.services.close import close_business_date
from tasks.close import close_catch_up_task, close_chunk_task
from tasks.reports import report_make_task
from tasks.schedules import loan_schedules_store_task
from tests import workers
from tests.factories import ProductTermsFactory
from tests.loans.test_schedule_store import CASES, engine_rows, make_loan, stored_rows
from tests.services import REDIS, Service
from tests.tasks.test_close_tasks import loans as serviced_loans
from tests.workers import Children, beat_arguments, child_environment, through_broker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_bounds_are_set_and_no_live_task_is_handed_out_again() -> None:
    options = django_settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert options["visibility_timeout"] == django_settings.BROKER_VISIBILITY_TIMEOUT
    assert options["unacked_restore_interval"] == django_settings.BROKER_RESTORE_SECONDS
    assert options["unacked_restore_throttle"] == 1
    # The longest task (a document, to its hard limit) ends before Redis would give its
    # message to another worker.
    assert report_make_task.time_limit < django_settings.BROKER_VISIBILITY_TIMEOUT
    # A retry waits in a worker, unacknowledged, for its countdown; a chunk then runs.
    assert close_chunk_task.retry_backoff_max + 60 < django_settings.BROKER_VISIBILITY_TIMEOUT
    sweep = django_settings.CELERY_BEAT_SCHEDULE["store-pending-schedules"]
    assert sweep["schedule"] == 60.0


SWEEP_SECONDS = 1
VISIBILITY_SECONDS = 5
RESTORE_SECONDS = 1
#: Time a busy machine may add to a bound: a worker's start-up, imports, polling.
MARGIN_SECONDS = 60
DRILL_WORKER = ["-m", "tests.tasks.drill_worker_child"]
#: The drills' own Redis database: a worker with a visibility timeout of seconds puts
#: back every message unacknowledged that long, whichever queue it came from, so the
#: drills keep away from other test runs' messages.
DRILL_REDIS_DB = 15


def drill_redis_url() -> str:
    parts = urlsplit(REDIS.url)
    return urlunsplit(parts._replace(path=f"/{DRILL_REDIS_DB}"))


@pytest.fixture
def broker(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The broker of the workers, beat and this process (which sends the first task)."""
    if request.param != "redis":
        with through_broker(request.param, tmp_path / "celery", monkeypatch):
            yield request.param
        return
    url = drill_redis_url()
    client = redis.Redis.from_url(url)
    client.flushdb()
    monkeypatch.setattr(workers, "REDIS", Service("Redis", url, None))
    with through_broker("redis", tmp_path / "celery", monkeypatch):
        yield "redis"
    client.flushdb()


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Children]:
    started = Children(tmp_path)
    yield started
    started.stop()


def kill_in_the_pause(children: Children, first: Any, mark: Path) -> float:
    """Wait until the first worker is in its pause (mid-task), kill it; the time of death."""
    try:
        wait_for(mark.exists, "the first worker to be in the middle of its task")
    except AssertionError:
        print(children.log(0))
        raise
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    return time.monotonic()


@pytest.mark.parametrize("broker", [pytest.param("redis", marks=pytest.mark.redis), "embedded"], indirect=True)
def test_a_worker_killed_mid_schedule_store_leaves_the_loans_to_the_sweep(
    broker: str, tmp_path: Path, children: Children
) -> None:
    terms = ProductTermsFactory.create()
    made = [make_loan(terms, **case) for case in CASES]
    mark = tmp_path / "in-the-pause"
    env = child_environment(broker=broker, embedded_dir=tmp_path / "celery", SCHEDULES_SWEEP_SECONDS=str(SWEEP_SECONDS))
    first = children.start("worker", DRILL_WORKER, {**env, "SLOW_SCHEDULE_STORE": "600", "DRILL_MARK": str(mark)})
    loan_schedules_store_task.delay([loan.pk for loan in made])

    killed_at = kill_in_the_pause(children, first, mark)
    # The killed transaction is gone: nothing stored, every loan still pending.
    assert not Installment.objects.exists()
    assert Loan.objects.filter(schedule_status="pending").count() == len(made)
    children.start("beat", beat_arguments(tmp_path / "beat-schedule"), env)
    children.start("worker", DRILL_WORKER, env)
    wait_for(lambda: not Loan.objects.filter(schedule_status="pending").exists(), "the sweep to store the loans")
    recovered = time.monotonic() - killed_at

    assert set(Loan.objects.values_list("schedule_status", flat=True)) == {"ready"}
    # Each loan's schedule is the engine's, once.
    for loan in made:
        assert stored_rows(loan) == engine_rows(loan)
    assert Installment.objects.count() == sum(loan.tenor_months for loan in made)
    assert recovered < SWEEP_SECONDS + MARGIN_SECONDS
    print(f"{broker}: schedules of {len(made)} loans stored {recovered:.1f} s after their worker was killed")


DAY = date(2026, 3, 1)


def close_figures() -> dict[str, list[dict[str, Any]]]:
    """What a close writes: the loans' figures, their installments (penalties), the
    snapshots and the banks' fund days (without the rows' own ids)."""

    def rows(queryset: Any, order: tuple[str, ...]) -> list[dict[str, Any]]:
        return [{k: v for k, v in row.items() if k != "id"} for row in queryset.order_by(*order).values()]

    return {
        "loans": rows(Loan.objects.all(), ("pk",)),
        "installments": rows(Installment.objects.all(), ("loan_id", "schedule_version", "number")),
        "snapshots": rows(LoanSnapshot.objects.all(), ("business_date", "loan_id")),
        "fund_days": rows(FundDay.objects.all(), ("business_date", "bank_id")),
    }


@pytest.mark.redis
@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_a_worker_killed_mid_close_chunk_leaves_the_chunk_to_another_worker(
    broker: str, tmp_path: Path, children: Children
) -> None:
    serviced_loans(4)
    # The undisturbed close of the same data, rolled back.
    with transaction.atomic():
        close_business_date(business_date=DAY)
        undisturbed = close_figures()
        transaction.set_rollback(True)
    assert (len(undisturbed["snapshots"]), len(undisturbed["fund_days"])) == (4, 1)
    assert not LoanSnapshot.objects.exists()
    mark = tmp_path / "in-the-pause"
    env = child_environment(
        broker=broker,
        embedded_dir=tmp_path / "celery",
        CLOSE_CHUNK_LOANS="1",
        BROKER_VISIBILITY_TIMEOUT=str(VISIBILITY_SECONDS),
        BROKER_RESTORE_SECONDS=str(RESTORE_SECONDS),
    )
    first = children.start("worker", DRILL_WORKER, {**env, "SLOW_CLOSE_CHUNK": "600", "DRILL_MARK": str(mark)})
    close_catch_up_task.delay(DAY.isoformat())

    killed_at = kill_in_the_pause(children, first, mark)
    run = CloseRun.objects.get()
    assert (run.status, run.chunks, run.chunks_done) == ("running", 4, 0)
    children.start("worker", DRILL_WORKER, env)
    wait_for(lambda: CloseRun.objects.get().status != "running", "another worker to finish the close")
    recovered = time.monotonic() - killed_at

    run = CloseRun.objects.get()
    assert (run.status, run.chunks, run.chunks_done, run.loans) == ("done", 4, 4, 4)
    assert close_figures() == undisturbed
    assert recovered < VISIBILITY_SECONDS + RESTORE_SECONDS + MARGIN_SECONDS
    print(f"{broker}: close of 4 chunks done {recovered:.1f} s after the worker of its first chunk was killed")
