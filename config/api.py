"""Building blocks shared by the APIs: the input fields every request serializer uses
(text that must be a JSON string, booleans that must be JSON booleans, integers held to
their database column's range, money and rates that refuse floats), pagination that
answers a bad page number with 400, a cheap per-client throttle, a serializer base for
hot, flat request bodies, and "not a valid choice" answers that name the valid choices."""

import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, NoReturn

from django import forms
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _
from django_filters.filterset import FilterSet
from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from redis.exceptions import RedisError
from rest_framework import exceptions, serializers
from rest_framework.fields import Field
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from config.prepared import Prepared

logger = logging.getLogger(__name__)


#: The range of the database's integer columns (PostgreSQL's ``integer`` and ``bigint``;
#: SQLite stores both in 64 bits, and is held to the same bounds so both databases agree).
INTEGER_MIN, INTEGER_MAX = -(2**31), 2**31 - 1
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


class CharField(serializers.CharField):
    """Text, which must come as a JSON string: DRF's own field turns ``0`` into ``"0"``
    (a bank named "0"). NUL characters are refused (DRF's validator)."""

    default_error_messages = {"invalid": _("Must be text (a JSON string).")}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class BooleanField(serializers.BooleanField):
    """``true`` or ``false``, JSON booleans only: DRF's own field takes ``0``, ``"no"``
    or ``"off"`` for false."""

    default_error_messages = {"invalid": _("Must be true or false (a JSON boolean).")}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class IntegerField(serializers.IntegerField):
    """A whole number (a JSON integer or a string of digits) within the range of the
    ``integer`` column that stores it, unless a narrower ``min_value``/``max_value`` is
    given: a number past the column's range is a 400 naming the field, never a database
    error. A JSON number with a fraction is refused, never truncated."""

    column_min = INTEGER_MIN
    column_max = INTEGER_MAX
    default_error_messages = {"float": _("Must be a whole number (a JSON integer).")}

    def __init__(self, **kwargs: Any) -> None:
        kwargs["min_value"] = max(self.column_min, kwargs.get("min_value", self.column_min))
        kwargs["max_value"] = min(self.column_max, kwargs.get("max_value", self.column_max))
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, float):
            self.fail("float")
        return int(super().to_internal_value(data))


class BigIntegerField(IntegerField):
    """A whole number for a ``bigint`` column (an id, a count of rupiah)."""

    column_min = BIGINT_MIN
    column_max = BIGINT_MAX


class RupiahField(BigIntegerField):
    """Whole rupiah: a JSON integer (or a string of digits) that fits a ``bigint``
    column. A JSON number with a fraction or an exponent is refused, never truncated:
    1000000.5 is not a rupiah amount, and 1e21 has already lost digits in the parser."""

    default_error_messages = {"float": _("Must be a whole number of rupiah (a JSON integer).")}


class RateField(serializers.DecimalField):
    """A rate in percent as a decimal string ("3.25") or a JSON integer. A JSON number
    with a fraction is refused: it was a binary float before it reached us."""

    default_error_messages = {"float": _('Send the rate as a decimal string, such as "3.25".')}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, float):
            self.fail("float")
        return super().to_internal_value(data)


