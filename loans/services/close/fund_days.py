"""The banks' fund day at a closed business date (``FundDay``): what each bank lent,
collected and has outstanding by class, and the fund it had available (by
:func:`banks.fund.fund_available`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from datetime import time as clock_time

from django.db.models import Q, Sum

from banks.fund import fund_available
from banks.models import Allocation, Bank
from config.clock import BUSINESS_TIME_ZONE
from loans.models import FundDay, Loan, LoanSnapshot, Repayment, RepaymentAllocation

CLASS_KEYS = ("1", "2", "3", "4", "5")


def fund_days(business_date: date, *, bank_ids: Sequence[int] | None = None) -> list[FundDay]:
    """Every bank's fund day at ``business_date`` (not saved), or those of ``bank_ids``.
    ``available`` = the allocations created on or before D (Asia/Jakarta) + principal
    repaid through D (the bank's counter less what repayments dated after D brought) -
    principal disbursed through D."""
    chosen = Bank.objects.all() if bank_ids is None else Bank.objects.filter(pk__in=bank_ids)
    banks = list(chosen.order_by("pk").values_list("pk", "principal_repaid"))
    bank_ids = [pk for pk, _ in banks]
    next_day = datetime.combine(business_date + timedelta(days=1), clock_time.min, tzinfo=BUSINESS_TIME_ZONE)
    allocated = dict(
        Allocation.objects.filter(created_at__lt=next_day, bank_id__in=bank_ids)
        .values("bank")
        .annotate(total=Sum("amount"))
        .values_list("bank", "total")
    )
    lent = {
        bank: (on_day or 0, through or 0)
        for bank, on_day, through in Loan.objects.filter(bank_id__in=bank_ids)
        .values("bank")
        .annotate(
            on_day=Sum("principal", filter=Q(disbursed_on=business_date)),
            through=Sum("principal", filter=Q(disbursed_on__lte=business_date)),
        )
        .values_list("bank", "on_day", "through")
    }
    active_allocations = RepaymentAllocation.objects.filter(
        undone_at__isnull=True, repayment__status=Repayment.Status.BOOKED, repayment__bank_id__in=bank_ids
    )
    flows: dict[int, dict[str, int]] = defaultdict(dict)
    for bank, component, total in (
        active_allocations.filter(repayment__paid_on=business_date)
        .values("repayment__bank_id", "component")
        .annotate(total=Sum("amount"))
        .values_list("repayment__bank_id", "component", "total")
    ):
        flows[bank][component] = total
    repaid_later = dict(
        active_allocations.filter(
            repayment__paid_on__gt=business_date, component=RepaymentAllocation.Component.PRINCIPAL
        )
        .values("repayment__bank_id")
        .annotate(total=Sum("amount"))
        .values_list("repayment__bank_id", "total")
    )
    by_class: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CLASS_KEYS, 0))
    for bank, grade, total in (
        LoanSnapshot.objects.filter(business_date=business_date, bank_id__in=bank_ids)
        .values("bank_id", "collectibility")
        .annotate(total=Sum("outstanding_principal"))
        .values_list("bank_id", "collectibility", "total")
    ):
        by_class[bank][str(grade)] = total
    days = []
    for bank, principal_repaid in banks:
        repaid_through = principal_repaid - repaid_later.get(bank, 0)
        disbursed_on_day, disbursed_through = lent.get(bank, (0, 0))
        outstanding = by_class[bank]
        days.append(
            FundDay(
                bank_id=bank,
                business_date=business_date,
                disbursed=disbursed_on_day,
                principal_repaid=flows[bank].get(RepaymentAllocation.Component.PRINCIPAL, 0),
                interest_collected=flows[bank].get(RepaymentAllocation.Component.INTEREST, 0),
                penalty_collected=flows[bank].get(RepaymentAllocation.Component.PENALTY, 0),
                outstanding_principal=sum(outstanding.values()),
                outstanding_by_class=dict(outstanding),
                available=fund_available(
                    allocated=allocated.get(bank, 0), principal_repaid=repaid_through, disbursed=disbursed_through
                ),
            )
        )
    return days
