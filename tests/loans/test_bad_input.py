"""Bad input is a 400 naming the field (or a 404 for a path that names nothing), never a
500, on PostgreSQL and SQLite alike; and the schema documents the answers as given."""

from datetime import date
from typing import Any

import pytest
from rest_framework.test import APIClient

from borrowers.services import borrower_create
from config.errors import ApplicationError
from loans.models import Loan, Repayment
from loans.services.schedules import loan_schedules_store
from tests.loans.conftest import Programme

pytestmark = pytest.mark.django_db


@pytest.fixture
def loan(programme: Programme) -> Loan:
    application = programme.advance(programme.draft(), "disbursed")
    loan = Loan.objects.get(application=application)
    loan_schedules_store(loan_ids=[loan.pk])  # the worker's job, after the commit a test never makes
    return loan


def as_user(api_client: APIClient, user: Any) -> APIClient:
    api_client.force_authenticate(user)
    return api_client


@pytest.mark.parametrize("amount", [2**63, 2**63 - 1, "1" + "0" * 30, 10**19])
def test_a_repayment_past_any_rupiah_column_is_400_and_stores_nothing(
    api_client: APIClient, programme: Programme, loan: Loan, amount: Any
) -> None:
    body = {"amount": amount, "paid_on": str(loan.disbursed_on), "channel": "teller", "reference": "R-1"}
    response = as_user(api_client, programme.pasar_staff).post(
        f"/api/v1/loans/{loan.pk}/repayments/", body, format="json"
    )
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["amount"]
    assert not Repayment.objects.exists()


@pytest.mark.parametrize(
    ("value", "status"), [("1000000", 400), ("36501", 400), ("1e400", 400), ("36500", 200), ("0", 200)]
)
def test_min_waiting_days_is_bounded(api_client: APIClient, programme: Programme, value: str, status: int) -> None:
    response = as_user(api_client, programme.officer).get("/api/v1/applications/", {"min_waiting_days": value})
    assert response.status_code == status, response.content
    if status == 400:
        assert list(response.json()["errors"]) == ["min_waiting_days"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "banks/%00/"),
        ("patch", "banks/%00/"),
        ("get", "banks/%00/allocations/"),
        ("post", "banks/%00/allocations/"),
        ("get", "banks/%00/fund/"),
        ("get", "banks/%00/fund/daily/"),
        ("get", "banks/PA%00SAR/"),
        ("get", "products/%00/"),
        ("post", "products/%00/terms/"),
        ("put", "collectibility/%00/"),
        ("get", "loans/1/%00/"),
    ],
)
def test_a_nul_in_the_path_is_404_in_the_error_shape(
    api_client: APIClient, programme: Programme, method: str, path: str
) -> None:
    response = getattr(as_user(api_client, programme.manager), method)(f"/api/v1/{path}", {}, format="json")
    assert response.status_code == 404
    assert response.json() == {"message": "Not found.", "errors": {}}


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", str(2**63)])
@pytest.mark.parametrize("path", ["applications/", "loans/", "banks/", "borrowers/"])
def test_a_page_that_is_not_a_whole_number_from_1_is_400(
    api_client: APIClient, programme: Programme, path: str, page: str
) -> None:
    response = as_user(api_client, programme.manager).get(f"/api/v1/{path}", {"page": page})
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["page"]


def test_a_page_past_the_last_is_404_and_last_is_a_page(api_client: APIClient, programme: Programme) -> None:
    client = as_user(api_client, programme.manager)
    assert client.get("/api/v1/banks/", {"page": "2"}).status_code == 404
    assert client.get("/api/v1/banks/", {"page": "last"}).status_code == 200


def test_the_loan_lists_are_documented_as_pages_with_their_errors(api_client: APIClient) -> None:
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in (
        "/api/v1/applications/",
        "/api/v1/loans/",
        "/api/v1/loans/{loan_id}/repayments/",
        "/api/v1/loans/{loan_id}/deferrals/",
    ):
        responses = schema["paths"][path]["get"]["responses"]
        page = responses["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        assert set(schema["components"]["schemas"][page]["properties"]) == {"count", "next", "previous", "results"}
        assert {"400", "404"} <= set(responses), path
        names = {parameter["name"] for parameter in schema["paths"][path]["get"]["parameters"]}
        assert {"page", "page_size"} <= names, path
    schedule = schema["paths"]["/api/v1/loans/{loan_id}/schedule/"]["get"]["responses"]
    assert "400" in schedule


def test_the_error_schema_allows_nested_errors(api_client: APIClient) -> None:
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    errors = schema["components"]["schemas"]["Error"]["properties"]["errors"]["additionalProperties"]
    assert {option["type"] for option in errors["oneOf"]} == {"array", "object"}


def test_a_duplicate_nik_names_the_borrower_only_to_those_who_may_see_it(programme: Programme) -> None:
    registered = programme.borrower
    programme.advance(programme.draft(), "forwarded")  # now PASAR's staff see the borrower, JATENG's do not

    def existing_borrower_for(actor: Any) -> dict[str, Any]:
        with pytest.raises(ApplicationError) as caught:
            borrower_create(
                actor=actor,
                nik=registered.nik,
                name="Again",
                birth_date=registered.birth_date,
                sex=registered.sex,
                phone="081234567890",
                address="Jl. Pemuda 1",
                kelurahan_code=registered.kelurahan_id,
                business={
                    "name": "Warung",
                    "sector": "food",
                    "nib": "9120009999999",
                    "started_on": date(2018, 1, 1),
                    "monthly_revenue": 1_000_000,
                },
            )
        assert caught.value.errors == {"nik": ["A borrower with this NIK is already registered."]}
        return caught.value.extra

    seen = {"existing_borrower": registered.pk}
    assert existing_borrower_for(programme.officer) == seen
    assert existing_borrower_for(programme.manager) == seen
    assert existing_borrower_for(programme.auditor) == seen
    assert existing_borrower_for(programme.pasar_staff) == seen
    assert existing_borrower_for(programme.jateng_staff) == {}
