"""Storing disbursed loans' schedules (loans.services.schedules): the stored rows are the
engine's, stored once however often or concurrently they are asked for."""

import logging
import threading
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from loans.models import Installment, Loan, ProductTerms
from loans.schedule import LoanTerms, build_schedule
from loans.services import schedules
from loans.services.schedules import loan_schedules_store, loan_schedules_store_pending
from tests.factories import ApplicationFactory, BankFactory, ProductTermsFactory, loan_for

pytestmark = pytest.mark.django_db

FIELDS = ("number", "due_date", "principal", "interest", "installment", "balance")


@pytest.fixture
def terms() -> ProductTerms:
    return ProductTermsFactory.create()


def make_loan(terms: ProductTerms, **overrides: Any) -> Loan:
    """A pending loan with its own application and borrower (one open loan each)."""
    bank = BankFactory.create(code="PASAR")
    principal = overrides.get("principal", 5_000_000)
    application = ApplicationFactory.create(bank=bank, terms=terms, principal=principal)
    return loan_for(application, **overrides)


def stored_rows(loan: Loan) -> list[tuple[Any, ...]]:
    return list(
        Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version)
        .order_by("number")
        .values_list(*FIELDS)
    )


def engine_rows(loan: Loan) -> list[tuple[Any, ...]]:
    loan.refresh_from_db()
    schedule = build_schedule(
        LoanTerms(
            principal=loan.principal,
            annual_rate=loan.annual_rate,
            tenor_months=loan.tenor_months,
            disbursement_date=loan.disbursed_on,
            method=loan.method,  # type: ignore[arg-type]
            grace_months=loan.grace_months,
            rounding=loan.rounding,
            interest_rounding=loan.interest_rounding,  # type: ignore[arg-type]
            installment_rounding=loan.installment_rounding,  # type: ignore[arg-type]
            business_days=loan.business_days,
        )
    )
    return list(
        zip(
            range(1, loan.tenor_months + 1),
            schedule.due_dates,
            schedule.principal,
            schedule.interest,
            schedule.installment,
            schedule.balance,
            strict=True,
        )
    )


# Every method, with and without grace, rounding 1/100/1000 and business days, in one batch.
CASES: list[dict[str, Any]] = [
    {"method": method, "grace_months": grace, "rounding": rounding, "business_days": business_days}
    for method in ("flat", "annuity", "equal_principal")
    for grace, rounding, business_days in ((0, 1, False), (3, 100, True), (0, 1000, True), (2, 1000, False))
]


def test_stored_rows_equal_the_per_loan_engine_field_by_field(terms: ProductTerms) -> None:
    loans = [
        make_loan(
            terms,
            principal=7_654_321 + 1_000 * index,
            tenor_months=36 if index % 2 else 24,
            disbursed_on=date(2026, 1, 31) if index % 3 else date(2025, 12, 24),
            **case,
        )
        for index, case in enumerate(CASES)
    ]
    # One loan at another rate and with half-even rounding in the same batch.
    loans.append(
        make_loan(
            terms,
            principal=12_345_678,
            annual_rate=Decimal("11.2500"),
            tenor_months=18,
            method="annuity",
            interest_rounding="half_even",
            installment_rounding="half_even",
            rounding=500,
        )
    )

    assert loan_schedules_store(loan_ids=[loan.pk for loan in loans]) == len(loans)

    for loan in loans:
        rows = stored_rows(loan)
        assert rows == engine_rows(loan), f"loan {loan.pk} ({loan.method}) differs from the engine"
        assert sum(row[2] for row in rows) == loan.principal
        assert rows[-1][5] == 0
        assert loan.schedule_status == Loan.ScheduleStatus.READY  # refreshed by engine_rows
    # The amounts still owed start untouched.
    assert not Installment.objects.exclude(principal_paid=0, interest_paid=0, penalty=0, penalty_paid=0).exists()


def test_rows_written_in_many_chunks_are_stored_whole(terms: ProductTerms, monkeypatch: pytest.MonkeyPatch) -> None:
    # Small chunks: on PostgreSQL the COPY runs through the queued writer, chunk by chunk.
    monkeypatch.setattr(schedules, "COPY_CHUNK_ROWS", 10)
    loans = [make_loan(terms, tenor_months=36, method=method) for method in ("flat", "annuity", "equal_principal")]

    assert loan_schedules_store(loan_ids=[loan.pk for loan in loans]) == 3

    for loan in loans:
        assert stored_rows(loan) == engine_rows(loan)


