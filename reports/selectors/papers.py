"""Reads for the borrower's papers (reports/kinds/statement.py, receipt.py,
settlement.py): a loan's installment card as of a date, a repayment's receipt, a
paid-off loan's settlement. A few queries each, never a loop of queries.

The rules are the loans' own: what is owed of an installment
(:func:`loans.services.repayments.owed_of`), days past due
(:func:`loans.arrears.days_past_due`), the pay-off amount
(:func:`loans.waterfall.payoff_quote` under the product's rule, as
``GET loans/{id}/payoff/`` answers). No rounding happens here: every amount is a sum
or difference of whole rupiah already stored.

**A card as of a date D** (D not after today) counts the repayments dated on or before
D: the stored paid columns of the current schedule version, less what active
allocations of repayments dated after D put there (and less a pay-off's interest
waiver when the pay-off is after D). An installment is settled as of D when its
``paid_on`` is on or before D. Arrears as of D are the unpaid principal, interest and
penalty of installments due on or before D, as :func:`loans.selectors.servicing.loan_arrears`
(so today's card equals the loan API's arrears). Penalties are those the nightly close
has charged: when a charge was made is not kept (only ``penalty_through``), so a card
for an earlier date shows penalties charged since too, as the close's own recomputation
of an earlier date does. A date before a deferral that repayments after it were booked
under cannot be shown on the current schedule and is refused.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db.models import BigIntegerField, Q, Sum
from django.db.models.functions import Coalesce

from loans import waterfall
from loans.arrears import days_past_due
from loans.models import Installment, Loan, Repayment, RepaymentAllocation
from loans.selectors.servicing import Arrears
from loans.services.repayments import owed_of

Component = RepaymentAllocation.Component
_PAID_FIELD = {
    Component.PRINCIPAL: "principal_paid",
    Component.INTEREST: "interest_paid",
    Component.PENALTY: "penalty_paid",
}


class PaperError(Exception):
    """The paper cannot be made: ``field`` names the request field, ``reason`` a key of
    the kind's LABELS, ``values`` what the message shows."""

    def __init__(self, field: str, reason: str, **values: object) -> None:
        super().__init__(reason)
        self.field, self.reason, self.values = field, reason, values


def paper_loan(loan_id: int) -> Loan:
    """The loan with its borrower, business, bank and terms (one query). Raises
    PaperError (``loan``, ``missing``) when there is none."""
    loan = Loan.objects.select_related("borrower", "application__business", "bank", "terms").filter(pk=loan_id).first()
    if loan is None:
        raise PaperError("loan", "missing")
    return loan


# --- the installment card -------------------------------------------------------------


@dataclass(frozen=True)
class CardRow:
    """One installment as of the card's date (rupiah). ``paid_on`` is the date its
    principal and interest were settled (None while not, as of the date);
    ``last_paid_on`` the date of the last repayment that paid anything of it."""

    number: int
    due_date: date
    principal: int
    interest: int
    principal_paid: int
    interest_paid: int
    interest_waived: int
    penalty: int
    penalty_paid: int
    paid_on: date | None
    last_paid_on: date | None

    @property
    def installment(self) -> int:
        return self.principal + self.interest

    @property
    def left(self) -> int:
        """Still owed on it: principal, interest (less any waived) and penalty."""
        return (
            self.principal
            - self.principal_paid
            + self.interest
            - self.interest_paid
            - self.interest_waived
            + self.penalty
            - self.penalty_paid
        )


@dataclass(frozen=True)
class Card:
    loan: Loan
    as_of: date
    rows: list[CardRow]
    #: Repayments dated on or before ``as_of`` (reversed ones too), oldest first.
    repayments: list[Repayment]
    outstanding_principal: int
    arrears: Arrears
    payoff: waterfall.PayoffQuote
    #: The date the loan was paid off, when it was by ``as_of``.
    paid_off_on: date | None
    #: The last business date the close charged penalties for (None: never).
    penalty_through: date | None


