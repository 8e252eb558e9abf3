"""The nightly close (loans/services/close.py): days past due and arrears as of the
business date, collectibility by bank kind, penalties, statuses, snapshots, fund days,
idempotency, catch-up, the run lock, recomputation after a backdated repayment, the API
and the management command.

Loans are disbursed through the disbursement service (tests/factories.py serviced_loan)
and installments paid on their due dates through the repayment service (pay_through).
Partial, penalty-only or future-dated payments, which the waterfall or the date rules
would not make, are simulated by setting the installments' paid columns and writing the
Repayment and RepaymentAllocation rows directly, as the repayment service leaves them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone
from rest_framework.test import APIClient

from banks.models import Allocation, Bank
from config.clock import business_yesterday
from config.errors import ApplicationError
from loans.models import (
    CloseRun,
    CollectibilityClass,
    FundDay,
    Installment,
    Loan,
    LoanSnapshot,
    ProductTerms,
    Repayment,
    RepaymentAllocation,
)
from loans.services.close import (
    CloseRunning,
    business_date_last_closed,
    close_business_date,
    close_catch_up,
    close_chunk,
    close_start,
    loans_close_recompute,
)
from loans.services.close.fund_days import fund_days as fund_days_made
from loans.services.repayments import RepaymentRequest, repayment_post
from tests.factories import ProductTermsFactory, UserFactory, bank_user, funded_bank, serviced_loan

pytestmark = pytest.mark.django_db
JAKARTA = ZoneInfo("Asia/Jakarta")

DISBURSED = date(2026, 1, 10)  # installments fall due on the 10th, from 2026-02-10
PRINCIPAL = 12_000_000  # 12 months, 3% flat: 1,000,000 principal + 30,000 interest a month


@pytest.fixture
def teller() -> User:
    return UserFactory.create(role="bank_staff")


def bank_since_2026(code: str, kind: str) -> Bank:
    """A bank funded with Rp1,000,000,000 allocated on 2026-01-01 (before every date closed here)."""
    bank = funded_bank(code, 1_000_000_000, kind=kind)
    Allocation.objects.filter(bank=bank).update(created_at=datetime(2026, 1, 1, tzinfo=JAKARTA))
    return bank


@pytest.fixture
def pasar() -> Bank:
    return bank_since_2026("PASAR", Bank.Kind.BPR)


@pytest.fixture
def jateng() -> Bank:
    return bank_since_2026("JATENG", Bank.Kind.COMMERCIAL)


def new_loan(bank: Bank, **overrides: Any) -> Loan:
    values: dict[str, Any] = {"principal": PRINCIPAL, "tenor_months": 12, "disbursed_on": DISBURSED, **overrides}
    return serviced_loan(bank=bank, **values)


def installment(loan: Loan, number: int) -> Installment:
    return Installment.objects.get(loan=loan, schedule_version=loan.schedule_version, number=number)


_references = iter(range(1, 10**6))


def pay(
    loan: Loan,
    number: int,
    *,
    on: date,
    principal: int | None = None,
    interest: int | None = None,
    penalty: int = 0,
    actor: User,
) -> Repayment:
    """Book a payment dated ``on`` on installment ``number`` (all of its principal and
    interest unless given), as the repayment service would leave the rows."""
    row = installment(loan, number)
    principal = row.principal - row.principal_paid if principal is None else principal
    interest = row.interest - row.interest_paid if interest is None else interest
    row.principal_paid += principal
    row.interest_paid += interest
    row.penalty_paid += penalty
    if row.paid_on is None and row.principal_paid == row.principal and row.interest_paid == row.interest:
        row.paid_on = on
    row.save()
    repayment = Repayment.objects.create(
        loan=loan,
        bank_id=loan.bank_id,
        amount=principal + interest + penalty,
        paid_on=on,
        channel=Repayment.Channel.TELLER,
        reference=f"R{next(_references)}",
        request_hash="0" * 64,
        schedule_version=loan.schedule_version,
        created_by=actor,
        created_at=timezone.now(),
    )
    for component, amount in (("penalty", penalty), ("interest", interest), ("principal", principal)):
        if amount:
            RepaymentAllocation.objects.create(repayment=repayment, installment=row, component=component, amount=amount)
    open_due = (
        Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version, paid_on__isnull=True)
        .order_by("due_date")
        .values_list("due_date", flat=True)
        .first()
    )
    Loan.objects.filter(pk=loan.pk).update(
        outstanding_principal=F("outstanding_principal") - principal, oldest_unpaid_due=open_due
    )
    Bank.objects.filter(pk=loan.bank_id).update(
        principal_repaid=F("principal_repaid") + principal, interest_collected=F("interest_collected") + interest
    )
    loan.refresh_from_db()
    return repayment


def pay_through(loan: Loan, last_number: int, *, actor: User) -> None:
    """Pay installments 1 to ``last_number`` on their due dates, through the repayment
    service, by the staff of the loan's bank who disbursed it (``actor``, a teller of no
    bank, only books the hand-made payments of :func:`pay`)."""
    staff = User.objects.get(username=f"disburser-{loan.bank.code.lower()}")
    for number in range(1, last_number + 1):
        row = installment(loan, number)
        repayment_post(
            actor=staff,
            loan_id=loan.pk,
            request=RepaymentRequest(row.installment, row.due_date, "teller", f"R{next(_references)}"),
        )
    loan.refresh_from_db()


def pay_by_hand_through(loan: Loan, last_number: int, *, actor: User) -> None:
    """Pay installments 1 to ``last_number`` on their due dates by hand (:func:`pay`), for
    states the service refuses to make: payments dated after today, or backdated beyond
    the bank's limit behind a closed date."""
    for number in range(1, last_number + 1):
        pay(loan, number, on=installment(loan, number).due_date, actor=actor)


