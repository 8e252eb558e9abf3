"""The schedule engine over a whole portfolio at once: numpy, exact int64 arithmetic.

Same rules, same rupiah as :func:`loans.schedule.build_schedule` for every loan (the
test suite proves it on random portfolios). Pure, no Django.

How it stays exact:

* Monthly rates are the ratios ``rate_units / 12,000,000``; every interest is
  ``rnd(balance * rate_units / 12,000,000)`` on int64, where ``balance * rate_units`` is
  at most 10^12 * 10^6 = 10^18 < 2^63, so nothing overflows.
* The one irrational-looking step, the annuity installment, is an exact ratio of huge
  integers (see :func:`loans.schedule.annuity_installment`). Here a float64 estimate
  proposes the multiple of the rounding unit; its error is below 10^-3 of a rupiah, so
  wherever the estimate lies further than that from a rounding boundary it cannot have
  chosen differently from the exact ratio, and every loan that lies closer is decided
  by the exact big-integer formula instead. No float decides a rupiah.

The schedules are returned as (loans x months) matrices; cells past a loan's tenor are
0 (dates NaT). Loans whose terms are too coarse for their rounding are not raised but
flagged in ``refused`` with the reason (ScheduleError's code), their rows zeroed, so one
bad loan never stops a batch.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from loans import money
from loans.dates import due_dates_array
from loans.schedule import (
    ANNUITY,
    EARLIEST_DISBURSEMENT,
    EARLY_PAYOFF,
    FLAT,
    LATEST_DISBURSEMENT,
    MAX_FIRST_DUE_MONTHS,
    MAX_PRINCIPAL,
    MAX_TENOR_MONTHS,
    METHODS,
    NO_PRINCIPAL,
    annuity_factor,
    annuity_installment,
)

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: How far (in rounding units) a float64 annuity estimate must lie from a rounding
#: boundary for its choice to be certain; its error is below 4e-4 (3 float64 roundings
#: on values <= 1.1e12).
_FLOAT_MARGIN = 1e-3


@dataclass(frozen=True)
class ScheduleBatch:
    """Schedules of many loans: row l is loan l, column t is installment t + 1."""

    tenor_months: Int64Array
    due_date: npt.NDArray[np.datetime64]
    principal: Int64Array
    interest: Int64Array
    installment: Int64Array
    balance: Int64Array
    refused: BoolArray
    reasons: npt.NDArray[np.object_]

    def __len__(self) -> int:
        return int(self.tenor_months.size)

    def loan(self, index: int) -> dict[str, list[Any]]:
        """Loan ``index``'s schedule as plain lists (dates as ``datetime.date``)."""
        tenor = int(self.tenor_months[index])
        return {
            "due_dates": self.due_date[index, :tenor].astype(object).tolist(),
            "principal": self.principal[index, :tenor].tolist(),
            "interest": self.interest[index, :tenor].tolist(),
            "installment": self.installment[index, :tenor].tolist(),
            "balance": self.balance[index, :tenor].tolist(),
        }

    def rows(self) -> Iterator[tuple[int, int, date, int, int, int, int]]:
        """Every stored row of the accepted loans, in loan then installment order:
        ``(loan index, number, due date, principal, interest, installment, balance)``."""
        mask = (np.arange(self.principal.shape[1])[None, :] < self.tenor_months[:, None]) & ~self.refused[:, None]
        loan_index, column = np.nonzero(mask)
        return zip(
            loan_index.tolist(),
            (column + 1).tolist(),
            self.due_date[mask].astype(object).tolist(),
            self.principal[mask].tolist(),
            self.interest[mask].tolist(),
            self.installment[mask].tolist(),
            self.balance[mask].tolist(),
            strict=True,
        )


def _as_array(value: Any, size: int, dtype: Any) -> npt.NDArray[Any]:
    array = np.asarray(value, dtype=dtype)
    if array.ndim == 0:
        return np.full(size, array, dtype=array.dtype)  # array.dtype: a string's own width
    if array.shape != (size,):
        raise ValueError(f"expected {size} values, got shape {array.shape}")
    return array


