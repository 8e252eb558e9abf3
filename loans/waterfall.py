"""How a repayment is split over a loan's installments, and what paying the loan off
costs on a date. Pure: whole rupiah as ``int``, no Django, no rounding anywhere (every
amount here is a sum or difference of whole rupiah already stored).

An installment's state is what is still owed on it (:class:`Owed`). The rules:

* **What is due** on ``paid_on`` is every installment whose due date is on or before it.
* **Waterfall** ``components`` (the default): the penalties of the due installments,
  oldest first, then their interest, oldest first, then their principal, oldest first.
  ``installments``: each due installment whole (penalty, interest, principal) before the
  next one.
* **Overpayment** ``next`` (the default): what is left goes to the next installments in
  order, each whole (penalty, interest, principal) before the next. ``shorten_tenor``:
  it goes to the last installments first, each whole (principal, then interest), so
  the schedule ends earlier.
* **Pay-off** on a date: all unpaid principal, all unpaid penalties, the unpaid interest
  of installments due by then and, under the ``current_month`` rule (the default), the
  interest of the first installment due after it (the month the date falls in). The
  interest of later installments is waived. A payment of exactly that amount pays the
  loan off; more than it is refused by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

PENALTY = "penalty"
INTEREST = "interest"
PRINCIPAL = "principal"
COMPONENTS = (PENALTY, INTEREST, PRINCIPAL)

WATERFALL_COMPONENTS = "components"
WATERFALL_INSTALLMENTS = "installments"
OVERPAYMENT_NEXT = "next"
OVERPAYMENT_SHORTEN_TENOR = "shorten_tenor"
PAYOFF_CURRENT_MONTH = "current_month"
PAYOFF_DUE_ONLY = "due_only"


@dataclass(frozen=True)
class Owed:
    """What is still owed on one installment (rupiah, each >= 0)."""

    due_date: date
    penalty: int
    interest: int
    principal: int

    def of(self, component: str) -> int:
        return int(getattr(self, component))

    @property
    def total(self) -> int:
        return self.penalty + self.interest + self.principal


@dataclass(frozen=True)
class Share:
    """``amount`` rupiah of a repayment to ``component`` of the installment at
    position ``index`` of the list given."""

    index: int
    component: str
    amount: int


@dataclass(frozen=True)
class PayoffQuote:
    """What paying the loan off on ``on`` costs: ``amount`` = ``principal`` +
    ``interest`` + ``penalty``. ``interest_by_index`` is the interest included per
    installment position; ``interest_waived`` the unpaid interest forgiven."""

    on: date
    amount: int
    principal: int
    interest: int
    penalty: int
    interest_waived: int
    interest_by_index: dict[int, int]


class OverpaymentError(ValueError):
    """More money than the installments owe in all (the caller checks the pay-off
    amount first, so this is a bug when raised)."""


def _take(
    owed: Sequence[Owed], order: Iterable[tuple[int, str]], amount: int, left: dict[tuple[int, str], int]
) -> tuple[list[Share], int]:
    shares: list[Share] = []
    for index, component in order:
        if amount == 0:
            break
        key = (index, component)
        available = left.get(key, owed[index].of(component))
        portion = min(amount, available)
        if portion > 0:
            shares.append(Share(index, component, portion))
            left[key] = available - portion
            amount -= portion
    return shares, amount


def allocate(
    owed: Sequence[Owed],
    amount: int,
    paid_on: date,
    *,
    waterfall: str = WATERFALL_COMPONENTS,
    overpayment: str = OVERPAYMENT_NEXT,
) -> list[Share]:
    """Split ``amount`` (> 0) over ``owed`` (the installments in schedule order) by the
    rules above. The shares always sum to ``amount``; raises :class:`OverpaymentError`
    when ``amount`` exceeds everything owed and ``ValueError`` for an unknown rule."""
    if amount <= 0:
        raise ValueError("amount must be positive")
    due = [i for i, row in enumerate(owed) if row.due_date <= paid_on]
    later = [i for i, row in enumerate(owed) if row.due_date > paid_on]
    if waterfall == WATERFALL_COMPONENTS:
        order = [(i, component) for component in COMPONENTS for i in due]
    elif waterfall == WATERFALL_INSTALLMENTS:
        order = [(i, component) for i in due for component in COMPONENTS]
    else:
        raise ValueError(f"unknown waterfall {waterfall!r}")
    if overpayment == OVERPAYMENT_NEXT:
        order += [(i, component) for i in later for component in COMPONENTS]
    elif overpayment == OVERPAYMENT_SHORTEN_TENOR:
        order += [(i, component) for i in reversed(later) for component in (PRINCIPAL, INTEREST, PENALTY)]
    else:
        raise ValueError(f"unknown overpayment rule {overpayment!r}")
    shares, rest = _take(owed, order, amount, {})
    if rest:
        raise OverpaymentError(f"{rest} rupiah more than the installments owe")
    return shares


def payoff_quote(owed: Sequence[Owed], on: date, *, rule: str = PAYOFF_CURRENT_MONTH) -> PayoffQuote:
    """The pay-off amount on ``on`` by ``rule`` (see the module docstring)."""
    if rule not in (PAYOFF_CURRENT_MONTH, PAYOFF_DUE_ONLY):
        raise ValueError(f"unknown pay-off rule {rule!r}")
    included: dict[int, int] = {i: row.interest for i, row in enumerate(owed) if row.due_date <= on and row.interest}
    if rule == PAYOFF_CURRENT_MONTH:
        current = next((i for i, row in enumerate(owed) if row.due_date > on), None)
        if current is not None and owed[current].interest:
            included[current] = owed[current].interest
    interest = sum(included.values())
    principal = sum(row.principal for row in owed)
    penalty = sum(row.penalty for row in owed)
    return PayoffQuote(
        on=on,
        amount=principal + interest + penalty,
        principal=principal,
        interest=interest,
        penalty=penalty,
        interest_waived=sum(row.interest for row in owed) - interest,
        interest_by_index=included,
    )


def payoff_shares(owed: Sequence[Owed], quote: PayoffQuote) -> list[Share]:
    """The shares of a payment of exactly ``quote.amount``: every penalty and
    principal owed and the interest the quote includes (the rest is waived)."""
    shares = [Share(i, PENALTY, row.penalty) for i, row in enumerate(owed) if row.penalty]
    shares += [Share(i, INTEREST, amount) for i, amount in sorted(quote.interest_by_index.items())]
    shares += [Share(i, PRINCIPAL, row.principal) for i, row in enumerate(owed) if row.principal]
    return shares
