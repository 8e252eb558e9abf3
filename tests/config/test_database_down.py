"""The database not answering (a restart, a fail-over, no connection left) answers 503
with Retry-After, in the error shape under /api/ and as a page elsewhere; a bug still
answers 500."""

from typing import Any
from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client

from config.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DOWN = "django.db.backends.utils.CursorWrapper.execute"


@pytest.fixture
def browser(client: Client) -> Client:
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize("error", [OperationalError("connection refused"), InterfaceError("connection already closed")])
def test_the_api_answers_503_in_the_error_shape_while_the_database_is_away(browser: Client, error: Exception) -> None:
    UserFactory.create(username="mgr", role=Role.MANAGER)
    assert browser.login(username="mgr", password="pass-for-tests")
    with mock.patch(DOWN, side_effect=error):
        answer = browser.get("/api/v1/loans/", HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 503
    assert answer["Retry-After"] == "5"
    assert answer.json() == {
        "message": "The service is briefly unavailable: its database is not answering. Try again in a moment.",
        "errors": {},
    }
    assert browser.get("/api/v1/loans/").status_code == 200  # back at once, no manual step


def test_a_page_answers_503_with_a_page_made_without_the_database(browser: Client) -> None:
    UserFactory.create(username="mgr", role=Role.MANAGER)
    assert browser.login(username="mgr", password="pass-for-tests")
    with mock.patch(DOWN, side_effect=OperationalError("the database system is starting up")):
        answer = browser.get("/start/")
    assert answer.status_code == 503
    assert answer["Retry-After"] == "5"
    assert "Sedang tidak tersedia" in answer.content.decode()


def test_a_bug_is_still_500(browser: Client, settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.config.urls_failing"
    answer = browser.get("/api/v1/broken/", HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 500
    assert "Retry-After" not in answer
