"""The one business date: Asia/Jakarta's today, fixed by seeding and tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

from config import clock


def test_business_today_is_jakartas_date() -> None:
    assert clock.business_today() == datetime.now(clock.BUSINESS_TIME_ZONE).date()
    # 18:00 UTC is 01:00 the next day in Jakarta.
    assert clock.business_date_of(datetime(2026, 3, 1, 18, 0, tzinfo=UTC)) == date(2026, 3, 2)


def test_a_fixed_business_date_holds_inside_the_block_and_is_restored() -> None:
    with clock.business_date_fixed(date(2026, 2, 1)):
        assert clock.business_today() == date(2026, 2, 1)
        assert clock.business_yesterday() == date(2026, 1, 31)
        with clock.business_date_fixed(date(2027, 1, 1)):
            assert clock.business_today() == date(2027, 1, 1)
        assert clock.business_today() == date(2026, 2, 1)
    assert clock.business_today() == datetime.now(clock.BUSINESS_TIME_ZONE).date()
