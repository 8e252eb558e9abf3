from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import translation
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from config.errors import ApplicationError


def answer(error: Exception) -> Response:
    class Failing(APIView):
        authentication_classes = []
        permission_classes = [AllowAny]

        def get(self, request: Request) -> Response:
            raise error

    with translation.override("en"):  # no middleware here to read Accept-Language
        response = Failing.as_view()(APIRequestFactory().get("/"))
        response.render()
    return response


def test_application_error_is_a_400_with_its_fields() -> None:
    response = answer(ApplicationError("Fund exhausted.", {"principal": ["Above what the bank can lend."]}))
    assert response.status_code == 400
    assert response.data == {"message": "Fund exhausted.", "errors": {"principal": ["Above what the bank can lend."]}}


def test_django_validation_error_is_a_400_per_field() -> None:
    response = answer(DjangoValidationError({"nik": ["Must be 16 digits."]}))
    assert response.status_code == 400
    assert response.data["errors"] == {"nik": ["Must be 16 digits."]}
    assert response.data["message"] == "Invalid input."


def test_not_found_and_forbidden_keep_their_status_in_the_same_shape() -> None:
    not_found = answer(Http404("secret detail"))
    assert not_found.status_code == 404
    assert not_found.data == {"message": "Not found.", "errors": {}}
    forbidden = answer(PermissionDenied())
    assert forbidden.status_code == 403
    assert forbidden.data["errors"] == {}


def test_errors_of_list_items_are_keyed_by_their_index_as_a_string() -> None:
    from rest_framework import serializers

    from config.errors import exception_handler

    field = serializers.ListField(child=serializers.IntegerField())
    try:
        field.run_validation([1, "x"])
    except serializers.ValidationError as exc:
        response = exception_handler(serializers.ValidationError({"numbers": exc.detail}), {})
    assert response is not None
    assert response.status_code == 400
    assert list(response.data["errors"]["numbers"]) == ["1"]


# --- a refusal of a service says why -------------------------------------------------------------


def test_a_services_refusal_keeps_its_message_and_maker_checker_says_a_second_person_must() -> None:
    from config.errors import SecondPersonRequired

    assert answer(PermissionDenied("Only the city office may do this.")).data == {
        "message": "Only the city office may do this.",
        "errors": {},
    }
    refused = answer(SecondPersonRequired("A second person must reverse a repayment, not the one who booked it."))
    assert refused.status_code == 403
    assert refused.data["message"].startswith("A second person must")
    assert answer(PermissionDenied()).data["message"] == "You do not have permission to perform this action."


def test_a_state_is_named_by_its_indonesian_label_in_indonesian_and_in_words_in_english() -> None:
    from config.errors import choice_name
    from loans.models import Application

    with translation.override("id"):
        assert choice_name(Application.State, "field_verified") == "diverifikasi lapangan"
        assert choice_name(Application.State, "credit_checked") == "dicek SLIK"
        assert choice_name(Application.State, "unknown") == "unknown"
    with translation.override("en"):
        assert choice_name(Application.State, "field_verified") == "field verified"


# --- "not a valid choice" names the choices -------------------------------------------------------


def test_a_choice_outside_the_list_names_the_valid_choices() -> None:
    from rest_framework.test import APIClient

    body = {"principal": 1_000_000, "tenor_months": 12, "method": "balloon", "rounding": 7}
    indonesian = APIClient().post("/api/v1/simulations/", body, format="json").json()
    assert indonesian["errors"]["method"] == [
        '"balloon" bukan pilihan yang valid; pilih salah satu dari: flat, annuity, equal_principal.'
    ]
    assert indonesian["errors"]["rounding"] == [
        '"7" bukan pilihan yang valid; pilih salah satu dari: 1, 10, 100, 500, 1000.'
    ]
    english = APIClient().post("/api/v1/simulations/", body, format="json", HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["errors"]["method"] == [
        '"balloon" is not a valid choice; choose one of: flat, annuity, equal_principal.'
    ]


@pytest.mark.django_db
def test_a_filter_value_outside_the_list_names_the_valid_choices(api_client: Any) -> None:
    from tests.factories import UserFactory

    api_client.force_authenticate(UserFactory.create(role="officer"))
    answer = api_client.get("/api/v1/applications/?state=lost", HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 400
    assert answer.json()["errors"]["state"] == [
        '"lost" is not a valid choice; choose one of: draft, submitted, field_verified, forwarded, '
        "credit_checked, approved, disbursed, rejected, withdrawn."
    ]
    regions = api_client.get("/api/v1/regions/?level=planet", HTTP_ACCEPT_LANGUAGE="id")
    assert regions.status_code == 400
    assert regions.json()["errors"]["level"][0].startswith('"planet" bukan pilihan yang valid; pilih salah satu dari: ')


# --- no HTML under /api/ ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/nothing/", "/api/v1/nothing/", "/api/v1/banks/PASAR/nothing/", "/api/v2/"])
@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_path_under_the_api_answers_the_json_error_shape(
    client: Any, settings: Any, path: str, debug: bool
) -> None:
    settings.DEBUG = debug
    answer = client.get(path)
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/json"
    assert answer.json() == {"message": "Data tidak ditemukan.", "errors": {}}
    assert client.get(path, HTTP_ACCEPT_LANGUAGE="en").json() == {"message": "Not found.", "errors": {}}


def test_a_path_without_its_slash_is_still_redirected(client: Any) -> None:
    answer = client.get("/api/health")
    assert answer.status_code == 301
    assert answer["Location"] == "/api/health/"


def test_a_server_error_under_the_api_answers_the_json_error_shape(client: Any, settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.config.urls_failing"
    client.raise_request_exception = False
    answer = client.get("/api/v1/broken/", HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 500
    assert answer.json() == {"message": "A server error occurred.", "errors": {}}
    assert client.get("/api/v1/broken/").json()["message"] == "Terjadi galat di server."
    assert "application/json" not in client.get("/broken/")["Content-Type"]  # pages keep Django's page


@pytest.mark.django_db
def test_the_root_is_the_home_page_with_a_way_to_the_api_docs(client: Any) -> None:
    answer = client.get("/")
    assert answer.status_code == 200
    assert 'href="/api/docs/"' in answer.content.decode()
