"""The accounts API under ``/api/v1/users/``: the manager's staff, an officer's
activation code, activating (public, limited like signing in), one's own password."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.services import activation_code_issue
from audit.models import AuditEntry
from config.api import PROCESS_COUNTERS
from tests.factories import BorrowerFactory, UserFactory, bank_user, funded_bank

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Kebun-Mangga-2026"


@pytest.fixture(autouse=True)
def fresh_counters() -> Iterator[None]:
    """Each test starts with no sign-in attempts counted (throttle and lockouts)."""
    PROCESS_COUNTERS.clear()
    cache.clear()
    yield
    PROCESS_COUNTERS.clear()
    cache.clear()


def as_user(api_client: APIClient, user: User | None) -> APIClient:
    api_client.force_authenticate(user)
    return api_client


def test_only_the_manager_manages_staff(api_client: APIClient) -> None:
    staff = UserFactory.create(role="officer")
    for role in ("officer", "auditor", "borrower", "bank_staff"):
        as_user(api_client, UserFactory.create(role=role))
        assert api_client.get("/api/v1/users/").status_code == 403
        assert api_client.post(f"/api/v1/users/{staff.pk}/deactivate/").status_code == 403
        assert api_client.post("/api/v1/users/", {"username": "x", "role": "officer"}, format="json").status_code == 403
    as_user(api_client, None)
    assert api_client.get("/api/v1/users/").status_code == 401


def test_the_manager_lists_staff_in_bounded_queries(api_client: APIClient, django_assert_max_num_queries: Any) -> None:
    manager = UserFactory.create(role="manager")
    pasar = funded_bank("PASAR")
    for _ in range(3):
        bank_user(pasar)
    borrower = UserFactory.create(role="borrower")
    as_user(api_client, manager)
    with django_assert_max_num_queries(6):
        answer = api_client.get("/api/v1/users/")
    for _ in range(10):
        bank_user(pasar)
        UserFactory.create(role="officer")
    with django_assert_max_num_queries(6):
        answer = api_client.get("/api/v1/users/")
    rows = answer.json()["results"]
    assert len(rows) == 1 + 13 + 10
    assert borrower.username not in {row["username"] for row in rows}
    assert {row["bank"] for row in rows if row["roles"] == ["bank_staff"]} == {"PASAR"}
    assert api_client.get(f"/api/v1/users/{borrower.pk}/").status_code == 404
    assert api_client.get("/api/v1/users/999999/").status_code == 404


def test_create_deactivate_reactivate_reassign_and_revoke(api_client: APIClient) -> None:
    manager = UserFactory.create(role="manager")
    funded_bank("PASAR")
    funded_bank("JATENG")
    as_user(api_client, manager)
    answer = api_client.post(
        "/api/v1/users/", {"username": "dewi", "role": "bank_staff", "bank": "PASAR"}, format="json"
    )
    assert answer.status_code == 201, answer.json()
    created = answer.json()
    assert (created["roles"], created["bank"]) == (["bank_staff"], "PASAR")
    assert created["activation"]["username"] == "dewi"
    dewi = User.objects.get(username="dewi")
    code = created["activation"]["code"]
    assert code not in str(list(AuditEntry.objects.values_list("before", "after", "note")))

    # Dewi sets her password with the code and gets a token.
    public = APIClient()
    assert public.post(
        "/api/v1/users/activate/", {"username": "dewi", "code": code, "password": NEW_PASSWORD}, format="json"
    ).json() == {"username": "dewi"}
    token = public.post("/api/v1/auth/token/", {"username": "dewi", "password": NEW_PASSWORD}, format="json")
    key = token.json()["token"]

    answer = api_client.post(
        f"/api/v1/users/{dewi.pk}/reassign/", {"role": "bank_staff", "bank": "JATENG"}, format="json"
    )
    assert answer.json()["bank"] == "JATENG"
    assert not Token.objects.filter(user=dewi).exists()  # the bank changed: the token went
    key = public.post("/api/v1/auth/token/", {"username": "dewi", "password": NEW_PASSWORD}, format="json").json()[
        "token"
    ]
    assert api_client.post(f"/api/v1/users/{dewi.pk}/tokens/revoke/").json() == {"revoked": True}
    key = public.post("/api/v1/auth/token/", {"username": "dewi", "password": NEW_PASSWORD}, format="json").json()[
        "token"
    ]

    # Deactivated: the token and the password stop working.
    answer = api_client.post(f"/api/v1/users/{dewi.pk}/deactivate/")
    assert answer.json()["is_active"] is False
    assert public.get("/api/v1/auth/session/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    login = public.post("/api/v1/auth/token/", {"username": "dewi", "password": NEW_PASSWORD}, format="json")
    assert login.status_code == 400
    again = api_client.post(f"/api/v1/users/{dewi.pk}/deactivate/")
    assert again.status_code == 400
    assert again.json()["errors"] == {"user": ["This account is already deactivated."]}
    assert api_client.post(f"/api/v1/users/{dewi.pk}/reactivate/").json()["is_active"] is True
    assert (
        public.post("/api/v1/auth/token/", {"username": "dewi", "password": NEW_PASSWORD}, format="json").status_code
        == 200
    )
    actions = set(AuditEntry.objects.filter(subject_id=str(dewi.pk)).values_list("action", flat=True))
    assert {"staff_create", "account_activate", "staff_reassign", "staff_tokens_revoke", "staff_deactivate"} <= actions


def test_create_refusals_name_the_field(api_client: APIClient) -> None:
    as_user(api_client, UserFactory.create(role="manager"))
    answer = api_client.post("/api/v1/users/", {"username": "rina", "role": "bank_staff"}, format="json")
    assert answer.status_code == 400
    assert set(answer.json()["errors"]) == {"bank"}
    answer = api_client.post(
        "/api/v1/users/", {"username": "rina", "role": "officer", "password": "12345678"}, format="json"
    )
    assert set(answer.json()["errors"]) == {"password"}
    answer = api_client.post("/api/v1/users/", {"username": "rina", "role": "boss"}, format="json")
    assert set(answer.json()["errors"]) == {"role"}
    answer = api_client.post(
        "/api/v1/users/", {"username": "rina", "role": "bank_staff", "bank": "NOPE"}, format="json"
    )
    assert answer.json()["errors"] == {"bank": ["No such bank."]}


def test_an_officer_issues_a_borrowers_code_and_the_borrower_activates(api_client: APIClient) -> None:
    borrower = BorrowerFactory.create(name="Sri Wahyuni")
    as_user(api_client, UserFactory.create(role="bank_staff"))
    assert (
        api_client.post("/api/v1/users/activation-codes/", {"borrower": borrower.pk}, format="json").status_code == 403
    )
    as_user(api_client, UserFactory.create(role="officer"))
    assert api_client.post("/api/v1/users/activation-codes/", {"borrower": 999999}, format="json").json()["errors"] == {
        "borrower": ["No such borrower."]
    }
    answer = api_client.post("/api/v1/users/activation-codes/", {"borrower": borrower.pk}, format="json")
    assert answer.status_code == 201
    issued = answer.json()
    assert issued["username"] == f"sri{borrower.pk}"
    public = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    weak = public.post(
        "/api/v1/users/activate/",
        {"username": issued["username"], "code": issued["code"], "password": "123"},
        format="json",
    )
    assert weak.status_code == 400
    assert "password" in weak.json()["errors"]
    ok = public.post("/api/v1/users/activate/", {"code": issued["code"], "password": NEW_PASSWORD}, format="json")
    assert ok.json() == {"username": issued["username"]}
    used = public.post("/api/v1/users/activate/", {"code": issued["code"], "password": NEW_PASSWORD}, format="json")
    assert used.status_code == 400
    assert "already used" in used.json()["errors"]["code"][0]


def test_activation_messages_in_indonesian() -> None:
    public = APIClient(HTTP_ACCEPT_LANGUAGE="id")
    answer = public.post("/api/v1/users/activate/", {"code": "AAAA-BBBB-CC", "password": NEW_PASSWORD}, format="json")
    assert answer.status_code == 400
    assert answer.json()["errors"]["code"] == [
        "Kode ini tidak berlaku. Periksa lagi, atau minta kode baru ke kantor dinas."
    ]


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_wrong_codes_lock_the_account_like_wrong_passwords() -> None:
    issued = activation_code_issue(actor=UserFactory.create(role="officer"), borrower=BorrowerFactory.create())
    public = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    body = {"username": issued.username, "password": NEW_PASSWORD}
    for _ in range(3):
        assert public.post("/api/v1/users/activate/", {**body, "code": "WRONG-CODE"}, format="json").status_code == 400
    locked = public.post("/api/v1/users/activate/", {**body, "code": issued.code}, format="json")
    assert locked.status_code == 429
    assert AuditEntry.objects.filter(action="login_locked").exists()


@override_settings(LOGIN_THROTTLE="2/min")
def test_activation_is_throttled_per_address() -> None:
    public = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    answers = [
        public.post("/api/v1/users/activate/", {"code": "WRONG", "password": NEW_PASSWORD}, format="json").status_code
        for _ in range(3)
    ]
    assert answers == [400, 400, 429]


def test_everyone_changes_their_own_password(api_client: APIClient) -> None:
    user = UserFactory.create(role="borrower")
    as_user(api_client, user)
    wrong = api_client.post(
        "/api/v1/users/me/password/", {"old_password": "nope", "new_password": NEW_PASSWORD}, format="json"
    )
    assert wrong.status_code == 400
    assert set(wrong.json()["errors"]) == {"old_password"}
    answer = api_client.post(
        "/api/v1/users/me/password/", {"old_password": "pass-for-tests", "new_password": NEW_PASSWORD}, format="json"
    )
    assert answer.status_code == 204
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