def snapshot(loan: Loan, day: date) -> LoanSnapshot:
    return LoanSnapshot.objects.get(loan=loan, business_date=day)


def figures(loan: Loan) -> tuple[Any, ...]:
    loan.refresh_from_db()
    return (
        loan.as_of,
        loan.status,
        loan.days_past_due,
        loan.arrears_principal,
        loan.arrears_interest,
        loan.arrears_penalty,
        loan.collectibility,
        loan.max_days_past_due,
    )


def snapshots(day: date | None = None) -> list[tuple[Any, ...]]:
    rows = LoanSnapshot.objects.order_by("business_date", "loan_id")
    if day is not None:
        rows = rows.filter(business_date=day)
    return list(
        rows.values_list(
            "business_date",
            "loan_id",
            "bank_id",
            "status",
            "outstanding_principal",
            "days_past_due",
            "collectibility",
            "arrears_principal",
            "arrears_interest",
            "arrears_penalty",
        )
    )


# --- days past due and arrears ----------------------------------------------------------


def test_a_loan_paid_on_time_is_active_with_nothing_in_arrears(pasar: Bank, teller: User) -> None:
    loan = new_loan(pasar)
    pay_through(loan, 3, actor=teller)  # due 02-10, 03-10, 04-10

    run = close_business_date(business_date=date(2026, 4, 20))

    assert run.status == CloseRun.Status.DONE
    assert run.loans == 1
    assert figures(loan) == (date(2026, 4, 20), "active", 0, 0, 0, 0, 1, 0)
    row = snapshot(loan, date(2026, 4, 20))
    assert (row.status, row.days_past_due, row.outstanding_principal) == ("active", 0, 9_000_000)
    assert (row.bank_id, row.collectibility) == (pasar.pk, 1)
    assert business_date_last_closed() == date(2026, 4, 20)


def test_one_installment_late_counts_days_from_its_due_date(pasar: Bank, teller: User) -> None:
    loan = new_loan(pasar)
    pay_through(loan, 2, actor=teller)
    third = installment(loan, 3)

    close_business_date(business_date=date(2026, 5, 5))  # 3rd due 04-10: 25 days late

    assert figures(loan) == (date(2026, 5, 5), "overdue", 25, third.principal, third.interest, 0, 1, 25)
    assert snapshot(loan, date(2026, 5, 5)).status == "overdue"


def test_an_installment_due_on_the_business_date_is_in_arrears_but_not_late(pasar: Bank, teller: User) -> None:
    loan = new_loan(pasar)
    pay_through(loan, 2, actor=teller)

    close_business_date(business_date=date(2026, 4, 10))

    third = installment(loan, 3)
    assert figures(loan)[1:5] == ("active", 0, third.principal, third.interest)


def test_two_installments_late_count_from_the_oldest(pasar: Bank, teller: User) -> None:
    loan = new_loan(pasar)
    pay_through(loan, 1, actor=teller)

    close_business_date(business_date=date(2026, 4, 11))  # 2nd due 03-10: 32 days late

    assert figures(loan)[1:5] == ("overdue", 32, 2_000_000, 60_000)
    assert loan.collectibility == 2  # BPR: 31-90 days


def test_a_partial_payment_leaves_the_rest_in_arrears(pasar: Bank, teller: User) -> None:
    loan = new_loan(pasar)
    pay_through(loan, 2, actor=teller)
    pay(loan, 3, on=date(2026, 4, 15), principal=400_000, interest=30_000, actor=teller)

    close_business_date(business_date=date(2026, 4, 20))

    assert figures(loan)[1:5] == ("overdue", 10, 600_000, 0)
    assert snapshot(loan, date(2026, 4, 20)).outstanding_principal == 12_000_000 - 2_000_000 - 400_000


