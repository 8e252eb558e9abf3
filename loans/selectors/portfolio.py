"""Revolving-fund and portfolio reads: a bank's fund for a programme year, its daily
series, the portfolio's quality figures (PAR30, NPL) and the collectibility tables.

Money facts come from the ledger: repayments ``booked`` and their allocations not
undone (``undone_at`` empty), dated by the repayment's ``paid_on``; disbursements are
loans' ``principal`` dated by ``disbursed_on``; allocations are counted by their
programme ``year``. Loan quality comes from the loans' nightly-close columns
(``days_past_due``, ``collectibility``, ``arrears_*``) as of the last close. Every figure
is a handful of aggregate queries, never a loop over loans.

Rounding (the only places a fraction of a rupiah appears), all by
:func:`loans.money.div_round` half up, once, on the year's or the class's total:

* servicing fee = interest collected in the year x the bank's percent / 100;
* provision of a class = the class's outstanding principal x its provision percent / 100;
* a ratio (PAR30, NPL) = part / outstanding, to 4 decimal places.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import BigIntegerField, Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from banks.fund import fund_available
from banks.models import Allocation, Bank
from borrowers.models import Borrower, Business
from config.roles import bank_id_of, reads_all
from loans import money
from loans.collectibility import DEFAULT_TABLES, NPL_FROM_GRADE, PAR_DAYS, Grade
from loans.models import CollectibilityClass, FundDay, Loan, Repayment, RepaymentAllocation
from loans.selectors.servicing import business_date_last_closed

GRADES = (1, 2, 3, 4, 5)
#: Ratios are given to this many decimal places.
RATIO_PLACES = 4
RATIO_SCALE = 10**RATIO_PLACES

#: ``?by=`` of the portfolio: the grouping and, per grouping, the loan field holding the
#: group key and (where the name is stored, not a choice label) the field of its name.
PORTFOLIO_GROUPINGS: dict[str, tuple[str, str | None]] = {
    "bank": ("bank__code", "bank__name"),
    "kecamatan": ("borrower__kelurahan__parent_id", "borrower__kelurahan__parent__name"),
    "sector": ("application__business__sector", None),
    "sex": ("borrower__sex", None),
}
#: Names of groups whose key is a choice (their label, in the request's language).
_CHOICE_LABELS: dict[str, Any] = {"sector": Business.Sector, "sex": Borrower.Sex}


def _sum(expression: Any, condition: Q | None = None) -> Coalesce:
    """SUM of rupiah, 0 (not NULL) over no rows."""
    return Coalesce(Sum(expression, filter=condition), 0, output_field=BigIntegerField())


def percent_of(amount: int, percent: Decimal) -> int:
    """``amount`` rupiah x ``percent`` / 100, rounded half up to whole rupiah (one step,
    exactly: the percent is taken as whole hundredths). Raises ValueError for a
    percent with more than 2 decimals or below 0."""
    hundredths = percent * 100
    if hundredths != hundredths.to_integral_value() or hundredths < 0:
        raise ValueError(f"percent {percent} must be at least 0 with at most 2 decimals")
    return money.div_round(amount * int(hundredths), 100 * 100, money.HALF_UP)


def ratio(part: int, whole: int) -> Decimal:
    """``part / whole`` to 4 decimal places, rounded half up exactly (integer
    arithmetic); ``Decimal("0.0000")`` when ``whole`` is 0."""
    if whole <= 0:
        return Decimal(0).quantize(Decimal(1).scaleb(-RATIO_PLACES))
    units = money.div_round(part * RATIO_SCALE, whole, money.HALF_UP)
    return Decimal(units).scaleb(-RATIO_PLACES)


def collectibility_tables() -> dict[str, tuple[Grade, ...]]:
    """The collectibility table of each bank kind as stored (editable by the manager),
    grades 1 to 5 in order. A kind with no stored rows (a database the defaults
    migration never reached) answers its default table."""
    tables: dict[str, list[Grade]] = {kind: [] for kind in DEFAULT_TABLES}
    for row in CollectibilityClass.objects.order_by("bank_kind", "grade"):
        tables.setdefault(row.bank_kind, []).append(
            Grade(row.grade, row.name, row.min_days, Decimal(row.provision_percent))
        )
    return {kind: tuple(rows) or DEFAULT_TABLES.get(kind, ()) for kind, rows in tables.items()}


def collectibility_table(*, bank_kind: str) -> tuple[Grade, ...]:
    """The table of one bank kind (see :func:`collectibility_tables`)."""
    rows = tuple(
        Grade(row.grade, row.name, row.min_days, Decimal(row.provision_percent))
        for row in CollectibilityClass.objects.filter(bank_kind=bank_kind).order_by("grade")
    )
    return rows or DEFAULT_TABLES.get(bank_kind, ())


# --- the revolving fund -------------------------------------------------------------


@dataclass(frozen=True)
class FundYear:
    """A bank's revolving fund for one programme year, in rupiah (see
    :func:`bank_fund_year`)."""

    bank: str
    year: int
    allocation: int
    disbursed: int
    principal_repaid: int
    interest_collected: int
    penalty_collected: int
    servicing_fee_percent: Decimal
    servicing_fee: int
    owed_to_city: int
    outstanding_principal: int
    outstanding_by_class: dict[str, int]
    provisions: dict[str, int]
    written_off_principal: int
    available: int
    as_of: date | None


def bank_fund_year(*, bank: Bank, year: int) -> FundYear:
    """``bank``'s revolving fund for programme year ``year``.

    Flows of the year (1 January to 31 December): ``allocation`` (allocations of that
    programme year), ``disbursed`` (principal of loans disbursed), ``principal_repaid``,
    ``interest_collected`` and ``penalty_collected`` (booked repayments' allocations not
    undone, by the repayment's ``paid_on``). The bank keeps ``servicing_fee`` (its
    percent of the year's interest collected, rounded half up once on the year's total);
    the rest of what came back is ``owed_to_city``.

    Balances now: ``outstanding_principal`` of the open loans (active, overdue), split
    by the collectibility class of the last close, with the ``provisions`` of each class
    (its outstanding x the provision percent of the bank kind's table, rounded half up
    per class) and the principal written off.

    ``available`` = allocations of years up to ``year`` + principal repaid through 31
    December of ``year`` - principal disbursed through that day: what the bank could
    lend at the end of the year. For the current year it equals the bank's
    ``available`` counter (as long as no allocation is booked for a later year).
    """
    start, end = date(year, 1, 1), date(year, 12, 31)
    open_loan = Q(status__in=Loan.OPEN_STATUSES)
    loans = Loan.objects.filter(bank=bank).aggregate(
        disbursed=_sum("principal", Q(disbursed_on__gte=start, disbursed_on__lte=end)),
        disbursed_through=_sum("principal", Q(disbursed_on__lte=end)),
        written_off=_sum("written_off_principal", Q(status=Loan.Status.WRITTEN_OFF)),
        outstanding=_sum("outstanding_principal", open_loan),
        **{f"class_{grade}": _sum("outstanding_principal", open_loan & Q(collectibility=grade)) for grade in GRADES},
    )
    Component = RepaymentAllocation.Component
    in_year = Q(repayment__paid_on__gte=start)
    ledger = RepaymentAllocation.objects.filter(
        repayment__bank=bank,
        repayment__status=Repayment.Status.BOOKED,
        repayment__paid_on__lte=end,
        undone_at__isnull=True,
    ).aggregate(
        principal=_sum("amount", in_year & Q(component=Component.PRINCIPAL)),
        principal_through=_sum("amount", Q(component=Component.PRINCIPAL)),
        interest=_sum("amount", in_year & Q(component=Component.INTEREST)),
        penalty=_sum("amount", in_year & Q(component=Component.PENALTY)),
    )
    allocations = Allocation.objects.filter(bank=bank, year__lte=year).aggregate(
        of_year=_sum("amount", Q(year=year)), through=_sum("amount")
    )
    table = {row.grade: row.provision_percent for row in collectibility_table(bank_kind=bank.kind)}

    by_class = {str(grade): int(loans[f"class_{grade}"]) for grade in GRADES}
    fee_percent = Decimal(bank.servicing_fee_percent)
    fee = percent_of(ledger["interest"], fee_percent)
    return FundYear(
        bank=bank.code,
        year=year,
        allocation=allocations["of_year"],
        disbursed=loans["disbursed"],
        principal_repaid=ledger["principal"],
        interest_collected=ledger["interest"],
        penalty_collected=ledger["penalty"],
        servicing_fee_percent=fee_percent,
        servicing_fee=fee,
        owed_to_city=ledger["principal"] + ledger["interest"] + ledger["penalty"] - fee,
        outstanding_principal=loans["outstanding"],
        outstanding_by_class=by_class,
        provisions={key: percent_of(amount, table.get(int(key), Decimal(0))) for key, amount in by_class.items()},
        written_off_principal=loans["written_off"],
        available=fund_available(
            allocated=allocations["through"],
            principal_repaid=ledger["principal_through"],
            disbursed=loans["disbursed_through"],
        ),
        as_of=business_date_last_closed(),
    )


def bank_fund_days(*, bank: Bank, date_from: date, date_to: date) -> QuerySet[FundDay]:
    """``bank``'s fund at the close of each business date from ``date_from`` to
    ``date_to`` (inclusive), oldest first, as the nightly close stored it."""
    return FundDay.objects.filter(bank=bank, business_date__gte=date_from, business_date__lte=date_to).order_by(
        "business_date"
    )


def classes_of(stored: dict[str, Any]) -> dict[str, int]:
    """A stored ``{"1": rupiah, ...}`` with all five classes (0 where absent)."""
    return {str(grade): int(stored.get(str(grade), 0) or 0) for grade in GRADES}


# --- portfolio quality ----------------------------------------------------------------


@dataclass(frozen=True)
class PortfolioFigures:
    """Open loans' figures in rupiah, with PAR30 and NPL as ratios of the outstanding."""

    loans: int = 0
    outstanding: int = 0
    par30_outstanding: int = 0
    npl_outstanding: int = 0
    arrears: int = 0
    key: str | None = None
    name: str = ""

    @property
    def par30(self) -> Decimal:
        return ratio(self.par30_outstanding, self.outstanding)

    @property
    def npl(self) -> Decimal:
        return ratio(self.npl_outstanding, self.outstanding)


