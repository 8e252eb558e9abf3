"""Product APIs: the loan products on offer and their versioned terms.

Reading is open to every logged-in user (it is the public offer; only the programme's
staff see inactive products). Only the manager creates products and new versions of
their terms; terms are never edited in place.
"""

from decimal import Decimal
from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config import api
from config.api import Pagination, RateField, RupiahField, paginated_response
from config.clock import business_today
from config.errors import ErrorSerializer
from config.roles import Role, require_role
from loans import money
from loans.models import Product
from loans.schedule import MAX_PRINCIPAL, MAX_TENOR_MONTHS, METHODS
from loans.selectors.products import product_list, terms_in_force
from loans.services.products import (
    MAX_MIN_AGE_YEARS,
    MAX_MIN_BUSINESS_AGE_MONTHS,
    MAX_REPEAT_MULTIPLIER,
    TERMS_DEFAULTS,
    product_create,
    product_terms_create,
)

TERMS_INPUT_EXAMPLE = {
    "annual_rate": "3",
    "method": "flat",
    "ceiling_without_collateral": 5000000,
    "ceiling_with_collateral": 50000000,
    "allowed_tenors": [6, 12, 18, 24, 36],
    "grace_months": 0,
    "rounding": 1,
    "interest_rounding": "half_up",
    "installment_rounding": "up",
    "business_days": False,
    "min_business_age_months": 24,
    "min_age_years": 17,
    "repeat_multiplier": 2,
    "region_code": "33.74",
    "valid_from": "2026-07-01",
}
TERMS_EXAMPLE = {"version": 2, **TERMS_INPUT_EXAMPLE, "valid_to": None}
OLD_TERMS_EXAMPLE = {**TERMS_EXAMPLE, "version": 1, "valid_from": "2017-01-01", "valid_to": "2026-06-30"}
PRODUCT_EXAMPLE = {
    "code": "WIBAWA",
    "name": "Kredit Wibawa",
    "active": True,
    "current_version": 2,
    "current_terms": TERMS_EXAMPLE,
}

ERROR_RESPONSES: dict[int, OpenApiResponse] = {
    400: OpenApiResponse(ErrorSerializer, description="Bad input: a message per field."),
    403: OpenApiResponse(ErrorSerializer, description="Only the manager may do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such product among those the user may see."),
}


@extend_schema_field(OpenApiTypes.STR)
class RateOutputField(serializers.Field):
    """A stored rate as a plain decimal string in percent: "3", "3.25"."""

    def to_representation(self, value: Decimal) -> str:
        return money.format_rate_units(money.parse_annual_rate(value))


class TenorsField(serializers.ListField):
    """Tenors in months: a non-empty list of whole numbers from 1 to 120. Errors come as
    one list of messages on the field, not one per list position. (That each appears
    once, longer than the grace period, is the service's rule.)"""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=api.IntegerField(min_value=1, max_value=MAX_TENOR_MONTHS), allow_empty=False, **kwargs)

    def to_internal_value(self, data: Any) -> list[int]:
        try:
            tenors: list[int] = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict):
                messages = {str(message) for messages in exc.detail.values() for message in messages}
                raise serializers.ValidationError(sorted(messages)) from exc
            raise
        return tenors


class ProductTermsSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    annual_rate = RateOutputField(help_text="Percent a year, a decimal string.")
    method = serializers.ChoiceField(choices=METHODS)
    ceiling_without_collateral = serializers.IntegerField(help_text="Rupiah.")
    ceiling_with_collateral = serializers.IntegerField(help_text="Rupiah.")
    allowed_tenors = serializers.ListField(child=serializers.IntegerField(), help_text="Months.")
    grace_months = serializers.IntegerField()
    rounding = serializers.IntegerField(help_text="Installment rounding unit in rupiah.")
    interest_rounding = serializers.ChoiceField(choices=money.INTEREST_ROUNDING_MODES)
    installment_rounding = serializers.ChoiceField(choices=money.INSTALLMENT_ROUNDING_MODES)
    business_days = serializers.BooleanField()
    min_business_age_months = serializers.IntegerField()
    min_age_years = serializers.IntegerField()
    repeat_multiplier = serializers.IntegerField(
        help_text="A repeat borrower who repaid on time may borrow this many times the last loan, within the ceiling."
    )
    region_code = serializers.CharField(help_text="The programme's region (by the KTP address).")
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(allow_null=True, help_text="Inclusive; null while it is the newest version.")

    class Meta:
        ref_name = "ProductTerms"