def test_a_payment_dated_after_the_business_date_is_added_back(pasar: Bank, teller: User) -> None:
    loan = new_loan(pasar)
    pay_through(loan, 2, actor=teller)
    pay(loan, 3, on=date(2026, 4, 21), actor=teller)  # paid the day after D
    pay(loan, 4, on=date(2026, 4, 21), principal=250_000, interest=0, actor=teller)

    close_business_date(business_date=date(2026, 4, 20))

    third = installment(loan, 3)
    assert figures(loan)[1:5] == ("overdue", 10, third.principal, third.interest)
    row = snapshot(loan, date(2026, 4, 20))
    assert row.outstanding_principal == 12_000_000 - 2_000_000
    assert (row.arrears_principal, row.days_past_due) == (third.principal, 10)


def test_a_reversed_later_payment_is_not_added_back(pasar: Bank, teller: User) -> None:
    loan = new_loan(pasar)
    pay_through(loan, 2, actor=teller)
    repayment = pay(loan, 3, on=date(2026, 4, 21), principal=500_000, interest=0, actor=teller)
    # Reversed: its allocations undone and the installment's paid columns restored.
    Repayment.objects.filter(pk=repayment.pk).update(status=Repayment.Status.REVERSED)
    RepaymentAllocation.objects.filter(repayment=repayment).update(undone_at=timezone.now())
    Installment.objects.filter(pk=installment(loan, 3).pk).update(principal_paid=0)
    Loan.objects.filter(pk=loan.pk).update(outstanding_principal=10_000_000)

    close_business_date(business_date=date(2026, 4, 20))

    assert snapshot(loan, date(2026, 4, 20)).arrears_principal == 1_000_000
    assert snapshot(loan, date(2026, 4, 20)).outstanding_principal == 10_000_000


def test_loans_outside_the_close_are_left_alone(pasar: Bank, teller: User) -> None:
    later = new_loan(pasar, disbursed_on=date(2026, 5, 1))
    later.refresh_from_db()
    pending = new_loan(pasar)
    Loan.objects.filter(pk=pending.pk).update(schedule_status=Loan.ScheduleStatus.PENDING)
    written_off = new_loan(pasar)
    Loan.objects.filter(pk=written_off.pk).update(status=Loan.Status.WRITTEN_OFF)

    run = close_business_date(business_date=date(2026, 4, 20))

    assert run.loans == 0
    assert not LoanSnapshot.objects.exists()
    assert set(Loan.objects.values_list("as_of", flat=True)) == {None}


def test_a_loan_paid_off_after_the_date_is_snapshotted_as_it_was(pasar: Bank, teller: User) -> None:
    loan = new_loan(pasar)
    pay_by_hand_through(loan, 12, actor=teller)
    Loan.objects.filter(pk=loan.pk).update(status=Loan.Status.PAID_OFF, closed_on=date(2027, 1, 10))
    # Closing a date in the middle of its life: it was active then.
    close_business_date(business_date=date(2026, 6, 1))

    row = snapshot(loan, date(2026, 6, 1))
    assert (row.status, row.outstanding_principal) == ("active", 8_000_000)  # 4 paid by 06-01
    loan.refresh_from_db()
    assert (loan.status, loan.as_of) == ("paid_off", None)  # the loan itself is not reopened


def test_a_loan_with_nothing_left_becomes_paid_off(pasar: Bank, teller: User) -> None:
    loan = new_loan(pasar)
    for number in range(1, 13):
        pay(loan, number, on=date(2026, 3, 1) + timedelta(days=number), actor=teller)
    assert loan.status == "active"

    close_business_date(business_date=date(2026, 3, 20))

    loan.refresh_from_db()
    assert (loan.status, loan.closed_on, loan.outstanding_principal) == ("paid_off", date(2026, 3, 13), 0)
    assert snapshot(loan, date(2026, 3, 20)).status == "paid_off"


# --- collectibility ---------------------------------------------------------------------------


def test_the_same_lateness_is_class_1_at_a_bpr_and_class_2_at_a_commercial_bank(
    pasar: Bank, jateng: Bank, teller: User
) -> None:
    at_bpr, at_commercial = new_loan(pasar), new_loan(jateng)
    for loan in (at_bpr, at_commercial):
        pay_through(loan, 2, actor=teller)

    close_business_date(business_date=date(2026, 4, 30))  # 20 days late

    assert figures(at_bpr)[2::4] == (20, 1)
    assert figures(at_commercial)[2::4] == (20, 2)


@pytest.mark.parametrize(
    ("days_late", "bpr", "commercial"),
    [(0, 1, 1), (1, 1, 2), (30, 1, 2), (31, 2, 2), (90, 2, 2), (91, 3, 3), (121, 4, 4), (180, 4, 4), (181, 5, 5)],
)
def test_the_default_tables(pasar: Bank, jateng: Bank, days_late: int, bpr: int, commercial: int) -> None:
    at_bpr, at_commercial = new_loan(pasar), new_loan(jateng)

    close_business_date(business_date=date(2026, 2, 10) + timedelta(days=days_late))

    assert (figures(at_bpr)[2], figures(at_bpr)[6], figures(at_commercial)[6]) == (days_late, bpr, commercial)


