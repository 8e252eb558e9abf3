from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loans.dates import add_months, due_dates, due_dates_array, is_business_day, next_business_day


@pytest.mark.parametrize(
    ("base", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 1, 31), 2, date(2026, 3, 31)),
        (date(2026, 1, 31), 3, date(2026, 4, 30)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 1, 15), 120, date(2036, 1, 15)),
    ],
)
def test_add_months_clamps_to_month_end(base: date, months: int, expected: date) -> None:
    assert add_months(base, months) == expected


def test_due_dates_are_computed_from_the_base_not_chained() -> None:
    assert due_dates(date(2026, 1, 31), None, 3, False) == (date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30))


def test_due_dates_from_a_first_due_date() -> None:
    assert due_dates(date(2026, 1, 15), date(2026, 3, 1), 3, False) == (
        date(2026, 3, 1),
        date(2026, 4, 1),
        date(2026, 5, 1),
    )


def test_business_days_skip_weekends_and_public_holidays() -> None:
    assert not is_business_day(date(2026, 8, 17))  # Monday, Independence Day
    assert next_business_day(date(2026, 8, 17)) == date(2026, 8, 18)
    assert next_business_day(date(2026, 10, 17)) == date(2026, 10, 19)  # Saturday -> Monday
    assert next_business_day(date(2026, 12, 25)) == date(2026, 12, 28)  # Christmas Friday -> Monday
    assert next_business_day(date(2026, 12, 16)) == date(2026, 12, 16)
    assert due_dates(date(2026, 7, 17), None, 3, True) == (date(2026, 8, 18), date(2026, 9, 17), date(2026, 10, 19))


@given(
    st.lists(
        st.tuples(
            st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
            st.booleans(),
            st.booleans(),
        ),
        min_size=1,
        max_size=20,
    ),
    st.integers(min_value=1, max_value=36),
)
def test_array_due_dates_equal_per_loan(loans: list[tuple[date, bool, bool]], columns: int) -> None:
    bases = np.array([base for base, _, _ in loans], dtype="datetime64[D]")
    offsets = np.array([0 if first else 1 for _, first, _ in loans])
    business = np.array([flag for _, _, flag in loans])
    result = due_dates_array(bases, offsets, columns, business)
    for row, (base, first, flag) in zip(result, loans, strict=True):
        expected = due_dates(base, None, columns, flag) if not first else due_dates(base, base, columns, flag)
        assert row.astype(object).tolist() == list(expected)
