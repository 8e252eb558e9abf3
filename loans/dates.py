"""Due dates: calendar months with the day clamped to the month's end, optionally moved
to the next Indonesian business day. Pure Python, no Django.

Each due date is computed from its base date (the disbursement date, or the first due
date), never chained from the previous one, so 31 January + 1 month is 28/29 February
and + 2 months is 31 March.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import lru_cache

import holidays
import numpy as np
import numpy.typing as npt

#: Which holidays move a due date: Indonesia's public holidays (not the government's
#: collective leave days, cuti bersama, on which banks may still open).
HOLIDAY_CATEGORIES = ("public",)


def add_months(base: date, months: int) -> date:
    """``base`` plus ``months`` calendar months, the day clamped to the month's last day."""
    year, month_index = divmod(base.month - 1 + months, 12)
    year += base.year
    month = month_index + 1
    return date(year, month, min(base.day, calendar.monthrange(year, month)[1]))


@lru_cache(maxsize=256)
def public_holidays(year: int) -> frozenset[date]:
    """Indonesia's public holidays in ``year`` (from the ``holidays`` package)."""
    return frozenset(holidays.country_holidays("ID", years=year, categories=HOLIDAY_CATEGORIES))


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in public_holidays(day.year)


def next_business_day(day: date) -> date:
    """``day`` itself if it is a business day, else the first business day after it."""
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


@lru_cache(maxsize=8192)
def due_dates(
    disbursement_date: date, first_due_date: date | None, tenor_months: int, business_days: bool
) -> tuple[date, ...]:
    """The ``tenor_months`` due dates of a loan.

    Without a first due date installment j is due ``disbursement_date + j months``;
    with one, installment j is due ``first_due_date + (j - 1) months``. With
    ``business_days`` a date on a Saturday, Sunday or public holiday moves forward to
    the next business day. Cached: a portfolio has few distinct date combinations.
    """
    if first_due_date is None:
        dates = [add_months(disbursement_date, j) for j in range(1, tenor_months + 1)]
    else:
        dates = [add_months(first_due_date, j) for j in range(tenor_months)]
    if business_days:
        dates = [next_business_day(day) for day in dates]
    return tuple(dates)


# --- numpy, many loans at once -----------------------------------------------------


def holiday_array(first_year: int, last_year: int) -> npt.NDArray[np.datetime64]:
    days = sorted(day for year in range(first_year, last_year + 1) for day in public_holidays(year))
    return np.array(days, dtype="datetime64[D]")


def due_dates_array(
    base_dates: npt.NDArray[np.datetime64],
    first_offset: npt.NDArray[np.int64],
    columns: int,
    business_days: npt.NDArray[np.bool_],
) -> npt.NDArray[np.datetime64]:
    """Due dates for many loans: row ``l``, column ``t`` is ``base_dates[l]`` plus
    ``first_offset[l] + t`` months (day clamped), moved to the next business day where
    ``business_days[l]``. The same rule as :func:`due_dates`, whose callers pass the
    disbursement date with offset 1 or the first due date with offset 0."""
    base_days = base_dates.astype("datetime64[D]")
    if base_days.size == 0 or columns == 0:
        return np.empty((base_days.size, columns), dtype="datetime64[D]")
    base_months = base_days.astype("datetime64[M]")
    day_of_month = (base_days - base_months.astype("datetime64[D]")).astype(np.int64)  # 0-based
    first_months = base_months.astype(np.int64) + first_offset
    # Month starts and last days from a small table over the months spanned, not per
    # cell; the (loans x months) work is two table look-ups, a minimum and an add, in
    # place, so a portfolio's dates cost few full-size temporaries.
    first_month = int(first_months.min())
    table = (
        np.arange(first_month, int(first_months.max()) + columns + 1).astype("datetime64[M]").astype("datetime64[D]")
    )
    month_start = table.astype(np.int64)
    month_last_day = np.diff(month_start) - 1
    slot = (first_months - first_month).astype(np.int32)[:, None] + np.arange(columns, dtype=np.int32)[None, :]
    day = month_last_day[slot]
    np.minimum(day, day_of_month[:, None], out=day)
    day += month_start[slot]
    result = day.view("datetime64[D]")
    if business_days.any():
        chosen = result[business_days]
        first_year = int(chosen.min().astype("datetime64[Y]").astype(np.int64)) + 1970
        last_year = int(chosen.max().astype("datetime64[Y]").astype(np.int64)) + 1970 + 1
        result[business_days] = np.busday_offset(
            chosen, 0, roll="forward", holidays=holiday_array(first_year, last_year)
        )
    return result
