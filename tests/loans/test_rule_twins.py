"""The nightly close's SQL is the twin of the pure rules: on random loans, payments,
business dates, collectibility tables, held classes and penalty terms, the close's own
statements (``CloseSql.figures`` and ``CloseSql.charge_penalties``, run on the test
database: PostgreSQL, or SQLite when the suite runs there) give what
:func:`loans.arrears.days_past_due`, :func:`loans.arrears.loan_status`,
:func:`loans.collectibility.collectibility_on` (with :func:`grade_for`) and
:func:`loans.penalty.penalty_after` give. A handful of examples per run: each builds a
loan in the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from banks.models import Bank
from loans import arrears, penalty
from loans.collectibility import NAMES, Grade, collectibility_on
from loans.models import CollectibilityClass, Installment, Loan
from loans.services.close import CloseSql, close_rules
from tests.factories import ProductTermsFactory, funded_bank, serviced_loan
from tests.rollback import rolled_back

pytestmark = pytest.mark.django_db

DISBURSED = date(2026, 1, 10)
TWIN_SETTINGS = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Payment:
    """How installment ``number`` was paid: ``days`` after its due date (None: not in
    full), and whether some of its principal was paid anyway."""

    days: int | None
    partly: bool


payments = st.lists(
    st.builds(Payment, days=st.one_of(st.none(), st.integers(-20, 60)), partly=st.booleans()), min_size=0, max_size=6
)
tables = st.lists(st.integers(1, 60), min_size=4, max_size=4).map(
    lambda steps: (0, *(sum(steps[: index + 1]) for index in range(4)))
)


def _pay(loan: Loan, plan: list[Payment]) -> list[Installment]:
    """Write the plan's payments on the loan's first installments (in order, as the
    waterfall pays); the loan's columns follow."""
    rows = list(Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version).order_by("number"))
    for row, payment in zip(rows, plan, strict=False):
        if payment.days is not None:
            row.principal_paid, row.interest_paid = row.principal, row.interest
            row.paid_on = max(row.due_date + timedelta(days=payment.days), loan.disbursed_on)
        elif payment.partly:
            row.principal_paid = row.principal // 2
    Installment.objects.bulk_update(rows, ["principal_paid", "interest_paid", "paid_on"])
    loan.outstanding_principal = loan.principal - sum(row.principal_paid for row in rows)
    loan.oldest_unpaid_due = min((row.due_date for row in rows if row.paid_on is None), default=None)
    loan.save(update_fields=["outstanding_principal", "oldest_unpaid_due"])
    return rows


def _figures(loan: Loan, on: date) -> tuple[int, int, str]:
    sql = CloseSql(business_date=on, loan_ids=[loan.pk])
    with connection.cursor() as cursor:
        query = f"{sql.figures(close_rules())} SELECT days_past_due, collectibility, status FROM figures"  # noqa: S608
        cursor.execute(query, sql.params)
        days, grade, status = cursor.fetchone()
    return int(days), int(grade), str(status)


@pytest.fixture
def banks() -> dict[str, Bank]:
    return {kind: funded_bank(f"TWIN{kind[0].upper()}", kind=kind) for kind in (Bank.Kind.BPR, Bank.Kind.COMMERCIAL)}