def test_store_marks_the_loans_ready_and_counts_them(terms: ProductTerms) -> None:
    loans = [make_loan(terms, tenor_months=12) for _ in range(3)]
    assert {loan.schedule_status for loan in loans} == {Loan.ScheduleStatus.PENDING}

    assert loan_schedules_store(loan_ids=[loan.pk for loan in loans]) == 3

    assert set(Loan.objects.values_list("schedule_status", flat=True)) == {Loan.ScheduleStatus.READY}
    assert Installment.objects.count() == 36


def test_storing_twice_stores_once(terms: ProductTerms) -> None:
    loans = [make_loan(terms, tenor_months=36) for _ in range(2)]
    ids = [loan.pk for loan in loans]
    assert loan_schedules_store(loan_ids=ids) == 2
    rows = list(Installment.objects.order_by("pk").values_list("pk", "loan_id", "number"))

    assert loan_schedules_store(loan_ids=ids) == 0
    assert loan_schedules_store(loan_ids=[*ids, *ids]) == 0

    assert list(Installment.objects.order_by("pk").values_list("pk", "loan_id", "number")) == rows
    assert len(rows) == 72


def test_only_the_given_pending_loans_are_stored(terms: ProductTerms) -> None:
    ready, pending, other = (make_loan(terms, tenor_months=6) for _ in range(3))
    loan_schedules_store(loan_ids=[ready.pk])

    assert loan_schedules_store(loan_ids=[ready.pk, pending.pk, 999_999]) == 1

    assert Installment.objects.filter(loan=ready).count() == 6
    assert Installment.objects.filter(loan=pending).count() == 6
    other.refresh_from_db()
    assert other.schedule_status == Loan.ScheduleStatus.PENDING
    assert not Installment.objects.filter(loan=other).exists()


def statements(queries: CaptureQueriesContext) -> list[str]:
    """The SQL run, without the savepoints the test's own transaction adds."""
    return [query["sql"] for query in queries.captured_queries if "SAVEPOINT" not in query["sql"]]


def test_no_ids_is_no_work() -> None:
    with CaptureQueriesContext(connection) as queries:
        assert loan_schedules_store(loan_ids=[]) == 0
    assert queries.captured_queries == []


def test_already_stored_loans_cost_one_query(terms: ProductTerms) -> None:
    loan = make_loan(terms)
    loan_schedules_store(loan_ids=[loan.pk])
    with CaptureQueriesContext(connection) as queries:
        assert loan_schedules_store(loan_ids=[loan.pk]) == 0
    assert len(statements(queries)) == 1


def test_the_loans_schedule_version_is_stored(terms: ProductTerms) -> None:
    loan = make_loan(terms, tenor_months=6, schedule_version=2)
    assert loan_schedules_store(loan_ids=[loan.pk]) == 1
    assert set(Installment.objects.filter(loan=loan).values_list("schedule_version", flat=True)) == {2}


def test_a_refused_loan_stays_pending_and_does_not_block_the_others(
    terms: ProductTerms, caplog: pytest.LogCaptureFixture
) -> None:
    good = make_loan(terms, tenor_months=12)
    # Rp1,000 over 12 months rounded to Rp1,000: paid off before the last installment.
    refused = make_loan(terms, principal=1_000, tenor_months=12, rounding=1000)
    also_good = make_loan(terms, tenor_months=12)

    with caplog.at_level(logging.ERROR, logger="loans.services.schedules"):
        assert loan_schedules_store(loan_ids=[good.pk, refused.pk, also_good.pk]) == 2

    refused.refresh_from_db()
    assert refused.schedule_status == Loan.ScheduleStatus.PENDING
    assert not Installment.objects.filter(loan=refused).exists()
    assert Installment.objects.filter(loan__in=[good, also_good]).count() == 24
    assert f"loan {refused.pk}: schedule refused (early_payoff)" in caplog.text


