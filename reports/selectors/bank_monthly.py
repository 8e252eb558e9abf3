"""Reads for the bank monthly report (reports/kinds/bank_monthly.py): one bank's loans
in one month, set-based.

**Which loans.** Every loan of the bank disbursed by the month's last day that had
principal outstanding at some moment of the month or money paid in it: open at the
close of the day before the month (a snapshot there), open at the close of the month's
last day (a snapshot there), disbursed in the month, or with a booked repayment dated in
the month (a loan paid off or written off in the month, a recovery on a loan written
off earlier). A loan paid off or written off before the month with nothing paid in it
does not appear.

**Figures** (all whole rupiah):

* the loan's terms from the loan row; the contract date is the day (Asia/Jakarta) the
  bank approved the application and gave it its contract number, or the disbursement
  date where no approval moment is recorded; the maturity date is the due date of the
  last installment of the loan's current schedule version (after a deferral, the
  deferred one);
* due in the month: principal and interest of the current schedule version's
  installments whose due date falls in the month;
* paid in the month: the active allocations (not undone) of booked repayments dated in
  the month, by component. Principal paid on a loan after the day it was written off is
  a *recovery* (``recovered``), not principal repaid: the loan's principal left the
  fund's outstanding when it was written off;
* at month end (the close's snapshot of the month's last day, ``LoanSnapshot``):
  outstanding principal, arrears of principal, interest and penalty, days past due and
  collectibility class. A loan with no snapshot then (paid off or written off by then)
  has nothing outstanding, no arrears and no class;
* opening outstanding: the snapshot of the previous month's last day (0 when the loan
  had none: disbursed in the month, or no close ran that day);
* written off (when the write-off is dated in the month): the principal less the
  principal paid on or before the write-off date, as the fund flows count it (the
  loan's ``written_off_principal`` unless a repayment was backdated across the
  write-off).

So for every loan ``opening + disbursed - principal_paid - written_off = closing``, and
the list's sums are the bank's fund flows of the month (:mod:`reports.selectors.fund`).

One SQL statement (PostgreSQL and SQLite) with grouped sub-selects for what is due, what
was paid, and what was paid on written-off loans before and after their write-off,
read in batches: no query per loan. Sums are cast back to whole numbers (PostgreSQL's
SUM of a bigint is a numeric).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from banks.models import Bank
from loans.models import CollectibilityClass, FundDay, Loan, RepaymentAllocation
from reports.periods import Period

BATCH = 5_000
#: PostgreSQL's memory for the query's hashes and sort (its default 4 MB spills to disk
#: from about 50,000 loans).
WORK_MEM = "64MB"
RATE_PLACES = Decimal("0.0001")


#: The columns of a loan's row, in order (:func:`loan_rows`).
COLUMNS: tuple[str, ...] = (
    "contract_number",
    "contract_date",
    "borrower",
    "nik_masked",
    "business",
    "kecamatan",
    "principal",
    "tenor_months",
    "annual_rate",
    "disbursed_on",
    "maturity",
    "status",
    "opening_outstanding",
    "disbursed",
    "principal_due",
    "interest_due",
    "principal_paid",
    "interest_paid",
    "penalty_paid",
    "recovered",
    "written_off",
    "arrears_principal",
    "arrears_interest",
    "arrears_penalty",
    "days_past_due",
    "closing_outstanding",
    "collectibility",
)
COLUMN = {name: index for index, name in enumerate(COLUMNS)}
#: Columns holding dates (SQLite returns them as text).
DATE_COLUMNS = tuple(COLUMN[name] for name in ("contract_date", "disbursed_on", "maturity"))
#: The 16 stars a masked NIK can need (a NIK has at most 16 characters).
STARS = "*" * 16
#: The status of a loan at month end (a key of the ``status_labels`` given to
#: :func:`loan_rows`): as the close's snapshot says, else written off or paid off.
STATUSES = ("active", "overdue", "paid_off", "written_off")


def masked_nik_sql(column: str) -> str:
    """The SQL twin of :func:`borrowers.identity.mask_nik` (first 4 and last 4 characters
    kept, the rest starred; 8 or fewer all starred) for a NIK of at most 16 characters,
    so the whole NIK never leaves the database (tests/reports/test_bank_monthly.py
    proves them equal)."""
    return (
        f"CASE WHEN LENGTH({column}) <= 8 THEN SUBSTR('{STARS}', 1, LENGTH({column})) "
        f"ELSE SUBSTR({column}, 1, 4) || SUBSTR('{STARS}', 1, LENGTH({column}) - 8) "
        f"|| SUBSTR({column}, LENGTH({column}) - 3, 4) END"
    )


def _sql(postgres: bool) -> str:
    contract_day = (
        "CAST((a.approved_at AT TIME ZONE 'Asia/Jakarta') AS date)"
        if postgres
        else "date(a.approved_at, '+7 hours')"  # Asia/Jakarta has been UTC+7 since 1964
    )
    principal, interest, penalty = (
        RepaymentAllocation.Component.PRINCIPAL.value,
        RepaymentAllocation.Component.INTEREST.value,
        RepaymentAllocation.Component.PENALTY.value,
    )
    return f"""
        SELECT l.contract_number, COALESCE({contract_day}, l.disbursed_on), b.name, {masked_nik_sql("b.nik")},
               bz.name, COALESCE(k.name, ''), l.principal, l.tenor_months, l.annual_rate, l.disbursed_on,
               (SELECT i.due_date FROM loans_installment i
                 WHERE i.loan_id = l.id AND i.schedule_version = l.schedule_version
                 ORDER BY i.number DESC LIMIT 1),
               CASE WHEN c.loan_id IS NOT NULL AND c.status = %(overdue)s THEN %(label_overdue)s
                    WHEN c.loan_id IS NOT NULL THEN %(label_active)s
                    WHEN l.written_off_on IS NOT NULL AND l.written_off_on <= %(end)s THEN %(label_written_off)s
                    WHEN l.status = %(paid_off)s THEN %(label_paid_off)s
                    ELSE %(label_active)s END,
               COALESCE(o.outstanding_principal, 0),
               CASE WHEN l.disbursed_on >= %(start)s THEN l.principal ELSE 0 END,
               COALESCE(due.principal, 0), COALESCE(due.interest, 0),
               COALESCE(paid.principal, 0) - COALESCE(gone.recovered, 0), COALESCE(paid.interest, 0),
               COALESCE(paid.penalty, 0), COALESCE(gone.recovered, 0),
               CASE WHEN l.written_off_on BETWEEN %(start)s AND %(end)s
                    THEN l.principal - COALESCE(gone.before_write_off, 0) ELSE 0 END,
               COALESCE(c.arrears_principal, 0), COALESCE(c.arrears_interest, 0), COALESCE(c.arrears_penalty, 0),
               COALESCE(c.days_past_due, 0), COALESCE(c.outstanding_principal, 0), c.collectibility
          FROM loans_loan l
          JOIN loans_application a ON a.id = l.application_id
          JOIN borrowers_borrower b ON b.id = l.borrower_id
          JOIN borrowers_business bz ON bz.id = a.business_id
          LEFT JOIN borrowers_region kel ON kel.code = b.kelurahan_id
          LEFT JOIN borrowers_region k ON k.code = kel.parent_id
          LEFT JOIN loans_loansnapshot o
                 ON o.loan_id = l.id AND o.business_date = %(opening_day)s AND o.bank_id = %(bank)s
          LEFT JOIN loans_loansnapshot c
                 ON c.loan_id = l.id AND c.business_date = %(end)s AND c.bank_id = %(bank)s
          LEFT JOIN (
                SELECT i.loan_id, CAST(SUM(i.principal) AS BIGINT) AS principal,
                       CAST(SUM(i.interest) AS BIGINT) AS interest
                  FROM loans_installment i
                  JOIN loans_loan l2 ON l2.id = i.loan_id AND l2.schedule_version = i.schedule_version
                 WHERE l2.bank_id = %(bank)s AND i.due_date BETWEEN %(start)s AND %(end)s
                 GROUP BY i.loan_id
               ) due ON due.loan_id = l.id
          LEFT JOIN (
                SELECT r.loan_id,
                       CAST(SUM(CASE WHEN x.component = '{principal}' THEN x.amount ELSE 0 END) AS BIGINT) AS principal,
                       CAST(SUM(CASE WHEN x.component = '{interest}' THEN x.amount ELSE 0 END) AS BIGINT) AS interest,
                       CAST(SUM(CASE WHEN x.component = '{penalty}' THEN x.amount ELSE 0 END) AS BIGINT) AS penalty
                  FROM loans_repayment r
                  JOIN loans_repaymentallocation x ON x.repayment_id = r.id
                 WHERE r.bank_id = %(bank)s AND r.status = %(booked)s AND x.undone_at IS NULL
                   AND r.paid_on BETWEEN %(start)s AND %(end)s
                 GROUP BY r.loan_id
               ) paid ON paid.loan_id = l.id
          LEFT JOIN (
                SELECT r.loan_id,
                       CAST(SUM(CASE WHEN r.paid_on <= l2.written_off_on THEN x.amount ELSE 0 END) AS BIGINT)
                           AS before_write_off,
                       CAST(SUM(CASE WHEN r.paid_on > l2.written_off_on AND r.paid_on >= %(start)s THEN x.amount
                                     ELSE 0 END) AS BIGINT) AS recovered
                  FROM loans_loan l2
                  JOIN loans_repayment r ON r.loan_id = l2.id
                  JOIN loans_repaymentallocation x ON x.repayment_id = r.id
                 WHERE l2.bank_id = %(bank)s AND l2.written_off_on <= %(end)s
                   AND r.status = %(booked)s AND x.undone_at IS NULL AND x.component = '{principal}'
                   AND r.paid_on <= %(end)s
                 GROUP BY r.loan_id
               ) gone ON gone.loan_id = l.id
         WHERE l.bank_id = %(bank)s AND l.disbursed_on <= %(end)s
           AND (o.loan_id IS NOT NULL OR c.loan_id IS NOT NULL OR l.disbursed_on >= %(start)s
                OR paid.loan_id IS NOT NULL)
         ORDER BY l.disbursed_on, l.id
    """  # noqa: S608 - fixed fragments; every value is a parameter


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def loan_count(*, bank_id: int, period: Period) -> int:
    """At most how many rows :func:`loan_rows` yields (for the progress)."""
    return Loan.objects.filter(bank_id=bank_id, disbursed_on__lte=period.end).count()


def loan_rows(*, bank_id: int, period: Period, status_labels: dict[str, str]) -> Iterator[tuple[Any, ...]]:
    """The bank's loans of the month, one tuple of :data:`COLUMNS` each (see the
    module's docstring), by disbursement date and id, read in batches of :data:`BATCH`
    rows. The status is given as ``status_labels`` names it (keys :data:`STATUSES`).

    On PostgreSQL the rows come as the database gives them (dates, ``Decimal`` rates,
    ints): no work per row here; SQLite's text dates and float rates are converted."""
    postgres = connection.vendor == "postgresql"
    params: dict[str, Any] = {
        "bank": bank_id,
        "start": period.start,
        "end": period.end,
        "opening_day": period.start - timedelta(days=1),
        "booked": "booked",
        "overdue": Loan.Status.OVERDUE.value,
        "paid_off": Loan.Status.PAID_OFF.value,
        **{f"label_{status}": status_labels[status] for status in STATUSES},
    }
    if not postgres:
        params = {key: value.isoformat() if isinstance(value, date) else value for key, value in params.items()}
    rate = COLUMN["annual_rate"]
    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:
            # The month's aggregates and the sort of 100,000 rows stay in memory; and no JIT:
            # the plan's cost passes PostgreSQL's thresholds at about 50,000 loans, and
            # compiling it took 4 of the 8 seconds of 100,000 loans for no gain.
            cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(_sql(postgres), params)
        while batch := cursor.fetchmany(BATCH):
            if postgres:
                yield from batch
                continue
            for row in batch:
                values = list(row)
                for index in DATE_COLUMNS:
                    values[index] = _day(values[index])
                values[rate] = Decimal(str(values[rate])).quantize(RATE_PLACES)
                yield tuple(values)


