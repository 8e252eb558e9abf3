"""API tokens expire after API_TOKEN_TTL_DAYS: refused with 401 then, and the owner's next
login issues a new one (audited); the owner can revoke theirs at any time."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import AuditEntry
from config.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def login(client: APIClient, username: str) -> dict[str, Any]:
    answer = client.post("/api/v1/auth/token/", {"username": username, "password": "pass-for-tests"}, format="json")
    assert answer.status_code == 200, answer.content
    body: dict[str, Any] = answer.json()
    return body


def age(key: str, days: float) -> None:
    Token.objects.filter(key=key).update(created=timezone.now() - timedelta(days=days))


def test_a_token_says_when_it_expires_and_works_until_then(api_client: APIClient, settings: Any) -> None:
    settings.API_TOKEN_TTL_DAYS = 30
    UserFactory.create(username="mgr", role=Role.MANAGER)
    body = login(api_client, "mgr")
    created = Token.objects.get(key=body["token"]).created
    assert datetime.fromisoformat(body["expires_at"]) == created + timedelta(days=30)
    age(body["token"], 29.9)
    assert api_client.get("/api/v1/auth/session/", HTTP_AUTHORIZATION=f"Token {body['token']}").status_code == 200


def test_an_expired_token_is_refused_and_the_next_login_issues_a_new_one(api_client: APIClient, settings: Any) -> None:
    settings.API_TOKEN_TTL_DAYS = 30
    user = UserFactory.create(username="mgr", role=Role.MANAGER)
    old = login(api_client, "mgr")["token"]
    age(old, 30)
    refused = api_client.get("/api/v1/auth/session/", HTTP_AUTHORIZATION=f"Token {old}", HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 401
    assert refused.json()["message"] == "The token has expired: ask for a new one at POST /api/v1/auth/token/."
    new = login(api_client, "mgr")["token"]
    assert new != old
    assert not Token.objects.filter(key=old).exists()
    assert api_client.get("/api/v1/auth/session/", HTTP_AUTHORIZATION=f"Token {new}").status_code == 200
    issued = AuditEntry.objects.filter(action="token_issue", subject_id=str(user.pk)).order_by("pk")
    assert [entry.note for entry in issued] == ["", "the last one expired"]


def test_the_expiry_message_is_in_indonesian_by_default(api_client: APIClient) -> None:
    UserFactory.create(username="mgr", role=Role.MANAGER)
    old = login(api_client, "mgr")["token"]
    age(old, 365)
    refused = APIClient().get("/api/v1/auth/session/", HTTP_AUTHORIZATION=f"Token {old}")
    assert refused.status_code == 401
    assert refused.json()["message"].startswith("Token sudah kedaluwarsa")


def test_the_owner_revokes_their_token(api_client: APIClient) -> None:
    UserFactory.create(username="mgr", role=Role.MANAGER)
    key = login(api_client, "mgr")["token"]
    assert api_client.delete("/api/v1/auth/token/revoke/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 204
    assert api_client.get("/api/v1/auth/session/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
