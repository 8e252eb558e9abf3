from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import numpy_financial as npf
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from loans import money
from loans.schedule import (
    METHODS,
    LoanTerms,
    ScheduleError,
    annuity_installment,
    build_schedule,
    effective_annual_rate,
    months_between,
)
from tests.loans.reference import reference_rows

JAN_15 = date(2026, 1, 15)


def terms(**overrides: object) -> LoanTerms:
    values: dict[str, object] = {
        "principal": 10_000_000,
        "annual_rate": "3",
        "tenor_months": 12,
        "disbursement_date": JAN_15,
    }
    values.update(overrides)
    return LoanTerms(**values)  # type: ignore[arg-type]


def test_flat_programme_loan() -> None:
    schedule = build_schedule(terms())
    # I = 10,000,000 x 0.25% = 25,000; A = ceil(833,333.33 + 25,000) = 858,334.
    assert schedule.interest == (25_000,) * 12
    assert schedule.installment == (858_334,) * 11 + (858_326,)
    assert schedule.principal == (833_334,) * 11 + (833_326,)
    assert schedule.balance[0] == 9_166_666
    assert schedule.balance[-1] == 0
    assert (schedule.total_principal, schedule.total_interest, schedule.total_payment) == (
        10_000_000,
        300_000,
        10_300_000,
    )
    assert schedule.due_dates[0] == date(2026, 2, 15)
    assert schedule.due_dates[-1] == date(2027, 1, 15)


def test_flat_with_a_rounding_unit_of_100() -> None:
    schedule = build_schedule(terms(rounding=100))
    assert schedule.installment == (858_400,) * 11 + (832_600 + 25_000,)
    assert schedule.principal[-1] == 10_000_000 - 11 * 833_400