def test_a_table_edited_by_the_manager_changes_the_class(pasar: Bank, teller: User) -> None:
    loan = new_loan(pasar)
    pay_through(loan, 2, actor=teller)
    CollectibilityClass.objects.filter(bank_kind="bpr", grade=2).update(min_days=15)

    close_business_date(business_date=date(2026, 4, 30))

    assert figures(loan)[2::4] == (20, 2)


def test_a_held_class_lasts_until_the_hold_ends(pasar: Bank) -> None:
    loan = new_loan(pasar, collectibility_hold=1, hold_until=date(2026, 6, 1))

    close_business_date(business_date=date(2026, 6, 1))  # 111 days late, held
    assert figures(loan)[2::4] == (111, 1)

    close_business_date(business_date=date(2026, 6, 2))
    assert figures(loan)[2::4] == (112, 3)
    assert snapshot(loan, date(2026, 6, 1)).collectibility == 1
    assert snapshot(loan, date(2026, 6, 2)).collectibility == 3


# --- penalties ----------------------------------------------------------------------------------


def penalty_terms(rate: str, grace: int, cap: str | None) -> ProductTerms:
    return ProductTermsFactory.create(
        version=2, penalty_percent_per_day=Decimal(rate), penalty_grace_days=grace, penalty_cap_percent=cap
    )


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_penalties_start_after_the_grace_and_accrue_day_by_day(pasar: Bank, teller: User) -> None:
    terms = penalty_terms("0.1", 5, None)
    loan = new_loan(pasar, terms=terms)
    pay_through(loan, 2, actor=teller)
    third = installment(loan, 3)  # due 04-10, 1,030,000

    close_business_date(business_date=date(2026, 4, 15))  # within the grace: nothing
    assert installment(loan, 3).penalty == 0

    close_business_date(business_date=date(2026, 4, 20))  # 5 days past the grace
    charged = installment(loan, 3)
    assert charged.penalty == half_up(Decimal("0.001") * third.installment * 5) == 5_150
    assert charged.penalty_through == date(2026, 4, 20)
    assert figures(loan)[5] == 5_150
    assert snapshot(loan, date(2026, 4, 20)).arrears_penalty == 5_150

    close_business_date(business_date=date(2026, 4, 21))
    assert installment(loan, 3).penalty == 5_150 + 1_030


def test_penalties_are_on_what_is_left_of_the_installment_rounded_half_up(pasar: Bank, teller: User) -> None:
    loan = new_loan(pasar, terms=penalty_terms("0.0125", 0, None))
    pay_through(loan, 2, actor=teller)
    pay(loan, 3, on=date(2026, 4, 12), principal=1_000_000 - 12_345, interest=30_000, actor=teller)

    close_business_date(business_date=date(2026, 4, 14))  # 0.0125% of Rp12,345 x 4 days = 6.1725
    assert installment(loan, 3).penalty == 6
    close_business_date(business_date=date(2026, 4, 18))  # 4 more days: 6 again (each charge rounds)
    assert installment(loan, 3).penalty == 12

    half = new_loan(pasar, terms=ProductTermsFactory.create(version=3, penalty_percent_per_day=Decimal("0.05")))
    pay_by_hand_through(half, 2, actor=teller)  # dated before the closed 04-18 by more than 31 days
    pay(half, 3, on=date(2026, 4, 11), principal=1_000_000 - 1_000, interest=30_000, actor=teller)
    close_business_date(business_date=date(2026, 4, 19))  # 0.05% of Rp1,000 x 9 days = 4.5
    assert installment(half, 3).penalty == half_up(Decimal("4.5")) == 5


def test_the_cap_limits_an_installment_s_penalty(pasar: Bank, teller: User) -> None:
    terms = penalty_terms("1", 0, "2.5")
    loan = new_loan(pasar, terms=terms)
    pay_through(loan, 2, actor=teller)

    close_business_date(business_date=date(2026, 4, 12))  # 2% of 1,030,000
    assert installment(loan, 3).penalty == 20_600
    close_business_date(business_date=date(2026, 4, 13))  # would be 30,900; cap floor(2.5%) = 25,750
    assert installment(loan, 3).penalty == 25_750
    close_business_date(business_date=date(2026, 4, 14))
    assert installment(loan, 3).penalty == 25_750