def test_terms_outside_the_engines_ranges_do_not_block_the_others(
    terms: ProductTerms, caplog: pytest.LogCaptureFixture
) -> None:
    good = make_loan(terms, tenor_months=12)
    broken = make_loan(terms, tenor_months=200)  # the engine stops at 120 months

    with caplog.at_level(logging.ERROR, logger="loans.services.schedules"):
        assert loan_schedules_store(loan_ids=[good.pk, broken.pk]) == 1

    broken.refresh_from_db()
    assert broken.schedule_status == Loan.ScheduleStatus.PENDING
    assert Installment.objects.filter(loan=good).count() == 12
    assert f"loan {broken.pk}: schedule refused (tenor_months:" in caplog.text


def test_a_pending_loan_whose_rows_exist_is_marked_ready_not_stored_again(terms: ProductTerms) -> None:
    loan = make_loan(terms, tenor_months=6)
    loan_schedules_store(loan_ids=[loan.pk])
    Loan.objects.filter(pk=loan.pk).update(schedule_status=Loan.ScheduleStatus.PENDING)  # a hand-made change

    assert loan_schedules_store(loan_ids=[loan.pk]) == 0

    loan.refresh_from_db()
    assert loan.schedule_status == Loan.ScheduleStatus.READY
    assert Installment.objects.filter(loan=loan).count() == 6


def test_sweep_stores_every_pending_loan_in_batches(terms: ProductTerms) -> None:
    loans = [make_loan(terms, tenor_months=6) for _ in range(5)]
    loan_schedules_store(loan_ids=[loans[1].pk])

    assert loan_schedules_store_pending(limit=2) == 4

    assert set(Loan.objects.values_list("schedule_status", flat=True)) == {Loan.ScheduleStatus.READY}
    assert Installment.objects.count() == 30
    assert loan_schedules_store_pending(limit=2) == 0


def test_sweep_takes_the_oldest_first_and_stops_at_its_cap(terms: ProductTerms) -> None:
    loans = [make_loan(terms, tenor_months=6) for _ in range(5)]

    assert loan_schedules_store_pending(limit=2, max_batches=1) == 2

    ready = set(Loan.objects.filter(schedule_status=Loan.ScheduleStatus.READY).values_list("pk", flat=True))
    assert ready == {loans[0].pk, loans[1].pk}


def test_sweep_moves_past_a_refused_loan(terms: ProductTerms) -> None:
    refused = make_loan(terms, principal=1_000, tenor_months=12, rounding=1000)
    later = [make_loan(terms, tenor_months=6) for _ in range(2)]

    assert loan_schedules_store_pending(limit=1) == 2

    assert Installment.objects.filter(loan__in=later).count() == 12
    refused.refresh_from_db()
    assert refused.schedule_status == Loan.ScheduleStatus.PENDING


# --- concurrency: two workers on either database; skipping locked rows on PostgreSQL -----


@pytest.mark.django_db(transaction=True)
def test_two_workers_storing_the_same_loans_store_them_once(terms: ProductTerms) -> None:
    ids = [make_loan(terms, tenor_months=36).pk for _ in range(40)]
    start = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def store() -> None:
        try:
            start.wait(timeout=120)
            results.append(loan_schedules_store(loan_ids=ids))
        except BaseException as exc:  # handed to the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=store) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert errors == []
    assert sum(results) == 40
    assert Installment.objects.count() == 40 * 36
    assert not Loan.objects.filter(schedule_status=Loan.ScheduleStatus.PENDING).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_loans_locked_by_another_worker_are_skipped_not_waited_for(terms: ProductTerms) -> None:
    locked, free = make_loan(terms, tenor_months=6), make_loan(terms, tenor_months=6)
    holding = threading.Event()
    release = threading.Event()

    def hold_lock() -> None:
        try:
            with transaction.atomic():
                list(Loan.objects.select_for_update().filter(pk=locked.pk))
                holding.set()
                release.wait(timeout=300)  # set by the main thread's finally
        finally:
            connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert holding.wait(timeout=120)
        assert loan_schedules_store(loan_ids=[locked.pk, free.pk]) == 1
        assert loan_schedules_store_pending() == 0
    finally:
        release.set()
        holder.join(timeout=300)

    assert Installment.objects.filter(loan=free).count() == 6
    assert not Installment.objects.filter(loan=locked).exists()
    assert loan_schedules_store_pending() == 1
    assert Installment.objects.filter(loan=locked).count() == 6
