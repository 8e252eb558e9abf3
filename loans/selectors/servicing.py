"""Reads for loan servicing: a loan's arrears now, its repayments with their
allocations."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import F, QuerySet, Sum

from config.prepared import Prepared
from loans.arrears import days_past_due
from loans.models import CloseRun, Installment, Loan, Repayment, RepaymentAllocation


@dataclass(frozen=True)
class Arrears:
    """What is overdue on a loan on ``on``: unpaid principal, interest and penalties of
    installments due by then, and the days since the oldest one not paid (principal
    and interest) fell due."""

    on: date
    principal: int
    interest: int
    penalty: int
    days_past_due: int

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.penalty


def loan_arrears(*, loan: Loan, on: date) -> Arrears:
    """The loan's arrears on ``on`` from its current installments (one query)."""
    if loan.schedule_status != Loan.ScheduleStatus.READY or loan.status == Loan.Status.PAID_OFF:
        return Arrears(on=on, principal=0, interest=0, penalty=0, days_past_due=0)
    rows = _DUE_SUMS.rows(loan_id=loan.pk, version=loan.schedule_version, on=on)
    principal, interest, penalty = rows[0] if rows else (0, 0, 0)
    return Arrears(
        on=on,
        principal=int(principal or 0),
        interest=int(interest or 0),
        penalty=int(penalty or 0),
        days_past_due=days_past_due(on, loan.oldest_unpaid_due),
    )


#: What is unpaid of a schedule's installments due by a date: one row (none when nothing
#: is due), compiled once per process (config/prepared.py).
_DUE_SUMS = Prepared(
    lambda loan_id, version, on: (
        Installment.objects.filter(loan_id=loan_id, schedule_version=version, due_date__lte=on)
        .order_by()
        .values("loan_id")
        .annotate(
            principal=Sum(F("principal") - F("principal_paid")),
            interest=Sum(F("interest") - F("interest_paid") - F("interest_waived")),
            penalty=Sum(F("penalty") - F("penalty_paid")),
        )
        .values_list("principal", "interest", "penalty")
    )
)


def business_date_last_closed() -> date | None:
    """The last closed business date: the latest date with a ``done`` close run (None
    when no date was ever closed)."""
    rows = _LAST_CLOSED.rows()
    last: date | None = rows[0][0] if rows else None
    return last


#: Every booking reads it: compiled once per process (config/prepared.py).
_LAST_CLOSED = Prepared(
    lambda: (
        CloseRun.objects.filter(status=CloseRun.Status.DONE).order_by("-business_date").values_list("business_date")[:1]
    )
)


def loan_repayments(*, loan: Loan) -> QuerySet[Repayment]:
    """The loan's repayments (reversed ones too), newest first."""
    return Repayment.objects.filter(loan=loan).select_related("created_by", "reversed_by").order_by("-paid_on", "-id")


def allocations_of(repayments: Sequence[Repayment]) -> dict[int, list[dict[str, Any]]]:
    """The active allocations of ``repayments`` by repayment id (one query)."""
    rows = (
        RepaymentAllocation.objects.filter(repayment__in=repayments, undone_at__isnull=True)
        .order_by("repayment_id", "id")
        .values(
            "repayment_id",
            "component",
            "amount",
            number=F("installment__number"),
            version=F("installment__schedule_version"),
            due_date=F("installment__due_date"),
        )
    )
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        found[row["repayment_id"]].append(
            {
                "installment": row["number"],
                "schedule_version": row["version"],
                "due_date": row["due_date"],
                "component": row["component"],
                "amount": row["amount"],
            }
        )
    return found
