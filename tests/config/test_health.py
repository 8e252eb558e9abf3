from unittest import mock

import pytest
from django.db import OperationalError
from django.test import override_settings
from rest_framework.test import APIClient

from tests.services import REDIS

URL = "/api/health/"


@pytest.mark.django_db
@override_settings(CELERY_BROKER_URL="")
def test_healthy_without_a_broker_says_eager(api_client: APIClient) -> None:
    response = api_client.get(URL)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "eager"}


@pytest.mark.redis
@pytest.mark.django_db
def test_healthy_with_redis_as_broker(api_client: APIClient) -> None:
    with override_settings(CELERY_BROKER_URL=REDIS.url):
        response = api_client.get(URL)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.mark.django_db
@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_unreachable_broker_answers_503_naming_it(api_client: APIClient) -> None:
    response = api_client.get(URL)
    assert response.status_code == 503
    body = response.json()
    assert body["broker"] == "unreachable"
    assert body["database"] == "ok"
    assert body["failing"] == ["broker"]


@pytest.mark.django_db
@override_settings(CELERY_BROKER_URL="")
def test_unreachable_database_answers_503_naming_it(api_client: APIClient) -> None:
    with mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError("down")):
        response = api_client.get(URL)
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert response.json()["failing"] == ["database"]
