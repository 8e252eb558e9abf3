"""Bank APIs: every endpoint for every role (own and foreign bank), the shapes and the
400s that name the field."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from banks.models import Allocation, Bank
from tests.banks.conftest import People

pytestmark = pytest.mark.django_db

ROLES = ["officer", "auditor", "manager", "pasar_staff", "jateng_staff", "borrower", "nobody", "anonymous"]
NEW_BANK = {"code": "BPRKOTA", "name": "BPR Kota", "kind": "bpr", "servicing_fee_percent": "2.5"}
ALLOCATION = {"year": 2026, "amount": 250_000_000, "note": "APBD 2026"}


def call(api_client: APIClient, user: Any, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    if user is not None:
        api_client.force_authenticate(user)
    send = getattr(api_client, method)
    if method == "get":
        return send(f"/api/v1/{path}", body or {})
    return send(f"/api/v1/{path}", body or {}, format="json")


# --- the role x endpoint matrix (PASAR is pasar_staff's own bank, jateng_staff's foreign one) ----

READ_PASAR = {
    "officer": 200,
    "auditor": 200,
    "manager": 200,
    "pasar_staff": 200,
    "jateng_staff": 404,
    "borrower": 403,
    "nobody": 403,
    "anonymous": 401,
}
WRITE_PASAR = {**READ_PASAR, "officer": 403, "auditor": 403, "pasar_staff": 403, "manager": None}


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        (
            "get",
            "banks/",
            None,
            {**READ_PASAR, "jateng_staff": 200},
        ),
        ("post", "banks/", NEW_BANK, {**WRITE_PASAR, "manager": 201, "jateng_staff": 403}),
        ("get", "banks/PASAR/", None, READ_PASAR),
        ("patch", "banks/PASAR/", {"name": "Bank Pasar"}, {**WRITE_PASAR, "manager": 200}),
        ("get", "banks/PASAR/allocations/", None, READ_PASAR),
        ("post", "banks/PASAR/allocations/", ALLOCATION, {**WRITE_PASAR, "manager": 201}),
    ],
)
@pytest.mark.parametrize("who", ROLES)
def test_bank_endpoint_matrix(
    api_client: APIClient,
    people: People,
    who: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    expected: dict[str, int],
) -> None:
    response = call(api_client, people.by_name(who), method, path, body)
    assert response.status_code == expected[who], response.content
    assert set(response.json()) >= ({"message", "errors"} if response.status_code >= 400 else set())


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "banks/NOPE/", None),
        ("patch", "banks/NOPE/", {"name": "x"}),
        ("get", "banks/NOPE/allocations/", None),
        ("post", "banks/NOPE/allocations/", ALLOCATION),
    ],
)
def test_an_unknown_bank_is_404_even_for_the_manager(
    api_client: APIClient, people: People, method: str, path: str, body: dict[str, Any] | None
) -> None:
    assert call(api_client, people.manager, method, path, body).status_code == 404


def test_writes_refused_by_role_change_nothing(api_client: APIClient, people: People) -> None:
    call(api_client, people.officer, "post", "banks/", NEW_BANK)
    call(api_client, people.pasar_staff, "patch", "banks/PASAR/", {"servicing_fee_percent": "50"})
    call(api_client, people.jateng_staff, "post", "banks/PASAR/allocations/", ALLOCATION)
    assert not Bank.objects.filter(code="BPRKOTA").exists()
    pasar = Bank.objects.get(code="PASAR")
    assert (pasar.servicing_fee_percent, pasar.allocated) == (0, 1_000_000_000)


# --- shapes ----------------------------------------------------------------------------------


def test_bank_list_shows_the_visible_banks_with_their_fund(api_client: APIClient, people: People) -> None:
    Bank.objects.filter(pk=people.pasar.pk).update(disbursed=300_000_000, principal_repaid=50_000_000)
    body = call(api_client, people.officer, "get", "banks/").json()
    assert body["count"] == 2
    assert body["previous"] is None
    jateng, pasar = body["results"]
    assert jateng["code"] == "JATENG"
    assert pasar == {
        "code": "PASAR",
        "name": "Bank PASAR",
        "kind": "bpr",
        "servicing_fee_percent": "0.00",
        "backdate_limit_days": 31,
        "active": True,
        "fund": {
            "allocated": 1_000_000_000,
            "disbursed": 300_000_000,
            "principal_repaid": 50_000_000,
            "available": 750_000_000,
        },
    }
    own = call(api_client, people.pasar_staff, "get", "banks/").json()
    assert [bank["code"] for bank in own["results"]] == ["PASAR"]


def test_bank_list_is_paginated(api_client: APIClient, people: People) -> None:
    body = call(api_client, people.auditor, "get", "banks/", {"page_size": 1, "page": 2}).json()
    assert (body["count"], [bank["code"] for bank in body["results"]], body["next"]) == (2, ["PASAR"], None)
    assert body["previous"]


def test_manager_creates_a_bank(api_client: APIClient, people: People) -> None:
    response = call(api_client, people.manager, "post", "banks/", NEW_BANK)
    assert response.status_code == 201
    assert response.json() == {
        "code": "BPRKOTA",
        "name": "BPR Kota",
        "kind": "bpr",
        "servicing_fee_percent": "2.50",
        "backdate_limit_days": 31,
        "active": True,
        "fund": {"allocated": 0, "disbursed": 0, "principal_repaid": 0, "available": 0},
    }
    assert call(api_client, people.manager, "get", "banks/BPRKOTA/").status_code == 200


def test_manager_updates_a_bank(api_client: APIClient, people: People) -> None:
    response = call(
        api_client, people.manager, "patch", "banks/JATENG/", {"servicing_fee_percent": "10", "active": False}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["servicing_fee_percent"], body["active"], body["fund"]["allocated"]) == ("10.00", False, 2_000_000_000)
    assert body["backdate_limit_days"] == 31
    limit = call(api_client, people.manager, "patch", "banks/JATENG/", {"backdate_limit_days": 7})
    assert limit.status_code == 200
    assert limit.json()["backdate_limit_days"] == 7
    assert Bank.objects.get(code="JATENG").backdate_limit_days == 7


def test_allocation_post_answers_the_new_fund(api_client: APIClient, people: People) -> None:
    response = call(api_client, people.manager, "post", "banks/PASAR/allocations/", ALLOCATION)
    assert response.status_code == 201
    body = response.json()
    assert {key: body[key] for key in ("bank", "year", "amount", "note", "created_by")} == {
        "bank": "PASAR",
        "year": 2026,
        "amount": 250_000_000,
        "note": "APBD 2026",
        "created_by": "manager",
    }
    assert body["fund"] == {
        "allocated": 1_250_000_000,
        "disbursed": 0,
        "principal_repaid": 0,
        "available": 1_250_000_000,
    }
    assert Bank.objects.get(code="PASAR").allocated == 1_250_000_000
    assert Allocation.objects.filter(pk=body["id"], created_by=people.manager).exists()


def test_allocation_list_filters_by_year(api_client: APIClient, people: People) -> None:
    for year in (2025, 2027):
        call(api_client, people.manager, "post", "banks/PASAR/allocations/", {**ALLOCATION, "year": year})
    everything = call(api_client, people.pasar_staff, "get", "banks/PASAR/allocations/").json()
    assert [row["year"] for row in everything["results"]] == [2025, 2026, 2027]
    only = call(api_client, people.pasar_staff, "get", "banks/PASAR/allocations/", {"year": 2027}).json()
    assert (only["count"], only["results"][0]["amount"], only["results"][0]["bank"]) == (1, 250_000_000, "PASAR")
    bad = call(api_client, people.pasar_staff, "get", "banks/PASAR/allocations/", {"year": "abc"})
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["year"]


# --- bad input names the field -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW_BANK, "code": "PASAR"}, "code"),
        ({**NEW_BANK, "code": "pasar"}, "code"),
        ({**NEW_BANK, "code": "HAS SPACE"}, "code"),
        ({**NEW_BANK, "kind": "syariah"}, "kind"),
        ({**NEW_BANK, "servicing_fee_percent": "100.5"}, "servicing_fee_percent"),
        ({**NEW_BANK, "servicing_fee_percent": "-1"}, "servicing_fee_percent"),
        ({**NEW_BANK, "servicing_fee_percent": 2.5}, "servicing_fee_percent"),
        ({**NEW_BANK, "servicing_fee_percent": "100.01"}, "servicing_fee_percent"),
        ({**NEW_BANK, "servicing_fee_percent": "1.005"}, "servicing_fee_percent"),
        ({**NEW_BANK, "servicing_fee_percent": "abc"}, "servicing_fee_percent"),
        ({**NEW_BANK, "name": ""}, "name"),
        ({**NEW_BANK, "name": "  "}, "name"),
        ({**NEW_BANK, "code": "A" * 17}, "code"),
        ({**NEW_BANK, "code": 0}, "code"),
        ({**NEW_BANK, "name": 12}, "name"),
        ({**NEW_BANK, "active": "yes"}, "active"),
        ({**NEW_BANK, "active": 0}, "active"),
        ({"name": "No code", "kind": "bpr"}, "code"),
    ],
)
def test_bank_create_bad_input_is_400_naming_the_field(
    api_client: APIClient, people: People, body: dict[str, Any], field: str
) -> None:
    response = call(api_client, people.manager, "post", "banks/", body)
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [field]
    assert Bank.objects.count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"servicing_fee_percent": "101"}, "servicing_fee_percent"),
        ({"kind": "syariah"}, "kind"),
        ({"code": "OTHER"}, "code"),
        ({"allocated": 1}, "allocated"),
        ({"backdate_limit_days": -1}, "backdate_limit_days"),
        ({"backdate_limit_days": 367}, "backdate_limit_days"),
        ({"backdate_limit_days": 3.5}, "backdate_limit_days"),
        ({"backdate_limit_days": 2**63}, "backdate_limit_days"),
        ({"active": 0}, "active"),
        ({"active": "false"}, "active"),
        ({"name": 0}, "name"),
    ],
)
def test_bank_update_bad_input_is_400_naming_the_field(
    api_client: APIClient, people: People, body: dict[str, Any], field: str
) -> None:
    response = call(api_client, people.manager, "patch", "banks/PASAR/", body)
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [field]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**ALLOCATION, "amount": -1_000_000}, "amount"),
        ({**ALLOCATION, "amount": 0}, "amount"),
        ({**ALLOCATION, "amount": 1000.5}, "amount"),
        ({**ALLOCATION, "amount": "12abc"}, "amount"),
        ({**ALLOCATION, "amount": True}, "amount"),
        ({**ALLOCATION, "amount": 10**16}, "amount"),
        ({**ALLOCATION, "amount": 2**63}, "amount"),
        ({**ALLOCATION, "amount": "1" + "0" * 30}, "amount"),
        ({**ALLOCATION, "year": 2**40}, "year"),
        ({**ALLOCATION, "year": 2016}, "year"),
        ({**ALLOCATION, "year": 2201}, "year"),
        ({"amount": 1_000_000}, "year"),
        ({**ALLOCATION, "note": "x" * 301}, "note"),
    ],
)
def test_allocation_bad_input_is_400_naming_the_field(
    api_client: APIClient, people: People, body: dict[str, Any], field: str
) -> None:
    response = call(api_client, people.manager, "post", "banks/PASAR/allocations/", body)
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [field]
    assert Bank.objects.get(code="PASAR").allocated == 1_000_000_000


def test_banks_are_in_the_schema(api_client: APIClient) -> None:
    paths = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    allocations = paths["/api/v1/banks/{code}/allocations/"]
    assert "year" in {parameter["name"] for parameter in allocations["get"]["parameters"]}
    assert {operation["operationId"] for operation in paths["/api/v1/banks/"].values()} == {
        "banks_list",
        "banks_create",
    }
