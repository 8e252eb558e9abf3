"""Every error answer of the API is in the request's language: with the default (id) no
English text of DRF, Django or ours comes back; each case also answers in English on
request, so the walk proves the case is real."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from tests.factories import UserFactory, bank_user, funded_bank

pytestmark = pytest.mark.django_db

#: Words of the English messages these cases would answer; none is Indonesian.
ENGLISH = re.compile(
    r"\b(the|is|not|was|were|be|Invalid|Expected|expected|provided|allowed|must|Must|Ensure|required|available|"
    r"seconds?|page|credentials|permission|found|Request|request|Unsupported|Could|satisfy|JSON parse|items|Wrong|or)\b"
)

Case = Callable[[APIClient, dict[str, Any]], Any]


def client_as(role: str | None) -> APIClient:
    client = APIClient()
    if role == "bank_staff":
        client.force_authenticate(bank_user(funded_bank("PASAR", 1_000_000)))
    elif role:
        client.force_authenticate(UserFactory.create(role=role))
    return client


SIMULATION = {"principal": 1_000_000, "tenor_months": 12}

CASES: dict[str, tuple[str | None, Case, int]] = {
    "not logged in": (None, lambda c, h: c.get("/api/v1/loans/", **h), 401),
    "unknown token": (None, lambda c, h: c.get("/api/v1/loans/", HTTP_AUTHORIZATION="Token nope", **h), 401),
    "token header with spaces": (
        None,
        lambda c, h: c.get("/api/v1/loans/", HTTP_AUTHORIZATION="Token a b", **h),
        401,
    ),
    "token header without a token": (None, lambda c, h: c.get("/api/v1/loans/", HTTP_AUTHORIZATION="Token", **h), 401),
    "wrong password": (
        None,
        lambda c, h: c.post("/api/v1/auth/token/", {"username": "x", "password": "y"}, format="json", **h),
        400,
    ),
    "role may not": ("auditor", lambda c, h: c.post("/api/v1/banks/", {}, format="json", **h), 403),
    "unknown path": (None, lambda c, h: c.get("/api/v1/nothing/", **h), 404),
    "unknown object": ("officer", lambda c, h: c.get("/api/v1/applications/999999/", **h), 404),
    "page out of range": ("officer", lambda c, h: c.get("/api/v1/applications/?page=99", **h), 404),
    "method not allowed": (None, lambda c, h: c.delete("/api/v1/simulations/", **h), 405),
    "not acceptable": (None, lambda c, h: c.get("/api/health/", HTTP_ACCEPT="text/csv", **h), 406),
    "unsupported media type": (
        None,
        lambda c, h: c.post("/api/v1/simulations/", "x", content_type="text/plain", **h),
        415,
    ),
    "body not JSON": (
        None,
        lambda c, h: c.post("/api/v1/simulations/", "{nope", content_type="application/json", **h),
        400,
    ),
    "body not an object": (None, lambda c, h: c.post("/api/v1/simulations/", [1], format="json", **h), 400),
    "field missing, wrong type, wrong choice": (
        None,
        lambda c, h: c.post(
            "/api/v1/simulations/",
            {"principal": "many", "method": "x", "business_days": "maybe", "disbursement_date": "soon"},
            format="json",
            **h,
        ),
        400,
    ),
    "a list that is not one": (
        "bank_staff",
        lambda c, h: c.post("/api/v1/applications/disburse/", {"disbursements": "x"}, format="json", **h),
        400,
    ),
    "an empty list": (
        "bank_staff",
        lambda c, h: c.post("/api/v1/applications/disburse/", {"disbursements": []}, format="json", **h),
        400,
    ),
    "a filter value outside the list": ("officer", lambda c, h: c.get("/api/v1/applications/?state=x", **h), 400),
    "a filter value of the wrong type": (
        "officer",
        lambda c, h: c.get("/api/v1/applications/?min_waiting_days=x", **h),
        400,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_error_answer_is_indonesian_by_default(case: str) -> None:
    role, request, status = CASES[case]
    client = client_as(role)
    answers = {}
    for language in ("id", "en"):
        answer = request(client, {"HTTP_ACCEPT_LANGUAGE": language})
        assert answer.status_code == status, (case, answer.content)
        assert answer["Content-Type"] == "application/json", case
        answers[language] = answer.json()
    assert not ENGLISH.search(str(answers["id"])), (case, answers["id"])
    assert ENGLISH.search(str(answers["en"])), (case, answers["en"])


def test_a_throttled_answer_is_indonesian_and_says_when_to_retry(settings: Any) -> None:
    settings.SIMULATION_THROTTLE = "1/hour"
    caches["default"].clear()
    client = APIClient()
    assert client.post("/api/v1/simulations/", SIMULATION, format="json").status_code == 200
    throttled = client.post("/api/v1/simulations/", SIMULATION, format="json")
    assert throttled.status_code == 429
    wait = int(throttled["Retry-After"])
    assert 1 <= wait <= 3600
    assert throttled.json() == {
        "message": f"Permintaan ini telah dibatasi. Coba lagi dalam {wait} detik.",
        "errors": {},
    }
    english = client.post("/api/v1/simulations/", SIMULATION, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["message"].startswith("Request was throttled. Expected available in ")
    caches["default"].clear()


def test_a_failed_csrf_check_says_what_to_send() -> None:
    client = APIClient(enforce_csrf_checks=True)
    user = UserFactory.create(role="officer")
    client.force_login(user)
    answer = client.post("/api/v1/applications/", {}, format="json")
    assert answer.status_code == 403
    assert answer.json()["message"] == ("Pemeriksaan CSRF gagal: kirim nilai cookie csrftoken di header X-CSRFToken.")