class ProductTermsInputSerializer(serializers.Serializer):
    """One version of a product's terms. Only the rate, the ceilings, the tenors and
    valid_from are required; the rest default to Kredit Wibawa's."""

    annual_rate = RateField(
        max_digits=7,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(100),
        help_text="Percent a year, a decimal string (at most 4 decimals).",
    )
    method = serializers.ChoiceField(choices=METHODS, default=TERMS_DEFAULTS["method"])
    ceiling_without_collateral = RupiahField(min_value=1, max_value=MAX_PRINCIPAL, help_text="Rupiah.")
    ceiling_with_collateral = RupiahField(
        min_value=1, max_value=MAX_PRINCIPAL, help_text="Rupiah; at least the ceiling without collateral."
    )
    allowed_tenors = TenorsField(help_text="Months, each 1 to 120 and longer than the grace period.")
    grace_months = api.IntegerField(min_value=0, max_value=MAX_TENOR_MONTHS - 1, default=TERMS_DEFAULTS["grace_months"])
    rounding = serializers.ChoiceField(
        choices=money.ROUNDING_UNITS,
        default=TERMS_DEFAULTS["rounding"],
        help_text="Installment rounding unit in rupiah.",
    )
    interest_rounding = serializers.ChoiceField(
        choices=money.INTEREST_ROUNDING_MODES, default=TERMS_DEFAULTS["interest_rounding"]
    )
    installment_rounding = serializers.ChoiceField(
        choices=money.INSTALLMENT_ROUNDING_MODES, default=TERMS_DEFAULTS["installment_rounding"]
    )
    business_days = api.BooleanField(default=TERMS_DEFAULTS["business_days"])
    min_business_age_months = api.IntegerField(
        min_value=1, max_value=MAX_MIN_BUSINESS_AGE_MONTHS, default=TERMS_DEFAULTS["min_business_age_months"]
    )
    min_age_years = api.IntegerField(min_value=1, max_value=MAX_MIN_AGE_YEARS, default=TERMS_DEFAULTS["min_age_years"])
    repeat_multiplier = api.IntegerField(
        min_value=1, max_value=MAX_REPEAT_MULTIPLIER, default=TERMS_DEFAULTS["repeat_multiplier"]
    )
    region_code = api.CharField(max_length=13, default=TERMS_DEFAULTS["region_code"])
    valid_from = serializers.DateField(
        help_text="After the newest version's valid_from; that one closes the day before."
    )

    class Meta:
        ref_name = "ProductTermsCreate"


class ProductSerializer(serializers.Serializer):
    """A product and the version of its terms in force today (Asia/Jakarta)."""

    code = serializers.CharField()
    name = serializers.CharField()
    active = serializers.BooleanField()
    current_version = serializers.IntegerField(
        source="current_terms.version", allow_null=True, help_text="Null when no version is in force today."
    )
    current_terms = ProductTermsSerializer(allow_null=True)

    class Meta:
        ref_name = "Product"

    def to_representation(self, instance: Product) -> Any:
        # Chosen among the prefetched versions: one query for a whole page of products.
        instance.current_terms = terms_in_force(instance.terms.all(), business_today())  # type: ignore[attr-defined]
        return super().to_representation(instance)


class ProductDetailSerializer(ProductSerializer):
    terms = ProductTermsSerializer(many=True, help_text="Every version, oldest first.")

    class Meta:
        ref_name = "ProductDetail"