def test_unpaid_penalties_of_a_paid_installment_stay_in_arrears_without_lateness(pasar: Bank, teller: User) -> None:
    terms = penalty_terms("0.1", 0, None)
    loan = new_loan(pasar, terms=terms)
    pay_through(loan, 2, actor=teller)
    close_business_date(business_date=date(2026, 4, 15))  # 5 days: 5,150
    pay(loan, 3, on=date(2026, 4, 16), penalty=1_000, actor=teller)

    close_business_date(business_date=date(2026, 4, 16))

    assert figures(loan)[1:6] == ("active", 0, 0, 0, 4_150)
    # As of 04-15 the later payment is added back: the whole installment and penalty.
    close_business_date(business_date=date(2026, 4, 15))
    assert snapshot(loan, date(2026, 4, 15)).arrears_penalty == 5_150
    assert installment(loan, 3).penalty == 5_150  # closing 04-15 again charged nothing

    # The rest paid on 04-17: nothing left now, but on 04-16 it was still owed.
    pay(loan, 3, on=date(2026, 4, 17), principal=0, interest=0, penalty=4_150, actor=teller)
    close_business_date(business_date=date(2026, 4, 17))
    assert figures(loan)[5] == 0
    close_business_date(business_date=date(2026, 4, 16))
    assert snapshot(loan, date(2026, 4, 16)).arrears_penalty == 4_150


def test_products_without_a_penalty_rule_charge_none(pasar: Bank, teller: User) -> None:
    loan = new_loan(pasar)
    close_business_date(business_date=date(2026, 5, 1))
    assert set(Installment.objects.filter(loan=loan).values_list("penalty", flat=True)) == {0}
    assert set(Installment.objects.filter(loan=loan).values_list("penalty_through", flat=True)) == {None}


# --- idempotency, catch-up, lock --------------------------------------------------------------


def test_closing_a_date_twice_changes_nothing(pasar: Bank, jateng: Bank, teller: User) -> None:
    terms = penalty_terms("0.1", 3, "10")
    loans = [new_loan(pasar, terms=terms), new_loan(jateng, terms=terms), new_loan(pasar)]
    pay_through(loans[0], 2, actor=teller)
    pay_through(loans[2], 3, actor=teller)
    day = date(2026, 4, 30)

    close_business_date(business_date=day)
    first = (
        [figures(loan) for loan in loans],
        snapshots(),
        list(Installment.objects.values_list("penalty", "penalty_through")),
    )
    fund_days = list(FundDay.objects.order_by("bank_id").values())
    close_business_date(business_date=day)

    assert (
        [figures(loan) for loan in loans],
        snapshots(),
        list(Installment.objects.values_list("penalty", "penalty_through")),
    ) == first
    assert list(FundDay.objects.order_by("bank_id").values()) == fund_days
    assert CloseRun.objects.filter(business_date=day, status="done").count() == 2


def test_closing_an_earlier_date_again_never_moves_loans_back(pasar: Bank, teller: User) -> None:
    loan = new_loan(pasar)
    close_business_date(business_date=date(2026, 4, 30))
    after = figures(loan)

    close_business_date(business_date=date(2026, 3, 1))

    assert figures(loan) == after
    assert snapshot(loan, date(2026, 3, 1)).days_past_due == 19
    assert business_date_last_closed() == date(2026, 4, 30)


def test_the_catch_up_closes_missed_nights_date_by_date(pasar: Bank, teller: User) -> None:
    terms = penalty_terms("0.1", 0, None)
    loan = new_loan(pasar, terms=terms)
    pay_through(loan, 2, actor=teller)

    first = close_catch_up(until=date(2026, 4, 11))  # nothing closed yet: that date alone
    assert [run.business_date for run in first] == [date(2026, 4, 11)]
    runs = close_catch_up(until=date(2026, 4, 14))

    assert [run.business_date for run in runs] == [date(2026, 4, 12), date(2026, 4, 13), date(2026, 4, 14)]
    assert all(run.status == "done" for run in runs)
    assert [row[5] for row in snapshots()] == [1, 2, 3, 4]
    # One charge per date, each rounded on its own: 4 x 1,030.
    assert installment(loan, 3).penalty == 4_120
    assert figures(loan)[:3] == (date(2026, 4, 14), "overdue", 4)
    assert close_catch_up(until=date(2026, 4, 14)) == []


def test_a_second_close_is_refused_while_one_runs(pasar: Bank) -> None:
    new_loan(pasar)
    running = CloseRun.objects.create(business_date=date(2026, 4, 1), started_at=timezone.now())

    with pytest.raises(CloseRunning) as refused:
        close_start(business_date=date(2026, 4, 2))

    assert refused.value.run == running
    assert CloseRun.objects.count() == 1


