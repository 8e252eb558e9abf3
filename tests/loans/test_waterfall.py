"""The pure split of a repayment and the pay-off quote (loans/waterfall.py)."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loans import waterfall
from loans.waterfall import Owed, Share

JAN, FEB, MAR, APR = date(2026, 1, 10), date(2026, 2, 10), date(2026, 3, 10), date(2026, 4, 10)


def rows() -> list[Owed]:
    return [
        Owed(JAN, penalty=1_000, interest=12_500, principal=416_667),
        Owed(FEB, penalty=500, interest=12_500, principal=416_667),
        Owed(MAR, penalty=0, interest=12_500, principal=416_666),
        Owed(APR, penalty=0, interest=12_500, principal=416_666),
    ]


def test_components_first_penalties_then_interest_then_principal_oldest_first() -> None:
    shares = waterfall.allocate(rows(), 1_000 + 500 + 12_500 + 12_500 + 100, date(2026, 2, 15))
    assert shares == [
        Share(0, "penalty", 1_000),
        Share(1, "penalty", 500),
        Share(0, "interest", 12_500),
        Share(1, "interest", 12_500),
        Share(0, "principal", 100),
    ]


def test_installment_by_installment() -> None:
    shares = waterfall.allocate(rows(), 1_000 + 12_500 + 416_667 + 10, date(2026, 2, 15), waterfall="installments")
    assert shares == [
        Share(0, "penalty", 1_000),
        Share(0, "interest", 12_500),
        Share(0, "principal", 416_667),
        Share(1, "penalty", 10),
    ]


def test_more_than_due_goes_to_the_next_installments_in_order() -> None:
    due = 1_000 + 12_500 + 416_667
    shares = waterfall.allocate(rows(), due + 12_500 + 20, date(2026, 1, 10))
    # February's installment is not due yet on 10 January: its penalty, then interest.
    assert shares[-2:] == [Share(1, "penalty", 500), Share(1, "interest", 12_020)]
    assert sum(share.amount for share in shares) == due + 12_520


def test_shorten_tenor_pays_the_last_installments_first() -> None:
    due = 1_000 + 12_500 + 416_667
    shares = waterfall.allocate(rows(), due + 416_666 + 12_500 + 5, date(2026, 1, 10), overpayment="shorten_tenor")
    assert shares[3:] == [Share(3, "principal", 416_666), Share(3, "interest", 12_500), Share(2, "principal", 5)]


def test_more_than_everything_owed_is_an_error() -> None:
    total = sum(row.total for row in rows())
    with pytest.raises(waterfall.OverpaymentError):
        waterfall.allocate(rows(), total + 1, APR)
    assert sum(s.amount for s in waterfall.allocate(rows(), total, APR)) == total


def test_unknown_rules_and_non_positive_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="waterfall"):
        waterfall.allocate(rows(), 1, JAN, waterfall="random")
    with pytest.raises(ValueError, match="overpayment"):
        waterfall.allocate(rows(), 1, JAN, overpayment="random")
    with pytest.raises(ValueError, match="positive"):
        waterfall.allocate(rows(), 0, JAN)


def test_payoff_current_month_includes_the_running_months_interest() -> None:
    quote = waterfall.payoff_quote(rows(), date(2026, 2, 20))
    assert quote.principal == 416_667 * 2 + 416_666 * 2
    assert quote.penalty == 1_500
    # January and February are due; March's installment covers 10 Feb - 10 Mar.
    assert quote.interest == 12_500 * 3
    assert quote.interest_waived == 12_500
    assert quote.amount == quote.principal + quote.interest + quote.penalty
    assert quote.interest_by_index == {0: 12_500, 1: 12_500, 2: 12_500}


def test_payoff_due_only_leaves_out_the_running_month() -> None:
    quote = waterfall.payoff_quote(rows(), date(2026, 2, 20), rule="due_only")
    assert quote.interest == 25_000
    assert quote.interest_waived == 25_000


def test_payoff_after_maturity_is_everything_owed() -> None:
    quote = waterfall.payoff_quote(rows(), date(2026, 5, 1))
    assert quote.amount == sum(row.total for row in rows())
    assert quote.interest_waived == 0


def test_payoff_shares_sum_to_the_quote() -> None:
    quote = waterfall.payoff_quote(rows(), date(2026, 2, 20))
    shares = waterfall.payoff_shares(rows(), quote)
    assert sum(share.amount for share in shares) == quote.amount


owed_rows = st.lists(
    st.builds(
        Owed,
        due_date=st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31)),
        penalty=st.integers(0, 50_000),
        interest=st.integers(0, 200_000),
        principal=st.integers(0, 5_000_000),
    ),
    min_size=1,
    max_size=40,
).map(lambda items: sorted(items, key=lambda row: row.due_date))


@given(
    owed=owed_rows,
    fraction=st.floats(0.0001, 1.0),
    paid_on=st.dates(min_value=date(2025, 12, 1), max_value=date(2029, 1, 31)),
    rule=st.sampled_from(["components", "installments"]),
    overpayment=st.sampled_from(["next", "shorten_tenor"]),
)
def test_shares_sum_to_the_amount_and_never_exceed_what_is_owed(
    owed: list[Owed], fraction: float, paid_on: date, rule: str, overpayment: str
) -> None:
    total = sum(row.total for row in owed)
    if total == 0:
        return
    amount = max(1, int(total * fraction))
    shares = waterfall.allocate(owed, amount, paid_on, waterfall=rule, overpayment=overpayment)
    assert sum(share.amount for share in shares) == amount
    taken: dict[tuple[int, str], int] = {}
    for share in shares:
        assert share.amount > 0
        taken[(share.index, share.component)] = taken.get((share.index, share.component), 0) + share.amount
    for (index, component), value in taken.items():
        assert value <= owed[index].of(component)
    # Nothing goes to a later installment while a due one still owes something.
    due_owing = sum(row.total for row in owed if row.due_date <= paid_on)
    later = sum(share.amount for share in shares if owed[share.index].due_date > paid_on)
    assert later == 0 or amount >= due_owing


@given(owed=owed_rows, on=st.dates(min_value=date(2025, 12, 1), max_value=date(2029, 1, 31)))
def test_payoff_never_exceeds_everything_owed_and_covers_all_principal(owed: list[Owed], on: date) -> None:
    quote = waterfall.payoff_quote(owed, on)
    assert quote.principal == sum(row.principal for row in owed)
    assert quote.amount + quote.interest_waived == sum(row.total for row in owed)
    assert sum(share.amount for share in waterfall.payoff_shares(owed, quote)) == quote.amount