def flat_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """Serializer errors with nested ones named ``outer.inner`` (the API's error shape
    is one list of messages per field)."""
    flat: dict[str, list[str]] = {}
    for name, messages in errors.items():
        if isinstance(messages, dict):
            flat.update(flat_errors(messages, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = [str(message) for message in messages]
    return flat


def _product_for(user: Any, code: str) -> Product:
    product = product_list(user=user).filter(code=code).first()
    if product is None:
        raise Http404
    return product


class ProductListApi(APIView):
    pagination_class = Pagination

    class InputSerializer(serializers.Serializer):
        code = api.CharField(max_length=32, help_text="Capital letters, digits, '-' or '_'; used in URLs.")
        name = api.CharField(max_length=150)
        terms = ProductTermsInputSerializer(help_text="Version 1 of the terms.")

        class Meta:
            ref_name = "ProductCreate"

    @extend_schema(
        operation_id="products_list",
        summary="The loan products on offer",
        description="Every logged-in user, borrowers included: it is the public offer. Each product comes with "
        "the version of its terms in force today (Asia/Jakarta). Only the programme's staff see inactive products.",
        responses={
            200: ProductSerializer(many=True),
            404: OpenApiResponse(ErrorSerializer, description="No such page."),
        },
        examples=[OpenApiExample("Kredit Wibawa", value=PRODUCT_EXAMPLE, response_only=True, status_codes=["200"])],
        tags=["products"],
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            request=request, view=self, queryset=product_list(user=request.user), serializer_class=ProductSerializer
        )

    @extend_schema(
        operation_id="products_create",
        summary="Create a product with version 1 of its terms (manager)",
        description="Errors in the terms are named `terms.<field>`.",
        request=InputSerializer,
        responses={201: ProductDetailSerializer, 400: ERROR_RESPONSES[400], 403: ERROR_RESPONSES[403]},
        examples=[
            OpenApiExample(
                "Kredit Wibawa",
                value={"code": "WIBAWA", "name": "Kredit Wibawa", "terms": TERMS_INPUT_EXAMPLE},
                request_only=True,
            ),
            OpenApiExample(
                "Created",
                value={
                    **PRODUCT_EXAMPLE,
                    "current_version": 1,
                    "current_terms": {**TERMS_EXAMPLE, "version": 1},
                    "terms": [{**TERMS_EXAMPLE, "version": 1}],
                },
                response_only=True,
                status_codes=["201"],
            ),
            OpenApiExample(
                "A tenor out of range",
                value={
                    "message": "Invalid input.",
                    "errors": {"terms.allowed_tenors": ["Ensure this value is less than or equal to 120."]},
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
        tags=["products"],
    )
    def post(self, request: Request) -> Response:
        require_role(request.user, Role.MANAGER)
        serializer = self.InputSerializer(data=request.data)
        if not serializer.is_valid():
            raise serializers.ValidationError(flat_errors(serializer.errors))
        product = product_create(actor=request.user, **serializer.validated_data)
        return Response(ProductDetailSerializer(_product_for(request.user, product.code)).data, status=201)


class ProductDetailApi(APIView):
    @extend_schema(
        operation_id="products_retrieve",
        summary="A product with every version of its terms",
        description="`current_version` names the version in force today (Asia/Jakarta).",
        responses={200: ProductDetailSerializer, 404: ERROR_RESPONSES[404]},
        examples=[
            OpenApiExample(
                "Two versions",
                value={**PRODUCT_EXAMPLE, "terms": [OLD_TERMS_EXAMPLE, TERMS_EXAMPLE]},
                response_only=True,
                status_codes=["200"],
            )
        ],
        tags=["products"],
    )
    def get(self, request: Request, code: str) -> Response:
        return Response(ProductDetailSerializer(_product_for(request.user, code)).data)


class ProductTermsApi(APIView):
    @extend_schema(
        operation_id="product_terms_create",
        summary="A new version of a product's terms (manager)",
        description="Terms are never edited in place. The new version starts on `valid_from`, which must be after "
        "the newest version's; that version is closed the day before, so versions never overlap. Loans keep the "
        "version they were approved under.",
        request=ProductTermsInputSerializer,
        responses={201: ProductTermsSerializer, **ERROR_RESPONSES},
        examples=[
            OpenApiExample("From July 2026", value=TERMS_INPUT_EXAMPLE, request_only=True),
            OpenApiExample("Version 2", value=TERMS_EXAMPLE, response_only=True, status_codes=["201"]),
            OpenApiExample(
                "Starting too early",
                value={
                    "message": "The product terms were not saved.",
                    "errors": {"valid_from": ["Must be after 2026-07-01, when version 2 starts."]},
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
        tags=["products"],
    )
    def post(self, request: Request, code: str) -> Response:
        product = _product_for(request.user, code)
        require_role(request.user, Role.MANAGER)
        serializer = ProductTermsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        terms = product_terms_create(actor=request.user, product=product, **serializer.validated_data)
        return Response(ProductTermsSerializer(terms).data, status=201)