def month_closed(*, bank_id: int, period: Period) -> bool:
    """Whether the close of the month's last day ran (the bank's fund day of it exists)."""
    return FundDay.objects.filter(bank_id=bank_id, business_date=period.end).exists()


@dataclass(frozen=True)
class ClassRow:
    grade: int
    name: str
    provision_percent: Decimal


def class_table(*, bank: Bank) -> list[ClassRow]:
    """The bank's own collectibility table (by its kind), grades 1 to 5."""
    return [
        ClassRow(row.grade, row.name, row.provision_percent)
        for row in CollectibilityClass.objects.filter(bank_kind=bank.kind).order_by("grade")
    ]


@dataclass(frozen=True)
class MonthRepayments:
    """Booked repayments dated in the month (not reversed): how many and how much."""

    count: int
    amount: int


def month_repayments(*, bank_id: int, period: Period) -> MonthRepayments:
    from django.db.models import Count, Sum

    from loans.models import Repayment

    figures = Repayment.objects.filter(
        bank_id=bank_id, status=Repayment.Status.BOOKED, paid_on__gte=period.start, paid_on__lte=period.end
    ).aggregate(count=Count("id"), amount=Sum("amount"))
    return MonthRepayments(count=int(figures["count"] or 0), amount=int(figures["amount"] or 0))
