"""Reads for the programme report (reports/kinds/programme.py): the city's whole
programme over a period. Every figure is a grouped aggregate query (PostgreSQL and
SQLite alike), never a loop over loans; only the stage waits read the applications'
workflow events, once, and derive the stages with :func:`loans.presenters.stage_times`.

Dates of moments (submitted, approved, ended) are taken in Asia/Jakarta: a period runs
from its first day 00:00 to the day after its last 00:00 there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import BigIntegerField, Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth

from audit.models import AuditEntry
from banks.fund import fund_available
from banks.models import Allocation, Bank
from borrowers.models import Borrower, Business
from config.clock import BUSINESS_TIME_ZONE
from loans.models import Application, FundDay, Loan, LoanSnapshot, Repayment, RepaymentAllocation
from loans.presenters import stage_times
from loans.selectors.portfolio import PortfolioFigures, ratio
from loans.selectors.portfolio import _figures as portfolio_figures
from loans.selectors.servicing import business_date_last_closed
from reports.periods import Period

State = Application.State

#: The application's stages, in order: the wait in each is the time from entering it to
#: entering the next (submitted -> field verified -> forwarded -> credit checked ->
#: approved -> disbursed).
STAGES: tuple[str, ...] = (
    State.SUBMITTED,
    State.FIELD_VERIFIED,
    State.FORWARDED,
    State.CREDIT_CHECKED,
    State.APPROVED,
)

#: ``by`` of :func:`application_counts`: the application field holding the group key and
#: (where the name is stored, not a choice) the field of its name.
GROUPINGS: dict[str, tuple[str, str | None]] = {
    "bank": ("bank__code", "bank__name"),
    "kecamatan": ("borrower__kelurahan__parent_id", "borrower__kelurahan__parent__name"),
    "sector": ("business__sector", None),
    "sex": ("borrower__sex", None),
}
CHOICES: dict[str, Any] = {"sector": Business.Sector, "sex": Borrower.Sex}
SECONDS_PER_DAY = 86_400


def _sum(expression: Any, condition: Q | None = None) -> Coalesce:
    return Coalesce(Sum(expression, filter=condition), 0, output_field=BigIntegerField())


def moments(period: Period) -> tuple[datetime, datetime]:
    """The period as ``[start, end)`` moments in Asia/Jakarta."""
    start = datetime.combine(period.start, time.min, tzinfo=BUSINESS_TIME_ZONE)
    end = datetime.combine(period.end + timedelta(days=1), time.min, tzinfo=BUSINESS_TIME_ZONE)
    return start, end


def last_closed_on(day: date) -> date | None:
    """The last closed business date on or before ``day`` (None when none)."""
    last = business_date_last_closed()
    if last is None:
        return None
    return min(last, day)


# --- applications ---------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    key: str
    name: str
    received: int = 0
    approved: int = 0
    rejected: int = 0
    withdrawn: int = 0
    disbursed: int = 0
    disbursed_amount: int = 0


COUNT_FIELDS = ("received", "approved", "rejected", "withdrawn", "disbursed", "disbursed_amount")


def _conditions(period: Period) -> dict[str, Q]:
    start, end = moments(period)
    ended = Q(state_changed_at__gte=start, state_changed_at__lt=end)
    return {
        "received": Q(submitted_at__gte=start, submitted_at__lt=end),
        "approved": Q(approved_at__gte=start, approved_at__lt=end),
        "rejected": ended & Q(state=State.REJECTED),
        "withdrawn": ended & Q(state=State.WITHDRAWN),
        "disbursed": Q(disbursed_on__gte=period.start, disbursed_on__lte=period.end, loan__isnull=False),
    }


def application_counts(*, period: Period, by: str) -> list[Counts]:
    """Applications of the period by ``by`` (a key of :data:`GROUPINGS`): received
    (submitted in the period), approved (approved in the period), rejected and withdrawn
    (ended so in the period), disbursed (paid out in the period; count and principal).
    One grouped query; groups ordered by key."""
    key_field, name_field = GROUPINGS[by]
    conditions = _conditions(period)
    anything = Q()
    for condition in conditions.values():
        anything |= condition
    columns: dict[str, Any] = {"group_key": F(key_field)}
    if name_field:
        columns["group_name"] = F(name_field)
    grouped: QuerySet[Any] = Application.objects.filter(anything).values(**columns)
    rows: list[dict[str, Any]] = list(
        grouped.annotate(
            **{name: Count("id", filter=condition) for name, condition in conditions.items()},
            disbursed_amount=_sum("loan__principal", conditions["disbursed"]),
        ).order_by("group_key")
    )
    labels = {str(value): str(label) for value, label in CHOICES[by].choices} if by in CHOICES else {}
    return [
        Counts(
            key=str(row["group_key"] or ""),
            name=str(row.get("group_name") or labels.get(row["group_key"], row["group_key"] or "")),
            **{name: int(row[name]) for name in COUNT_FIELDS},
        )
        for row in rows
    ]


def rejection_reasons(*, period: Period) -> list[tuple[str, int]]:
    """The reasons of applications rejected in the period with how many, most first."""
    start, end = moments(period)
    rows = (
        Application.objects.filter(state=State.REJECTED, state_changed_at__gte=start, state_changed_at__lt=end)
        .values("end_reason")
        .annotate(count=Count("id"))
        .order_by("-count", "end_reason")
    )
    return [(str(row["end_reason"]), int(row["count"])) for row in rows]


# --- stage waits ------------------------------------------------------------------------


def percentile(values: Sequence[float | int | Decimal], fraction: Decimal | str) -> Decimal | None:
    """The ``fraction`` percentile of ``values`` (0.5: the median; 0.9: the 90th) by linear
    interpolation between the closest ranks (rank = fraction x (n - 1), as numpy and
    spreadsheets' PERCENTILE.INC do), exact in Decimal; None for no values."""
    if not values:
        return None
    ordered = sorted(Decimal(str(value)) for value in values)
    rank = Decimal(fraction) * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def days_2(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def stage_waits(*, period: Period) -> dict[str, list[Decimal]]:
    """For each stage of :data:`STAGES`, the waits in days of the applications that left
    it during the period (entering the next state), from the audit trail by
    :func:`loans.presenters.stage_times`. One query for the events."""
    start, end = moments(period)
    moved = AuditEntry.objects.filter(at__gte=start, at__lt=end, application__isnull=False).exclude(to_state="")
    events = (
        AuditEntry.objects.filter(application_id__in=moved.values("application_id"))
        .exclude(to_state="")
        .order_by("application_id", "at", "id")
    )
    by_application: dict[int, list[AuditEntry]] = {}
    for event in events:
        if event.application_id is not None:
            by_application.setdefault(event.application_id, []).append(event)
    applications = Application.objects.in_bulk(list(by_application))
    waits: dict[str, list[Decimal]] = {stage: [] for stage in STAGES}
    for application_id, trail in by_application.items():
        for stage in stage_times(applications[application_id], trail, end):
            left = stage["left_at"]
            if stage["state"] in waits and left is not None and start <= left < end:
                waits[stage["state"]].append(Decimal(stage["seconds"]) / SECONDS_PER_DAY)
    return waits


@dataclass(frozen=True)
class StageFigures:
    stage: str
    count: int
    median: Decimal | None
    p90: Decimal | None


def stage_figures(waits: dict[str, list[Decimal]]) -> list[StageFigures]:
    """Median and 90th percentile in days (2 places) per stage."""
    return [
        StageFigures(
            stage=stage,
            count=len(waits.get(stage, [])),
            median=days_2(percentile(waits.get(stage, []), "0.5")),
            p90=days_2(percentile(waits.get(stage, []), "0.9")),
        )
        for stage in STAGES
    ]


# --- the fund ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FundUse:
    bank: str
    name: str
    allocated: int
    disbursed: int
    repaid: int
    outstanding: int
    available: int


def fund_use(*, period: Period) -> tuple[date | None, list[FundUse]]:
    """Each bank's fund over the period: allocated (allocations of programme years up to
    the period's year), principal disbursed and repaid in the period (loans paid out;
    booked repayments' principal not undone, by ``paid_on``, as the fund year counts
    them), and outstanding and available at the period's last closed day (its FundDay rows).
    Returns that day (None: no close yet) and the banks by code."""
    day = last_closed_on(period.end)
    banks = list(Bank.objects.order_by("code"))
    allocated = {
        row["bank_id"]: int(row["amount"])
        for row in Allocation.objects.filter(year__lte=period.end.year)
        .values("bank_id")
        .annotate(amount=_sum("amount"))
        .order_by()
    }
    disbursed = {
        row["bank_id"]: int(row["amount"])
        for row in Loan.objects.filter(disbursed_on__gte=period.start, disbursed_on__lte=period.end)
        .values("bank_id")
        .annotate(amount=_sum("principal"))
        .order_by()
    }
    repaid = {
        row["repayment__bank_id"]: int(row["amount"])
        for row in RepaymentAllocation.objects.filter(
            repayment__status=Repayment.Status.BOOKED,
            repayment__paid_on__gte=period.start,
            repayment__paid_on__lte=period.end,
            undone_at__isnull=True,
            component=RepaymentAllocation.Component.PRINCIPAL,
        )
        .values("repayment__bank_id")
        .annotate(amount=_sum("amount"))
        .order_by()
    }
    closing = {
        row.bank_id: row for row in (FundDay.objects.filter(business_date=day) if day else FundDay.objects.none())
    }
    result = []
    for bank in banks:
        end = closing.get(bank.pk)
        result.append(
            FundUse(
                bank=bank.code,
                name=bank.name,
                allocated=allocated.get(bank.pk, 0),
                disbursed=disbursed.get(bank.pk, 0),
                repaid=repaid.get(bank.pk, 0),
                outstanding=end.outstanding_principal if end else 0,
                available=end.available if end else fund_available(allocated=0, principal_repaid=0, disbursed=0),
            )
        )
    return day, result


# --- portfolio quality by month ---------------------------------------------------------


@dataclass(frozen=True)
class MonthQuality:
    month: Period
    as_of: date | None
    disbursed: int
    outstanding: int
    par30_outstanding: int
    npl_outstanding: int

    @property
    def par30(self) -> Decimal:
        """PAR30 as a percent, 2 places (the portfolio's ratio rule x 100)."""
        return percent_2(ratio(self.par30_outstanding, self.outstanding))

    @property
    def npl(self) -> Decimal:
        return percent_2(ratio(self.npl_outstanding, self.outstanding))


def percent_2(fraction: Decimal) -> Decimal:
    """A 4-place ratio as a percent with 2 places (exact: 0.1234 -> 12.34)."""
    return (fraction * 100).quantize(Decimal("0.01"))


def share(part: int, whole: int) -> Decimal:
    """``part / whole`` as a percent with 2 places (the portfolio's ratio rule, half up);
    0.00 when ``whole`` is 0."""
    return percent_2(ratio(part, whole))


def snapshot_quality(days: Iterable[date]) -> dict[date, PortfolioFigures]:
    """The open loans' figures in the snapshots of each of ``days``, by the portfolio's
    own aggregate (:func:`loans.selectors.portfolio._figures`: PAR30 = outstanding of
    loans more than 30 days past due, NPL = outstanding of classes 3 to 5, over the
    outstanding), on the stored history instead of the last close's columns. One
    grouped query."""
    grouped: QuerySet[Any] = LoanSnapshot.objects.filter(
        business_date__in=list(days), status__in=Loan.OPEN_STATUSES
    ).values("business_date")
    rows: list[dict[str, Any]] = list(grouped.annotate(**portfolio_figures()).order_by())
    return {row.pop("business_date"): PortfolioFigures(**row) for row in rows}


def monthly_quality(*, months: Sequence[Period]) -> list[MonthQuality]:
    """Per month: principal disbursed in it, and outstanding, PAR30 and NPL at its last
    closed day (from the loans' snapshots). Two grouped queries."""
    if not months:
        return []
    last = business_date_last_closed()
    days = {month.code: (min(last, month.end) if last and last >= month.start else None) for month in months}
    quality = snapshot_quality(day for day in days.values() if day)
    disbursed = {
        row["month"].strftime("%Y-%m"): int(row["amount"])
        for row in Loan.objects.filter(disbursed_on__gte=months[0].start, disbursed_on__lte=months[-1].end)
        .annotate(month=TruncMonth("disbursed_on"))
        .values("month")
        .annotate(amount=_sum("principal"))
        .order_by()
    }
    result = []
    for month in months:
        day = days[month.code]
        figures = quality.get(day, PortfolioFigures()) if day else PortfolioFigures()
        result.append(
            MonthQuality(
                month=month,
                as_of=day,
                disbursed=disbursed.get(month.code, 0),
                outstanding=figures.outstanding,
                par30_outstanding=figures.par30_outstanding,
                npl_outstanding=figures.npl_outstanding,
            )
        )
    return result


def outstanding_by_kecamatan(*, day: date | None) -> list[tuple[str, str, int, int]]:
    """Open loans' outstanding principal at the close of ``day`` by the borrower's
    kecamatan: (code, name, loans, rupiah), by code."""
    if day is None:
        return []
    rows = (
        LoanSnapshot.objects.filter(business_date=day, status__in=Loan.OPEN_STATUSES)
        .values(code=F("loan__borrower__kelurahan__parent_id"), name=F("loan__borrower__kelurahan__parent__name"))
        .annotate(loans=Count("id"), amount=_sum("outstanding_principal"))
        .order_by("code")
    )
    return [(str(row["code"] or ""), str(row["name"] or ""), int(row["loans"]), int(row["amount"])) for row in rows]


# --- repeat borrowers -------------------------------------------------------------------


def repeat_borrowers(*, period: Period) -> tuple[int, int]:
    """Of the borrowers with a loan disbursed in the period, how many took it after an
    earlier loan of theirs was paid off (closed on or before that disbursement): (repeat,
    all). Two aggregate queries."""
    in_period = Loan.objects.filter(disbursed_on__gte=period.start, disbursed_on__lte=period.end)
    earlier_paid = Loan.objects.filter(
        borrower_id=OuterRef("borrower_id"),
        status=Loan.Status.PAID_OFF,
        closed_on__lte=OuterRef("disbursed_on"),
    ).exclude(pk=OuterRef("pk"))
    everyone = in_period.aggregate(n=Count("borrower_id", distinct=True))["n"]
    repeat = in_period.filter(Exists(earlier_paid)).aggregate(n=Count("borrower_id", distinct=True))["n"]
    return int(repeat), int(everyone)
