"""One error shape for the whole API: ``{"message": ..., "errors": {field: [...]}}``.

Domain errors subclass :class:`ApplicationError` and answer 400; Django's and DRF's
validation errors answer 400 with a message per field; a refusal of the services
(``PermissionDenied``, :class:`SecondPersonRequired`) answers 403 with its own message;
every other DRF error keeps its status (401, 403, 404, 405, 429, ...) in the same shape.
A 500 is always a bug.
"""

import re
import sys
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, overload

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.db.models import Choices
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler


class ApplicationError(Exception):
    """A business rule refused the request (400). ``errors`` maps fields to lists of
    messages (or, for a nested object, to a dict of the same shape)."""

    status_code = 400

    def __init__(self, message: str, errors: dict[str, Any] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        #: More top-level fields of the answer (e.g. ``payoff_amount``).
        self.extra = extra


class ItemsNotFound(ApplicationError):
    """Items of a request (a batch) name objects the caller cannot see (404); ``errors``
    names each item: ``{"disbursements": {"1": {"application": ["..."]}}}``."""

    status_code = 404


class IdempotencyMismatch(Exception):
    """A retried request (same Idempotency-Key or bank reference) whose body differs
    from the first one's (422)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StateConflict(Exception):
    """The action does not fit the object's current state (409). The answer names the
    current state: ``{"message": ..., "errors": {}, "state": "submitted"}`` (``errors``
    names the item when one item of a batch is in the wrong state)."""

    def __init__(self, message: str, state: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.state = state
        self.errors = errors or {}


class SecondPersonRequired(PermissionDenied):
    """Maker-checker (403): this step must be taken by a second person, not by whoever
    took the step it checks (submitted, recorded the credit check, booked the repayment,
    asked for the deferral). The message says who must do it instead."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@overload
def batch_item_error(error: ApplicationError, field: str, index: int, *, subject: str = ...) -> ApplicationError: ...
@overload
def batch_item_error(error: StateConflict, field: str, index: int, *, subject: str = ...) -> StateConflict: ...
def batch_item_error(
    error: ApplicationError | StateConflict, field: str, index: int, *, subject: str = "non_field_errors"
) -> ApplicationError | StateConflict:
    """``error`` (400 or 409) reported for item ``index`` of the request's list ``field``:
    ``{"message": ..., "errors": {field: {"<index>": {<the item's field>: [...]}}}}``. A
    refusal that names no field of the item is put under ``subject``."""
    item_errors = error.errors or {subject: [error.message]}
    errors = {field: {str(index): item_errors}}
    if isinstance(error, StateConflict):
        return StateConflict(error.message, error.state, errors=errors)
    return ApplicationError(error.message, errors, **error.extra)


def choice_name(choices: type[Choices], value: str) -> str:
    """How a state (or another choice) is named inside a message of the active language:
    its Indonesian label (``field_verified`` -> "diverifikasi lapangan") in Indonesian,
    the code in words (``field verified``) otherwise. The ``state`` field of an answer
    keeps the code."""
    if (translation.get_language() or "").startswith("id"):
        try:
            label = str(choices(value).label)
        except ValueError:
            return value
        return label[:1].lower() + label[1:]
    return value.replace("_", " ")


@extend_schema_field(
    {
        "oneOf": [
            {"type": "array", "items": {"type": "string"}},
            {"type": "object", "additionalProperties": True},
        ]
    }
)
class FieldErrorsField(serializers.Field):
    """The messages of one field: a list of strings, or for a nested object or a list
    of items an object of the same shape (keyed by field name or item index)."""


def errors_field(**kwargs: Any) -> serializers.DictField:
    return serializers.DictField(child=FieldErrorsField(), **kwargs)


#: Every error answer, for the API docs. (Built inline: a serializer class cannot
#: declare a field named "errors" without shadowing its own ``errors``.)
ErrorSerializer = inline_serializer(
    "Error",
    fields={
        "message": serializers.CharField(help_text="What went wrong, in the request's language."),
        "errors": errors_field(
            help_text="Messages per input field (empty when no field is at fault); a nested object's or a "
            "list item's errors nest the same way, list items keyed by their index."
        ),
    },
)


#: A 409 answer: the error shape plus the object's current state.
ConflictSerializer = inline_serializer(
    "StateConflict",
    fields={
        "message": serializers.CharField(),
        "errors": errors_field(),
        "state": serializers.CharField(help_text="The object's current state."),
    },
)


def _string_keys(detail: Any) -> Any:
    """Errors of list items come keyed by their index (an int); JSON keys are strings."""
    if isinstance(detail, dict):
        return {str(key): _string_keys(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_string_keys(value) for value in detail]
    return detail


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(
            {"message": exc.message, "errors": _string_keys(exc.errors), **exc.extra}, status=exc.status_code
        )
    if isinstance(exc, IdempotencyMismatch):
        return Response({"message": exc.message, "errors": {}}, status=422)
    if isinstance(exc, StateConflict):
        return Response({"message": exc.message, "errors": _string_keys(exc.errors), "state": exc.state}, status=409)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        # A service's refusal says what is missing (the role, the bank, a second person).
        exc = exceptions.PermissionDenied(str(exc) or None)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"message": str(_("Invalid input.")), "errors": _string_keys(detail)}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        response.data = {"message": _untranslated_detail(str(detail)), "errors": {}}
    return response


def _untranslated_detail(detail: str) -> str:
    """DRF's messages come in the request's language, except two it formats before
    translating: a body that is not JSON (the parser's English words) and a failed CSRF
    check (Django's English reason). Those are said again here, in the request's language."""
    if detail.startswith("JSON parse error"):
        where = re.search(r"line (\d+) column (\d+)", detail)
        if where:
            return str(_("The request body is not valid JSON (line %(line)s, column %(column)s).")) % {
                "line": where[1],
                "column": where[2],
            }
        return str(_("The request body is not valid JSON."))
    if detail.startswith("CSRF Failed"):
        return str(_("The CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header."))
    return detail


#: Messages for error answers that Django makes before (or instead of) a DRF view.
_PLAIN_ERRORS = {
    400: _("Bad request."),
    403: exceptions.PermissionDenied.default_detail,
    404: exceptions.NotFound.default_detail,
    413: _("The request is too large."),
    500: exceptions.APIException.default_detail,
}


class ApiErrorShapeMiddleware:
    """Under ``/api/`` every error answer has the JSON error shape, also those no DRF view
    made: an unmatched path (404, also with ``DEBUG``), an unhandled exception (500; the
    traceback still goes to the log), a request Django refused (400, 413). Placed after
    ``LocaleMiddleware`` (the message is in the request's language) and before
    ``CommonMiddleware`` (its redirect to the path with a slash still happens)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith("/api/")
            or isinstance(response, Response)  # a DRF view's answer: already the shape (or the browsable page)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        status = response.status_code
        try:
            fallback = HTTPStatus(status).phrase
        except ValueError:
            fallback = str(status)
        message = str(_PLAIN_ERRORS.get(status, fallback))
        shaped = JsonResponse({"message": message, "errors": {}}, status=status)
        for header in ("Allow", "Retry-After"):
            if header in response:
                shaped[header] = response[header]
        return shaped


#: Errors that mean the database is not answering (restarting, failing over, out of
#: connections) rather than a bug: the request may simply be tried again.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
#: Seconds a client is asked to wait before trying again while the database is away.
RETRY_AFTER_SECONDS = 5


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: the answer when serving a request raised. The database not
    answering is not a bug: 503 with ``Retry-After``, in the error shape under ``/api/``
    and a plain page elsewhere (made without the database). Anything else is a bug: 500.
    (With ``DEBUG`` on, Django shows its debug page instead.)"""
    if not isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        return defaults.server_error(request)
    message = str(_("The service is briefly unavailable: its database is not answering. Try again in a moment."))
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"message": message, "errors": {}}, status=503)
    else:
        response = HttpResponse(loader.render_to_string("503.html", {"message": message}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
