"""The revolving fund of a bank per programme year and its daily series.

The hand-built bank PASAR (a BPR, servicing fee 2.5%) has allocations in two years (the
previous one, Y0, and the current one, Y1) and loans disbursed in both. "Today" is fixed
late in Y1 (Jakarta), so that the figures do not depend on the day the suite runs (a loan
disbursed in March of the current year cannot be disbursed in January). Repayments and
their allocations are written directly, as the ledger holds them; one repayment is
reversed (its allocations undone) and one booked repayment carries an undone allocation:
neither may count.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.db.models import F
from django.utils import timezone
from rest_framework.test import APIClient

from banks.models import Allocation, Bank
from config.clock import business_date_fixed, business_today
from loans.models import CloseRun, FundDay, Loan, Repayment, RepaymentAllocation
from loans.selectors.portfolio import bank_fund_year, percent_of
from tests.factories import BorrowerFactory, UserFactory, bank_user, funded_bank, serviced_loan

Component = RepaymentAllocation.Component
Y1 = 2026
Y0 = Y1 - 1
NOW = datetime(Y1, 12, 1, 10, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
_references = count(1)


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(timezone, "now", lambda: NOW.astimezone(UTC))
    with business_date_fixed(NOW.date()):
        yield


def pay(
    loan: Loan,
    paid_on: date,
    *,
    principal: int = 0,
    interest: int = 0,
    penalty: int = 0,
    reversed_: bool = False,
    undone_principal: int = 0,
) -> Repayment:
    """A repayment on ``loan`` with its allocations, as the ledger stores it. A reversed
    one has every allocation undone; ``undone_principal`` adds an undone allocation to a
    booked one (what a reversal of an earlier repayment leaves behind). The bank's
    ``principal_repaid`` counter follows what counts, as loan servicing keeps it."""
    now = timezone.now()
    parts = {Component.PRINCIPAL: principal, Component.INTEREST: interest, Component.PENALTY: penalty}
    repayment = Repayment.objects.create(
        loan=loan,
        bank=loan.bank,
        # The model keeps a reversed repayment's amount (its constraint wants it positive).
        amount=sum(parts.values()),
        paid_on=paid_on,
        channel=Repayment.Channel.TELLER,
        reference=f"REF-{next(_references)}",
        request_hash="0" * 64,
        status=Repayment.Status.REVERSED if reversed_ else Repayment.Status.BOOKED,
        schedule_version=1,
        created_by=UserFactory.create(),
        created_at=now,
    )
    installment = loan.installments.order_by("number").first()
    assert installment is not None
    for component, amount in parts.items():
        if amount:
            RepaymentAllocation.objects.create(
                repayment=repayment,
                installment=installment,
                component=component,
                amount=amount,
                undone_at=now if reversed_ else None,
            )
    if undone_principal:
        RepaymentAllocation.objects.create(
            repayment=repayment,
            installment=installment,
            component=Component.PRINCIPAL,
            amount=undone_principal,
            undone_at=now,
        )
    if not reversed_:
        Bank.objects.filter(pk=loan.bank_id).update(principal_repaid=F("principal_repaid") + principal)
    return repayment


@dataclass
class Fund:
    pasar: Bank
    jateng: Bank
    users: dict[str, User | None]


@pytest.fixture
def fund(db: Any) -> Fund:
    pasar = funded_bank("PASAR", 1_000_000_000)
    Allocation.objects.filter(bank=pasar).update(year=Y1)
    Allocation.objects.create(bank=pasar, year=Y0, amount=300_000_000)
    Bank.objects.filter(pk=pasar.pk).update(allocated=1_300_000_000, servicing_fee_percent=Decimal("2.50"))
    pasar.refresh_from_db()

    l1 = serviced_loan(bank=pasar, principal=5_000_000, disbursed_on=date(Y0, 3, 10))
    l2 = serviced_loan(bank=pasar, principal=10_000_000, disbursed_on=date(Y0, 6, 1))
    l3 = serviced_loan(bank=pasar, principal=20_000_000, disbursed_on=date(Y1, 1, 5))
    l4 = serviced_loan(bank=pasar, principal=4_000_000, disbursed_on=date(Y1, 1, 20))

    pay(l1, date(Y0, 12, 10), principal=1_000_000, interest=150_000)
    pay(l1, date(Y1, 1, 10), principal=500_000, interest=12_345, penalty=5_000)
    pay(l3, date(Y1, 2, 10), principal=2_000_000, interest=50_000, reversed_=True)
    pay(l3, date(Y1, 2, 11), principal=1_000_000, interest=37_675, undone_principal=999)

    # The close's columns, set directly.
    Loan.objects.filter(pk=l1.pk).update(outstanding_principal=3_500_000, collectibility=1)
    Loan.objects.filter(pk=l2.pk).update(
        status=Loan.Status.WRITTEN_OFF, outstanding_principal=0, written_off_principal=8_000_000, collectibility=5
    )
    Loan.objects.filter(pk=l3.pk).update(
        status=Loan.Status.OVERDUE, outstanding_principal=19_000_000, collectibility=3, days_past_due=95
    )
    Loan.objects.filter(pk=l4.pk).update(
        status=Loan.Status.OVERDUE, outstanding_principal=4_000_000, collectibility=5, days_past_due=190
    )

    # Another bank's money never mixes in.
    jateng = funded_bank("JATENG", 500_000_000, kind=Bank.Kind.COMMERCIAL)
    other = serviced_loan(bank=jateng, principal=7_000_000, disbursed_on=date(Y1, 1, 7))
    pay(other, date(Y1, 2, 1), principal=7_000_000, interest=99_999)
    Loan.objects.filter(pk=other.pk).update(status=Loan.Status.PAID_OFF, outstanding_principal=0)

    borrower = UserFactory.create(role="borrower")
    BorrowerFactory.create(user=borrower)
    return Fund(
        pasar=pasar,
        jateng=jateng,
        users={
            "officer": UserFactory.create(role="officer"),
            "manager": UserFactory.create(role="manager"),
            "auditor": UserFactory.create(role="auditor"),
            "pasar_staff": bank_user(pasar),
            "jateng_staff": bank_user(jateng),
            "borrower": borrower,
            "nobody": UserFactory.create(),
            "anonymous": None,
        },
    )


def get(api_client: APIClient, user: User | None, url: str, **params: Any) -> Any:
    if user is not None:
        api_client.force_authenticate(user)
    return api_client.get(url, params)


# --- the figures ----------------------------------------------------------------------


def test_fund_of_the_current_year_from_the_ledger(fund: Fund, api_client: APIClient) -> None:
    CloseRun.objects.create(business_date=date(Y1, 2, 11), status="done", started_at=timezone.now())
    CloseRun.objects.create(business_date=date(Y1, 2, 12), status="failed", started_at=timezone.now())

    response = get(api_client, fund.users["officer"], "/api/v1/banks/PASAR/fund/", year=Y1)

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "bank": "PASAR",
        "year": Y1,
        "allocation": 1_000_000_000,
        "disbursed": 24_000_000,
        # The reversed repayment and the undone allocation do not count.
        "principal_repaid": 1_500_000,
        "interest_collected": 50_020,
        "penalty_collected": 5_000,
        "servicing_fee_percent": "2.50",
        # 50,020 x 2.5% = 1,250.5, rounded half up.
        "servicing_fee": 1_251,
        "owed_to_city": 1_500_000 + 50_020 + 5_000 - 1_251,
        "outstanding_principal": 26_500_000,
        "outstanding_by_class": {"1": 3_500_000, "2": 0, "3": 19_000_000, "4": 0, "5": 4_000_000},
        # The BPR table: 0.5%, 3%, 10%, 50%, 100%.
        "provisions": {"1": 17_500, "2": 0, "3": 1_900_000, "4": 0, "5": 4_000_000},
        "written_off_principal": 8_000_000,
        # (300M + 1,000M) + (1M + 1.5M) - (5M + 10M + 20M + 4M)
        "available": 1_263_500_000,
        "as_of": f"{Y1}-02-11",
    }


def test_fund_of_the_previous_year_counts_its_own_flows_only(fund: Fund) -> None:
    figures = bank_fund_year(bank=fund.pasar, year=Y0)

    assert figures.allocation == 300_000_000
    assert figures.disbursed == 15_000_000
    assert figures.principal_repaid == 1_000_000
    assert figures.interest_collected == 150_000
    assert figures.penalty_collected == 0
    assert figures.servicing_fee == 3_750
    assert figures.owed_to_city == 1_146_250
    assert figures.available == 300_000_000 + 1_000_000 - 15_000_000
    assert figures.as_of is None


def test_available_of_the_current_year_equals_the_bank_counter(fund: Fund) -> None:
    fund.pasar.refresh_from_db()
    fund.jateng.refresh_from_db()

    assert bank_fund_year(bank=fund.pasar, year=Y1).available == fund.pasar.available == 1_263_500_000
    assert bank_fund_year(bank=fund.jateng, year=Y1).available == fund.jateng.available


def test_a_year_before_any_money_is_empty(fund: Fund) -> None:
    figures = bank_fund_year(bank=fund.pasar, year=2017)

    assert (figures.allocation, figures.disbursed, figures.principal_repaid, figures.available) == (0, 0, 0, 0)
    assert figures.servicing_fee == 0


def test_provisions_follow_the_bank_kind_table(fund: Fund) -> None:
    loan = serviced_loan(bank=fund.jateng, principal=3_000_000, disbursed_on=date(Y1, 3, 1))
    Loan.objects.filter(pk=loan.pk).update(outstanding_principal=2_999_990, collectibility=2, days_past_due=10)

    figures = bank_fund_year(bank=fund.jateng, year=Y1)

    assert figures.outstanding_by_class == {"1": 0, "2": 2_999_990, "3": 0, "4": 0, "5": 0}
    # Commercial class 2 provisions 5%: 149,999.5 rounds half up.
    assert figures.provisions["2"] == 150_000


@pytest.mark.parametrize(
    ("amount", "percent", "expected"),
    [
        (50_020, Decimal("2.50"), 1_251),  # 1,250.5: half up
        (50_019, Decimal("2.50"), 1_250),  # 1,250.475
        (3_500_100, Decimal("0.5"), 17_501),  # 17,500.5
        (99_999, Decimal("0"), 0),
        (12_345, Decimal("100"), 12_345),
        (1, Decimal("0.01"), 0),
    ],
)
def test_percent_of_rounds_half_up_once(amount: int, percent: Decimal, expected: int) -> None:
    assert percent_of(amount, percent) == expected


def test_percent_of_refuses_more_than_two_decimals() -> None:
    with pytest.raises(ValueError, match="2 decimals"):
        percent_of(100, Decimal("2.505"))


def test_year_defaults_to_the_current_year(fund: Fund, api_client: APIClient) -> None:
    response = get(api_client, fund.users["manager"], "/api/v1/banks/PASAR/fund/")

    assert response.status_code == 200
    assert response.json()["year"] == Y1
    assert response.json()["principal_repaid"] == 1_500_000


@pytest.mark.parametrize("year", ["2016", "2201", "abc", "2026.5"])
def test_year_outside_the_programme_is_refused(fund: Fund, api_client: APIClient, year: str) -> None:
    response = get(api_client, fund.users["officer"], "/api/v1/banks/PASAR/fund/", year=year)

    assert response.status_code == 400
    assert "year" in response.json()["errors"]


@pytest.mark.parametrize(
    ("user", "status"),
    [
        ("officer", 200),
        ("manager", 200),
        ("auditor", 200),
        ("pasar_staff", 200),
        ("jateng_staff", 404),
        ("borrower", 403),
        ("nobody", 403),
        ("anonymous", 401),
    ],
)
@pytest.mark.parametrize("path", ["fund/", "fund/daily/"])
def test_who_sees_a_bank_fund(fund: Fund, api_client: APIClient, user: str, status: int, path: str) -> None:
    response = get(api_client, fund.users[user], f"/api/v1/banks/PASAR/{path}")

    assert response.status_code == status


@pytest.mark.parametrize("path", ["fund/", "fund/daily/"])
def test_unknown_bank_answers_404(fund: Fund, api_client: APIClient, path: str) -> None:
    assert get(api_client, fund.users["officer"], f"/api/v1/banks/NOPE/{path}").status_code == 404


def test_bank_staff_see_their_own_bank_fund(fund: Fund, api_client: APIClient) -> None:
    response = get(api_client, fund.users["jateng_staff"], "/api/v1/banks/JATENG/fund/", year=Y1)

    assert response.status_code == 200
    assert response.json()["principal_repaid"] == 7_000_000
    assert response.json()["interest_collected"] == 99_999
    assert response.json()["servicing_fee"] == 0  # the default fee is 0%


# --- the daily series -----------------------------------------------------------------


def fund_day(bank: Bank, business_date: date, **values: Any) -> FundDay:
    figures: dict[str, Any] = {
        "disbursed": 0,
        "principal_repaid": 0,
        "interest_collected": 0,
        "penalty_collected": 0,
        "outstanding_principal": 0,
        "outstanding_by_class": {},
        "available": 0,
    }
    figures.update(values)
    return FundDay.objects.create(bank=bank, business_date=business_date, **figures)


def test_daily_series_defaults_to_the_31_days_up_to_the_last_close(fund: Fund, api_client: APIClient) -> None:
    closed = date(Y1, 3, 31)
    CloseRun.objects.create(business_date=closed, status="done", started_at=timezone.now())
    for days_before in (31, 30, 1, 0):
        fund_day(fund.pasar, closed - timedelta(days=days_before), available=1_000 + days_before)
    fund_day(fund.jateng, closed, available=5)

    response = get(api_client, fund.users["auditor"], "/api/v1/banks/PASAR/fund/daily/")

    assert response.status_code == 200
    body = response.json()
    assert (body["bank"], body["from"], body["to"]) == ("PASAR", str(closed - timedelta(days=30)), str(closed))
    assert [(day["business_date"], day["available"]) for day in body["days"]] == [
        (str(closed - timedelta(days=30)), 1_030),
        (str(closed - timedelta(days=1)), 1_001),
        (str(closed), 1_000),
    ]


def test_daily_series_rows_carry_the_day_figures(fund: Fund, api_client: APIClient) -> None:
    fund_day(
        fund.pasar,
        date(Y0, 6, 1),
        disbursed=10_000_000,
        principal_repaid=416_667,
        interest_collected=12_500,
        penalty_collected=700,
        outstanding_principal=14_583_333,
        outstanding_by_class={"1": 14_000_000, "3": 583_333},
        available=286_416_667,
    )

    response = get(
        api_client,
        fund.users["pasar_staff"],
        "/api/v1/banks/PASAR/fund/daily/",
        **{"from": f"{Y0}-06-01"},
        to=f"{Y0}-06-01",
    )

    assert response.status_code == 200
    assert response.json()["days"] == [
        {
            "business_date": f"{Y0}-06-01",
            "disbursed": 10_000_000,
            "principal_repaid": 416_667,
            "interest_collected": 12_500,
            "penalty_collected": 700,
            "outstanding_principal": 14_583_333,
            "outstanding_by_class": {"1": 14_000_000, "2": 0, "3": 583_333, "4": 0, "5": 0},
            "available": 286_416_667,
        }
    ]


def test_daily_series_takes_at_most_366_days(fund: Fund, api_client: APIClient) -> None:
    officer = fund.users["officer"]
    start = date(Y0, 1, 1)
    fund_day(fund.pasar, start)
    fund_day(fund.pasar, start + timedelta(days=365))

    longest = get(
        api_client, officer, "/api/v1/banks/PASAR/fund/daily/", **{"from": str(start)}, to=str(start + timedelta(365))
    )
    too_long = get(
        api_client, officer, "/api/v1/banks/PASAR/fund/daily/", **{"from": str(start)}, to=str(start + timedelta(366))
    )

    assert longest.status_code == 200
    assert len(longest.json()["days"]) == 2
    assert too_long.status_code == 400
    assert "from" in too_long.json()["errors"]


@pytest.mark.parametrize(
    "params",
    [
        {"from": f"{Y1}-03-02", "to": f"{Y1}-03-01"},
        {"from": "not-a-date"},
        {"to": f"{Y1}-02-30"},
    ],
)
def test_daily_series_refuses_a_bad_range(fund: Fund, api_client: APIClient, params: dict[str, str]) -> None:
    response = get(api_client, fund.users["officer"], "/api/v1/banks/PASAR/fund/daily/", **params)

    assert response.status_code == 400
    assert set(response.json()["errors"]) <= {"from", "to"}


def test_daily_series_without_any_close_ends_today(fund: Fund, api_client: APIClient) -> None:
    today = business_today()
    fund_day(fund.pasar, today - timedelta(days=2), available=7)

    response = get(api_client, fund.users["officer"], "/api/v1/banks/PASAR/fund/daily/")

    assert response.status_code == 200
    assert response.json()["to"] == str(today)
    assert [day["available"] for day in response.json()["days"]] == [7]