def _as_int_array(value: Any, size: int | None, name: str) -> Int64Array:
    """Whole numbers as int64 (one value for all when ``size`` is given). Floats, bools
    and numbers beyond int64 are refused, never truncated."""
    array = np.asarray(value)
    if array.dtype.kind == "O":
        items = array.ravel().tolist()
        if not all(isinstance(item, int) and not isinstance(item, bool) for item in items):
            raise TypeError(f"{name} must be whole numbers")
        if any(abs(item) > np.iinfo(np.int64).max for item in items):
            raise ValueError(f"{name} is out of range")
    elif array.dtype.kind == "u" and array.size and array.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name} is out of range")
    elif array.dtype.kind not in "iu" and array.size:
        raise TypeError(f"{name} must be whole numbers, not {array.dtype}")
    array = array.astype(np.int64)
    return array if size is None else _as_array(array, size, np.int64)


def _matches(values: npt.NDArray[np.str_], name: str) -> BoolArray:
    return np.asarray(values == name, dtype=np.bool_)


def _annuity_amounts(
    principal: Int64Array, rate_units: Int64Array, periods: Int64Array, unit: Int64Array, mode: money.RoundingMode
) -> Int64Array:
    """Exact annuity installments for many loans (see the module docstring)."""
    estimate = np.empty(principal.size, dtype=np.float64)
    # One exact factor per distinct (rate, term): a portfolio has few of them.
    keys = rate_units * (MAX_TENOR_MONTHS + 1) + periods
    for key in np.unique(keys).tolist():
        numerator, denominator = annuity_factor(*divmod(key, MAX_TENOR_MONTHS + 1))
        factor = numerator / denominator  # int / int is correctly rounded in Python, however large
        if keys.size and keys[0] == key and (keys == key).all():
            np.multiply(principal, factor, out=estimate)
        else:
            chosen = keys == key
            estimate[chosen] = principal[chosen] * factor
    in_units = estimate / unit
    if mode == money.UP:
        multiples = np.ceil(in_units)
        distance = np.abs(in_units - np.round(in_units))
    else:
        multiples = np.round(in_units)  # ties are exactly the borderline cases below
        distance = np.abs(np.abs(in_units - np.floor(in_units)) - 0.5)
    amounts = multiples.astype(np.int64) * unit
    for index in np.flatnonzero(distance <= _FLOAT_MARGIN).tolist():
        amounts[index] = annuity_installment(
            int(principal[index]), int(rate_units[index]), int(periods[index]), int(unit[index]), mode
        )
    return amounts