def loan_card(*, loan: Loan, as_of: date) -> Card:
    """The installment card of ``loan`` (from :func:`paper_loan`) as of ``as_of`` (three
    queries: installments, repayments, allocations). Raises PaperError (``as_of``,
    ``before_deferral``) for a date before a deferral with repayments after it."""
    repayments = list(Repayment.objects.filter(loan=loan).select_related("created_by").order_by("paid_on", "id"))
    booked_after = [r for r in repayments if r.status == Repayment.Status.BOOKED and r.paid_on > as_of]
    if any(r.schedule_version != loan.schedule_version for r in booked_after):
        raise PaperError("as_of", "before_deferral")
    rows = list(Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version).order_by("number"))
    allocations = RepaymentAllocation.objects.filter(
        installment__loan=loan,
        installment__schedule_version=loan.schedule_version,
        undone_at__isnull=True,
        repayment__status=Repayment.Status.BOOKED,
    ).values_list("installment_id", "component", "amount", "repayment__paid_on")
    later: dict[tuple[int, str], int] = defaultdict(int)
    last_paid: dict[int, date] = {}
    for installment_id, component, amount, paid_on in allocations:
        if paid_on > as_of:
            later[installment_id, component] += amount
        elif installment_id not in last_paid or paid_on > last_paid[installment_id]:
            last_paid[installment_id] = paid_on
    waiver_later = any(r.payoff for r in booked_after)
    for row in rows:  # in memory only: the rows as of the date
        for component, field in _PAID_FIELD.items():
            setattr(row, field, getattr(row, field) - later.get((row.pk, component), 0))
        if waiver_later:
            row.interest_waived = 0
        if row.paid_on is not None and row.paid_on > as_of:
            row.paid_on = None
    owed = [owed_of(row) for row in rows]
    due = [item for row, item in zip(rows, owed, strict=True) if row.due_date <= as_of]
    oldest_open = min((row.due_date for row in rows if row.paid_on is None), default=None)
    arrears = Arrears(
        on=as_of,
        principal=sum(item.principal for item in due),
        interest=sum(item.interest for item in due),
        penalty=sum(item.penalty for item in due),
        days_past_due=days_past_due(as_of, oldest_open),
    )
    payoff = waterfall.payoff_quote(owed, as_of, rule=loan.terms.payoff_interest)
    settled = bool(rows) and all(row.paid_on is not None for row in rows)
    return Card(
        loan=loan,
        as_of=as_of,
        rows=[
            CardRow(
                number=row.number,
                due_date=row.due_date,
                principal=row.principal,
                interest=row.interest,
                principal_paid=row.principal_paid,
                interest_paid=row.interest_paid,
                interest_waived=row.interest_waived,
                penalty=row.penalty,
                penalty_paid=row.penalty_paid,
                paid_on=row.paid_on,
                last_paid_on=last_paid.get(row.pk, row.paid_on),
            )
            for row in rows
        ],
        repayments=[r for r in repayments if r.paid_on <= as_of],
        outstanding_principal=loan.principal - sum(row.principal_paid for row in rows),
        arrears=arrears,
        payoff=payoff,
        paid_off_on=max((row.paid_on for row in rows if row.paid_on), default=None) if settled else None,
        penalty_through=max((row.penalty_through for row in rows if row.penalty_through), default=None),
    )


# --- the receipt ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptLine:
    """What a repayment paid of one installment (rupiah by component)."""

    number: int
    due_date: date
    penalty: int
    interest: int
    principal: int

    @property
    def total(self) -> int:
        return self.penalty + self.interest + self.principal


@dataclass(frozen=True)
class Receipt:
    repayment: Repayment
    lines: list[ReceiptLine]
    #: The loan's principal still owed after the booked repayments up to this one (in
    #: the order they apply: date, then id); a reversed one counts for nothing.
    outstanding_principal: int


