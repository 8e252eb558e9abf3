"""The collectibility tables by bank kind: read by every staff role, replaced whole by
the programme manager, validated with the pure rule and audited with the old rows."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from rest_framework.test import APIClient

from audit.models import AuditEntry
from config.errors import ApplicationError
from loans.collectibility import BPR, COMMERCIAL, DEFAULT_TABLES, Grade
from loans.models import CollectibilityClass, Loan
from loans.selectors.portfolio import bank_fund_year, collectibility_tables
from loans.services.collectibility import collectibility_table_update
from tests.factories import BorrowerFactory, UserFactory, bank_user, funded_bank, serviced_loan

BPR_DEFAULTS = [
    {"grade": 1, "name": "Lancar", "min_days": 0, "provision_percent": "0.50"},
    {"grade": 2, "name": "Dalam Perhatian Khusus", "min_days": 31, "provision_percent": "3.00"},
    {"grade": 3, "name": "Kurang Lancar", "min_days": 91, "provision_percent": "10.00"},
    {"grade": 4, "name": "Diragukan", "min_days": 121, "provision_percent": "50.00"},
    {"grade": 5, "name": "Macet", "min_days": 181, "provision_percent": "100.00"},
]
COMMERCIAL_DEFAULTS = [
    {"grade": 1, "name": "Lancar", "min_days": 0, "provision_percent": "1.00"},
    {"grade": 2, "name": "Dalam Perhatian Khusus", "min_days": 1, "provision_percent": "5.00"},
    {"grade": 3, "name": "Kurang Lancar", "min_days": 91, "provision_percent": "15.00"},
    {"grade": 4, "name": "Diragukan", "min_days": 121, "provision_percent": "50.00"},
    {"grade": 5, "name": "Macet", "min_days": 181, "provision_percent": "100.00"},
]
#: The BPR table with Diragukan from 151 days and class 1 provisioned at 1%.
EDITED = [
    {**row, "min_days": 151}
    if row["grade"] == 4
    else {**row, "provision_percent": "1.00"}
    if row["grade"] == 1
    else row
    for row in BPR_DEFAULTS
]


@pytest.fixture
def users(db: Any) -> dict[str, User | None]:
    bank = funded_bank("PASAR")
    borrower = UserFactory.create(role="borrower")
    BorrowerFactory.create(user=borrower)
    return {
        "officer": UserFactory.create(role="officer"),
        "manager": UserFactory.create(role="manager", username="programme-manager"),
        "auditor": UserFactory.create(role="auditor"),
        "bank_staff": bank_user(bank),
        "borrower": borrower,
        "nobody": UserFactory.create(),
        "anonymous": None,
    }


def as_user(api_client: APIClient, user: User | None) -> APIClient:
    if user is not None:
        api_client.force_authenticate(user)
    return api_client


def stored(kind: str) -> list[tuple[int, str, int, Decimal]]:
    return [
        (row.grade, row.name, row.min_days, row.provision_percent)
        for row in CollectibilityClass.objects.filter(bank_kind=kind).order_by("grade")
    ]


# --- reading ------------------------------------------------------------------------


def test_tables_start_as_the_defaults(users: dict[str, User | None], api_client: APIClient) -> None:
    response = as_user(api_client, users["officer"]).get("/api/v1/collectibility/")

    assert response.status_code == 200
    assert response.json() == {"commercial": COMMERCIAL_DEFAULTS, "bpr": BPR_DEFAULTS}


@pytest.mark.parametrize(
    ("user", "status"),
    [
        ("officer", 200),
        ("manager", 200),
        ("auditor", 200),
        ("bank_staff", 200),
        ("borrower", 403),
        ("nobody", 403),
        ("anonymous", 401),
    ],
)
def test_who_reads_the_tables(users: dict[str, User | None], api_client: APIClient, user: str, status: int) -> None:
    assert as_user(api_client, users[user]).get("/api/v1/collectibility/").status_code == status


# --- editing ------------------------------------------------------------------------


def test_manager_replaces_a_table_and_it_is_audited(users: dict[str, User | None], api_client: APIClient) -> None:
    response = as_user(api_client, users["manager"]).put(
        "/api/v1/collectibility/bpr/", {"grades": EDITED}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json() == {"bank_kind": "bpr", "grades": EDITED, "previous": BPR_DEFAULTS}
    assert stored(BPR)[3] == (4, "Diragukan", 151, Decimal("50.00"))
    assert stored(BPR)[0] == (1, "Lancar", 0, Decimal("1.00"))
    assert stored(COMMERCIAL) == [tuple(row) for row in DEFAULT_TABLES[COMMERCIAL]]
    [entry] = AuditEntry.objects.filter(subject_type="collectibility_table")
    assert entry.actor is not None
    assert (entry.actor.username, entry.action, entry.subject_id) == (
        "programme-manager",
        "collectibility_table_update",
        "bpr",
    )
    old_row, new_row = entry.before["grades"][3], entry.after["grades"][3]
    assert (old_row["name"], old_row["min_days"], Decimal(old_row["provision_percent"])) == (
        "Diragukan",
        121,
        Decimal("50.00"),
    )
    assert (new_row["name"], new_row["min_days"], Decimal(new_row["provision_percent"])) == (
        "Diragukan",
        151,
        Decimal("50.00"),
    )


def test_the_next_readers_use_the_edited_table(users: dict[str, User | None], api_client: APIClient) -> None:
    bank = funded_bank("PASAR")
    loan = serviced_loan(bank=bank, principal=5_000_000, disbursed_on=date(2026, 1, 31))
    Loan.objects.filter(pk=loan.pk).update(outstanding_principal=4_000_050, collectibility=1)
    assert bank_fund_year(bank=bank, year=2026).provisions["1"] == 20_000  # 0.5% of 4,000,050 = 20,000.25

    as_user(api_client, users["manager"]).put("/api/v1/collectibility/bpr/", {"grades": EDITED}, format="json")

    assert collectibility_tables()[BPR][3].min_days == 151
    assert bank_fund_year(bank=bank, year=2026).provisions["1"] == 40_001  # 1% of 4,000,050 = 40,000.5


@pytest.mark.parametrize(
    ("user", "status"),
    [("officer", 403), ("auditor", 403), ("bank_staff", 403), ("borrower", 403), ("nobody", 403), ("anonymous", 401)],
)
def test_only_the_manager_edits(users: dict[str, User | None], api_client: APIClient, user: str, status: int) -> None:
    response = as_user(api_client, users[user]).put("/api/v1/collectibility/bpr/", {"grades": EDITED}, format="json")

    assert response.status_code == status
    assert stored(BPR) == [tuple(row) for row in DEFAULT_TABLES[BPR]]


def test_unknown_kind_answers_404(users: dict[str, User | None], api_client: APIClient) -> None:
    response = as_user(api_client, users["manager"]).put(
        "/api/v1/collectibility/syariah/", {"grades": EDITED}, format="json"
    )

    assert response.status_code == 404


def _with(row_grade: int, **changes: Any) -> list[dict[str, Any]]:
    """The BPR defaults with the row of grade ``row_grade`` changed."""
    return [{**row, **changes} if row["grade"] == row_grade else row for row in BPR_DEFAULTS]


@pytest.mark.parametrize(
    ("grades", "field"),
    [
        (BPR_DEFAULTS[:4], "grades"),  # four grades
        ([BPR_DEFAULTS[1], BPR_DEFAULTS[0], *BPR_DEFAULTS[2:]], "grades"),  # out of order
        ([*BPR_DEFAULTS[:4], {**BPR_DEFAULTS[4], "grade": 4}], "grades"),  # a grade twice
        (_with(1, min_days=5), "min_days"),  # class 1 must start at 0
        (_with(3, min_days=31), "min_days"),  # not later than grade 2
        (_with(4, min_days=90), "min_days"),  # earlier than grade 3
    ],
)
def test_a_table_that_cannot_class_every_loan_is_refused(
    users: dict[str, User | None], api_client: APIClient, grades: list[dict[str, Any]], field: str
) -> None:
    response = as_user(api_client, users["manager"]).put(
        "/api/v1/collectibility/bpr/", {"grades": grades}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["message"] == "The collectibility table was not saved."
    assert list(response.json()["errors"]) == [field]
    assert stored(BPR) == [tuple(row) for row in DEFAULT_TABLES[BPR]]


@pytest.mark.parametrize(
    "grades",
    [
        _with(5, provision_percent="100.01"),
        _with(2, provision_percent="-1"),
        _with(2, provision_percent=3.5),  # a JSON float
        _with(2, provision_percent="3.125"),
        _with(2, min_days=-1),
        _with(2, name=""),
        _with(2, grade=6),
        [{"grade": 1}],
        "not a list",
    ],
)
def test_malformed_rows_are_refused(users: dict[str, User | None], api_client: APIClient, grades: Any) -> None:
    response = as_user(api_client, users["manager"]).put(
        "/api/v1/collectibility/commercial/", {"grades": grades}, format="json"
    )

    assert response.status_code == 400
    assert "grades" in response.json()["errors"]
    assert stored(COMMERCIAL) == [tuple(row) for row in DEFAULT_TABLES[COMMERCIAL]]


# --- the service ----------------------------------------------------------------------


def test_service_refuses_anyone_but_the_manager(users: dict[str, User | None]) -> None:
    with pytest.raises(PermissionDenied):
        collectibility_table_update(actor=users["officer"], bank_kind=BPR, rows=DEFAULT_TABLES[BPR])


def test_service_refuses_an_unknown_kind(users: dict[str, User | None]) -> None:
    with pytest.raises(ApplicationError) as caught:
        collectibility_table_update(actor=users["manager"], bank_kind="syariah", rows=DEFAULT_TABLES[BPR])

    assert list(caught.value.errors) == ["bank_kind"]


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (Grade(2, "DPK", 31, Decimal("3.125")), "provision_percent"),
        (Grade(2, "DPK", 31, Decimal("101")), "provision_percent"),
        (Grade(2, "  ", 31, Decimal("3")), "name"),
        (Grade(2, "DPK", -5, Decimal("3")), "min_days"),
    ],
)
def test_service_checks_every_row(users: dict[str, User | None], row: Grade, field: str) -> None:
    rows = [row if old.grade == 2 else old for old in DEFAULT_TABLES[BPR]]

    with pytest.raises(ApplicationError) as caught:
        collectibility_table_update(actor=users["manager"], bank_kind=BPR, rows=rows)

    assert field in caught.value.errors


def test_service_returns_both_tables_and_fills_a_missing_one(users: dict[str, User | None]) -> None:
    CollectibilityClass.objects.filter(bank_kind=COMMERCIAL).delete()

    change = collectibility_table_update(actor=users["manager"], bank_kind=COMMERCIAL, rows=DEFAULT_TABLES[COMMERCIAL])

    assert change.previous == ()
    assert change.grades == DEFAULT_TABLES[COMMERCIAL]
    assert stored(COMMERCIAL) == [tuple(row) for row in DEFAULT_TABLES[COMMERCIAL]]
