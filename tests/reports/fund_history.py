"""A nine-month history of the revolving fund for the fund-flow and city-books tests,
made through the services with the clock set by ``business_date_fixed``: loans
disbursed in January, February and May at both banks, repayments on time, late ones
(10 days, across the month end) carrying penalties, a pay-off, a backdated repayment (dated 30 March, booked on 3 April
after March was closed), a reversed repayment, a loan never paid that reaches class 5
and is written off on 5 September, a recovery on it on 20 September, loans that stop
paying (every allowance class is present on 30 September), and the close run at every
month end.

The allocations are dated 1 December 2025 (before the history) so the fund's
``available`` is what the fund days show."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import User

from banks.models import Allocation, Bank
from config.clock import BUSINESS_TIME_ZONE, business_date_fixed
from loans.models import Application, Loan, ProductTerms, Repayment
from loans.services.applications import application_disburse
from loans.services.close import close_business_date
from loans.services.repayments import RepaymentRequest, loan_payoff_quote, repayment_post, repayment_reverse
from loans.services.schedules import loan_schedules_store
from loans.services.write_off import loan_write_off
from reports.periods import Period, month_period
from tests.factories import ApplicationFactory, BusinessFactory, ProductFactory, ProductTermsFactory, bank_user
from tests.loans.conftest import Programme

_references = itertools.count(1)
_contracts = itertools.count(1)
YEAR = 2026
MONTHS: list[Period] = [month_period(YEAR, month) for month in range(1, 10)]
WRITTEN_OFF_ON = date(YEAR, 9, 5)
#: Servicing fees of the two banks (percent of interest).
FEES = {"PASAR": Decimal("10"), "JATENG": Decimal("7.5")}


@dataclass
class History:
    pasar: Bank
    jateng: Bank
    loans: dict[str, Loan]
    reversed: Repayment
    backdated: Repayment
    recovery: Repayment

    @property
    def banks(self) -> list[Bank]:
        return [self.jateng, self.pasar]  # code order


def staff(bank: Bank) -> User:
    username = f"disburser-{bank.code.lower()}"
    return User.objects.filter(username=username).first() or bank_user(bank, username=username)


def disburse(
    bank: Bank, terms: ProductTerms, principal: int, on: date, tenor: int = 12, name: str = "", series: str = "F"
) -> Loan:
    """A loan of ``principal`` disbursed on ``on`` through the services (a new borrower
    and business, named ``name`` if given; contract ``KW-<series><n>``)."""
    business = BusinessFactory.create(started_on=date(2018, 1, 1), **({"name": name} if name else {}))
    application = ApplicationFactory.create(
        business=business,
        borrower=business.borrower,
        bank=bank,
        terms=terms,
        principal=principal,
        tenor_months=tenor,
        state=Application.State.APPROVED,
        contract_number=f"KW-{series}{next(_contracts):03d}",
    )
    with business_date_fixed(on):
        application_disburse(actor=staff(bank), application_id=application.pk, disbursed_on=on)
        loan = Loan.objects.get(application=application)
        loan_schedules_store(loan_ids=[loan.pk])
    loan.refresh_from_db()
    return loan


def pay(loan: Loan, amount: int, on: date, booked: date | None = None) -> Repayment:
    with business_date_fixed(booked or on):
        repayment, _replay = repayment_post(
            actor=staff(loan.bank),
            loan_id=loan.pk,
            request=RepaymentRequest(amount, on, "teller", f"F{next(_references)}"),
        )
    return repayment


def pay_due(loan: Loan, month: Period, late_days: int = 0) -> None:
    """Pay each installment of ``loan`` due in ``month`` (whole: with its penalty when
    late), ``late_days`` after its due date (still within the month)."""
    loan.refresh_from_db()
    rows = loan.installments.filter(
        schedule_version=loan.schedule_version,
        due_date__gte=month.start - timedelta(days=late_days),
        due_date__lte=month.end - timedelta(days=late_days),
        paid_on__isnull=True,
    ).order_by("number")
    for row in rows:
        row.refresh_from_db()
        amount = row.installment - row.principal_paid - row.interest_paid + row.penalty - row.penalty_paid
        if amount > 0:
            pay(loan, amount, row.due_date + timedelta(days=late_days))


def close(day: date) -> None:
    with business_date_fixed(day + timedelta(days=1)):
        close_business_date(business_date=day)


def make_history(programme: Programme, manager: User) -> History:
    pasar, jateng = programme.pasar, programme.jateng
    for bank in (pasar, jateng):
        Bank.objects.filter(pk=bank.pk).update(servicing_fee_percent=FEES[bank.code])
    Allocation.objects.update(created_at=datetime(2025, 12, 1, tzinfo=BUSINESS_TIME_ZONE))
    terms = programme.terms
    with_penalty = ProductTermsFactory.create(
        product=ProductFactory.create(code="DENDA", name="Wibawa dengan denda"),
        penalty_percent_per_day=Decimal("0.1"),
    )
    loans = {
        "on_time": disburse(pasar, terms, 12_000_000, date(YEAR, 1, 10)),
        "never": disburse(jateng, terms, 6_000_000, date(YEAR, 1, 10)),
        "early": disburse(pasar, terms, 3_000_000, date(YEAR, 1, 10), tenor=6),
        "late": disburse(pasar, with_penalty, 5_000_000, date(YEAR, 1, 25)),
        # Pays February and March, then stops: 168 days late on 30 September (BPR class 4).
        "stops_pasar": disburse(pasar, terms, 4_000_000, date(YEAR, 1, 15)),
        # Never pays: class 5 (macet) at the end, not written off.
        "macet": disburse(pasar, terms, 2_500_000, date(YEAR, 1, 20)),
    }
    close(MONTHS[0].end)
    loans["jateng_on_time"] = disburse(jateng, terms, 4_000_000, date(YEAR, 2, 5))
    reversed_repayment = backdated = recovery = None
    for month in MONTHS[1:]:
        if month.start.month == 5:
            loans["may"] = disburse(pasar, terms, 2_000_000, date(YEAR, 5, 15), tenor=6)
            # Pays June and July, then stops: 56 days late on 30 September (commercial class 2).
            loans["stops_jateng"] = disburse(jateng, terms, 3_000_000, date(YEAR, 5, 5))
        if month.start.month == 4:
            # Booked on 3 April, dated 30 March: March is closed already.
            backdated = pay(loans["jateng_on_time"], 500_000, date(YEAR, 3, 30), booked=date(YEAR, 4, 3))
        pay_due(loans["on_time"], month)
        pay_due(loans["jateng_on_time"], month)
        # Paid 10 days late: across the month end, so the close charges a penalty first.
        pay_due(loans["late"], month, late_days=10)
        if "may" in loans:
            pay_due(loans["may"], month)
        if month.start.month in (2, 3):
            pay_due(loans["stops_pasar"], month)
        if month.start.month in (6, 7):
            pay_due(loans["stops_jateng"], month)
        if month.start.month == 2:
            early = loans["early"]
            pay(early, loan_payoff_quote(loan=early, on=date(YEAR, 2, 20)).amount, date(YEAR, 2, 20))
        if month.start.month == 4:
            wrong = pay(loans["on_time"], 700_000, date(YEAR, 4, 20))
            with business_date_fixed(date(YEAR, 4, 21)):
                reversed_repayment = repayment_reverse(
                    actor=programme.pasar_staff, repayment_id=wrong.pk, reason="Salah input"
                )
        if month.start.month == 9:
            with business_date_fixed(WRITTEN_OFF_ON):
                loan_write_off(actor=manager, loan_id=loans["never"].pk, reason="Macet, usaha tutup", on=WRITTEN_OFF_ON)
            recovery = pay(loans["never"], 2_500_000, date(YEAR, 9, 20))
        close(month.end)
    for loan in loans.values():
        loan.refresh_from_db()
    assert reversed_repayment is not None
    assert backdated is not None
    assert recovery is not None
    pasar.refresh_from_db()
    jateng.refresh_from_db()
    return History(
        pasar=pasar,
        jateng=jateng,
        loans=loans,
        reversed=reversed_repayment,
        backdated=backdated,
        recovery=recovery,
    )
