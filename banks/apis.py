"""Bank APIs: partner banks with their fund figures, and the city fund's allocations.

Bank staff see only their own bank (another bank answers 404); the city office,
auditors and the manager see every bank; borrowers and users without a role are
refused (403). Only the manager creates or changes banks and allocations.
"""

from decimal import Decimal
from typing import Any

import django_filters
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from banks.models import Allocation, Bank
from banks.selectors import allocation_list, bank_visible
from banks.services import (
    BANK_UPDATABLE_FIELDS,
    FIRST_PROGRAMME_YEAR,
    LAST_PROGRAMME_YEAR,
    MAX_ALLOCATION,
    MAX_BACKDATE_LIMIT_DAYS,
    allocation_create,
    bank_create,
    bank_update,
)
from config import api
from config.api import Pagination, RateField, RupiahField, filtered, paginated_response
from config.errors import ErrorSerializer
from config.roles import Role, require_role

#: Roles that may read banks at all (bank staff only their own).
BANK_READERS = (Role.OFFICER, Role.AUDITOR, Role.MANAGER, Role.BANK_STAFF)

FUND_EXAMPLE = {
    "allocated": 4000000000,
    "disbursed": 1250000000,
    "principal_repaid": 300000000,
    "available": 3050000000,
}
BANK_EXAMPLE = {
    "code": "PASAR",
    "name": "BPR Bank Pasar Kota Semarang",
    "kind": "bpr",
    "servicing_fee_percent": "0.00",
    "backdate_limit_days": 31,
    "active": True,
    "fund": FUND_EXAMPLE,
}
ALLOCATION_EXAMPLE = {
    "id": 7,
    "bank": "PASAR",
    "year": 2026,
    "amount": 2500000000,
    "note": "APBD 2026, first tranche",
    "created_by": "manager",
    "created_at": "2026-01-12T09:30:00+07:00",
}

ERROR_RESPONSES: dict[int, OpenApiResponse] = {
    400: OpenApiResponse(ErrorSerializer, description="Bad input: a message per field."),
    403: OpenApiResponse(ErrorSerializer, description="The user's role may not do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such bank among those the user may see."),
}
READ_ERRORS = {403: ERROR_RESPONSES[403], 404: ERROR_RESPONSES[404]}
NO_PAGE = OpenApiResponse(ErrorSerializer, description="No such page.")


class FundSerializer(serializers.Serializer):
    """The bank's share of the revolving fund, in rupiah."""

    allocated = serializers.IntegerField(help_text="Rupiah: the sum of the bank's allocations.")
    disbursed = serializers.IntegerField(help_text="Rupiah: principal lent out.")
    principal_repaid = serializers.IntegerField(help_text="Rupiah: principal that came back (it is lent again).")
    available = serializers.IntegerField(help_text="Rupiah: allocated + principal_repaid - disbursed.")

    class Meta:
        ref_name = "BankFund"


class BankSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Bank.Kind.choices)
    servicing_fee_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, help_text="The bank's share of the interest collected, percent."
    )
    active = serializers.BooleanField()
    backdate_limit_days = serializers.IntegerField(
        help_text="Days a repayment may be dated before the last closed business date."
    )
    fund = FundSerializer(source="*")

    class Meta:
        ref_name = "Bank"


class AllocationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    bank = serializers.CharField(source="bank.code")
    year = serializers.IntegerField()
    amount = serializers.IntegerField(help_text="Rupiah.")
    note = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Allocation"


class AllocationFilter(django_filters.FilterSet):
    year = django_filters.NumberFilter(field_name="year")

    class Meta:
        model = Allocation
        fields = ["year"]


def _fee_field(**kwargs: Any) -> RateField:
    return RateField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=Decimal(100),
        help_text="Percent of the interest collected, a decimal string (at most 2 decimals).",
        **kwargs,
    )