@dataclass(frozen=True)
class Portfolio:
    as_of: date | None
    totals: PortfolioFigures
    groups: list[PortfolioFigures] = field(default_factory=list)


def portfolio_loans(*, user: Any) -> QuerySet[Loan]:
    """The open loans (active, overdue) in ``user``'s scope: all for the city office,
    auditors and the manager; their bank's for bank staff; none for anyone else."""
    loans = Loan.objects.filter(status__in=Loan.OPEN_STATUSES)
    if reads_all(user):
        return loans
    bank_id = bank_id_of(user)
    return loans.filter(bank_id=bank_id) if bank_id is not None else loans.none()


def _figures() -> dict[str, Any]:
    return {
        "loans": Count("id"),
        "outstanding": _sum("outstanding_principal"),
        "par30_outstanding": _sum("outstanding_principal", Q(days_past_due__gt=PAR_DAYS)),
        "npl_outstanding": _sum("outstanding_principal", Q(collectibility__gte=NPL_FROM_GRADE)),
        "arrears": _sum(F("arrears_principal") + F("arrears_interest") + F("arrears_penalty")),
    }


def portfolio(*, user: Any, by: str | None = None) -> Portfolio:
    """The quality of the open loans ``user`` may see, from the last close's columns:
    how many, the outstanding principal, PAR30 (the whole outstanding principal of loans
    more than 30 days past due, over all outstanding), NPL (outstanding of loans in
    class 3 to 5, over all outstanding) and the arrears (principal + interest +
    penalty). With ``by`` (a key of :data:`PORTFOLIO_GROUPINGS`) the same per group,
    groups ordered by key, and the totals are the groups' sums: one aggregate query.

    Raises ValueError for an unknown ``by``.
    """
    loans = portfolio_loans(user=user)
    as_of = business_date_last_closed()
    if by is None:
        return Portfolio(as_of=as_of, totals=PortfolioFigures(**loans.aggregate(**_figures())))
    if by not in PORTFOLIO_GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}")
    key_field, name_field = PORTFOLIO_GROUPINGS[by]
    columns: dict[str, Any] = {"group_key": F(key_field)}
    if name_field:
        columns["group_name"] = F(name_field)
    grouped: QuerySet[Any] = loans.values(**columns)
    rows: list[dict[str, Any]] = list(grouped.annotate(**_figures()).order_by("group_key"))
    labels = dict(_CHOICE_LABELS[by].choices) if by in _CHOICE_LABELS else {}
    groups = [
        PortfolioFigures(
            key=row["group_key"],
            name=str(row.get("group_name") or labels.get(row["group_key"], row["group_key"] or "")),
            loans=row["loans"],
            outstanding=row["outstanding"],
            par30_outstanding=row["par30_outstanding"],
            npl_outstanding=row["npl_outstanding"],
            arrears=row["arrears"],
        )
        for row in rows
    ]
    totals = PortfolioFigures(
        **{
            name: sum(getattr(group, name) for group in groups)
            for name in ("loans", "outstanding", "par30_outstanding", "npl_outstanding", "arrears")
        }
    )
    return Portfolio(as_of=as_of, totals=totals, groups=groups)
