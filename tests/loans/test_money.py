from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loans import money


@pytest.mark.parametrize(
    ("numerator", "denominator", "mode", "expected"),
    [
        (5, 2, "half_up", 3),
        (5, 2, "half_even", 2),
        (7, 2, "half_even", 4),
        (7, 2, "half_up", 4),
        (4, 3, "half_up", 1),
        (5, 3, "half_up", 2),
        (4, 3, "up", 2),
        (6, 3, "up", 2),
        (0, 7, "up", 0),
        (1, 10**30, "up", 1),
        (1, 10**30, "half_up", 0),
    ],
)
def test_div_round_table(numerator: int, denominator: int, mode: money.RoundingMode, expected: int) -> None:
    assert money.div_round(numerator, denominator, mode) == expected


@pytest.mark.parametrize(
    ("numerator", "denominator", "unit", "mode", "expected"),
    [
        (858_333_333, 1000, 100, "up", 858_400),  # 858,333.333 up to a hundred
        (858_300_000, 1000, 100, "up", 858_300),  # already a multiple: unchanged
        (858_350_000, 1000, 100, "half_up", 858_400),
        (858_350_000, 1000, 100, "half_even", 858_400),  # 8583.5 hundreds -> 8584 (even)
        (858_250_000, 1000, 100, "half_even", 858_200),  # 8582.5 hundreds -> 8582 (even)
        (1_250, 1, 500, "half_even", 1_000),
        (1_750, 1, 500, "half_even", 2_000),
    ],
)
def test_round_to_unit_table(
    numerator: int, denominator: int, unit: int, mode: money.RoundingMode, expected: int
) -> None:
    assert money.round_to_unit(numerator, denominator, unit, mode) == expected


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        money.div_round(2.5, 1, "half_up")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        money.parse_annual_rate(3.0)  # type: ignore[arg-type]


def test_unknown_mode_and_bad_denominator_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown rounding mode"):
        money.div_round(1, 2, "down")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        money.div_round(1, 0, "up")
    with pytest.raises(ValueError, match="negative"):
        money.div_round(-1, 2, "up")


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("3", 30_000),
        ("0.25", 2_500),
        ("100", 1_000_000),
        ("0", 0),
        ("-0", 0),
        ("3.1234", 31_234),
        ("3.10000", 31_000),
        ("1E+1", 100_000),
        ("100.00000000000000000000000000000", 1_000_000),
    ],
)
def test_parse_annual_rate(text: str, units: int) -> None:
    assert money.parse_annual_rate(text) == units
    assert money.parse_annual_rate(Decimal(text)) == units
    assert Decimal(money.format_rate_units(units)) == Decimal(text)


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "-1",
        "100.0001",
        "3.12345",
        "NaN",
        "Infinity",
        # Past Decimal's 28 digits: must be refused, not rounded to 3 or 100.
        "2.99999999999999999999999999999",
        "100.000000000000000000000000001",
        "1e1000000",
    ],
)
def test_parse_annual_rate_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="annual_rate"):
        money.parse_annual_rate(text)


@given(
    st.lists(st.integers(min_value=0, max_value=10**18), min_size=1, max_size=50),
    st.integers(min_value=1, max_value=10**7),
    st.sampled_from(money.INSTALLMENT_ROUNDING_MODES),
)
def test_array_rounding_equals_scalar(numerators: list[int], denominator: int, mode: money.RoundingMode) -> None:
    array = money.div_round_array(np.array(numerators, dtype=np.int64), denominator, mode)
    assert array.tolist() == [money.div_round(n, denominator, mode) for n in numerators]