def repayment_receipt(*, repayment_id: int) -> Receipt:
    """The receipt of repayment ``repayment_id`` (three queries): its allocations per
    installment (a reversed one's: those its reversal undid) and the principal left
    after it. Raises PaperError (``repayment``, ``missing``) when there is none."""
    repayment = (
        Repayment.objects.select_related(
            "loan__borrower", "loan__application__business", "loan__bank", "created_by", "reversed_by"
        )
        .filter(pk=repayment_id)
        .first()
    )
    if repayment is None:
        raise PaperError("repayment", "missing")
    allocations = RepaymentAllocation.objects.filter(repayment=repayment)
    if repayment.status == Repayment.Status.REVERSED:
        allocations = allocations.filter(undone_at=repayment.reversed_at)
    else:
        allocations = allocations.filter(undone_at__isnull=True)
    by_installment: dict[tuple[int, int, date], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for version, number, due_date, component, amount in allocations.values_list(
        "installment__schedule_version", "installment__number", "installment__due_date", "component", "amount"
    ):
        by_installment[version, number, due_date][component] += amount
    lines = [
        ReceiptLine(
            number=number,
            due_date=due_date,
            penalty=parts[Component.PENALTY],
            interest=parts[Component.INTEREST],
            principal=parts[Component.PRINCIPAL],
        )
        for (_version, number, due_date), parts in sorted(by_installment.items())
    ]
    loan = repayment.loan
    repaid = RepaymentAllocation.objects.filter(
        Q(repayment__paid_on__lt=repayment.paid_on)
        | Q(repayment__paid_on=repayment.paid_on, repayment_id__lte=repayment.pk),
        repayment__loan=loan,
        repayment__status=Repayment.Status.BOOKED,
        undone_at__isnull=True,
        component=Component.PRINCIPAL,
    ).aggregate(total=Coalesce(Sum("amount"), 0, output_field=BigIntegerField()))["total"]
    return Receipt(repayment=repayment, lines=lines, outstanding_principal=loan.principal - int(repaid))


# --- the settlement -------------------------------------------------------------------


@dataclass(frozen=True)
class Settlement:
    loan: Loan
    paid_off_on: date
    #: The repayment that paid the loan off (None when its last installment was simply paid).
    payoff: Repayment | None
    #: What the booked repayments paid in all, by component, and the interest forgiven.
    principal_paid: int
    interest_paid: int
    penalty_paid: int
    interest_waived: int


def unpaid_of(loan: Loan) -> tuple[int, int, int]:
    """What is still owed on ``loan``'s current schedule: principal, interest (less
    waived) and penalty (one query)."""
    sums = Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version).aggregate(
        principal=Coalesce(Sum("principal"), 0) - Coalesce(Sum("principal_paid"), 0),
        interest=Coalesce(Sum("interest"), 0) - Coalesce(Sum("interest_paid"), 0) - Coalesce(Sum("interest_waived"), 0),
        penalty=Coalesce(Sum("penalty"), 0) - Coalesce(Sum("penalty_paid"), 0),
    )
    return int(sums["principal"]), int(sums["interest"]), int(sums["penalty"])


def require_settled(loan: Loan) -> None:
    """Raise PaperError (``loan``) unless the loan is paid off with no principal,
    interest or penalty left (``not_paid_off``, ``left``): a paid-off loan can still owe
    a penalty charged on an installment after its principal and interest were paid."""
    if loan.status != Loan.Status.PAID_OFF or loan.closed_on is None:
        raise PaperError("loan", "not_paid_off", status=loan.status)
    principal, interest, penalty = unpaid_of(loan)
    if principal or interest or penalty:
        raise PaperError("loan", "left", principal=principal, interest=interest, penalty=penalty)


def loan_settlement(*, loan: Loan) -> Settlement:
    """The settlement of ``loan`` (from :func:`paper_loan`; checked with
    :func:`require_settled`): what was paid in all and the pay-off repayment (two
    queries)."""
    paid = dict(
        RepaymentAllocation.objects.filter(
            repayment__loan=loan, repayment__status=Repayment.Status.BOOKED, undone_at__isnull=True
        )
        .values("component")
        .annotate(total=Sum("amount"))
        .values_list("component", "total")
    )
    payoffs: Sequence[Repayment] = list(
        Repayment.objects.filter(loan=loan, status=Repayment.Status.BOOKED, payoff=True).order_by("-paid_on", "-id")[:1]
    )
    if loan.closed_on is None:
        raise PaperError("loan", "not_paid_off", status=loan.status)
    return Settlement(
        loan=loan,
        paid_off_on=loan.closed_on,
        payoff=payoffs[0] if payoffs else None,
        principal_paid=int(paid.get(Component.PRINCIPAL, 0)),
        interest_paid=int(paid.get(Component.INTEREST, 0)),
        penalty_paid=int(paid.get(Component.PENALTY, 0)),
        interest_waived=payoffs[0].interest_waived if payoffs else 0,
    )
