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
