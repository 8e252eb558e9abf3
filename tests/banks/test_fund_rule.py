"""The fund's available amount is one rule, :func:`banks.fund.fund_available`; the
database's twins agree with it on random counters: the conditional UPDATE that draws
on the fund (``bank_fund_draw``), the one that moves repaid principal
(``bank_fund_repaid``) and the ``bank_fund_not_overdrawn`` CHECK constraint."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from banks.fund import fund_available
from banks.models import Bank
from banks.services import bank_fund_draw, bank_fund_repaid
from tests.factories import BankFactory
from tests.rollback import rolled_back

pytestmark = pytest.mark.django_db

TWIN_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
rupiah = st.integers(0, 10**12)


def test_fund_available_is_allocated_plus_repaid_less_disbursed() -> None:
    assert fund_available(allocated=1_000, principal_repaid=250, disbursed=900) == 350
    bank = Bank(allocated=1_000, principal_repaid=250, disbursed=900)
    assert bank.available == 350


@TWIN_SETTINGS
@example(allocated=100, repaid=0, disbursed=40, amount=60)
@example(allocated=100, repaid=0, disbursed=40, amount=61)
@given(allocated=rupiah, repaid=rupiah, disbursed=rupiah, amount=st.integers(1, 10**12))
def test_fund_draw_succeeds_exactly_when_fund_available_covers_it(
    allocated: int, repaid: int, disbursed: int, amount: int
) -> None:
    available = fund_available(allocated=allocated, principal_repaid=repaid, disbursed=disbursed)
    with rolled_back():
        bank = BankFactory.create(code="FUNDTWIN")
        # The CHECK constraint refuses exactly the counters the rule calls overdrawn.
        try:
            with transaction.atomic():
                Bank.objects.filter(pk=bank.pk).update(
                    allocated=allocated, principal_repaid=repaid, disbursed=disbursed
                )
        except IntegrityError:
            assert available < 0
            return
        assert available >= 0
        assert bank_fund_draw(bank_id=bank.pk, amount=amount) == (available >= amount)
        bank.refresh_from_db()
        assert bank.available == (available - amount if available >= amount else available)


@TWIN_SETTINGS
@given(allocated=rupiah, repaid=rupiah, disbursed=rupiah, principal=st.integers(-(10**12), 10**12))
def test_fund_repaid_refuses_exactly_what_would_overdraw(
    allocated: int, repaid: int, disbursed: int, principal: int
) -> None:
    available = fund_available(allocated=allocated, principal_repaid=repaid, disbursed=disbursed)
    if available < 0:
        return
    with rolled_back():
        bank = BankFactory.create(code="FUNDTWIN")
        Bank.objects.filter(pk=bank.pk).update(allocated=allocated, principal_repaid=repaid, disbursed=disbursed)
        moved = bank_fund_repaid(bank_id=bank.pk, principal=principal, interest=0)
        assert moved == (principal == 0 or available + principal >= 0)
