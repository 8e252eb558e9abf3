"""The tasks that store disbursed loans' schedules: eagerly, and once through Redis to a
real Celery worker."""

from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from loans.models import Installment, Loan, ProductTerms
from loans.schedule import ScheduleError
from tasks.base import WibawaTask
from tasks.schedules import loan_schedules_store_task, store_pending_schedules
from tests.factories import ApplicationFactory, BankFactory, ProductTermsFactory, loan_for
from tests.services import WORKER_WAIT


@pytest.fixture
def terms() -> ProductTerms:
    return ProductTermsFactory.create()


def make_loans(terms: ProductTerms, count: int, **overrides: Any) -> list[Loan]:
    bank = BankFactory.create(code="PASAR")
    return [
        loan_for(ApplicationFactory.create(bank=bank, terms=terms, tenor_months=36), **overrides) for _ in range(count)
    ]


def statements(queries: CaptureQueriesContext) -> list[str]:
    """The SQL run, without the savepoints the test's own transaction adds."""
    return [query["sql"] for query in queries.captured_queries if "SAVEPOINT" not in query["sql"]]


def test_the_tasks_are_named_and_retry_only_transient_errors() -> None:
    assert loan_schedules_store_task.name == "tasks.schedules.store_loan_schedules"
    assert store_pending_schedules.name == "tasks.schedules.store_pending_schedules"
    for task in (loan_schedules_store_task, store_pending_schedules):
        assert isinstance(task, WibawaTask)
        assert OperationalError in task.autoretry_for
        assert ScheduleError not in task.autoretry_for


@pytest.mark.django_db
def test_the_task_stores_its_loans_and_sweeps_the_other_pending_ones(terms: ProductTerms) -> None:
    mine, *others = make_loans(terms, 3)

    assert loan_schedules_store_task.delay([mine.pk]).get(timeout=5) == 3

    assert Installment.objects.filter(loan=mine).count() == 36
    assert Installment.objects.filter(loan__in=others).count() == 2 * 36
    assert set(Loan.objects.values_list("schedule_status", flat=True)) == {Loan.ScheduleStatus.READY}


@pytest.mark.django_db
def test_running_the_task_twice_stores_once(terms: ProductTerms) -> None:
    ids = [loan.pk for loan in make_loans(terms, 2)]
    assert loan_schedules_store_task.delay(ids).get(timeout=5) == 2
    assert loan_schedules_store_task.delay(ids).get(timeout=5) == 0
    assert Installment.objects.count() == 2 * 36


@pytest.mark.django_db
def test_a_task_with_nothing_left_to_store_runs_one_query(terms: ProductTerms) -> None:
    ids = [loan.pk for loan in make_loans(terms, 2)]
    loan_schedules_store_task.delay(ids).get(timeout=5)

    with CaptureQueriesContext(connection) as queries:
        assert loan_schedules_store_task.delay(ids).get(timeout=5) == 0
        assert store_pending_schedules.delay().get(timeout=5) == 0
    assert len(statements(queries)) == 2


@pytest.mark.django_db
def test_the_sweep_task_stores_what_no_message_asked_for(terms: ProductTerms) -> None:
    make_loans(terms, 4)
    assert store_pending_schedules.delay().get(timeout=5) == 4
    assert not Loan.objects.filter(schedule_status=Loan.ScheduleStatus.PENDING).exists()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_stores_the_schedules_once(terms: ProductTerms, celery_worker: object) -> None:
    from config.celery import app

    assert not app.conf.task_always_eager
    loans = make_loans(terms, 5, method="annuity", rounding=100, business_days=True)
    ids = [loan.pk for loan in loans]
    assert set(Loan.objects.filter(pk__in=ids).values_list("schedule_status", flat=True)) == {"pending"}

    assert loan_schedules_store_task.delay(ids).get(timeout=WORKER_WAIT) == 5
    # A second message for the same loans finds them stored.
    assert loan_schedules_store_task.delay(ids).get(timeout=WORKER_WAIT) == 0

    assert set(Loan.objects.filter(pk__in=ids).values_list("schedule_status", flat=True)) == {"ready"}
    for loan in loans:
        principals = list(Installment.objects.filter(loan=loan).order_by("number").values_list("principal", flat=True))
        assert len(principals) == 36
        assert sum(principals) == loan.principal
