"""Every request body is read with the API's strict, bounded fields (config/api.py):
text must be a JSON string, a boolean a JSON boolean, and an integer lies within its
database column's range. And the fields themselves do what they say."""

from collections.abc import Iterator
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import spectacular_settings
from rest_framework import serializers

from config import api


def _request_serializers() -> Iterator[tuple[str, Any]]:
    generator = SchemaGenerator()
    generator._initialise_endpoints()
    for path, path_regex, method, view in generator._get_paths_and_endpoints():
        if method not in ("POST", "PUT", "PATCH"):
            continue
        view.request = spectacular_settings.GET_MOCK_REQUEST(method, path, view, None)
        schema = view.schema
        schema.registry, schema.path, schema.path_regex, schema.method = generator.registry, path, path_regex, method
        serializer = schema.get_request_serializer()
        if serializer is not None:
            yield f"{method} {path}", serializer() if isinstance(serializer, type) else serializer


def _fields(field: Any, name: str) -> Iterator[tuple[str, Any]]:
    if isinstance(field, serializers.ListSerializer):
        yield from _fields(field.child, f"{name}[]")
    elif isinstance(field, serializers.Serializer):
        for child_name, child in field.fields.items():
            yield from _fields(child, f"{name}.{child_name}")
    elif isinstance(field, serializers.ListField | serializers.DictField):
        yield name, field
        yield from _fields(field.child, f"{name}[]")
    else:
        yield name, field


STRICT = {
    serializers.CharField: api.CharField,
    serializers.BooleanField: api.BooleanField,
    serializers.IntegerField: api.IntegerField,
}


def test_every_request_body_uses_the_strict_bounded_fields() -> None:
    plain = []
    operations = 0
    for operation, serializer in _request_serializers():
        operations += 1
        for name, field in _fields(serializer, operation):
            for drf_class, strict_class in STRICT.items():
                if isinstance(field, drf_class) and not isinstance(field, strict_class):
                    plain.append(f"{name}: {type(field).__name__}")
    assert operations > 20
    assert not plain, plain


@pytest.mark.parametrize(
    ("field", "value", "valid"),
    [
        (api.CharField(), "0", True),
        (api.CharField(), 0, False),
        (api.CharField(), 1.5, False),
        (api.CharField(), True, False),
        (api.CharField(), "a\x00b", False),
        (api.BooleanField(), True, True),
        (api.BooleanField(), 0, False),
        (api.BooleanField(), "false", False),
        (api.BooleanField(), "on", False),
        (api.IntegerField(), 2**31 - 1, True),
        (api.IntegerField(), 2**31, False),
        (api.IntegerField(), -(2**31), True),
        (api.IntegerField(), -(2**31) - 1, False),
        (api.IntegerField(), "12", True),
        (api.IntegerField(), 12.0, False),
        (api.IntegerField(), True, False),
        (api.IntegerField(max_value=2**40), 2**32, False),  # never past the column
        (api.IntegerField(min_value=1, max_value=5), 6, False),
        (api.BigIntegerField(), 2**63 - 1, True),
        (api.BigIntegerField(), 2**63, False),
        (api.RupiahField(), 2**63 - 1, True),
        (api.RupiahField(), 2**63, False),
        (api.RupiahField(), "1" + "0" * 100, False),
        (api.RupiahField(), 1000.5, False),
    ],
)
def test_the_strict_fields(field: serializers.Field, value: Any, valid: bool) -> None:
    try:
        field.run_validation(value)
    except serializers.ValidationError:
        assert not valid
    else:
        assert valid


def test_the_bounds_are_in_the_schema() -> None:
    field = api.RupiahField(min_value=1)
    assert (field.min_value, field.max_value) == (1, 2**63 - 1)
    assert (api.IntegerField().min_value, api.IntegerField().max_value) == (-(2**31), 2**31 - 1)
