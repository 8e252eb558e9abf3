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

One SQL statement (PostgreSQL and SQLite) with grouped sub-selects for what is due and
what was paid, read in batches: no query per loan.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection

from banks.models import Bank
from borrowers.identity import mask_nik
from loans.models import CollectibilityClass, FundDay, Loan, RepaymentAllocation
from reports.periods import Period

BATCH = 5_000
RATE_PLACES = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class LoanMonth:
    """One loan's line of the bank monthly report (see the module's docstring)."""

    loan_id: int
    contract_number: str
    contract_date: date
    borrower: str
    nik_masked: str
    business: str
    kecamatan: str
    principal: int
    tenor_months: int
    annual_rate: Decimal
    disbursed_on: date
    maturity: date | None
    status: str
    opening_outstanding: int
    disbursed: int
    principal_due: int
    interest_due: int
    principal_paid: int
    interest_paid: int
    penalty_paid: int
    recovered: int
    written_off: int
    arrears_principal: int
    arrears_interest: int
    arrears_penalty: int
    days_past_due: int
    closing_outstanding: int
    #: The class at month end (None: not open then).
    collectibility: int | None


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
    recovery = "(l2.written_off_on IS NOT NULL AND r.paid_on > l2.written_off_on)"
    return f"""
        SELECT l.id, l.contract_number, COALESCE({contract_day}, l.disbursed_on), b.name, b.nik, bz.name,
               COALESCE(k.name, ''), l.principal, l.tenor_months, l.annual_rate, l.disbursed_on,
               (SELECT i.due_date FROM loans_installment i
                 WHERE i.loan_id = l.id AND i.schedule_version = l.schedule_version
                 ORDER BY i.number DESC LIMIT 1),
               l.status, l.written_off_on, l.principal - COALESCE(gone.paid, 0),
               o.outstanding_principal,
               COALESCE(due.principal, 0), COALESCE(due.interest, 0),
               COALESCE(paid.principal, 0), COALESCE(paid.interest, 0), COALESCE(paid.penalty, 0),
               COALESCE(paid.recovered, 0),
               c.status, c.outstanding_principal, c.arrears_principal, c.arrears_interest, c.arrears_penalty,
               c.days_past_due, c.collectibility
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
                SELECT i.loan_id, SUM(i.principal) AS principal, SUM(i.interest) AS interest
                  FROM loans_installment i
                  JOIN loans_loan l2 ON l2.id = i.loan_id AND l2.schedule_version = i.schedule_version
                 WHERE l2.bank_id = %(bank)s AND i.due_date BETWEEN %(start)s AND %(end)s
                 GROUP BY i.loan_id
               ) due ON due.loan_id = l.id
          LEFT JOIN (
                SELECT r.loan_id,
                       SUM(CASE WHEN x.component = '{principal}' AND NOT {recovery} THEN x.amount ELSE 0 END)
                           AS principal,
                       SUM(CASE WHEN x.component = '{interest}' THEN x.amount ELSE 0 END) AS interest,
                       SUM(CASE WHEN x.component = '{penalty}' THEN x.amount ELSE 0 END) AS penalty,
                       SUM(CASE WHEN x.component = '{principal}' AND {recovery} THEN x.amount ELSE 0 END)
                           AS recovered
                  FROM loans_repayment r
                  JOIN loans_repaymentallocation x ON x.repayment_id = r.id
                  JOIN loans_loan l2 ON l2.id = r.loan_id
                 WHERE r.bank_id = %(bank)s AND r.status = %(booked)s AND x.undone_at IS NULL
                   AND r.paid_on BETWEEN %(start)s AND %(end)s
                 GROUP BY r.loan_id
               ) paid ON paid.loan_id = l.id
          LEFT JOIN (
                SELECT r.loan_id, SUM(x.amount) AS paid
                  FROM loans_loan l2
                  JOIN loans_repayment r ON r.loan_id = l2.id
                  JOIN loans_repaymentallocation x ON x.repayment_id = r.id
                 WHERE l2.bank_id = %(bank)s AND l2.written_off_on BETWEEN %(start)s AND %(end)s
                   AND r.status = %(booked)s AND x.undone_at IS NULL AND x.component = '{principal}'
                   AND r.paid_on <= l2.written_off_on
                 GROUP BY r.loan_id
               ) gone ON gone.loan_id = l.id
         WHERE l.bank_id = %(bank)s AND l.disbursed_on <= %(end)s
           AND (o.loan_id IS NOT NULL OR c.loan_id IS NOT NULL OR l.disbursed_on >= %(start)s
                OR paid.loan_id IS NOT NULL)
         ORDER BY l.disbursed_on, l.id
    """  # noqa: S608 - fixed fragments; every value is a parameter


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _status(closing_status: str | None, row_status: str, written_off_on: date | None, end: date) -> str:
    if closing_status:
        return closing_status
    if written_off_on is not None and written_off_on <= end:
        return Loan.Status.WRITTEN_OFF.value
    return Loan.Status.PAID_OFF.value if row_status == Loan.Status.PAID_OFF else row_status


