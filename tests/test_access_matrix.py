"""Who sees what: every read endpoint, every role, own and foreign objects.

The world: borrower B1 (with a login) has a disbursed loan at PASAR; B2 has an
application forwarded to PASAR; B3 has a draft for JATENG (not yet forwarded).
Another bank's or borrower's object answers 404, a role's forbidden action 403, no
login 401.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from borrowers.models import Borrower
from config.clock import business_date_fixed
from loans.models import Application, Loan
from loans.services import applications as services
from loans.services.close import close_business_date
from loans.services.schedules import loan_schedules_store
from reports.services.reports import ReportRequest, report_request
from tests.factories import BusinessFactory, ProductTermsFactory, UserFactory, bank_user, funded_bank


@dataclass
class World:
    users: dict[str, User | None]
    b1: Borrower
    b2: Borrower
    a1: Application
    a2: Application
    a3: Application
    loan: Loan
    statement: int
    programme_report: int


@pytest.fixture
def world(db: Any) -> World:
    ProductTermsFactory.create(valid_from=date(2017, 1, 1))
    pasar = funded_bank("PASAR", 100_000_000)
    jateng = funded_bank("JATENG", 100_000_000, kind="commercial")
    officer, officer2 = UserFactory.create(role="officer"), UserFactory.create(role="officer")
    pasar_staff, pasar_staff2, jateng_staff = bank_user(pasar), bank_user(pasar), bank_user(jateng)
    today = timezone.localdate()
    applications = []
    for bank in (pasar, pasar, jateng):
        business = BusinessFactory.create(started_on=date(2015, 1, 1))
        applications.append(
            services.application_create(
                actor=officer,
                borrower=business.borrower,
                bank=bank,
                principal=5_000_000,
                tenor_months=12,
                collateral=False,
            )
        )
    a1, a2, a3 = applications
    for application in (a1, a2):
        services.application_submit(actor=officer, application_id=application.pk)
        services.application_field_verify(actor=officer2, application_id=application.pk, visited_on=today, notes="ok")
        services.application_forward(actor=officer, application_id=application.pk)
    services.application_credit_check(actor=pasar_staff, application_id=a1.pk, result="clean")
    services.application_approve(actor=pasar_staff2, application_id=a1.pk, contract_number="P-1")
    services.application_disburse(actor=pasar_staff, application_id=a1.pk, disbursed_on=today)
    loan = Loan.objects.get(application=a1)
    loan_schedules_store(loan_ids=[loan.pk])
    borrower_user = UserFactory.create(role="borrower")
    manager = UserFactory.create(role="manager")
    b1 = a1.borrower
    b1.user = borrower_user
    b1.save()
    return World(
        users={
            "anonymous": None,
            "officer": officer,
            "pasar_staff": pasar_staff,
            "jateng_staff": jateng_staff,
            "borrower": borrower_user,
            "auditor": UserFactory.create(role="auditor"),
            "manager": manager,
        },
        b1=b1,
        b2=a2.borrower,
        a1=a1,
        a2=a2,
        a3=a3,
        loan=loan,
        statement=report_request(
            actor=manager, request=ReportRequest(kind="borrower_statement", loan=loan.pk, format="csv")
        )[0].pk,
        programme_report=report_request(actor=manager, request=ReportRequest(kind="programme", period="2026"))[0].pk,
    )


ROLES = ["anonymous", "officer", "pasar_staff", "jateng_staff", "borrower", "auditor", "manager"]

# endpoint -> expected status per role, in ROLES order.
READS: dict[str, tuple[int, ...]] = {
    "borrowers/": (401, 200, 200, 200, 200, 200, 200),
    "borrowers/{b1}/": (401, 200, 200, 404, 200, 200, 200),
    "borrowers/{b2}/": (401, 200, 200, 404, 404, 200, 200),
    "regions/": (200, 200, 200, 200, 200, 200, 200),
    "banks/": (401, 200, 200, 200, 403, 200, 200),
    "banks/PASAR/": (401, 200, 200, 404, 403, 200, 200),
    "banks/PASAR/allocations/": (401, 200, 200, 404, 403, 200, 200),
    "products/": (401, 200, 200, 200, 200, 200, 200),
    "products/WIBAWA/": (401, 200, 200, 200, 200, 200, 200),
    "applications/": (401, 200, 200, 200, 200, 200, 200),
    "applications/{a1}/": (401, 200, 200, 404, 200, 200, 200),
    "applications/{a2}/": (401, 200, 200, 404, 404, 200, 200),
    "applications/{a3}/": (401, 200, 404, 404, 404, 200, 200),
    "loans/": (401, 200, 200, 200, 200, 200, 200),
    "loans/{loan}/": (401, 200, 200, 404, 200, 200, 200),
    "loans/{loan}/schedule/": (401, 200, 200, 404, 200, 200, 200),
    "loans/{loan}/repayments/": (401, 200, 200, 404, 200, 200, 200),
    "loans/{loan}/payoff/": (401, 200, 200, 404, 200, 200, 200),
    "loans/{loan}/deferrals/": (401, 200, 200, 404, 200, 200, 200),
    "banks/PASAR/fund/": (401, 200, 200, 404, 403, 200, 200),
    "banks/PASAR/fund/daily/": (401, 200, 200, 404, 403, 200, 200),
    "portfolio/": (401, 200, 200, 200, 403, 200, 200),
    "collectibility/": (401, 200, 200, 200, 403, 200, 200),
    "close/": (401, 200, 200, 200, 403, 200, 200),
    "me/": (401, 403, 403, 403, 200, 403, 403),
    "audit/": (401, 403, 403, 403, 403, 200, 200),
    "audit/?subject_type=loan&from=2017-01-01": (401, 403, 403, 403, 403, 200, 200),
    "auth/session/": (401, 200, 200, 200, 200, 200, 200),
    "reports/": (401, 200, 200, 200, 200, 200, 200),
    "reports/{statement}/": (401, 200, 200, 404, 200, 200, 200),
    "reports/{programme_report}/": (401, 200, 404, 404, 404, 200, 200),
    "reports/{programme_report}/download/": (401, 409, 404, 404, 404, 409, 409),
    "documents/verify/not-a-code/": (404, 404, 404, 404, 404, 404, 404),
    "users/": (401, 403, 403, 403, 403, 403, 200),
    "users/{officer}/": (401, 403, 403, 403, 403, 403, 200),
    "users/{borrower_user}/": (401, 403, 403, 403, 403, 403, 404),
}

# (method, endpoint, body) -> expected status per role. Bodies are valid for the
# allowed role, so a 2xx proves the role may and anything else that it may not.
WRITES: dict[tuple[str, str], tuple[int, ...]] = {
    ("post", "applications/{a2}/credit_check/"): (401, 403, 200, 404, 404, 403, 403),
    ("post", "applications/{a3}/submit/"): (401, 200, 404, 404, 404, 403, 403),
    ("post", "applications/{a3}/withdraw/"): (401, 200, 404, 404, 404, 403, 403),
    ("post", "applications/{a2}/reject/"): (401, 403, 200, 404, 404, 403, 403),
    ("post", "banks/"): (401, 403, 403, 403, 403, 403, 201),
    ("post", "banks/PASAR/allocations/"): (401, 403, 403, 404, 403, 403, 201),
    ("post", "applications/"): (401, 201, 403, 403, 403, 403, 403),
    ("post", "loans/{loan}/repayments/"): (401, 403, 201, 404, 403, 403, 403),
    ("post", "loans/{loan}/deferrals/"): (401, 201, 201, 404, 403, 403, 403),
    ("put", "collectibility/bpr/"): (401, 403, 403, 403, 403, 403, 200),
    # The same endpoint with other bodies: the query string names the body (the view ignores it).
    ("post", "reports/?body=statement"): (401, 202, 202, 404, 202, 202, 202),
    ("post", "reports/?body=programme"): (401, 202, 403, 403, 403, 202, 202),
    ("post", "reports/?body=city_books_pasar"): (401, 202, 202, 404, 403, 202, 202),
    ("post", "users/"): (401, 403, 403, 403, 403, 403, 201),
    ("post", "users/activation-codes/"): (401, 201, 403, 403, 403, 403, 403),
    ("post", "users/{jateng_staff}/deactivate/"): (401, 403, 403, 403, 403, 403, 200),
    ("post", "users/{jateng_staff}/reactivate/"): (401, 403, 403, 403, 403, 403, 400),
    ("post", "users/{jateng_staff}/reassign/"): (401, 403, 403, 403, 403, 403, 200),
    ("post", "users/{jateng_staff}/tokens/revoke/"): (401, 403, 403, 403, 403, 403, 200),
    ("post", "users/me/password/"): (401, 400, 400, 400, 400, 400, 400),
}
BODIES: dict[str, dict[str, Any]] = {
    "applications/{a2}/credit_check/": {"result": "clean", "notes": ""},
    "applications/{a3}/withdraw/": {"reason": "Pemohon membatalkan"},
    "applications/{a2}/reject/": {"reason": "Tunggakan"},
    "banks/": {"code": "BPRX", "name": "BPR X", "kind": "bpr"},
    "banks/PASAR/allocations/": {"year": 2026, "amount": 1_000_000, "note": ""},
    "loans/{loan}/repayments/": {"amount": 1_000, "channel": "teller", "reference": "M-1"},
    "loans/{loan}/deferrals/": {"months": 3, "mode": "principal_and_interest", "reason": "Pasar direnovasi"},
    "users/": {"username": "new-auditor", "role": "auditor"},
    "users/activation-codes/": {"borrower": "{b2}"},
    "users/{jateng_staff}/reassign/": {"role": "bank_staff", "bank": "PASAR"},
    "users/me/password/": {"old_password": "not-the-password", "new_password": "Kebun-Mangga-2026"},
    "reports/?body=statement": {"kind": "borrower_statement", "loan": "{loan}", "refresh": True},
    "reports/?body=programme": {"kind": "programme", "period": "2026-Q1", "refresh": True},
    "reports/?body=city_books_pasar": {"kind": "city_books", "period": "2026-Q1", "bank": "PASAR", "refresh": True},
    "collectibility/bpr/": {
        "grades": [
            {"grade": grade, "name": name, "min_days": days, "provision_percent": percent}
            for grade, name, days, percent in [
                (1, "Lancar", 0, "0.5"),
                (2, "Dalam Perhatian Khusus", 31, "3"),
                (3, "Kurang Lancar", 91, "10"),
                (4, "Diragukan", 121, "50"),
                (5, "Macet", 181, "100"),
            ]
        ]
    },
}


def path_for(world: World, template: str) -> str:
    return "/api/v1/" + template.format(
        b1=world.b1.pk,
        b2=world.b2.pk,
        a1=world.a1.pk,
        a2=world.a2.pk,
        a3=world.a3.pk,
        loan=world.loan.pk,
        statement=world.statement,
        programme_report=world.programme_report,
        officer=getattr(world.users["officer"], "pk", None),
        borrower_user=getattr(world.users["borrower"], "pk", None),
        jateng_staff=getattr(world.users["jateng_staff"], "pk", None),
    )


@pytest.mark.parametrize("endpoint", list(READS))
@pytest.mark.parametrize("role", ROLES)
def test_reads(api_client: APIClient, world: World, endpoint: str, role: str) -> None:
    api_client.force_authenticate(world.users[role])
    answer = api_client.get(path_for(world, endpoint))
    assert answer.status_code == READS[endpoint][ROLES.index(role)], answer.content[:300]


@pytest.mark.parametrize(("method", "endpoint"), list(WRITES))
@pytest.mark.parametrize("role", ROLES)
def test_writes(api_client: APIClient, world: World, method: str, endpoint: str, role: str) -> None:
    body = dict(BODIES.get(endpoint, {}))
    if endpoint == "applications/":
        body = {"borrower": world.b2.pk, "bank": "JATENG", "principal": 1_000_000, "tenor_months": 12}
    if body.get("borrower") == "{b2}":
        body["borrower"] = world.b2.pk
    if body.get("loan") == "{loan}":
        body["loan"] = world.loan.pk
    if endpoint == "loans/{loan}/repayments/":
        body["paid_on"] = timezone.localdate().isoformat()
    if body.get("kind") == "city_books":
        # The city's books need a closed day in their period (the allowance's classes).
        with business_date_fixed(date(2026, 4, 1)):
            close_business_date(business_date=date(2026, 3, 31))
    api_client.force_authenticate(world.users[role])
    answer = getattr(api_client, method)(path_for(world, endpoint), body, format="json")
    assert answer.status_code == WRITES[(method, endpoint)][ROLES.index(role)], answer.content[:300]


def test_lists_hold_only_what_the_role_may_see(api_client: APIClient, world: World) -> None:
    def ids(role: str, endpoint: str) -> set[int]:
        api_client.force_authenticate(world.users[role])
        return {row["id"] for row in api_client.get(f"/api/v1/{endpoint}").json()["results"]}

    everything = {world.a1.pk, world.a2.pk, world.a3.pk}
    assert ids("officer", "applications/") == everything
    assert ids("auditor", "applications/") == everything
    assert ids("pasar_staff", "applications/") == {world.a1.pk, world.a2.pk}
    assert ids("jateng_staff", "applications/") == set()
    assert ids("borrower", "applications/") == {world.a1.pk}
    assert ids("pasar_staff", "loans/") == {world.loan.pk}
    assert ids("jateng_staff", "loans/") == set()
    assert ids("borrower", "loans/") == {world.loan.pk}
    assert ids("borrower", "borrowers/") == {world.b1.pk}
    assert ids("jateng_staff", "borrowers/") == set()
