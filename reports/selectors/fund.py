"""The revolving fund's flows over a period, from the ledger: the roll-forward
(opening outstanding + disbursed - principal repaid - written off = closing
outstanding), what came back and how it splits between the bank's fee and the city,
recoveries, and the fund available at the end. Shared by the bank monthly report and
the city's books (one rule, one function).

**The ledger.** Disbursements are loans' ``principal`` dated by ``disbursed_on``; money
that came back is the allocations of ``booked`` repayments not undone (``undone_at``
empty), dated by the repayment's ``paid_on`` (a backdated repayment counts on the day it
is dated; a reversed one counts nowhere); a write-off is dated by ``written_off_on``.

**Outstanding principal at the end of day D** (what the close's snapshots and fund days
hold for D): for every loan disbursed on or before D and not written off on or before D,
its principal less the principal allocations dated on or before D. A loan leaves the
outstanding on its write-off date. It is read as the close reads it: the loans' current
``outstanding_principal`` (principal less every principal allocation) plus the principal
allocations dated after D, so only allocations dated from the period's start on are
read (fast for 100,000 loans, and right on a database holding only recent repayments).

**Write-off and recoveries.** Principal paid on a written-off loan dated on or before
its ``written_off_on`` is ordinary principal repaid; ``written_off`` is the principal
still outstanding after that day's payments (principal - principal paid through the
write-off date). That equals the loan's ``written_off_principal`` unless a repayment
dated on or before the write-off date was booked after it (or one dated after it before
it): the figures here follow the dates, so the roll-forward ties. Principal paid after
the write-off date is ``recovered``: outside the roll-forward (the loan is out of the
outstanding already) but, like all principal, back in the revolving fund
(``available``) and a financing receipt of the city. Interest and penalties paid on a
written-off loan count in ``interest_collected`` and ``penalty_collected`` like any
other (as the bank's ``interest_collected`` counter and the fund days count them).

**The banks' fee** (:func:`servicing_fee`): each bank's ``servicing_fee_percent`` (its
current setting) of the *interest* collected, per bank per calendar month, rounded half
up once on the month's total (:func:`loans.selectors.portfolio.percent_of`, i.e.
:func:`loans.money.div_round`). Penalties are not shared: they go to the city whole. A
quarter's or a year's fee is the sum of its months' fees and all banks' fee the sum of
the banks' fees, so the fee a bank's monthly reports deducted adds up exactly to the
city's quarter and year. (``bank_fund_year`` rounds once on the year instead; the two
can differ by a few rupiah.)

**Available** (:func:`banks.fund.fund_available`): allocations created on or before the
period's last day (Asia/Jakarta) + principal repaid through that day (recoveries
included: the bank's ``principal_repaid`` counter less principal dated after that day)
- principal disbursed through it: the ``available`` of that day's fund day, by the
same rule as :func:`loans.services.close.fund_days.fund_days`.

Every figure is a few grouped aggregate queries over the whole portfolio (by bank),
never a loop over loans.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import BigIntegerField, F, Q, Sum
from django.db.models.functions import Coalesce

from banks.fund import fund_available
from banks.models import Allocation, Bank
from config.clock import BUSINESS_TIME_ZONE
from loans.models import Loan, Repayment, RepaymentAllocation
from loans.selectors.portfolio import percent_of
from reports.periods import Period

PRINCIPAL = RepaymentAllocation.Component.PRINCIPAL
INTEREST = RepaymentAllocation.Component.INTEREST
PENALTY = RepaymentAllocation.Component.PENALTY


@dataclass(frozen=True)
class FundFlows:
    """The fund over ``start`` to ``end`` (inclusive), in rupiah. See the module's text
    for how each figure is counted."""

    start: date
    end: date
    opening_outstanding: int  # outstanding principal at the end of the day before start
    disbursed: int  # principal paid out in the period
    principal_repaid: int  # principal of booked, not-undone repayments, by paid_on (recoveries apart)
    written_off: int  # principal written off in the period
    closing_outstanding: int  # == opening + disbursed - principal_repaid - written_off
    interest_collected: int
    penalty_collected: int
    bank_fee: int  # the banks' servicing fee: a percent of interest (not penalties), per bank per month
    city_share: int  # interest + penalties - bank_fee ("hasil pengelolaan dana bergulir")
    recovered: int  # principal recovered on written-off loans (paid after the write-off date)
    transferred: int | None  # transfers to the city recorded for the period; None: none recorded (no model)
    available: int  # available to lend at the period's end (banks/fund.py fund_available)

    @property
    def principal_returned(self) -> int:
        """All principal that came back in the period: repaid plus recovered (the city's
        financing receipt)."""
        return self.principal_repaid + self.recovered

    @property
    def owed_to_city(self) -> int:
        """What came back less the banks' fee: principal returned + the city's share."""
        return self.principal_returned + self.city_share

    @property
    def rolls_forward(self) -> bool:
        """Whether opening + disbursed - repaid - written off == closing."""
        return (
            self.opening_outstanding + self.disbursed - self.principal_repaid - self.written_off
            == self.closing_outstanding
        )


_AMOUNTS = tuple(field.name for field in fields(FundFlows) if field.name not in ("start", "end", "transferred"))


def flows_total(flows: Iterable[FundFlows], *, start: date, end: date) -> FundFlows:
    """The sum of several banks' flows over the same period (every amount added;
    ``transferred`` None unless some bank's is recorded)."""
    items = list(flows)
    transferred = [item.transferred for item in items if item.transferred is not None]
    totals: dict[str, Any] = {name: sum(getattr(item, name) for item in items) for name in _AMOUNTS}
    return FundFlows(start=start, end=end, transferred=sum(transferred) if transferred else None, **totals)


