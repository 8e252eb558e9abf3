"""The programme's business date: one clock for every service, the close, the API,
seeding and tests.

The programme's business days are Jakarta's (Asia/Jakarta, no daylight saving: always
UTC+7), whatever the server's ``TIME_ZONE``. :func:`business_today` is "today" for
every rule (a repayment not dated in the future, the arrears shown today, the date a
close may close, a disbursement's date). Seeding and tests fix it with
:func:`business_date_fixed` (a context manager) or :func:`business_today_set`; nothing
else may define "today". No Django import.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

BUSINESS_TIME_ZONE = ZoneInfo("Asia/Jakarta")

_fixed: date | None = None


def business_today() -> date:
    """Today's business date: the fixed date when one is set, else today in Asia/Jakarta."""
    if _fixed is not None:
        return _fixed
    return datetime.now(BUSINESS_TIME_ZONE).date()


def business_yesterday() -> date:
    """The day before :func:`business_today`: the date the nightly close closes."""
    return business_today() - timedelta(days=1)


def business_date_of(moment: datetime) -> date:
    """The business date an aware ``moment`` falls on (Asia/Jakarta)."""
    return moment.astimezone(BUSINESS_TIME_ZONE).date()


def business_today_set(day: date | None) -> None:
    """Fix :func:`business_today` to ``day`` for this process (None: the real date again)."""
    global _fixed
    _fixed = day


@contextmanager
def business_date_fixed(day: date) -> Iterator[date]:
    """Within the block :func:`business_today` is ``day``; the previous setting comes back after."""
    previous = _fixed
    business_today_set(day)
    try:
        yield day
    finally:
        business_today_set(previous)