def test_a_stale_close_is_marked_failed_and_taken_over(pasar: Bank, settings: Any) -> None:
    new_loan(pasar)
    settings.CLOSE_STALE_SECONDS = 60
    stale = CloseRun.objects.create(business_date=date(2026, 4, 1), started_at=timezone.now() - timedelta(seconds=61))

    run = close_business_date(business_date=date(2026, 4, 1))

    stale.refresh_from_db()
    assert stale.status == "failed"
    assert "Stale" in stale.error
    assert (run.status, run.loans) == ("done", 1)


def test_a_chunk_of_a_run_taken_over_does_nothing(pasar: Bank) -> None:
    loan = new_loan(pasar)
    plan = close_start(business_date=date(2026, 4, 1))
    CloseRun.objects.filter(pk=plan.run_id).update(status="failed")

    assert close_chunk(run_id=plan.run_id, low=0, high=2**62).loans == 0
    assert figures(loan)[0] is None


def test_dates_not_over_cannot_be_closed(pasar: Bank) -> None:
    with pytest.raises(ApplicationError):
        close_start(business_date=business_yesterday() + timedelta(days=1))


def test_chunks_split_the_loans_and_count_on_the_run(pasar: Bank, jateng: Bank, settings: Any) -> None:
    settings.CLOSE_CHUNK_LOANS = 2
    loans = [new_loan(bank) for bank in (pasar, jateng, pasar, jateng, pasar)]
    plan = close_start(business_date=date(2026, 3, 1))
    assert len(plan.chunks) == 3
    for low, high in plan.chunks:
        close_chunk(run_id=plan.run_id, low=low, high=high)
    run = CloseRun.objects.get(pk=plan.run_id)
    assert (run.chunks, run.chunks_done, run.loans, run.status) == (3, 3, 5, "running")
    assert {row[1] for row in snapshots()} == {loan.pk for loan in loans}


# --- recomputing after a backdated repayment -------------------------------------------------


def test_a_backdated_repayment_recomputes_the_closed_dates_from_its_date(pasar: Bank, teller: User) -> None:
    loan = new_loan(pasar)
    pay_through(loan, 2, actor=teller)
    close_catch_up(until=date(2026, 4, 20))
    close_catch_up(until=date(2026, 4, 22))
    assert figures(loan)[:3] == (date(2026, 4, 22), "overdue", 12)

    pay(loan, 3, on=date(2026, 4, 21), actor=teller)  # booked today, dated 04-21
    loans_close_recompute(loan_ids=[loan.pk], from_date=date(2026, 4, 21))

    assert [(row[0], row[3], row[5], row[7]) for row in snapshots()] == [
        (date(2026, 4, 20), "overdue", 10, 1_000_000),
        (date(2026, 4, 21), "active", 0, 0),
        (date(2026, 4, 22), "active", 0, 0),
    ]
    assert figures(loan)[:5] == (date(2026, 4, 22), "active", 0, 0, 0)
    assert loan.max_days_past_due == 12
    assert installment(loan, 3).penalty_through is None


def test_a_backdated_repayment_makes_the_closed_days_fund_days_again(pasar: Bank, jateng: Bank, teller: User) -> None:
    """The fund days of the dates a backdated repayment recomputes are what a close run
    after it would write: the day's collections, the outstanding by class, the fund
    available; later dates' outstanding and fund too. Another bank's are untouched."""
    loan = new_loan(pasar)
    new_loan(jateng)
    pay_through(loan, 2, actor=teller)
    close_catch_up(until=date(2026, 4, 20))
    close_catch_up(until=date(2026, 4, 22))

    def days(bank: Bank) -> list[dict[str, Any]]:
        return [dict(row) for row in FundDay.objects.filter(bank=bank).order_by("business_date").values()]

    def fresh(bank: Bank, day: date) -> dict[str, Any]:
        (made,) = [vars(row) for row in fund_days_made(day, bank_ids=[bank.pk])]
        return {key: made[key] for key in ("disbursed", "principal_repaid", "interest_collected",
                                           "penalty_collected", "outstanding_principal", "outstanding_by_class",
                                           "available")}  # fmt: skip

    stale = {row["business_date"]: row for row in days(pasar)}
    others = days(jateng)
    paid = pay(loan, 3, on=date(2026, 4, 21), actor=teller)  # booked today, dated 04-21
    loans_close_recompute(loan_ids=[loan.pk], from_date=date(2026, 4, 21))

    now = {row["business_date"]: row for row in days(pasar)}
    for day in (date(2026, 4, 21), date(2026, 4, 22)):
        assert {key: now[day][key] for key in fresh(pasar, day)} == fresh(pasar, day)
        assert now[day]["outstanding_principal"] == stale[day]["outstanding_principal"] - 1_000_000
        assert now[day]["available"] == stale[day]["available"] + 1_000_000
        # 12 days late at a BPR is still class 1: the class's outstanding falls by the principal.
        assert now[day]["outstanding_by_class"]["1"] == stale[day]["outstanding_by_class"]["1"] - 1_000_000
    assert now[date(2026, 4, 21)]["principal_repaid"] == stale[date(2026, 4, 21)]["principal_repaid"] + 1_000_000
    assert now[date(2026, 4, 21)]["interest_collected"] == stale[date(2026, 4, 21)]["interest_collected"] + (
        paid.amount - 1_000_000
    )
    assert now[date(2026, 4, 20)] == stale[date(2026, 4, 20)]
    assert days(jateng) == others