def _sum(expression: Any, condition: Q | None = None) -> Coalesce:
    return Coalesce(Sum(expression, filter=condition), 0, output_field=BigIntegerField())


def servicing_fee(*, interest_by_month: Iterable[int], percent: Decimal) -> int:
    """A bank's servicing fee over a period: ``percent`` of each calendar month's
    interest collected, rounded half up once per month
    (:func:`loans.selectors.portfolio.percent_of`), summed over the months."""
    return sum(percent_of(interest, Decimal(percent)) for interest in interest_by_month)


def fund_flows(*, period: Period, bank_id: int | None = None) -> FundFlows:
    """The fund's flows over ``period`` for one bank (``bank_id``) or all banks (None:
    the sum of every bank's flows, so all banks = the sum of the banks exactly).
    Raises Bank.DoesNotExist for an unknown ``bank_id``."""
    by_bank = fund_flows_by_bank(period=period, bank_ids=None if bank_id is None else [bank_id])
    if bank_id is not None:
        if bank_id not in by_bank:
            raise Bank.DoesNotExist(f"no bank {bank_id}")
        return by_bank[bank_id]
    return flows_total(by_bank.values(), start=period.start, end=period.end)


def fund_flows_by_bank(*, period: Period, bank_ids: Iterable[int] | None = None) -> dict[int, FundFlows]:
    """Each bank's flows over ``period`` (every bank, or those of ``bank_ids``), by bank
    id in code order. Four queries (the banks, then three grouped by bank: the loans,
    the allocations dated from the period's start on, the allocations of money to the
    banks) whatever the number of loans."""
    start, end = period.start, period.end
    before = start - timedelta(days=1)
    banks = Bank.objects.order_by("code")
    if bank_ids is not None:
        banks = banks.filter(pk__in=list(bank_ids))
    bank_rows = list(banks.values_list("pk", "servicing_fee_percent", "principal_repaid"))
    ids = [pk for pk, _fee, _repaid in bank_rows]
    fee_percent = {pk: fee for pk, fee, _repaid in bank_rows}
    repaid_counter = {pk: counter for pk, _fee, counter in bank_rows}
    months = period.months() if period.kind != "month" else [period]

    def in_book(day: date, prefix: str = "") -> Q:
        """Loans counted in the outstanding at the end of ``day``."""
        return Q(**{f"{prefix}disbursed_on__lte": day}) & (
            Q(**{f"{prefix}written_off_on__isnull": True}) | Q(**{f"{prefix}written_off_on__gt": day})
        )

    written_off_in_period = Q(written_off_on__gte=start, written_off_on__lte=end)
    loans = _by_bank(
        Loan.objects.filter(bank_id__in=ids)
        .values("bank_id")
        .annotate(
            disbursed=_sum("principal", Q(disbursed_on__gte=start, disbursed_on__lte=end)),
            disbursed_through=_sum("principal", Q(disbursed_on__lte=end)),
            opening_now=_sum("outstanding_principal", in_book(before)),
            closing_now=_sum("outstanding_principal", in_book(end)),
            written_off_now=_sum("outstanding_principal", written_off_in_period),
        )
        .order_by(),
        "bank_id",
    )

    # Principal paid from the period's start on: what the loans' outstanding gives back
    # for a day before it was paid, the period's repayments and recoveries.
    paid_on = "repayment__paid_on"
    loan = "repayment__loan__"
    written_off_on = f"{loan}written_off_on"
    in_period = Q(**{f"{paid_on}__gte": start, f"{paid_on}__lte": end})
    after_end = Q(**{f"{paid_on}__gt": end})
    not_yet_written_off = Q(**{f"{written_off_on}__isnull": True}) | Q(**{f"{paid_on}__lte": F(written_off_on)})
    principal = Q(component=PRINCIPAL)
    ledger = _by_bank(
        RepaymentAllocation.objects.filter(
            repayment__bank_id__in=ids,
            repayment__status=Repayment.Status.BOOKED,
            undone_at__isnull=True,
            **{f"{paid_on}__gte": start},
        )
        .values("repayment__bank_id")
        .annotate(
            opening_later=_sum("amount", principal & in_book(before, loan)),
            closing_later=_sum("amount", principal & after_end & in_book(end, loan)),
            repaid=_sum("amount", principal & in_period & not_yet_written_off),
            recovered=_sum("amount", principal & in_period & ~not_yet_written_off),
            written_off_later=_sum(
                "amount",
                principal
                & Q(**{f"{written_off_on}__gte": start, f"{written_off_on}__lte": end})
                & Q(**{f"{paid_on}__gt": F(written_off_on)}),
            ),
            repaid_after_end=_sum("amount", principal & after_end),
            penalty=_sum("amount", Q(component=PENALTY) & in_period),
            **{
                f"interest_{month.code}": _sum(
                    "amount",
                    Q(component=INTEREST, **{f"{paid_on}__gte": month.start, f"{paid_on}__lte": month.end}),
                )
                for month in months
            },
        )
        .order_by(),
        "repayment__bank_id",
    )
    next_day = datetime.combine(end + timedelta(days=1), time.min, tzinfo=BUSINESS_TIME_ZONE)
    allocated = _by_bank(
        Allocation.objects.filter(bank_id__in=ids, created_at__lt=next_day)
        .values("bank_id")
        .annotate(allocated=_sum("amount"))
        .order_by(),
        "bank_id",
    )

    result: dict[int, FundFlows] = {}
    for bank in ids:
        lent, back = loans.get(bank, {}), ledger.get(bank, {})
        interest_by_month = [int(back.get(f"interest_{month.code}", 0)) for month in months]
        interest = sum(interest_by_month)
        penalty = int(back.get("penalty", 0))
        fee = servicing_fee(interest_by_month=interest_by_month, percent=fee_percent[bank])
        result[bank] = FundFlows(
            start=start,
            end=end,
            opening_outstanding=int(lent.get("opening_now", 0)) + int(back.get("opening_later", 0)),
            disbursed=int(lent.get("disbursed", 0)),
            principal_repaid=int(back.get("repaid", 0)),
            written_off=int(lent.get("written_off_now", 0)) + int(back.get("written_off_later", 0)),
            closing_outstanding=int(lent.get("closing_now", 0)) + int(back.get("closing_later", 0)),
            interest_collected=interest,
            penalty_collected=penalty,
            bank_fee=fee,
            city_share=interest + penalty - fee,
            recovered=int(back.get("recovered", 0)),
            transferred=None,
            available=fund_available(
                allocated=int(allocated.get(bank, {}).get("allocated", 0)),
                principal_repaid=int(repaid_counter[bank]) - int(back.get("repaid_after_end", 0)),
                disbursed=int(lent.get("disbursed_through", 0)),
            ),
        )
    return result


def _by_bank(rows: Iterable[Mapping[str, Any]], key: str) -> dict[int, dict[str, Any]]:
    return {int(row[key]): dict(row) for row in rows}