def _build_group(
    principal: Int64Array,
    rate_units: Int64Array,
    tenor: Int64Array,
    grace: Int64Array,
    unit: Int64Array,
    method: str,
    interest_mode: money.RoundingMode,
    installment_mode: money.RoundingMode,
    columns: int,
) -> tuple[Int64Array, Int64Array, BoolArray, BoolArray]:
    """Principal and interest of loans that share method and rounding modes, as
    (months x loans) matrices with cells past a loan's tenor left as they fall, and the
    loans refused for a regular principal <= 0 and for an early pay-off."""
    denominator = money.MONTHLY_RATE_DENOMINATOR
    periods = tenor - grace
    month = np.arange(columns)[:, None]
    in_grace = month < grace
    full_interest = money.div_round_array(principal * rate_units, denominator, interest_mode)

    if method == ANNUITY:
        amount = _annuity_amounts(principal, rate_units, periods, unit, installment_mode)
        principals = np.empty((columns, principal.size), dtype=np.int64)
        interests = np.empty((columns, principal.size), dtype=np.int64)
        balance = principal.copy()
        has_grace = bool(grace.any())
        ending_months = set((tenor - 1).tolist())
        for t in range(columns):
            # Clipping changes no accepted loan (their balance stays within 0..P); it
            # keeps a refused loan's runaway balance from overflowing.
            interest = money.div_round_array(
                np.clip(balance, 0, MAX_PRINCIPAL) * rate_units, denominator, interest_mode
            )
            part = amount - interest
            if has_grace:
                interest = np.where(in_grace[t], full_interest, interest)
                part = np.where(in_grace[t], 0, part)
            if t in ending_months:
                part = np.where(t == tenor - 1, balance, part)
            principals[t] = part
            interests[t] = interest
            balance = balance - part
        # Interest falls as the balance falls, so an annuity's principal parts never
        # decrease: the first regular part is the smallest, and the balance reaches 0
        # early exactly when nothing is left for the last installment.
        loans = np.arange(principal.size)
        has_regular = periods > 1
        no_principal = has_regular & (principals[np.minimum(grace, tenor - 1), loans] <= 0)
        early_payoff = (principals[tenor - 1, loans] <= 0) & ~no_principal
        return principals, interests, no_principal, early_payoff

    if method == FLAT:
        amount = money.div_round_array(principal + full_interest * periods, periods * unit, installment_mode) * unit
        regular = amount - full_interest
    else:
        regular = money.div_round_array(principal, periods * unit, installment_mode) * unit
    principals = np.where(~in_grace & (month < tenor - 1), regular, 0)
    principals[tenor - 1, np.arange(principal.size)] = principal - regular * (periods - 1)
    if method == FLAT:
        interests = np.tile(full_interest, (columns, 1))
    else:
        paid_before = np.clip(month - grace, 0, None) * regular
        balance_before = np.clip(principal - paid_before, 0, None)
        interests = np.where(
            in_grace, full_interest, money.div_round_array(balance_before * rate_units, denominator, interest_mode)
        )
    no_principal = (periods > 1) & (regular <= 0)
    early_payoff = (regular * (periods - 1) >= principal) & ~no_principal
    return principals, interests, no_principal, early_payoff


