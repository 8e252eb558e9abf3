"""One error shape for the whole API: ``{"message": ..., "errors": {field: [...]}}``.

Domain errors subclass :class:`ApplicationError` and answer 400; Django's and DRF's
validation errors answer 400 with a message per field; every other DRF error keeps its
status (401, 403, 404, 405, 429, ...) in the same shape. A 500 is always a bug.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler


class ApplicationError(Exception):
    """A business rule refused the request (400). ``errors`` maps fields to lists of
    messages (or, for a nested object, to a dict of the same shape)."""

    def __init__(self, message: str, errors: dict[str, Any] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        #: More top-level fields of the answer (e.g. ``payoff_amount``).
        self.extra = extra


class IdempotencyMismatch(Exception):
    """A retried request (same Idempotency-Key or bank reference) whose body differs
    from the first one's (422)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StateConflict(Exception):
    """The action does not fit the object's current state (409). The answer names the
    current state: ``{"message": ..., "errors": {}, "state": "submitted"}``."""

    def __init__(self, message: str, state: str) -> None:
        super().__init__(message)
        self.message = message
        self.state = state


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
        return Response({"message": exc.message, "errors": exc.errors, **exc.extra}, status=400)
    if isinstance(exc, IdempotencyMismatch):
        return Response({"message": exc.message, "errors": {}}, status=422)
    if isinstance(exc, StateConflict):
        return Response({"message": exc.message, "errors": {}, "state": exc.state}, status=409)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"message": str(_("Invalid input.")), "errors": _string_keys(detail)}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        response.data = {"message": str(detail), "errors": {}}
    return response