class RefuseNulInPathMiddleware:
    """A path with a NUL character names nothing: answer 404 in the error shape at once.
    (PostgreSQL cannot even be asked about such a string: a bank code or a product code
    with a NUL would otherwise fail inside the database driver, a 500.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path:
            return JsonResponse({"message": str(exceptions.NotFound.default_detail), "errors": {}}, status=404)
        return self.get_response(request)


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


#: What a shared cache that cannot be reached raises.
CACHE_DOWN = (RedisError, OSError)


class ProcessCounters:
    """This process's own counters and marks, each with a life in seconds: the stand-in
    for the shared cache while it cannot be reached. Thread-safe; expired entries are
    dropped once there are more than ``prune_above``, so memory stays bounded by what one
    window holds. Nothing but counts and timestamps is kept (keys name no password)."""

    prune_above = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Any, float]] = {}

    def _live(self, key: str, now: float) -> Any:
        entry = self._entries.get(key)
        if entry is None or entry[1] <= now:
            self._entries.pop(key, None)
            return None
        return entry[0]

    def _prune(self, now: float) -> None:
        if len(self._entries) > self.prune_above:
            self._entries = {name: entry for name, entry in self._entries.items() if entry[1] > now}

    def incr(self, key: str, ttl: int) -> int:
        """Add one to ``key`` (created with a ``ttl``-second life, which later hits keep)."""
        now = time.time()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[1] <= now:
                self._prune(now)
                entry = (0, now + ttl)
            count = int(entry[0]) + 1
            self._entries[key] = (count, entry[1])
            return count

    def get(self, key: str) -> Any:
        with self._lock:
            return self._live(key, time.time())

    def set(self, key: str, value: Any, ttl: int) -> None:
        now = time.time()
        with self._lock:
            self._prune(now)
            self._entries[key] = (value, now + ttl)

    def delete(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


#: The fallback counters of this process (see :func:`guard_count_hit`).
PROCESS_COUNTERS = ProcessCounters()


def _cache_down() -> None:
    logger.warning("login guard: cache unreachable, counted in this process instead", exc_info=True)


def guard_count_hit(key: str, ttl: int) -> int:
    """:func:`_count_hit` for a guard that must hold when the shared cache is down (a
    login limit): if the cache cannot be reached the hit is counted in this process's
    :data:`PROCESS_COUNTERS` instead (a warning is logged). Each web process then counts
    on its own, so a client gets at most the limit once per process, never without limit."""
    try:
        return _count_hit(key, ttl)
    except CACHE_DOWN:
        _cache_down()
        return PROCESS_COUNTERS.incr(key, ttl)


def guard_get(key: str) -> Any:
    """The value at ``key`` in the shared cache, or in this process's counters while the
    cache cannot be reached."""
    try:
        return caches["default"].get(key)
    except CACHE_DOWN:
        _cache_down()
        return PROCESS_COUNTERS.get(key)


def guard_set(key: str, value: Any, ttl: int) -> None:
    """Store ``value`` at ``key`` for ``ttl`` seconds in the shared cache, or in this
    process's counters while the cache cannot be reached."""
    try:
        caches["default"].set(key, value, timeout=ttl)
    except CACHE_DOWN:
        _cache_down()
        PROCESS_COUNTERS.set(key, value, ttl)


def guard_delete(key: str) -> None:
    """Forget ``key``, in the shared cache and in this process's counters (a value kept
    here while the cache was down must not outlive a reset)."""
    PROCESS_COUNTERS.delete(key)
    try:
        caches["default"].delete(key)
    except CACHE_DOWN:
        _cache_down()


class FixedWindowThrottle(SimpleRateThrottle):
    """At most N requests per client address in each fixed window of the period
    (``"600/min"``: 600 per clock minute), counted with one atomic cache increment, so
    a request costs the same whatever the rate (DRF's sliding window re-stores the whole
    timestamp list on every request). A client may burst to 2N across a window
    boundary; that is the price of O(1).

    Subclasses set ``scope`` and ``get_rate()``. The counter lives in the default cache:
    Redis (CACHE_URL) when several web processes must share it. If that cache cannot be
    reached, ``fail_open`` decides: True (the default, for a throttle that only guards
    capacity) lets the request through with a warning logged; False (a guard against
    password guessing) counts in this process instead (:func:`guard_count_hit`).
    """

    num_requests: int
    duration: int
    retry_after: float = 0.0
    fail_open: bool = True

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        key = f"{self.get_cache_key(request, view)}_{window}"
        if self.fail_open:
            try:
                count = _count_hit(key, ttl=self.duration + 1)
            except CACHE_DOWN:
                # A throttle guards capacity; a cache outage must not take the API down too.
                logger.warning("throttle %s: cache unreachable, request let through", self.scope, exc_info=True)
                return True
        else:
            count = guard_count_hit(key, ttl=self.duration + 1)
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
    "previous", "results"}``. A page that is not a whole number from 1 answers 400
    naming ``page``; a page past the last one 404."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset: Any, request: Request, view: APIView | None = None) -> list[Any] | None:
        page = request.query_params.get(self.page_query_param)
        if page is not None and page not in self.last_page_strings:
            try:
                number = int(page)
            except ValueError:
                number = 0
            if not 1 <= number <= INTEGER_MAX:
                raise serializers.ValidationError(
                    {self.page_query_param: [_("A page is a whole number from 1, or 'last'.")]}
                )
        return super().paginate_queryset(queryset, request, view)


