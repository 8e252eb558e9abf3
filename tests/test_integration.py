"""The whole path over the API, against PostgreSQL, with a real Celery worker consuming
from Redis (not eager): register a borrower, apply, submit, verify, forward, credit
check, approve, disburse, and read the schedule the worker stored."""

import time
from datetime import date
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from loans.models import Installment, Loan
from loans.schedule import LoanTerms, build_schedule
from tests.factories import ProductTermsFactory, UserFactory, bank_user, funded_bank
from tests.services import WORKER_WAIT


def call(client: APIClient, user: Any, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    client.force_authenticate(user)
    answer = getattr(client, method)(f"/api/v1/{path}", body, format="json")
    assert answer.status_code in (200, 201), (path, answer.status_code, answer.json())
    return answer.json()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_application_to_stored_schedule_with_a_real_worker(api_client: APIClient, celery_worker: Any) -> None:
    ProductTermsFactory.create(valid_from=date(2017, 1, 1))
    pasar = funded_bank("PASAR", 1_000_000_000)
    officer, officer2 = UserFactory.create(role="officer"), UserFactory.create(role="officer")
    teller, approver = bank_user(pasar), bank_user(pasar)
    today = timezone.localdate()

    borrower = call(
        api_client,
        officer,
        "post",
        "borrowers/",
        {
            "nik": "3374015708850001",
            "name": "Siti Rahayu",
            "birth_date": "1985-08-17",
            "sex": "F",
            "phone": "0812-3456-7890",
            "address": "Jl. Pemuda 12",
            "kelurahan": "33.74.01.1001",
            "business": {
                "name": "Warung Bu Siti",
                "sector": "trade",
                "nib": "9120001234567",
                "started_on": "2018-03-01",
                "monthly_revenue": 12_000_000,
            },
        },
    )
    assert borrower["phone"] == "+6281234567890"
    application = call(
        api_client,
        officer,
        "post",
        "applications/",
        {
            "borrower": borrower["id"],
            "bank": "PASAR",
            "principal": 5_000_000,
            "tenor_months": 12,
            "collateral": False,
            "purpose": "Modal kerja",
        },
    )
    assert all(check["passed"] for check in application["checks"])
    base = f"applications/{application['id']}"
    call(api_client, officer, "post", f"{base}/submit/")
    call(api_client, officer2, "post", f"{base}/field_verify/", {"visited_on": today.isoformat(), "notes": "Buka"})
    call(api_client, officer, "post", f"{base}/forward/")
    call(api_client, teller, "post", f"{base}/credit_check/", {"result": "clean", "notes": "SLIK bersih"})
    call(api_client, approver, "post", f"{base}/approve/", {"contract_number": "PASAR/KW/2026/0001"})
    disbursed = call(api_client, teller, "post", f"{base}/disburse/", {"disbursed_on": today.isoformat()})
    assert disbursed["state"] == "disbursed"
    loan_id = disbursed["loan"]

    deadline = time.monotonic() + WORKER_WAIT
    while True:
        loan = call(api_client, teller, "get", f"loans/{loan_id}/")
        if loan["schedule_status"] == "ready" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert loan["schedule_status"] == "ready", f"the worker did not store the schedule within {WORKER_WAIT} s"
    assert loan["contract_number"] == "PASAR/KW/2026/0001"
    assert loan["outstanding_principal"] == 5_000_000
    assert loan["next_installment"]["number"] == 1

    schedule = call(api_client, teller, "get", f"loans/{loan_id}/schedule/")["installments"]
    expected = build_schedule(LoanTerms(principal=5_000_000, annual_rate="3", tenor_months=12, disbursement_date=today))
    assert [row["principal"] for row in schedule] == list(expected.principal)
    assert [row["interest"] for row in schedule] == list(expected.interest)
    assert [row["due_date"] for row in schedule] == [day.isoformat() for day in expected.due_dates]
    assert sum(row["principal"] for row in schedule) == 5_000_000
    # Stored once, by the worker.
    assert Installment.objects.filter(loan_id=loan_id).count() == 12
    assert Loan.objects.get(pk=loan_id).schedule_status == "ready"