def test_annuity_programme_loan_matches_the_exact_formula() -> None:
    schedule = build_schedule(terms(method="annuity"))
    i = Fraction(3, 1200)
    exact = 10_000_000 * i / (1 - (1 + i) ** -12)
    assert schedule.installment[0] == -(-exact.numerator // exact.denominator) == 846_937
    assert schedule.installment[:-1] == (846_937,) * 11
    assert schedule.interest[:3] == (25_000, 22_945, 20_885)
    assert schedule.principal[0] == 821_937
    assert schedule.total_principal == 10_000_000
    # numpy-financial agrees to within the rounding: ours is pmt rounded up.
    pmt = -npf.pmt(0.0025, 12, 10_000_000)
    assert 0 <= schedule.installment[0] - pmt < 1


def test_equal_principal_programme_loan() -> None:
    schedule = build_schedule(terms(principal=12_000_000, method="equal_principal"))
    assert schedule.principal == (1_000_000,) * 12
    assert schedule.interest == tuple(2_500 * (12 - j) for j in range(12))
    assert schedule.total_interest == 2_500 * 78


def test_grace_months_pay_interest_only() -> None:
    for method in METHODS:
        schedule = build_schedule(terms(method=method, grace_months=3))
        assert schedule.principal[:3] == (0, 0, 0)
        assert schedule.interest[:3] == (25_000, 25_000, 25_000)
        assert schedule.balance[2] == 10_000_000
        assert schedule.total_principal == 10_000_000


def test_zero_rate() -> None:
    for method in METHODS:
        schedule = build_schedule(terms(annual_rate="0", method=method))
        assert schedule.total_interest == 0
        assert schedule.installment == (833_334,) * 11 + (833_326,)
        assert effective_annual_rate(schedule) == Decimal("0.00")


def test_interest_rounding_half_even_differs_from_half_up_on_exact_halves() -> None:
    # 1,000 x 0.25% = 2.5 rupiah: half_up gives 3, half_even gives 2.
    assert build_schedule(terms(principal=1_000, interest_rounding="half_up")).interest[0] == 3
    assert build_schedule(terms(principal=1_000, interest_rounding="half_even")).interest[0] == 2


def test_installment_rounding_modes() -> None:
    # P / k + I = 858,333.33: up -> 858,400, half_up and half_even -> 858,300 (unit 100).
    assert build_schedule(terms(rounding=100, installment_rounding="up")).installment[0] == 858_400
    assert build_schedule(terms(rounding=100, installment_rounding="half_up")).installment[0] == 858_300
    assert build_schedule(terms(rounding=100, installment_rounding="half_even")).installment[0] == 858_300


def test_first_due_date_and_business_days() -> None:
    schedule = build_schedule(terms(disbursement_date=date(2026, 7, 1), first_due_date=date(2026, 8, 17)))
    assert schedule.due_dates[:2] == (date(2026, 8, 17), date(2026, 9, 17))
    moved = build_schedule(
        terms(disbursement_date=date(2026, 7, 1), first_due_date=date(2026, 8, 17), business_days=True)
    )
    assert moved.due_dates[:3] == (date(2026, 8, 18), date(2026, 9, 17), date(2026, 10, 19))
    assert moved.installment == schedule.installment


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"principal": 0}, "principal"),
        ({"principal": -5}, "principal"),
        ({"principal": 10**12 + 1}, "principal"),
        ({"principal": 1.5}, "principal"),
        ({"annual_rate": 3.0}, "annual_rate"),
        ({"annual_rate": "abc"}, "annual_rate"),
        ({"annual_rate": "100.5"}, "annual_rate"),
        ({"tenor_months": 0}, "tenor_months"),
        ({"tenor_months": 121}, "tenor_months"),
        ({"method": "balloon"}, "method"),
        ({"grace_months": 12}, "grace_months"),
        ({"grace_months": -1}, "grace_months"),
        ({"rounding": 7}, "rounding"),
        ({"interest_rounding": "up"}, "interest_rounding"),
        ({"installment_rounding": "down"}, "installment_rounding"),
        ({"first_due_date": JAN_15}, "first_due_date"),
        ({"first_due_date": JAN_15 - timedelta(days=1)}, "first_due_date"),
        ({"first_due_date": date(2026, 3, 16)}, "first_due_date"),
        ({"disbursement_date": date(9999, 12, 15), "first_due_date": None}, "disbursement_date"),
        ({"disbursement_date": date(1899, 12, 31)}, "disbursement_date"),
    ],
)
def test_bad_terms_are_refused_naming_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        terms(**overrides)
    assert caught.value.field == field


def test_the_latest_disbursement_gives_ordinary_dates() -> None:
    last = build_schedule(terms(disbursement_date=date(2199, 12, 31), tenor_months=120, business_days=True))
    # 31 December 2209 is a Sunday. (The holidays package knows Indonesia's holidays
    # from 1946 to 2100; later, only weekends move a due date.)
    assert last.due_dates[-1] == date(2210, 1, 1)


def test_schedule_error_survives_pickling_with_its_field_and_code() -> None:
    import pickle

    with pytest.raises(ScheduleError) as caught:
        build_schedule(terms(principal=1_000, rounding=1_000))
    copy = pickle.loads(pickle.dumps(caught.value))  # noqa: S301 - our own object
    assert (copy.field, copy.code, copy.message) == (caught.value.field, "early_payoff", caught.value.message)
    assert str(copy) == str(caught.value)


def test_schedule_error_survives_a_json_result_backend_with_its_field_and_code() -> None:
    """Celery's JSON result backend keeps an error's type and args: those rebuild it."""
    import json

    with pytest.raises(ScheduleError) as caught:
        build_schedule(terms(principal=1_000, tenor_months=12, rounding=1_000))
    copy = ScheduleError(*json.loads(json.dumps(caught.value.args)))
    assert (copy.field, copy.code, copy.message) == ("rounding", "early_payoff", caught.value.message)


def test_a_36_month_annuity_repays_its_principal_by_its_last_due_date() -> None:
    schedule = build_schedule(
        LoanTerms(
            principal=10_000_000,
            annual_rate="3",
            tenor_months=36,
            method="annuity",
            disbursement_date=date(2026, 1, 31),
        )
    )
    assert len(schedule.principal) == 36
    assert schedule.total_principal == 10_000_000
    assert schedule.total_payment == schedule.total_principal + schedule.total_interest
    assert schedule.due_dates[-1] == date(2029, 1, 31)