def paginator_of(view: APIView) -> Pagination:
    """The view's paginator. A list view declares ``pagination_class``: the schema
    generator reads the same attribute, so the documented shape is the one answered."""
    pagination_class = getattr(view, "pagination_class", None)
    if pagination_class is None or not issubclass(pagination_class, Pagination):
        raise ImproperlyConfigured(f"{type(view).__name__} answers a list: give it a pagination_class")
    return pagination_class()


def paginated_response(
    *, request: Request, view: APIView, queryset: QuerySet[Any], serializer_class: type[serializers.BaseSerializer]
) -> Response:
    """One page of ``queryset`` rendered with ``serializer_class``, in the list shape."""
    paginator = paginator_of(view)
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True, context={"request": request}).data)


class QueryRows:
    """``queryset``'s rows as dictionaries of ``columns`` (``values()``), for a paginator:
    counted on ``queryset`` itself, so the count needs none of the joins the columns do."""

    def __init__(self, queryset: QuerySet[Any], columns: Sequence[str]) -> None:
        self.queryset = queryset
        self.columns = columns
        self.ordered = queryset.ordered

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, index: slice) -> QuerySet[Any, dict[str, Any]]:
        return self.queryset.values(*self.columns)[index]


class PreparedRows:
    """The rows of a prepared values() query (config/prepared.py) for a paginator: a page
    is read with LIMIT and OFFSET as parameters, the count by a second prepared query
    (which can leave out the page's joins)."""

    ordered = True

    def __init__(self, page: Prepared, counted: Prepared, shape: Hashable, values: dict[str, Any]) -> None:
        self.page = page
        self.counted = counted
        self.shape = shape
        self.values = values

    def count(self) -> int:
        return self.counted.count(self.shape, **self.values)

    def __getitem__(self, index: slice) -> list[dict[str, Any]]:
        return self.page.dicts(self.shape, page=index, **self.values)


def paginated_rows_response(
    *,
    request: Request,
    view: APIView,
    rows: QueryRows | PreparedRows,
    render: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
) -> Response:
    """One page of ``rows`` turned into the list's items by ``render``, in the list
    shape. For a hot list whose serializer would cost more than its query: DRF builds
    and walks its fields for every row, and every related object is a model instance."""
    paginator = paginator_of(view)
    page = paginator.paginate_queryset(rows, request, view=view)
    return paginator.get_paginated_response(render(page or []))


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, plus the answers every paginated list can give: 400 for
    a page that is not a whole number from 1, 404 for a page past the last one."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if self.method == "GET" and "200" in responses and self._get_paginator() is not None:
            from config.errors import ErrorSerializer

            for code, description in (
                ("400", "Bad input: a page that is not a whole number from 1, or a bad filter."),
                ("404", "No such page (past the last one)."),
            ):
                if code not in responses:
                    responses[code] = self._get_response_for_code(
                        OpenApiResponse(ErrorSerializer, description=description), code, direction=direction
                    )
        return responses


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