def test_recompute_does_nothing_before_any_close_or_after_the_last(pasar: Bank, teller: User) -> None:
    loan = new_loan(pasar)
    loans_close_recompute(loan_ids=[loan.pk], from_date=date(2026, 4, 1))
    assert not LoanSnapshot.objects.exists()
    close_business_date(business_date=date(2026, 4, 1))
    before = (figures(loan), snapshots())
    loans_close_recompute(loan_ids=[loan.pk], from_date=date(2026, 4, 2))
    assert (figures(loan), snapshots()) == before


def test_recompute_drops_the_snapshots_of_a_loan_paid_off_since(pasar: Bank, teller: User) -> None:
    loan = new_loan(pasar)
    close_catch_up(until=date(2026, 2, 1))
    close_catch_up(until=date(2026, 2, 3))
    for number in range(1, 13):
        pay(loan, number, on=date(2026, 2, 2), actor=teller)
    Loan.objects.filter(pk=loan.pk).update(status=Loan.Status.PAID_OFF, closed_on=date(2026, 2, 2))

    loans_close_recompute(loan_ids=[loan.pk], from_date=date(2026, 2, 2))

    assert [(row[0], row[3]) for row in snapshots()] == [(date(2026, 2, 1), "active")]


# --- fund days ---------------------------------------------------------------------------------------


def test_the_fund_day_of_each_bank(pasar: Bank, jateng: Bank, teller: User) -> None:
    late = new_loan(pasar)
    on_time = new_loan(pasar)
    new_loan(pasar, disbursed_on=date(2026, 4, 20), principal=3_000_000)
    pay_through(late, 1, actor=teller)
    pay_through(on_time, 3, actor=teller)
    pay(on_time, 4, on=date(2026, 4, 20), principal=300_000, interest=30_000, actor=teller)
    pay(on_time, 4, on=date(2026, 4, 21), principal=100_000, interest=0, actor=teller)  # after D

    close_business_date(business_date=date(2026, 4, 20))

    day = FundDay.objects.get(bank=pasar, business_date=date(2026, 4, 20))
    assert (day.disbursed, day.principal_repaid, day.interest_collected, day.penalty_collected) == (
        3_000_000,
        300_000,
        30_000,
        0,
    )
    outstanding_late, outstanding_on_time = 11_000_000, 12_000_000 - 3_000_000 - 300_000
    assert day.outstanding_by_class == {
        "1": outstanding_on_time + 3_000_000,
        "2": outstanding_late,
        "3": 0,
        "4": 0,
        "5": 0,
    }
    assert day.outstanding_principal == outstanding_late + outstanding_on_time + 3_000_000
    # Allocated 1,000,000,000 + repaid through D (1,000,000 + 3,000,000 + 300,000) - lent (27,000,000).
    assert day.available == 1_000_000_000 + 4_300_000 - 27_000_000
    empty = FundDay.objects.get(bank=jateng, business_date=date(2026, 4, 20))
    assert (empty.outstanding_principal, empty.available) == (0, 1_000_000_000)
    assert empty.outstanding_by_class == dict.fromkeys(["1", "2", "3", "4", "5"], 0)


def test_allocations_count_from_the_day_they_were_made_in_jakarta(pasar: Bank) -> None:
    late_evening = datetime(2026, 4, 20, 23, 30, tzinfo=JAKARTA)
    allocation = Allocation.objects.create(bank=pasar, year=2026, amount=5_000_000)
    Allocation.objects.filter(pk=allocation.pk).update(created_at=late_evening)
    Allocation.objects.exclude(pk=allocation.pk).update(created_at=late_evening - timedelta(days=30))

    close_business_date(business_date=date(2026, 4, 20))
    close_business_date(business_date=date(2026, 4, 19))

    available = dict(FundDay.objects.filter(bank=pasar).values_list("business_date", "available"))
    assert available[date(2026, 4, 20)] - available[date(2026, 4, 19)] == 5_000_000


# --- API and command ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("officer", 200), ("manager", 200), ("auditor", 200), ("bank_staff", 200), ("borrower", 403)],
)
def test_who_reads_the_close(api_client: APIClient, pasar: Bank, role: str, status: int) -> None:
    user = bank_user(pasar) if role == "bank_staff" else UserFactory.create(role=role)
    close_business_date(business_date=date(2026, 4, 1))
    api_client.force_authenticate(user)

    answer = api_client.get("/api/v1/close/")

    assert answer.status_code == status
    if status == 200:
        body = answer.json()
        assert body["last_closed"] == "2026-04-01"
        assert body["running"] is None
        assert [(run["business_date"], run["status"], run["loans"]) for run in body["recent"]] == [
            ("2026-04-01", "done", 0)
        ]
        assert body["recent"][0]["seconds"] >= 0