def _bank_for(user: Any, code: str) -> Bank:
    """The bank ``code`` if ``user`` may see it: 403 for roles that see no bank, 404 for
    a bank outside the user's scope."""
    require_role(user, *BANK_READERS)
    bank = bank_visible(user=user).filter(code=code).first()
    if bank is None:
        raise Http404
    return bank


class BankListApi(APIView):
    pagination_class = Pagination

    class InputSerializer(serializers.Serializer):
        code = api.CharField(max_length=16, help_text="Capital letters, digits, '-' or '_'; used in URLs.")
        name = api.CharField(max_length=150)
        kind = serializers.ChoiceField(choices=Bank.Kind.choices)
        servicing_fee_percent = _fee_field(default=Decimal(0))
        active = api.BooleanField(default=True)

        class Meta:
            ref_name = "BankCreate"

    @extend_schema(
        operation_id="banks_list",
        summary="List the partner banks the user may see",
        description="The city office, auditors and the manager see every bank; bank staff their own; "
        "borrowers get 403.",
        responses={200: BankSerializer(many=True), 403: ERROR_RESPONSES[403], 404: NO_PAGE},
        examples=[
            OpenApiExample(
                "One page",
                value=BANK_EXAMPLE,
                response_only=True,
                status_codes=["200"],
            )
        ],
        tags=["banks"],
    )
    def get(self, request: Request) -> Response:
        require_role(request.user, *BANK_READERS)
        return paginated_response(
            request=request, view=self, queryset=bank_visible(user=request.user), serializer_class=BankSerializer
        )

    @extend_schema(
        operation_id="banks_create",
        summary="Register a partner bank (manager)",
        description="The fund starts empty: money arrives with allocations.",
        request=InputSerializer,
        responses={201: BankSerializer, 400: ERROR_RESPONSES[400], 403: ERROR_RESPONSES[403]},
        examples=[
            OpenApiExample(
                "A commercial bank",
                value={"code": "JATENG", "name": "Bank Jateng", "kind": "commercial", "servicing_fee_percent": "0"},
                request_only=True,
            ),
            OpenApiExample(
                "Registered",
                value={**BANK_EXAMPLE, "fund": dict.fromkeys(FUND_EXAMPLE, 0)},
                response_only=True,
                status_codes=["201"],
            ),
            OpenApiExample(
                "Code taken",
                value={
                    "message": "The bank was not created.",
                    "errors": {"code": ["A bank with the code PASAR already exists."]},
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
        tags=["banks"],
    )
    def post(self, request: Request) -> Response:
        require_role(request.user, Role.MANAGER)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        bank = bank_create(actor=request.user, **serializer.validated_data)
        return Response(BankSerializer(bank).data, status=201)


class BankDetailApi(APIView):
    class UpdateSerializer(serializers.Serializer):
        """Only the fields sent are changed. The code and the fund figures cannot be."""

        name = api.CharField(max_length=150, required=False)
        kind = serializers.ChoiceField(choices=Bank.Kind.choices, required=False)
        servicing_fee_percent = _fee_field(required=False)
        active = api.BooleanField(required=False)
        backdate_limit_days = api.IntegerField(required=False, min_value=0, max_value=MAX_BACKDATE_LIMIT_DAYS)

        class Meta:
            ref_name = "BankUpdate"

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            unknown = sorted(set(self.initial_data) - set(BANK_UPDATABLE_FIELDS))
            if unknown:
                raise serializers.ValidationError({name: [_("This field cannot be changed.")] for name in unknown})
            return attrs

    @extend_schema(
        operation_id="banks_retrieve",
        summary="A partner bank with its fund figures",
        responses={200: BankSerializer, **READ_ERRORS},
        examples=[OpenApiExample("Bank Pasar", value=BANK_EXAMPLE, response_only=True, status_codes=["200"])],
        tags=["banks"],
    )
    def get(self, request: Request, code: str) -> Response:
        return Response(BankSerializer(_bank_for(request.user, code)).data)

    @extend_schema(
        operation_id="banks_partial_update",
        summary="Change a bank's name, kind, servicing fee or active flag (manager)",
        request=UpdateSerializer,
        responses={200: BankSerializer, **ERROR_RESPONSES},
        examples=[
            OpenApiExample("Set the servicing fee", value={"servicing_fee_percent": "10"}, request_only=True),
            OpenApiExample(
                "Changed",
                value={**BANK_EXAMPLE, "servicing_fee_percent": "10.00"},
                response_only=True,
                status_codes=["200"],
            ),
            OpenApiExample(
                "Fee above 100",
                value={
                    "message": "Invalid input.",
                    "errors": {"servicing_fee_percent": ["Ensure this value is less than or equal to 100."]},
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
        tags=["banks"],
    )
    def patch(self, request: Request, code: str) -> Response:
        bank = _bank_for(request.user, code)
        require_role(request.user, Role.MANAGER)
        serializer = self.UpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        bank = bank_update(actor=request.user, bank=bank, **serializer.validated_data)
        return Response(BankSerializer(bank).data)


class BankAllocationsApi(APIView):
    pagination_class = Pagination

    class InputSerializer(serializers.Serializer):
        year = api.IntegerField(min_value=FIRST_PROGRAMME_YEAR, max_value=LAST_PROGRAMME_YEAR)
        amount = RupiahField(min_value=1, max_value=MAX_ALLOCATION, help_text="Whole rupiah, a JSON integer.")
        note = api.CharField(max_length=300, required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "AllocationCreate"

    class CreatedSerializer(AllocationSerializer):
        fund = FundSerializer(source="bank", help_text="The bank's fund figures after this allocation.")

        class Meta:
            ref_name = "AllocationCreated"

    @extend_schema(
        operation_id="bank_allocations_list",
        summary="The city fund's allocations to a bank",
        parameters=[OpenApiParameter("year", OpenApiTypes.INT, description="Only this programme year.")],
        responses={200: AllocationSerializer(many=True), 400: ERROR_RESPONSES[400], **READ_ERRORS},
        examples=[
            OpenApiExample(
                "One page",
                value=ALLOCATION_EXAMPLE,
                response_only=True,
                status_codes=["200"],
            )
        ],
        tags=["banks"],
    )
    def get(self, request: Request, code: str) -> Response:
        bank = _bank_for(request.user, code)
        allocations = filtered(AllocationFilter, request.query_params, allocation_list(bank=bank))
        return paginated_response(
            request=request,
            view=self,
            queryset=allocations.select_related("bank", "created_by"),
            serializer_class=AllocationSerializer,
        )

    @extend_schema(
        operation_id="bank_allocations_create",
        summary="Place city fund money with a bank (manager)",
        description="Adds the amount to the bank's fund at once (under the bank's row lock).",
        request=InputSerializer,
        responses={201: CreatedSerializer, **ERROR_RESPONSES},
        examples=[
            OpenApiExample(
                "A budget tranche",
                value={"year": 2026, "amount": 2500000000, "note": "APBD 2026, first tranche"},
                request_only=True,
            ),
            OpenApiExample(
                "Recorded",
                value={**ALLOCATION_EXAMPLE, "fund": FUND_EXAMPLE},
                response_only=True,
                status_codes=["201"],
            ),
            OpenApiExample(
                "Not whole rupiah",
                value={
                    "message": "Invalid input.",
                    "errors": {"amount": ["Must be a whole number of rupiah (a JSON integer)."]},
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
        tags=["banks"],
    )
    def post(self, request: Request, code: str) -> Response:
        bank = _bank_for(request.user, code)
        require_role(request.user, Role.MANAGER)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        allocation = allocation_create(actor=request.user, bank=bank, **serializer.validated_data)
        return Response(self.CreatedSerializer(allocation).data, status=201)
