"""Portfolio quality: outstanding, PAR30, NPL and arrears, in total and per bank,
kecamatan, sector and sex, from the loans' close columns (set directly here).

Five open loans, 0, 15, 45, 100 and 200 days past due:

=====  ======  =====  =====  ==========  ========  ===========  ===  ===============
loan   bank    days   class  outstanding arrears   kecamatan    sex  sector
=====  ======  =====  =====  ==========  ========  ===========  ===  ===============
A      PASAR   0      1      5,000,000   0         33.74.01     F    trade
B      PASAR   15     1      4,000,000   412,500   33.74.14     M    services
C      JATENG  45     2      3,000,000   526,000   33.74.14     F    trade
D      JATENG  100    3      2,000,000   830,000   33.74.14     M    food
E      PASAR   200    5      1,234,567   1,042,000 33.74.01     F    food
=====  ======  =====  =====  ==========  ========  ===========  ===  ===============

plus a paid-off and a written-off loan that must not count.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from banks.models import Bank
from borrowers.models import Borrower, Business
from config.roles import roles_of
from loans.models import CloseRun, Loan
from loans.selectors.portfolio import portfolio, ratio
from tests.factories import BorrowerFactory, UserFactory, bank_user, funded_bank, serviced_loan

SEMARANG_TENGAH_KELURAHAN = "33.74.01.1001"
MIJEN_KELURAHAN = "33.74.14.1001"


def open_loan(
    bank: Bank,
    *,
    days: int,
    grade: int,
    outstanding: int,
    kelurahan: str,
    sex: str,
    sector: str,
    arrears: tuple[int, int, int] = (0, 0, 0),
    status: str = Loan.Status.ACTIVE,
) -> Loan:
    loan = serviced_loan(bank=bank, principal=5_000_000)
    Borrower.objects.filter(pk=loan.borrower_id).update(sex=sex, kelurahan_id=kelurahan)
    Business.objects.filter(pk=loan.application.business_id).update(sector=sector)
    Loan.objects.filter(pk=loan.pk).update(
        status=status,
        outstanding_principal=outstanding,
        days_past_due=days,
        collectibility=grade,
        arrears_principal=arrears[0],
        arrears_interest=arrears[1],
        arrears_penalty=arrears[2],
        as_of=date(2026, 6, 30),
    )
    return loan


@dataclass
class World:
    users: dict[str, User | None]


@pytest.fixture
def world(db: Any) -> World:
    pasar = funded_bank("PASAR", 1_000_000_000)
    jateng = funded_bank("JATENG", 1_000_000_000, kind=Bank.Kind.COMMERCIAL)
    Bank.objects.filter(pk=pasar.pk).update(name="BPR Bank Pasar Kota Semarang")
    Bank.objects.filter(pk=jateng.pk).update(name="Bank Jateng")
    tengah, mijen = SEMARANG_TENGAH_KELURAHAN, MIJEN_KELURAHAN
    open_loan(pasar, days=0, grade=1, outstanding=5_000_000, kelurahan=tengah, sex="F", sector="trade")
    open_loan(
        pasar,
        days=15,
        grade=1,
        outstanding=4_000_000,
        kelurahan=mijen,
        sex="M",
        sector="services",
        arrears=(400_000, 12_500, 0),
    )
    open_loan(
        jateng,
        days=45,
        grade=2,
        outstanding=3_000_000,
        kelurahan=mijen,
        sex="F",
        sector="trade",
        arrears=(500_000, 25_000, 1_000),
        status=Loan.Status.OVERDUE,
    )
    open_loan(
        jateng,
        days=100,
        grade=3,
        outstanding=2_000_000,
        kelurahan=mijen,
        sex="M",
        sector="food",
        arrears=(800_000, 30_000, 0),
        status=Loan.Status.OVERDUE,
    )
    open_loan(
        pasar,
        days=200,
        grade=5,
        outstanding=1_234_567,
        kelurahan=tengah,
        sex="F",
        sector="food",
        arrears=(1_000_000, 40_000, 2_000),
        status=Loan.Status.OVERDUE,
    )
    # Closed loans are not in the portfolio, whatever their last figures.
    open_loan(
        pasar, days=0, grade=1, outstanding=0, kelurahan=tengah, sex="M", sector="trade", status=Loan.Status.PAID_OFF
    )
    open_loan(
        pasar,
        days=250,
        grade=5,
        outstanding=700_000,
        kelurahan=mijen,
        sex="F",
        sector="craft",
        arrears=(700_000, 0, 0),
        status=Loan.Status.WRITTEN_OFF,
    )
    CloseRun.objects.create(business_date=date(2026, 6, 30), status="done", started_at=timezone.now())

    borrower = UserFactory.create(role="borrower")
    BorrowerFactory.create(user=borrower)
    return World(
        users={
            "officer": UserFactory.create(role="officer"),
            "manager": UserFactory.create(role="manager"),
            "auditor": UserFactory.create(role="auditor"),
            "pasar_staff": bank_user(pasar),
            "jateng_staff": bank_user(jateng),
            "borrower": borrower,
            "nobody": UserFactory.create(),
            "anonymous": None,
        }
    )


def figures(loans: int, outstanding: int, par30: int, npl: int, arrears: int, par30_ratio: str, npl_ratio: str) -> dict:
    return {
        "loans": loans,
        "outstanding": outstanding,
        "par30_outstanding": par30,
        "par30": par30_ratio,
        "npl_outstanding": npl,
        "npl": npl_ratio,
        "arrears": arrears,
    }


#: All five loans: PAR30 = C + D + E, NPL = D + E.
TOTALS = figures(5, 15_234_567, 6_234_567, 3_234_567, 2_810_500, "0.4092", "0.2123")
PASAR = figures(3, 10_234_567, 1_234_567, 1_234_567, 1_454_500, "0.1206", "0.1206")
JATENG = figures(2, 5_000_000, 5_000_000, 2_000_000, 1_356_000, "1.0000", "0.4000")


def get(api_client: APIClient, user: User | None, **params: str) -> Any:
    if user is not None:
        api_client.force_authenticate(user)
    return api_client.get("/api/v1/portfolio/", params)


def test_totals_without_grouping(world: World, api_client: APIClient) -> None:
    response = get(api_client, world.users["manager"])

    assert response.status_code == 200
    assert response.json() == {"as_of": "2026-06-30", "totals": TOTALS, "groups": []}


def test_by_bank(world: World, api_client: APIClient) -> None:
    response = get(api_client, world.users["officer"], by="bank")

    assert response.status_code == 200
    assert response.json()["totals"] == TOTALS
    assert response.json()["groups"] == [
        {"key": "JATENG", "name": "Bank Jateng", **JATENG},
        {"key": "PASAR", "name": "BPR Bank Pasar Kota Semarang", **PASAR},
    ]


def test_by_kecamatan(world: World, api_client: APIClient) -> None:
    response = get(api_client, world.users["auditor"], by="kecamatan")

    assert response.status_code == 200
    assert response.json()["totals"] == TOTALS
    assert response.json()["groups"] == [
        # A and E: PAR30 and NPL are E.
        {
            "key": "33.74.01",
            "name": "Semarang Tengah",
            **figures(2, 6_234_567, 1_234_567, 1_234_567, 1_042_000, "0.1980", "0.1980"),
        },
        # B, C and D: 5,000,000 / 9,000,000 = 0.5555... rounds half up.
        {
            "key": "33.74.14",
            "name": "Mijen",
            **figures(3, 9_000_000, 5_000_000, 2_000_000, 1_768_500, "0.5556", "0.2222"),
        },
    ]


def test_by_sector(world: World, api_client: APIClient) -> None:
    response = get(api_client, world.users["officer"], by="sector")

    assert response.status_code == 200
    assert response.json()["totals"] == TOTALS
    assert response.json()["groups"] == [
        {
            "key": "food",
            "name": "Kuliner",
            **figures(2, 3_234_567, 3_234_567, 3_234_567, 1_872_000, "1.0000", "1.0000"),
        },
        {"key": "services", "name": "Jasa", **figures(1, 4_000_000, 0, 0, 412_500, "0.0000", "0.0000")},
        {"key": "trade", "name": "Perdagangan", **figures(2, 8_000_000, 3_000_000, 0, 526_000, "0.3750", "0.0000")},
    ]


def test_by_sex(world: World, api_client: APIClient) -> None:
    response = get(api_client, world.users["officer"], by="sex")

    assert response.status_code == 200
    assert response.json()["totals"] == TOTALS
    assert response.json()["groups"] == [
        {"key": "F", "name": "Perempuan", **figures(3, 9_234_567, 4_234_567, 1_234_567, 1_568_000, "0.4586", "0.1337")},
        {"key": "M", "name": "Laki-laki", **figures(2, 6_000_000, 2_000_000, 2_000_000, 1_242_500, "0.3333", "0.3333")},
    ]


def test_bank_staff_see_only_their_bank(world: World, api_client: APIClient) -> None:
    totals = get(api_client, world.users["jateng_staff"])
    by_sex = get(api_client, world.users["pasar_staff"], by="sex")

    assert totals.json()["totals"] == JATENG
    assert by_sex.json()["totals"] == PASAR
    assert by_sex.json()["groups"] == [
        {"key": "F", "name": "Perempuan", **figures(2, 6_234_567, 1_234_567, 1_234_567, 1_042_000, "0.1980", "0.1980")},
        {"key": "M", "name": "Laki-laki", **figures(1, 4_000_000, 0, 0, 412_500, "0.0000", "0.0000")},
    ]


def test_bank_staff_grouped_by_bank_get_their_bank_only(world: World, api_client: APIClient) -> None:
    response = get(api_client, world.users["pasar_staff"], by="bank")

    assert [group["key"] for group in response.json()["groups"]] == ["PASAR"]


@pytest.mark.parametrize(
    ("user", "status"),
    [
        ("officer", 200),
        ("manager", 200),
        ("auditor", 200),
        ("pasar_staff", 200),
        ("borrower", 403),
        ("nobody", 403),
        ("anonymous", 401),
    ],
)
def test_who_sees_the_portfolio(world: World, api_client: APIClient, user: str, status: int) -> None:
    assert get(api_client, world.users[user]).status_code == status


@pytest.mark.parametrize("by", ["region", "BANK", "bank,sex"])
def test_unknown_grouping_is_refused(world: World, api_client: APIClient, by: str) -> None:
    response = get(api_client, world.users["officer"], by=by)

    assert response.status_code == 400
    assert "by" in response.json()["errors"]


def test_empty_portfolio_has_zero_ratios(db: Any, api_client: APIClient) -> None:
    response = get(api_client, UserFactory.create(role="manager"), by="bank")

    assert response.status_code == 200
    assert response.json() == {
        "as_of": None,
        "totals": figures(0, 0, 0, 0, 0, "0.0000", "0.0000"),
        "groups": [],
    }


@pytest.mark.parametrize("by", [None, "bank", "kecamatan", "sector", "sex"])
def test_one_aggregate_query_per_request(world: World, django_assert_num_queries: Any, by: str | None) -> None:
    officer = world.users["officer"]
    roles_of(officer)  # the user's roles are read once per request, before the figures

    with django_assert_num_queries(2):  # the last close date and the aggregate
        portfolio(user=officer, by=by)


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [
        (1, 20_000, "0.0001"),  # 0.00005: half up
        (1, 20_001, "0.0000"),
        (523, 10_000, "0.0523"),
        (2, 3, "0.6667"),
        (7, 7, "1.0000"),
        (5, 0, "0.0000"),
    ],
)
def test_ratio_is_exact_and_rounds_half_up(part: int, whole: int, expected: str) -> None:
    assert f"{ratio(part, whole):.4f}" == expected
