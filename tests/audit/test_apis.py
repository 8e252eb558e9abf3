"""``GET /api/v1/audit/``: the auditor and the manager read the trail, filtered, newest first."""

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEntry
from audit.services import Subject, audit_record
from banks.services import bank_create, bank_update
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def at(day: date, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


@pytest.fixture
def people(db: Any) -> dict[str, User]:
    return {role: UserFactory.create(username=role, role=role) for role in ("auditor", "manager", "officer")}


@pytest.fixture
def trail(people: dict[str, User]) -> list[AuditEntry]:
    manager, officer = people["manager"], people["officer"]
    return [
        audit_record(
            actor=manager, action="bank_create", subject=Subject("bank", "1", "PASAR"), at=at(date(2026, 3, 1))
        ),
        audit_record(
            actor=officer, action="borrower_update", subject=Subject("borrower", "7"), at=at(date(2026, 3, 2))
        ),
        audit_record(actor=None, action="close_finish", subject=Subject("closerun", "3"), at=at(date(2026, 3, 3), 1)),
        audit_record(
            actor=manager, action="bank_update", subject=Subject("bank", "1", "PASAR"), at=at(date(2026, 3, 4))
        ),
    ]


def read(api_client: APIClient, user: User, query: str = "") -> Any:
    api_client.force_authenticate(user)
    answer = api_client.get(f"/api/v1/audit/{query}")
    assert answer.status_code == 200, answer.content[:300]
    return answer.json()


def ids(body: dict[str, Any]) -> list[int]:
    return [row["id"] for row in body["results"]]


def test_the_trail_is_a_page_newest_first(
    api_client: APIClient, people: dict[str, User], trail: list[AuditEntry]
) -> None:
    body = read(api_client, people["auditor"])
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 4
    assert ids(body) == [entry.pk for entry in reversed(trail)]
    assert body["results"][0] | {"id": 0, "at": ""} == {
        "id": 0,
        "at": "",
        "actor": "manager",
        "action": "bank_update",
        "subject_type": "bank",
        "subject_id": "1",
        "subject_label": "PASAR",
        "before": {},
        "after": {},
        "from_state": "",
        "to_state": "",
        "note": "",
        "amounts": {},
        "application": None,
        "loan": None,
    }
    assert body["results"][1]["actor"] is None  # a system job
    page = read(api_client, people["manager"], "?page_size=3&page=2")
    assert (page["count"], ids(page)) == (4, [trail[0].pk])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?subject_type=bank", [3, 0]),
        ("?subject_type=bank&subject_id=1", [3, 0]),
        ("?subject_type=borrower&subject_id=8", []),
        ("?actor=officer", [1]),
        ("?action=close_finish", [2]),
        ("?from=2026-03-02&to=2026-03-03", [2, 1]),
        ("?from=2026-03-04", [3]),
        ("?to=2026-03-01", [0]),
        ("?to=0001-01-01", []),
        ("?from=9999-12-31", []),
        ("?actor=99999999999999999999999", []),
    ],
)
def test_the_trail_filters(
    api_client: APIClient, people: dict[str, User], trail: list[AuditEntry], query: str, expected: list[int]
) -> None:
    assert ids(read(api_client, people["auditor"], query)) == [trail[index].pk for index in expected]


def test_the_actor_filter_takes_a_user_id(
    api_client: APIClient, people: dict[str, User], trail: list[AuditEntry]
) -> None:
    body = read(api_client, people["auditor"], f"?actor={people['manager'].pk}")
    assert ids(body) == [trail[3].pk, trail[0].pk]


def test_a_bad_date_is_a_400(api_client: APIClient, people: dict[str, User]) -> None:
    api_client.force_authenticate(people["auditor"])
    answer = api_client.get("/api/v1/audit/?from=yesterday")
    assert answer.status_code == 400
    assert "from" in answer.json()["errors"]


@pytest.mark.parametrize("role", ["officer", "bank_staff", "borrower"])
def test_other_roles_may_not_read_the_trail(api_client: APIClient, role: str) -> None:
    api_client.force_authenticate(UserFactory.create(role=role))
    assert api_client.get("/api/v1/audit/").status_code == 403


def test_a_bank_edit_is_found_by_its_subject(api_client: APIClient, people: dict[str, User]) -> None:
    bank = bank_create(actor=people["manager"], code="AUD", name="BPR Audit", kind="bpr")
    bank_update(actor=people["manager"], bank=bank, kind="commercial")
    today = timezone.localdate()
    query = f"?subject_type=bank&subject_id={bank.pk}&actor=manager&from={today - timedelta(days=1)}&to={today}"
    rows = read(api_client, people["auditor"], query)["results"]
    assert (rows[0]["action"], rows[0]["before"], rows[0]["after"]) == (
        "bank_update",
        {"kind": "bpr"},
        {"kind": "commercial"},
    )
    assert [row["action"] for row in rows] == ["bank_update", "bank_create"]


def test_the_schema_documents_the_trail(api_client: APIClient) -> None:
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/audit/"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} >= {
        "subject_type",
        "subject_id",
        "actor",
        "action",
        "from",
        "to",
        "page",
    }
    content = operation["responses"]["200"]["content"]["application/json"]
    page = content["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][page]["properties"]) == {"count", "next", "previous", "results"}
    [example] = content["examples"].values()
    assert example["value"]["results"][0]["action"] == "bank_update"
    assert set(operation["responses"]) >= {"200", "400", "401", "403"}