def test_first_due_date_two_months_after_is_allowed() -> None:
    assert build_schedule(terms(first_due_date=date(2026, 3, 15))).due_dates[0] == date(2026, 3, 15)


def test_rounding_too_coarse_for_the_loan_is_refused() -> None:
    with pytest.raises(ScheduleError) as caught:
        build_schedule(terms(principal=1_000, rounding=1_000))
    assert caught.value.field == "rounding"
    assert caught.value.code == "early_payoff"
    assert caught.value.message == (
        "A rounding unit of 1000 rupiah is too coarse for this loan: it would be paid off before its last installment."
    )


def test_principal_too_small_for_the_tenor_is_refused() -> None:
    with pytest.raises(ScheduleError) as caught:
        build_schedule(terms(principal=5, tenor_months=12))
    assert caught.value.field == "principal"


def test_annuity_with_a_rounding_that_eats_the_principal_is_refused() -> None:
    # A = ~672 rounded up to 1,000: five regular installments repay ~4,950 > 4,000.
    with pytest.raises(ScheduleError) as caught:
        build_schedule(terms(principal=4_000, tenor_months=6, method="annuity", rounding=1000))
    assert caught.value.field == "rounding"
    # Rounded half-up to 1,000 it is 1,000 too (0.67 units), and half_even likewise.
    with pytest.raises(ScheduleError):
        build_schedule(
            terms(principal=4_000, tenor_months=6, method="annuity", rounding=1000, installment_rounding="half_even")
        )
    # With 500 rupiah rounding (A = 1,000 still: 672 up to 1,000) the same; at 10 it fits.
    assert (
        build_schedule(terms(principal=4_000, tenor_months=6, method="annuity", rounding=10)).total_principal == 4_000
    )


def test_annuity_installment_is_exact_where_floats_are_not() -> None:
    # At 0% the installment is P / k exactly; 'up' must not add a unit for float noise.
    assert annuity_installment(1_200, 0, 12, 1, "up") == 100
    # 1e12 at 100%/yr over 120 months: the exact ratio, checked against Fractions.
    i = Fraction(100, 1200)
    exact = 10**12 * i / (1 - (1 + i) ** -120)
    assert annuity_installment(10**12, 1_000_000, 120, 1, "half_even") == round(exact)


def test_effective_annual_rate_of_a_flat_loan_matches_numpy_financial() -> None:
    schedule = build_schedule(terms())
    monthly = npf.irr([-10_000_000, *schedule.installment])
    assert effective_annual_rate(schedule) == Decimal(str(round(monthly * 1200, 2)))
    assert effective_annual_rate(schedule) == Decimal("5.49")
    # The flat rate quoted per month is about 1.8x its declining-balance equivalent here,
    # and numpy-financial's rate() on the regular installment tells the same.
    assert abs(float(effective_annual_rate(schedule)) - npf.rate(12, -858_334, 10_000_000, 0) * 1200) < 0.01


def test_effective_annual_rate_of_an_annuity_is_its_rate() -> None:
    assert effective_annual_rate(build_schedule(terms(method="annuity", tenor_months=36))) == Decimal("3.00")


def test_effective_annual_rate_counts_a_later_first_due_date() -> None:
    plain = effective_annual_rate(build_schedule(terms(method="annuity")))
    one_month = effective_annual_rate(build_schedule(terms(method="annuity", first_due_date=date(2026, 2, 15))))
    two_months = effective_annual_rate(build_schedule(terms(method="annuity", first_due_date=date(2026, 3, 15))))
    assert plain == one_month == Decimal("3.00")
    # The same installments a month later are cheaper money: 12 x the IRR with the
    # payments at months 2..13 instead of 1..12.
    schedule = build_schedule(terms(method="annuity", first_due_date=date(2026, 3, 15)))
    flows = [-10_000_000, 0, *schedule.installment]
    assert two_months == Decimal(str(round(npf.irr(flows) * 1200, 2)))
    assert two_months < plain


