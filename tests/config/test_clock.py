"""The one business date: Asia/Jakarta's today, fixed by seeding and tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from config import clock
from config.errors import ApplicationError
from loans.models import Loan, Repayment
from loans.services.close import close_start
from loans.services.repayments import RepaymentRequest, repayment_post
from tests.factories import bank_user, serviced_loan


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


@pytest.mark.django_db
def test_the_services_take_today_from_the_clock() -> None:
    loan = serviced_loan(disbursed_on=date(2026, 1, 31))  # first installment due 28 February
    staff = bank_user(loan.bank)

    def pay(on: date, reference: str) -> Loan:
        request = RepaymentRequest(amount=100_000, paid_on=on, channel=Repayment.Channel.TELLER, reference=reference)
        repayment_post(actor=staff, loan_id=loan.pk, request=request)
        return Loan.objects.get(pk=loan.pk)

    with clock.business_date_fixed(date(2026, 2, 19)):
        with pytest.raises(ApplicationError) as refused:
            pay(date(2026, 2, 20), "CLOCK-1")
        assert list(refused.value.errors) == ["paid_on"]
        with pytest.raises(ApplicationError) as not_over:
            close_start(business_date=date(2026, 2, 19))
        assert list(not_over.value.errors) == ["business_date"]
    # The status a repayment leaves follows the clock's today: the installment due on
    # 28 February is not fully paid.
    with clock.business_date_fixed(date(2026, 2, 20)):
        assert pay(date(2026, 2, 20), "CLOCK-1").status == Loan.Status.ACTIVE
    with clock.business_date_fixed(date(2026, 3, 2)):
        assert pay(date(2026, 3, 2), "CLOCK-2").status == Loan.Status.OVERDUE