def build_schedules(
    principal: Sequence[int] | Int64Array,
    annual_rate_units: Sequence[int] | Int64Array | int,
    tenor_months: Sequence[int] | Int64Array | int,
    disbursement_date: Sequence[date] | npt.NDArray[np.datetime64] | date,
    *,
    method: Sequence[str] | str = FLAT,
    grace_months: Sequence[int] | Int64Array | int = 0,
    rounding: Sequence[int] | Int64Array | int = 1,
    interest_rounding: Sequence[str] | str = money.HALF_UP,
    installment_rounding: Sequence[str] | str = money.UP,
    first_due_date: Sequence[date | None] | npt.NDArray[np.datetime64] | None = None,
    business_days: Sequence[bool] | BoolArray | bool = False,
) -> ScheduleBatch:
    """Schedules for many loans. Each argument is one value per loan or one value for
    all; ``annual_rate_units`` are 1/10,000 percent (see :func:`money.parse_annual_rate`),
    ``first_due_date`` may hold None (NaT) for loans without one.

    Raises TypeError for amounts, rates or counts that are not whole numbers (floats are
    refused, never truncated) and ValueError for terms outside the engine's ranges (the
    same ones :class:`loans.schedule.LoanTerms` enforces); loans whose rounding is too
    coarse are flagged in the result instead.
    """
    principal_array = _as_int_array(principal, None, "principal").ravel()
    size = principal_array.size
    rate_array = _as_int_array(annual_rate_units, size, "annual_rate_units")
    tenor_array = _as_int_array(tenor_months, size, "tenor_months")
    grace_array = _as_int_array(grace_months, size, "grace_months")
    unit_array = _as_int_array(rounding, size, "rounding")
    method_array = _as_array(method, size, np.str_)
    interest_modes = _as_array(interest_rounding, size, np.str_)
    installment_modes = _as_array(installment_rounding, size, np.str_)
    disbursed = _as_array(disbursement_date, size, "datetime64[D]")
    first_due = _as_array(first_due_date if first_due_date is not None else np.datetime64("NaT"), size, "datetime64[D]")
    business = _as_array(business_days, size, np.bool_)

    checks = {
        "principal": (principal_array >= 1) & (principal_array <= MAX_PRINCIPAL),
        "annual_rate": (rate_array >= 0) & (rate_array <= 100 * money.RATE_SCALE),
        "tenor_months": (tenor_array >= 1) & (tenor_array <= MAX_TENOR_MONTHS),
        "grace_months": (grace_array >= 0) & (grace_array < tenor_array),
        "rounding": np.isin(unit_array, money.ROUNDING_UNITS),
        "method": np.isin(method_array, METHODS),
        "interest_rounding": np.isin(interest_modes, money.INTEREST_ROUNDING_MODES),
        "installment_rounding": np.isin(installment_modes, money.INSTALLMENT_ROUNDING_MODES),
        "disbursement_date": (disbursed >= np.datetime64(EARLIEST_DISBURSEMENT))
        & (disbursed <= np.datetime64(LATEST_DISBURSEMENT)),
    }
    has_first = ~np.isnat(first_due)
    latest_first = due_dates_array(disbursed, np.full(size, MAX_FIRST_DUE_MONTHS), 1, np.zeros(size, np.bool_))[:, 0]
    checks["first_due_date"] = ~has_first | ((first_due > disbursed) & (first_due <= latest_first))
    for name, valid in checks.items():
        if not valid.all():
            bad = np.flatnonzero(~valid)[:5].tolist()
            raise ValueError(f"{name} is out of range for loans at positions {bad}")

    columns = int(tenor_array.max()) if size else 0
    # Built as (months x loans): each month is one contiguous row across the portfolio.
    principals: Int64Array | None = None
    interests: Int64Array | None = None
    reasons = np.full(size, None, dtype=object)
    # Group loans that share a method and rounding modes (at most 18 groups) by masks,
    # not by sorting 100,000s of strings.
    method_masks = {name: _matches(method_array, name) for name in METHODS}
    interest_masks = {name: _matches(interest_modes, name) for name in money.INTEREST_ROUNDING_MODES}
    installment_masks = {name: _matches(installment_modes, name) for name in money.INSTALLMENT_ROUNDING_MODES}
    for group_method, interest_mode, installment_mode in itertools.product(
        METHODS, money.INTEREST_ROUNDING_MODES, money.INSTALLMENT_ROUNDING_MODES
    ):
        chosen = np.flatnonzero(
            method_masks[group_method] & interest_masks[interest_mode] & installment_masks[installment_mode]
        )
        if chosen.size == 0:
            continue
        whole = chosen.size == size
        principal_part, rate_part, tenor_part, grace_part, unit_part = (
            array if whole else array[chosen]
            for array in (principal_array, rate_array, tenor_array, grace_array, unit_array)
        )
        group_principals, group_interests, no_principal, early_payoff = _build_group(
            principal_part,
            rate_part,
            tenor_part,
            grace_part,
            unit_part,
            group_method,
            interest_mode,
            installment_mode,
            columns,
        )
        if whole:
            principals, interests = group_principals, group_interests
        else:
            if principals is None or interests is None:
                principals = np.zeros((columns, size), dtype=np.int64)
                interests = np.zeros((columns, size), dtype=np.int64)
            principals[:, chosen] = group_principals
            interests[:, chosen] = group_interests
        reasons[chosen[no_principal]] = NO_PRINCIPAL
        reasons[chosen[early_payoff]] = EARLY_PAYOFF
    if principals is None or interests is None:  # an empty batch
        principals = np.zeros((columns, size), dtype=np.int64)
        interests = np.zeros((columns, size), dtype=np.int64)

    refused = reasons != None  # noqa: E711 - element-wise comparison on an object array
    outside = (np.arange(columns)[:, None] >= tenor_array) | refused
    principals[outside] = 0
    interests[outside] = 0
    balance = np.cumsum(principals, axis=0)
    np.subtract(principal_array, balance, out=balance)
    balance[outside] = 0
    base = np.where(has_first, first_due, disbursed)
    due = due_dates_array(base, np.where(has_first, 0, 1), columns, business)
    due[outside.T] = np.datetime64("NaT")
    return ScheduleBatch(
        tenor_months=tenor_array,
        due_date=due,
        principal=principals.T,
        interest=interests.T,
        installment=(principals + interests).T,
        balance=balance.T,
        refused=refused,
        reasons=reasons,
    )