@TWIN_SETTINGS
# The held class's last day and the day after, every run.
@example(kind=Bank.Kind.BPR, tenor=3, plan=[], offset=45, table=(0, 1, 2, 3, 4), hold=1, hold_days=0)
@example(kind=Bank.Kind.BPR, tenor=3, plan=[], offset=45, table=(0, 1, 2, 3, 4), hold=1, hold_days=-1)
@given(
    kind=st.sampled_from([Bank.Kind.BPR, Bank.Kind.COMMERCIAL]),
    tenor=st.integers(3, 8),
    plan=payments,
    offset=st.integers(0, 330),
    table=tables,
    hold=st.one_of(st.none(), st.integers(1, 5)),
    hold_days=st.integers(-3, 3),
)
def test_close_figures_equal_the_pure_rules(
    banks: dict[str, Bank],
    kind: str,
    tenor: int,
    plan: list[Payment],
    offset: int,
    table: tuple[int, ...],
    hold: int | None,
    hold_days: int,
) -> None:
    with rolled_back():
        on = DISBURSED + timedelta(days=offset)
        rows = [Grade(grade, NAMES[grade], min_days, Decimal(grade)) for grade, min_days in enumerate(table, start=1)]
        for row in rows:
            CollectibilityClass.objects.filter(bank_kind=kind, grade=row.grade).update(min_days=row.min_days)
        hold_until = on + timedelta(days=hold_days) if hold is not None else None
        loan = serviced_loan(
            bank=banks[kind],
            principal=1_200_000 * tenor,
            tenor_months=tenor,
            disbursed_on=DISBURSED,
            collectibility_hold=hold,
            hold_until=hold_until,
        )
        installments = _pay(loan, plan)

        open_at = [row for row in installments if row.paid_on is None or row.paid_on > on]
        days = arrears.days_past_due(on, min((row.due_date for row in open_at), default=None))
        settled = not open_at and loan.outstanding_principal == 0
        expected = (
            days,
            collectibility_on(days_past_due=days, rows=rows, hold=hold, hold_until=hold_until, on=on),
            arrears.loan_status(settled=settled, days_past_due=days),
        )
        assert _figures(loan, on) == expected


@TWIN_SETTINGS
@given(
    rate=st.decimals(Decimal("0.0001"), Decimal("2"), places=4),
    grace=st.integers(0, 10),
    cap=st.one_of(st.none(), st.decimals(Decimal("0"), Decimal("100"), places=4)),
    plan=payments,
    offset=st.integers(20, 330),
    charged=st.lists(st.tuples(st.integers(0, 200_000), st.one_of(st.none(), st.integers(-40, 40))), max_size=8),
)
def test_close_penalty_equals_the_pure_rule(
    banks: dict[str, Bank],
    rate: Decimal,
    grace: int,
    cap: Decimal | None,
    plan: list[Payment],
    offset: int,
    charged: list[tuple[int, int | None]],
) -> None:
    with rolled_back():
        on = DISBURSED + timedelta(days=offset)
        terms = ProductTermsFactory.create(
            version=99,
            penalty_percent_per_day=rate,
            penalty_grace_days=grace,
            penalty_cap_percent=cap,
            allowed_tenors=[8],
        )
        loan = serviced_loan(bank=banks[Bank.Kind.BPR], terms=terms, principal=9_600_000, tenor_months=8)
        rows = _pay(loan, plan)
        for row, (so_far, through) in zip(rows, charged, strict=False):
            row.penalty = so_far
            row.penalty_through = None if through is None else row.due_date + timedelta(days=through)
        Installment.objects.bulk_update(rows, ["penalty", "penalty_through"])

        sql = CloseSql(business_date=on, loan_ids=[loan.pk])
        with connection.cursor() as cursor:
            cursor.execute(sql.charge_penalties(close_rules().penalties), sql.params)

        for row in rows:
            days = penalty.penalty_days(
                on=on, due_date=row.due_date, grace_days=grace, penalty_through=row.penalty_through
            )
            after = row.penalty
            if row.paid_on is None and days:
                after = penalty.penalty_after(
                    rate_percent_per_day=rate,
                    base=row.installment - row.principal_paid - row.interest_paid - row.interest_waived,
                    days=days,
                    penalty_so_far=row.penalty,
                    cap_percent=cap,
                    installment=row.installment,
                )
            stored = Installment.objects.get(pk=row.pk)
            assert (stored.number, stored.penalty) == (row.number, after)
            assert stored.penalty_through == (on if row.paid_on is None and days else row.penalty_through)
