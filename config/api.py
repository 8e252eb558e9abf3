"""Building blocks shared by the APIs: money and rate fields that refuse floats, a
cheap per-client throttle, a serializer base for hot, flat request bodies, and "not a
valid choice" answers that name the valid choices."""

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any, NoReturn

from django import forms
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.filterset import FilterSet
from redis.exceptions import RedisError
from rest_framework import serializers
from rest_framework.fields import Field
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

logger = logging.getLogger(__name__)


class RupiahField(serializers.IntegerField):
    """Whole rupiah: a JSON integer (or a string of digits). A JSON number with a
    fraction or an exponent is refused, never truncated: 1000000.5 is not a rupiah
    amount, and 1e21 has already lost digits in the parser."""

    default_error_messages = {"float": _("Must be a whole number of rupiah (a JSON integer).")}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, float):
            self.fail("float")
        return int(super().to_internal_value(data))


class RateField(serializers.DecimalField):
    """A rate in percent as a decimal string ("3.25") or a JSON integer. A JSON number
    with a fraction is refused: it was a binary float before it reached us."""

    default_error_messages = {"float": _('Send the rate as a decimal string, such as "3.25".')}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, float):
            self.fail("float")
        return super().to_internal_value(data)


def _count_hit(key: str, ttl: int) -> int:
    """Add one to the counter ``key`` (created with a ``ttl``-second life) and return it.
    On Redis one pipelined round trip (INCR, EXPIRE) instead of the three of Django's
    ``add`` + ``incr``; elsewhere (the in-process cache) ``add`` + ``incr``."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        full_key = backend.make_and_validate_key(key)
        # Django's RedisCache exposes no pipeline; its client (private, stable since 4.0) does.
        client = backend._cache.get_client(full_key, write=True)
        pipeline = client.pipeline(transaction=False)
        pipeline.incr(full_key)
        pipeline.expire(full_key, ttl)
        count, _ = pipeline.execute()
        return int(count)
    backend.add(key, 0, timeout=ttl)
    try:
        return int(backend.incr(key))
    except ValueError:  # expired between add and incr
        backend.set(key, 1, timeout=ttl)
        return 1


class FixedWindowThrottle(SimpleRateThrottle):
    """At most N requests per client address in each fixed window of the period
    (``"600/min"``: 600 per clock minute), counted with one atomic cache increment, so
    a request costs the same whatever the rate (DRF's sliding window re-stores the whole
    timestamp list on every request). A client may burst to 2N across a window
    boundary; that is the price of O(1).

    Subclasses set ``scope`` and ``get_rate()``. The counter lives in the default cache:
    Redis (CACHE_URL) when several web processes must share it. If that cache cannot be
    reached the request is let through and a warning logged (fail open).
    """

    num_requests: int
    duration: int
    retry_after: float = 0.0

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        try:
            count = _count_hit(f"{self.get_cache_key(request, view)}_{window}", ttl=self.duration + 1)
        except (RedisError, OSError):
            # A throttle guards capacity; a cache outage must not take the API down too.
            logger.warning("throttle %s: cache unreachable, request let through", self.scope, exc_info=True)
            return True
        self.retry_after = (window + 1) * self.duration - now
        return bool(count <= self.num_requests)

    def wait(self) -> float:
        return max(self.retry_after, 1.0)


class ReusedFieldsSerializer(serializers.Serializer):
    """A serializer that skips DRF's deep copy of every declared field per instance
    (about 0.2 ms for a dozen fields, a fifth of a simulator request).

    The copy protects serializers that change their fields per instance; this one must
    not. Each thread keeps its own copy, re-bound to each new instance, so it is only
    for a flat serializer used once per request (never nested in itself, never two
    live instances at once in one thread).
    """

    _thread_fields = threading.local()

    def get_fields(self) -> dict[str, Field[Any, Any, Any, Any]]:
        by_class: dict[type, tuple[dict[str, Field[Any, Any, Any, Any]], dict[str, str | None]]]
        by_class = self._thread_fields.__dict__.setdefault("by_class", {})
        if type(self) not in by_class:
            fields = super().get_fields()
            by_class[type(self)] = (fields, {name: field.source for name, field in fields.items()})
        fields, declared_sources = by_class[type(self)]
        for name, field in fields.items():
            field.source = declared_sources[name]  # binding to this instance sets it again
        return fields


class Pagination(PageNumberPagination):
    """``?page=N&page_size=M`` (M up to 500, default 50), answering ``{"count", "next",
    "previous", "results"}``."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def paginated_response(
    *, request: Request, view: APIView, queryset: QuerySet[Any], serializer_class: type[serializers.BaseSerializer]
) -> Response:
    """One page of ``queryset`` rendered with ``serializer_class``, in the list shape."""
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True, context={"request": request}).data)


def filtered(filterset_class: type[FilterSet], params: Any, queryset: QuerySet[Any]) -> QuerySet[Any]:
    """``queryset`` narrowed by a django-filter FilterSet; bad filter values raise a
    ValidationError (400 with a message per parameter; a value outside a fixed list
    names the list)."""
    filterset = filterset_class(params, queryset)
    if not filterset.is_valid():
        raise serializers.ValidationError(_filter_errors(filterset))
    qs: QuerySet[Any] = filterset.qs
    return qs


# --- "not a valid choice" names the valid choices -------------------------------------------

INVALID_CHOICE = _('"{input}" is not a valid choice; choose one of: {choices}.')


def invalid_choice_message(value: Any, choices: Iterable[Any]) -> str:
    """The refusal of ``value`` for a field whose valid values are ``choices`` (the codes
    a client sends, in their order)."""
    return str(INVALID_CHOICE).format(input=value, choices=", ".join(str(choice) for choice in choices if choice != ""))


def _fail_naming_choices(field: serializers.ChoiceField, key: str, **kwargs: Any) -> NoReturn:
    if key == "invalid_choice":
        raise serializers.ValidationError(invalid_choice_message(kwargs.get("input"), field.choices), code=key)
    serializers.Field.fail(field, key, **kwargs)
    raise AssertionError("unreachable: Field.fail always raises")


def name_valid_choices() -> None:
    """Every DRF ``ChoiceField`` (and ``MultipleChoiceField``) of the API answers a value
    outside its list with the list: ``"x" is not a valid choice; choose one of: flat,
    annuity, equal_principal.`` One override of DRF's ``fail`` for that one message,
    installed at start (``loans.apps``), so no field needs its own message. Choice filters
    of the lists get the same message from :func:`filtered`."""
    setattr(serializers.ChoiceField, "fail", _fail_naming_choices)  # noqa: B010 - mypy refuses assigning to a method


def _filter_errors(filterset: FilterSet) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name, problems in filterset.form.errors.as_data().items():
        field = filterset.form.fields.get(name)
        fixed_list = isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField)
        messages: list[str] = []
        for problem in problems:
            if fixed_list and problem.code == "invalid_choice" and problem.params:
                choices = [value for value, _label in field.choices]
                messages.append(invalid_choice_message(problem.params["value"], choices))
            else:
                messages.extend(problem.messages)
        errors[name] = messages
    return errors
