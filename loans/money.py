"""Exact rupiah arithmetic: the one rounding helper of the whole codebase.

Pure Python, no Django. Amounts are whole rupiah held as ``int``; a fraction of a
rupiah only ever exists as an exact ratio ``numerator / denominator`` of integers and
becomes rupiah through :func:`div_round` or :func:`round_to_unit`, in exactly one
documented step. Floats are refused: a float can never decide a rupiah.

Rounding modes (all amounts here are non-negative):

* ``half_up``   - to the nearest; an exact half goes up (away from zero).
* ``half_even`` - to the nearest; an exact half goes to the even neighbour
  (banker's rounding, Apache Fineract's default).
* ``up``        - the smallest value that is >= the exact one (ceiling).

The same rules are implemented twice: per value on Python ints (arbitrary size) and
element-wise on numpy int64 arrays for the portfolio path. Tests prove both agree.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

RoundingMode = Literal["half_up", "half_even", "up"]

HALF_UP: Final = "half_up"
HALF_EVEN: Final = "half_even"
UP: Final = "up"

INTEREST_ROUNDING_MODES: Final[tuple[RoundingMode, ...]] = (HALF_UP, HALF_EVEN)
INSTALLMENT_ROUNDING_MODES: Final[tuple[RoundingMode, ...]] = (UP, HALF_UP, HALF_EVEN)
ROUNDING_UNITS: Final = (1, 10, 100, 500, 1000)

#: An annual rate in percent is held in units of 1/10,000 of a percent (4 decimals).
RATE_SCALE: Final = 10_000
#: Monthly rate i = R / 100 / 12 = rate_units / MONTHLY_RATE_DENOMINATOR, exactly.
MONTHLY_RATE_DENOMINATOR: Final = RATE_SCALE * 100 * 12

Int64Array = npt.NDArray[np.int64]


def _require_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be a whole number of rupiah (int), not {type(value).__name__}")
    return int(value)


def _half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def _half_even(numerator: int, denominator: int) -> int:
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient & 1):
        return quotient + 1
    return quotient


def _up(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


_ROUNDERS: Final = {HALF_UP: _half_up, HALF_EVEN: _half_even, UP: _up}


def rounder(mode: RoundingMode) -> Callable[[int, int], int]:
    """The function ``(numerator, denominator) -> int`` that rounds by ``mode``, for hot
    loops whose inputs are already known to be non-negative ints with a positive
    denominator (it checks nothing). Raises ValueError for an unknown mode."""
    try:
        return _ROUNDERS[mode]
    except KeyError:
        raise ValueError(f"unknown rounding mode {mode!r}") from None


def div_round(numerator: int, denominator: int, mode: RoundingMode) -> int:
    """Round the exact ratio ``numerator / denominator`` (both >= 0, denominator > 0)
    to a whole number by ``mode``.

    Raises TypeError for non-integers and ValueError for an unknown mode, a negative
    numerator or a non-positive denominator.
    """
    numerator = _require_int(numerator, "numerator")
    denominator = _require_int(denominator, "denominator")
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if numerator < 0:
        raise ValueError("numerator must not be negative")
    return rounder(mode)(numerator, denominator)


def round_to_unit(numerator: int, denominator: int, unit: int, mode: RoundingMode) -> int:
    """Round ``numerator / denominator`` rupiah to a multiple of ``unit`` rupiah by ``mode``
    (``up``: the smallest multiple >= the exact amount)."""
    return div_round(numerator, denominator * unit, mode) * unit


def parse_annual_rate(annual_rate: Decimal | str | int) -> int:
    """An annual rate in percent (0 to 100, at most 4 decimals) as whole units of
    1/10,000 percent. ``Decimal("3")`` -> 30000. Floats are refused.

    Raises TypeError for a float and ValueError for anything outside the range or
    with more than 4 decimals.
    """
    if isinstance(annual_rate, float | bool):
        raise TypeError("annual_rate must be a Decimal or a decimal string, never a float")
    try:
        rate = Decimal(annual_rate)
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"annual_rate {annual_rate!r} is not a number") from exc
    if not rate.is_finite():
        raise ValueError("annual_rate must be a finite number")
    # Exactly, from the digits: Decimal arithmetic would round at 28 digits and turn
    # 2.99999999999999999999999999999 into 3.
    sign, digits, exponent = rate.as_tuple()
    if not isinstance(exponent, int):  # NaN and infinities, already refused above
        raise ValueError("annual_rate must be a finite number")
    while digits and digits[-1] == 0 and exponent < 0:
        digits, exponent = digits[:-1], exponent + 1
    if exponent < -4:
        raise ValueError("annual_rate has more than 4 decimals")
    if len(digits) + exponent > 3:  # 1000 or more
        raise ValueError("annual_rate must be between 0 and 100 percent")
    units = int("".join(map(str, digits)) or "0") * 10 ** (exponent + 4)
    if sign and units:
        units = -units
    if not 0 <= units <= 100 * RATE_SCALE:
        raise ValueError("annual_rate must be between 0 and 100 percent")
    return units


def format_rate_units(rate_units: int) -> str:
    """Rate units back to a plain decimal string: 30000 -> "3", 32500 -> "3.25"."""
    return format(Decimal(rate_units).scaleb(-4).normalize(), "f")


# --- numpy int64, element-wise -------------------------------------------------------


def div_round_array(numerator: Int64Array, denominator: int | Int64Array, mode: RoundingMode) -> Int64Array:
    """Element-wise :func:`div_round` on int64 arrays, by the same formulas as the
    per-value rounders. The caller keeps every numerator at or below 4 * 10^18 so that
    ``2 * numerator + denominator`` cannot overflow int64 (amounts <= 10^12 times rate
    units <= 10^6 stay at or below 10^18)."""
    if mode == HALF_UP:
        return (2 * numerator + denominator) // (2 * denominator)
    if mode == UP:
        return -(-numerator // denominator)
    if mode == HALF_EVEN:
        quotient, remainder = np.divmod(numerator, denominator)
        twice = 2 * remainder
        return quotient + ((twice > denominator) | ((twice == denominator) & (quotient % 2 == 1)))
    raise ValueError(f"unknown rounding mode {mode!r}")