def test_months_between() -> None:
    assert months_between(date(2026, 1, 15), date(2026, 3, 15)) == 2.0
    assert months_between(date(2026, 1, 15), date(2026, 3, 1)) == 1 + 14 / 28
    assert months_between(date(2026, 1, 31), date(2026, 2, 28)) == 1.0


def test_from_json_parses_dates_and_refuses_bad_ones() -> None:
    loaded = LoanTerms.from_json(
        {"principal": 1_000_000, "annual_rate": "3", "tenor_months": 6, "disbursement_date": "2026-01-31"}
    )
    assert loaded.disbursement_date == date(2026, 1, 31)
    with pytest.raises(ScheduleError) as caught:
        LoanTerms.from_json({"principal": 1, "annual_rate": "3", "tenor_months": 6, "disbursement_date": "2026-02-30"})
    assert caught.value.field == "disbursement_date"


loan_terms = st.fixed_dictionaries(
    {
        "principal": st.one_of(
            st.integers(min_value=1, max_value=10_000),
            st.integers(min_value=1_000_000, max_value=50_000_000),
            st.integers(min_value=1, max_value=10**12),
        ),
        "annual_rate": st.one_of(
            st.just("3"),
            st.just("0"),
            st.decimals(min_value=0, max_value=100, places=4).map(str),
        ),
        "tenor_months": st.integers(min_value=1, max_value=120),
        "method": st.sampled_from(METHODS),
        "rounding": st.sampled_from(money.ROUNDING_UNITS),
        "interest_rounding": st.sampled_from(money.INTEREST_ROUNDING_MODES),
        "installment_rounding": st.sampled_from(money.INSTALLMENT_ROUNDING_MODES),
        "grace_fraction": st.floats(min_value=0, max_value=0.99),
    }
)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loan_terms)
@example(
    {
        "principal": 1_000,
        "annual_rate": "3",
        "tenor_months": 12,
        "method": "flat",
        "rounding": 1000,
        "interest_rounding": "half_up",
        "installment_rounding": "up",
        "grace_fraction": 0.0,
    }
)
def test_schedule_invariants_and_the_reference_reading(values: dict[str, object]) -> None:
    values = dict(values)
    grace_fraction = values.pop("grace_fraction")
    tenor = values["tenor_months"]
    values["grace_months"] = int(grace_fraction * tenor)  # type: ignore[operator]
    loan = LoanTerms(**values, disbursement_date=JAN_15)  # type: ignore[arg-type]
    expected = reference_rows(
        loan.principal,
        str(loan.annual_rate),
        loan.tenor_months,
        loan.method,
        loan.grace_months,
        loan.rounding,
        loan.interest_rounding,
        loan.installment_rounding,
    )
    try:
        schedule = build_schedule(loan)
    except ScheduleError as exc:
        assert expected is None, f"refused a schedule the rules allow: {exc}"
        assert exc.field in ("rounding", "principal")
        return
    assert expected is not None, "returned a schedule the rules make wrong"
    assert list(zip(schedule.principal, schedule.interest, strict=True)) == expected
    assert sum(schedule.principal) == loan.principal
    assert all(amount >= 0 for amount in schedule.principal + schedule.interest + schedule.installment)
    assert all(balance >= 0 for balance in schedule.balance)
    assert schedule.balance[-1] == 0
    assert all(balance > 0 for balance in schedule.balance[:-1])
    regular = schedule.installment[loan.grace_months : loan.tenor_months - 1]
    if loan.method in ("flat", "annuity"):
        assert len(set(regular)) <= 1
        assert all(amount % loan.rounding == 0 for amount in regular)
    assert Decimal(0) <= effective_annual_rate(schedule) < Decimal(10_000)
    assert len(schedule.due_dates) == loan.tenor_months
    assert list(schedule.due_dates) == sorted(set(schedule.due_dates))
