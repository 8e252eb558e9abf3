import random
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loans import money
from loans.schedule import EARLY_PAYOFF, METHODS, LoanTerms, ScheduleError, build_schedule
from loans.schedule_batch import ScheduleBatch, build_schedules


def batch_of(loans: list[LoanTerms]) -> ScheduleBatch:
    return build_schedules(
        [loan.principal for loan in loans],
        [loan.rate_units for loan in loans],
        [loan.tenor_months for loan in loans],
        [loan.disbursement_date for loan in loans],
        method=[loan.method for loan in loans],
        grace_months=[loan.grace_months for loan in loans],
        rounding=[loan.rounding for loan in loans],
        interest_rounding=[loan.interest_rounding for loan in loans],
        installment_rounding=[loan.installment_rounding for loan in loans],
        first_due_date=[loan.first_due_date for loan in loans],
        business_days=[loan.business_days for loan in loans],
    )


def assert_batch_equals_per_loan(loans: list[LoanTerms]) -> int:
    batch = batch_of(loans)
    refused = 0
    for index, loan in enumerate(loans):
        try:
            schedule = build_schedule(loan)
        except ScheduleError as exc:
            refused += 1
            assert batch.refused[index], f"loan {index} refused per loan only: {loan}"
            assert exc.code == batch.reasons[index]
            continue
        assert not batch.refused[index], f"loan {index} refused in the batch only: {loan}"
        assert batch.loan(index) == {
            "due_dates": list(schedule.due_dates),
            "principal": list(schedule.principal),
            "interest": list(schedule.interest),
            "installment": list(schedule.installment),
            "balance": list(schedule.balance),
        }, f"loan {index} differs: {loan}"
    return refused


def random_portfolio(seed: int, size: int) -> list[LoanTerms]:
    rng = random.Random(seed)
    loans = []
    for _ in range(size):
        tenor = rng.randint(1, 120)
        disbursed = date(2025, 1, 1) + timedelta(days=rng.randint(0, 900))
        first_due = disbursed + timedelta(days=rng.randint(1, 59)) if rng.random() < 0.3 else None
        loans.append(
            LoanTerms(
                principal=rng.choice(
                    [rng.randint(1, 10**6), rng.randint(1_000_000, 50_000_000), rng.randint(1, 10**12)]
                ),
                annual_rate=str(rng.choice([0, 3, rng.randint(0, 1_000_000) / 10_000])),
                tenor_months=tenor,
                disbursement_date=disbursed,
                method=rng.choice(METHODS),
                grace_months=rng.randint(0, min(tenor - 1, 6)),
                rounding=rng.choice(money.ROUNDING_UNITS),
                interest_rounding=rng.choice(money.INTEREST_ROUNDING_MODES),
                installment_rounding=rng.choice(money.INSTALLMENT_ROUNDING_MODES),
                first_due_date=first_due,
                business_days=rng.random() < 0.5,
            )
        )
    return loans


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_portfolio_equals_the_per_loan_path(seed: int) -> None:
    refused = assert_batch_equals_per_loan(random_portfolio(seed, 1500))
    assert 0 < refused < 1500  # the portfolio does exercise refusals, and mostly accepts


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**32))
def test_hypothesis_portfolios_equal_the_per_loan_path(seed: int) -> None:
    assert_batch_equals_per_loan(random_portfolio(seed, 20))


def test_annuity_exact_ties_are_decided_exactly() -> None:
    # At 0% the annuity is exactly P / k: for P divisible by k, 'up' must not add a unit,
    # and exact halves must follow half_up / half_even, whatever the float estimate says.
    ties: list[tuple[int, int, int, money.RoundingMode]] = [
        (1_200_000, 12, 1, "up"),
        (999_999_999_996, 12, 1, "up"),
        (150, 12, 1, "half_up"),  # 12.5 -> 13
        (1_500, 2, 500, "half_even"),  # 750 = 1.5 units of 500 -> 2 units
        (2_500, 2, 500, "half_even"),  # 1,250 = 2.5 units -> 2 units (even)
    ]
    loans = [
        LoanTerms(
            principal=principal,
            annual_rate="0",
            tenor_months=tenor,
            disbursement_date=date(2026, 1, 1),
            method="annuity",
            rounding=unit,
            installment_rounding=mode,
        )
        for principal, tenor, unit, mode in ties
    ]
    assert_batch_equals_per_loan(loans)


def test_rows_lists_accepted_loans_in_order_and_skips_refused_ones() -> None:
    batch = build_schedules([1_200_000, 1_000, 600_000], 30_000, [12, 12, 6], date(2026, 1, 31), rounding=[1, 1000, 1])
    assert batch.refused.tolist() == [False, True, False]
    assert batch.reasons[1] == EARLY_PAYOFF
    rows = list(batch.rows())
    assert len(rows) == 18
    assert [row[:2] for row in rows[:2]] == [(0, 1), (0, 2)]
    assert rows[12][:3] == (2, 1, date(2026, 2, 28))
    assert sum(row[3] for row in rows if row[0] == 2) == 600_000
    assert all(row[4] == 3_000 for row in rows if row[0] == 0)


def test_out_of_range_terms_raise() -> None:
    with pytest.raises(ValueError, match="principal"):
        build_schedules([0], 30_000, 12, date(2026, 1, 1))
    with pytest.raises(ValueError, match="grace_months"):
        build_schedules([1_000_000], 30_000, 12, date(2026, 1, 1), grace_months=12)
    with pytest.raises(ValueError, match="first_due_date"):
        build_schedules([1_000_000], 30_000, 12, date(2026, 1, 1), first_due_date=[date(2026, 3, 2)])
    with pytest.raises(ValueError, match="method"):
        build_schedules([1_000_000], 30_000, 12, date(2026, 1, 1), method="balloon")


@pytest.mark.parametrize(
    ("principal", "rate", "tenor", "error"),
    [
        ([1_000_000.9], 30_000, 12, TypeError),
        ([1_000_000], 30_000.7, 12, TypeError),
        ([1_000_000], 30_000, 12.5, TypeError),
        ([True], 30_000, 12, TypeError),
        ([10**19], 30_000, 12, ValueError),
        ([10**30], 30_000, 12, ValueError),
    ],
)
def test_floats_and_huge_numbers_are_refused_not_truncated(
    principal: list[object], rate: object, tenor: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        build_schedules(principal, rate, tenor, date(2026, 1, 15))  # type: ignore[arg-type]


def test_dates_outside_the_engine_range_are_refused() -> None:
    with pytest.raises(ValueError, match="disbursement_date"):
        build_schedules([1_000_000], 30_000, 12, date(9999, 1, 15))


def test_empty_batch() -> None:
    batch = build_schedules(np.array([], dtype=np.int64), 30_000, 12, np.array([], dtype="datetime64[D]"))
    assert len(batch) == 0
    assert list(batch.rows()) == []