def test_the_state_shows_a_running_close(api_client: APIClient) -> None:
    CloseRun.objects.create(business_date=date(2026, 4, 1), started_at=timezone.now(), chunks=4, chunks_done=1)
    api_client.force_authenticate(UserFactory.create(role="auditor"))

    body = api_client.get("/api/v1/close/").json()

    assert body["last_closed"] is None
    assert {key: body["running"][key] for key in ("business_date", "chunks", "chunks_done")} == {
        "business_date": "2026-04-01",
        "chunks": 4,
        "chunks_done": 1,
    }
    assert body["recent"][0]["seconds"] is None


def test_the_manager_starts_a_catch_up(api_client: APIClient, pasar: Bank) -> None:
    loan = new_loan(pasar)
    close_business_date(business_date=date(2026, 4, 1))
    api_client.force_authenticate(UserFactory.create(role="manager"))

    answer = api_client.post("/api/v1/close/", {"until": "2026-04-03"}, format="json")

    assert answer.status_code == 202, answer.json()
    # Without a broker the catch-up ran in the request.
    assert answer.json()["last_closed"] == "2026-04-03"
    assert [run["business_date"] for run in answer.json()["recent"]] == ["2026-04-03", "2026-04-02", "2026-04-01"]
    assert figures(loan)[0] == date(2026, 4, 3)


def test_the_catch_up_defaults_to_yesterday(api_client: APIClient) -> None:
    api_client.force_authenticate(UserFactory.create(role="manager"))
    answer = api_client.post("/api/v1/close/", {}, format="json")
    assert answer.status_code == 202
    assert answer.json()["last_closed"] == business_yesterday().isoformat()


@pytest.mark.parametrize("role", ["officer", "auditor", "bank_staff", "borrower"])
def test_only_the_manager_starts_a_close(api_client: APIClient, pasar: Bank, role: str) -> None:
    user = bank_user(pasar) if role == "bank_staff" else UserFactory.create(role=role)
    api_client.force_authenticate(user)
    assert api_client.post("/api/v1/close/", {"until": "2026-04-01"}, format="json").status_code == 403
    assert not CloseRun.objects.exists()


def test_a_date_not_over_yet_is_refused(api_client: APIClient) -> None:
    api_client.force_authenticate(UserFactory.create(role="manager"))
    today = business_yesterday() + timedelta(days=1)

    answer = api_client.post("/api/v1/close/", {"until": today.isoformat()}, format="json")

    assert answer.status_code == 400
    assert list(answer.json()["errors"]) == ["until"]
    assert not CloseRun.objects.exists()


def test_a_catch_up_is_refused_while_a_close_runs(api_client: APIClient) -> None:
    CloseRun.objects.create(business_date=date(2026, 4, 1), started_at=timezone.now())
    api_client.force_authenticate(UserFactory.create(role="manager"))

    answer = api_client.post("/api/v1/close/", {"until": "2026-04-03"}, format="json")

    assert answer.status_code == 409
    assert answer.json()["state"] == "running"
    assert CloseRun.objects.count() == 1


def test_the_command_closes_up_to_a_date_and_says_so(pasar: Bank) -> None:
    new_loan(pasar)
    close_business_date(business_date=date(2026, 4, 1))
    out = StringIO()

    call_command("close_business_date", "--until", "2026-04-03", stdout=out)

    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["Closed 2026-04-02", "Closed 2026-04-03"]
    assert "1 loans" in lines[0]
    out = StringIO()
    call_command("close_business_date", "--until", "2026-04-03", stdout=out)
    assert "Nothing to close" in out.getvalue()


def test_the_command_shows_each_chunk_of_a_date_as_it_is_done(pasar: Bank, settings: Any) -> None:
    settings.CLOSE_CHUNK_LOANS = 2
    for _ in range(5):
        new_loan(pasar)
    close_business_date(business_date=date(2026, 4, 1))
    out = StringIO()

    call_command("close_business_date", "--until", "2026-04-02", stdout=out)

    lines = out.getvalue().splitlines()
    assert [line.split(", ")[:2] for line in lines[:-1]] == [
        ["  2026-04-02: chunk 1/3", "2 loans closed"],
        ["  2026-04-02: chunk 2/3", "4 loans closed"],
        ["  2026-04-02: chunk 3/3", "5 loans closed"],
    ]
    assert lines[-1].startswith("Closed 2026-04-02: 5 loans in 3 chunks")