def loan_count(*, bank_id: int, period: Period) -> int:
    """How many loans :func:`loan_months` yields (for the progress)."""
    return Loan.objects.filter(bank_id=bank_id, disbursed_on__lte=period.end).count()


def loan_months(*, bank_id: int, period: Period) -> Iterator[LoanMonth]:
    """The bank's loans of the month with their figures (see the module's docstring),
    by disbursement date and id, read in batches of :data:`BATCH` rows."""
    postgres = connection.vendor == "postgresql"
    params: dict[str, Any] = {
        "bank": bank_id,
        "start": period.start,
        "end": period.end,
        "opening_day": period.start - timedelta(days=1),
        "booked": "booked",
    }
    if not postgres:
        params = {key: value.isoformat() if isinstance(value, date) else value for key, value in params.items()}
    start, end = period.start, period.end
    with connection.cursor() as cursor:
        cursor.execute(_sql(postgres), params)
        while batch := cursor.fetchmany(BATCH):
            for (
                loan_id, contract_number, contract_date, borrower, nik, business, kecamatan, principal, tenor,
                rate, disbursed_on, maturity, row_status, written_off_on, principal_left, opening,
                principal_due, interest_due, principal_paid, interest_paid, penalty_paid, recovered,
                closing_status, closing, arrears_principal, arrears_interest, arrears_penalty, days_past_due,
                collectibility,
            ) in batch:  # fmt: skip
                disbursed_day = _day(disbursed_on)
                written_off_day = _day(written_off_on) if written_off_on else None
                yield LoanMonth(
                    loan_id=loan_id,
                    contract_number=contract_number,
                    contract_date=_day(contract_date),
                    borrower=borrower,
                    nik_masked=mask_nik(nik),
                    business=business,
                    kecamatan=kecamatan,
                    principal=principal,
                    tenor_months=tenor,
                    annual_rate=Decimal(str(rate)).quantize(RATE_PLACES),
                    disbursed_on=disbursed_day,
                    maturity=_day(maturity) if maturity else None,
                    status=_status(closing_status, row_status, written_off_day, end),
                    opening_outstanding=int(opening or 0),
                    disbursed=principal if start <= disbursed_day <= end else 0,
                    principal_due=int(principal_due),
                    interest_due=int(interest_due),
                    principal_paid=int(principal_paid),
                    interest_paid=int(interest_paid),
                    penalty_paid=int(penalty_paid),
                    recovered=int(recovered),
                    written_off=int(principal_left)
                    if written_off_day is not None and start <= written_off_day <= end
                    else 0,
                    arrears_principal=int(arrears_principal or 0),
                    arrears_interest=int(arrears_interest or 0),
                    arrears_penalty=int(arrears_penalty or 0),
                    days_past_due=int(days_past_due or 0),
                    closing_outstanding=int(closing or 0),
                    collectibility=int(collectibility) if collectibility is not None else None,
                )


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
