"""An independent, deliberately plain reading of the schedule rules (issue 2, section 4)
in exact Fractions, one installment at a time, for the tests to compare the engine
against. Slow and obvious on purpose; it shares no code with loans.schedule."""

from __future__ import annotations

import math
from fractions import Fraction


def round_fraction(x: Fraction, mode: str) -> int:
    floor = math.floor(x)
    rest = x - floor
    if mode == "up":
        return floor if rest == 0 else floor + 1
    if rest > Fraction(1, 2):
        return floor + 1
    if rest < Fraction(1, 2):
        return floor
    if mode == "half_up":
        return floor + 1
    return floor if floor % 2 == 0 else floor + 1  # half_even


def reference_rows(
    principal: int,
    annual_rate: str,
    tenor: int,
    method: str,
    grace: int,
    unit: int,
    interest_rounding: str,
    installment_rounding: str,
) -> list[tuple[int, int]] | None:
    """(principal, interest) per installment, or None when the rules give a schedule
    with a regular principal <= 0 or a balance that reaches 0 before the last one."""
    i = Fraction(annual_rate) / 100 / 12
    k = tenor - grace

    def rnd(x: Fraction) -> int:
        return round_fraction(x, interest_rounding)

    def rnd_m(x: Fraction) -> int:
        return round_fraction(x / unit, installment_rounding) * unit

    rows: list[tuple[int, int]] = [(0, rnd(principal * i))] * grace
    balance = principal
    if method == "flat":
        interest = rnd(principal * i)
        amount = rnd_m(Fraction(principal, k) + interest)
    elif method == "annuity":
        amount = rnd_m(Fraction(principal, k)) if i == 0 else rnd_m(principal * i / (1 - (1 + i) ** -k))
    else:
        part = rnd_m(Fraction(principal, k))
    for j in range(k):
        last = j == k - 1
        interest = rnd(principal * i) if method == "flat" else rnd(balance * i)
        if last:
            paid = balance
        elif method == "equal_principal":
            paid = part
        else:
            paid = amount - interest
        if not last and (paid <= 0 or balance - paid <= 0):
            return None
        rows.append((paid, interest))
        balance -= paid
    return rows
