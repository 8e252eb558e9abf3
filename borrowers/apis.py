"""Borrower and region APIs: parse, check the role, call one service or selector, render.

A borrower's NIK (and an NPWP, which for a person is the NIK) is shown in full only to
officers, bank staff and the borrower themself, and only on a single borrower; lists
mask it for everyone. Every answer that shows a full NIK writes one BorrowerReadLog row
and says so with ``"nik_masked": false``.
"""

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from borrowers.identity import mask_nik
from borrowers.models import Borrower, Business, Region
from borrowers.selectors import (
    borrower_search,
    borrower_shows_full_nik,
    borrower_visible,
    region_list,
)
from borrowers.services import borrower_create, borrower_read_log, borrower_update, business_create
from config import api
from config.api import Pagination, RupiahField, paginated_response
from config.errors import ErrorSerializer, errors_field
from config.roles import Role, require_role

TAGS = ["borrowers"]

NOT_LOGGED_IN = OpenApiResponse(ErrorSerializer, description="Not logged in.")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="The role may not do this (only officers change borrowers).")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such borrower, or not one this user may see.")
BAD_INPUT = OpenApiResponse(
    ErrorSerializer,
    description='Bad input: a message per field; the business\'s fields nested as {"business": {"nib": [...]}}.',
)
CREATE_BAD_INPUT = OpenApiResponse(
    inline_serializer(
        "BorrowerCreateError",
        fields={
            "message": serializers.CharField(),
            "errors": errors_field(),
            "existing_borrower": serializers.IntegerField(
                required=False,
                help_text="A NIK already registered: that borrower's id, for a user who may see that borrower.",
            ),
        },
    ),
    description=BAD_INPUT.description,
)

BUSINESS_EXAMPLE: dict[str, Any] = {
    "name": "Warung Bu Sri",
    "sector": "food",
    "nib": "9120001234567",
    "started_on": "2019-03-01",
    "monthly_revenue": 15000000,
}
CREATE_EXAMPLE: dict[str, Any] = {
    "nik": "3374015708850001",
    "name": "Sri Wahyuni",
    "birth_date": "1985-08-17",
    "sex": "F",
    "phone": "0812-3456-7890",
    "address": "Jl. Pemuda 12 RT 03 RW 01",
    "kelurahan": "33.74.01.1001",
    "npwp": "",
    "business": BUSINESS_EXAMPLE,
}
BORROWER_EXAMPLE: dict[str, Any] = {
    "id": 12,
    "nik": "3374015708850001",
    "nik_masked": False,
    "name": "Sri Wahyuni",
    "birth_date": "1985-08-17",
    "sex": "F",
    "phone": "+6281234567890",
    "address": "Jl. Pemuda 12 RT 03 RW 01",
    "kelurahan": {"code": "33.74.01.1001", "name": "Miroto"},
    "kecamatan": {"code": "33.74.01", "name": "Semarang Tengah"},
    "npwp": "",
    "businesses": [
        {
            "id": 31,
            **BUSINESS_EXAMPLE,
            "licence_number": "",
            "workers": 1,
            "kind": "individual",
            "health_rating": "",
            "created_at": "2026-02-02T09:15:00+07:00",
        }
    ],
    "has_login": False,
    "created_at": "2026-02-02T09:15:00+07:00",
    "updated_at": "2026-02-02T09:15:00+07:00",
}
MASKED_EXAMPLE: dict[str, Any] = {**BORROWER_EXAMPLE, "nik": "3374********0001", "nik_masked": True}


def _error_example(name: str, field: str, message: str, *, nested: str | None = None) -> OpenApiExample:
    errors: dict[str, Any] = {field: [message]}
    if nested:
        errors = {nested: errors}
    return OpenApiExample(name, value={"message": message, "errors": errors}, response_only=True, status_codes=["400"])


CREATE_ERROR_EXAMPLES = [
    _error_example("NIK of 15 digits", "nik", "A NIK has 16 digits; this one has 15."),
    _error_example(
        "NIK with an impossible date",
        "nik",
        "The birth date in this NIK (320285, DDMMYY with 40 added to the day for women) is impossible.",
    ),
    _error_example(
        "Birth date disagreeing with the NIK",
        "birth_date",
        "The birth date does not agree with the NIK, which gives 17-08-85 (DD-MM-YY).",
    ),
    _error_example(
        "Address outside the region",
        "kelurahan",
        "The address must be in Kota Semarang: kelurahan 33.22.01.2001 is not in the region list.",
    ),
    _error_example("Bad NIB", "nib", "An NIB has 13 digits; this one has 12.", nested="business"),
    OpenApiExample(
        "NIK already registered",
        value={
            "message": "A borrower with this NIK is already registered.",
            "errors": {"nik": ["A borrower with this NIK is already registered."]},
            "existing_borrower": 12,
        },
        response_only=True,
        status_codes=["400"],
    ),
]


# --- serializers ----------------------------------------------------------------------


class RegionRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()

    class Meta:
        ref_name = "BorrowerRegionRef"


class BusinessOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    sector = serializers.ChoiceField(choices=Business.Sector.choices)
    kind = serializers.ChoiceField(choices=Business.Kind.choices)
    nib = serializers.CharField(help_text="13 digits, or empty when the business has only a licence number.")
    licence_number = serializers.CharField()
    started_on = serializers.DateField(help_text="Founding date for a cooperative.")
    monthly_revenue = RupiahField(help_text="Rupiah.")
    workers = serializers.IntegerField()
    health_rating = serializers.CharField(help_text="A cooperative's rating (sehat, cukup_sehat, ...); else empty.")
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "BorrowerBusiness"


class BusinessInputSerializer(serializers.Serializer):
    """A business or cooperative. ``nib`` (13 digits) or ``licence_number`` is needed;
    a cooperative (``kind``) needs its ``health_rating``."""

    name = api.CharField(max_length=150)
    sector = serializers.ChoiceField(choices=Business.Sector.choices)
    nib = api.CharField(max_length=32, required=False, allow_blank=True, default="")
    licence_number = api.CharField(max_length=50, required=False, allow_blank=True, default="")
    started_on = serializers.DateField(help_text="Not in the future. A cooperative's founding date.")
    monthly_revenue = RupiahField(min_value=0, help_text="Rupiah, a JSON integer.")
    workers = api.IntegerField(min_value=1, default=1, help_text="The owner counts.")
    kind = serializers.ChoiceField(choices=Business.Kind.choices, default=Business.Kind.INDIVIDUAL)
    health_rating = serializers.ChoiceField(
        choices=Business.Health.choices, required=False, allow_blank=True, default=""
    )

    class Meta:
        ref_name = "BorrowerBusinessCreate"


class BorrowerOutputSerializer(serializers.Serializer):
    """A borrower. ``nik`` (and ``npwp``) are masked unless ``nik_masked`` is false;
    the serializer's context says which (``full_nik``)."""

    id = serializers.IntegerField()
    nik = serializers.SerializerMethodField()
    nik_masked = serializers.SerializerMethodField()
    name = serializers.CharField()
    birth_date = serializers.DateField()
    sex = serializers.ChoiceField(choices=Borrower.Sex.choices)
    phone = serializers.CharField(help_text="E.164, +628...")
    address = serializers.CharField()
    kelurahan = RegionRefSerializer()
    kecamatan = RegionRefSerializer(source="kelurahan.parent")
    npwp = serializers.SerializerMethodField()
    businesses = BusinessOutputSerializer(many=True)
    has_login = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Borrower"

    def _full(self) -> bool:
        return bool(self.context.get("full_nik", False))

    @extend_schema_field(OpenApiTypes.STR)
    def get_nik(self, borrower: Borrower) -> str:
        return borrower.nik if self._full() else mask_nik(borrower.nik)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_nik_masked(self, borrower: Borrower) -> bool:
        return not self._full()

    @extend_schema_field(OpenApiTypes.STR)
    def get_npwp(self, borrower: Borrower) -> str:
        # A person's NPWP is their NIK: it is masked whenever the NIK is.
        return borrower.npwp if self._full() or not borrower.npwp else mask_nik(borrower.npwp)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_has_login(self, borrower: Borrower) -> bool:
        return borrower.user_id is not None


def _borrower_response(request: Request, borrower: Borrower, *, status: int = 200) -> Response:
    """One borrower for this user, its NIK in full when the user is shown it (and then
    the read logged)."""
    full = borrower_shows_full_nik(user=request.user, borrower=borrower)
    if full:
        borrower_read_log(borrower=borrower, user=request.user, path=request.get_full_path())
    return Response(BorrowerOutputSerializer(borrower, context={"full_nik": full}).data, status=status)


def _visible_borrower(request: Request, borrower_id: int) -> Borrower:
    borrower: Borrower = get_object_or_404(borrower_visible(user=request.user), pk=borrower_id)
    return borrower


# --- views ------------------------------------------------------------------------------


class BorrowerListApi(APIView):
    pagination_class = Pagination  # read by the schema generator for the list's shape

    class InputSerializer(serializers.Serializer):
        """A new borrower with a first business."""

        nik = api.CharField(max_length=32, help_text="16 digits; spaces, dots and dashes are dropped.")
        name = api.CharField(max_length=150)
        birth_date = serializers.DateField(help_text="Must agree with the NIK's DDMMYY.")
        sex = serializers.ChoiceField(choices=Borrower.Sex.choices, help_text="Must agree with the NIK (day + 40: F).")
        phone = api.CharField(max_length=32, help_text="Indonesian mobile: 08..., 628... or +62 8...")
        address = api.CharField(max_length=300, help_text="The address on the KTP.")
        kelurahan = api.CharField(
            max_length=32, help_text="Region code of the KTP address's kelurahan in Kota Semarang (see regions/)."
        )
        npwp = api.CharField(
            max_length=32, required=False, allow_blank=True, default="", help_text="16 digits (or the old 15)."
        )
        business = BusinessInputSerializer()

        class Meta:
            ref_name = "BorrowerCreate"

    @extend_schema(
        operation_id="borrowers_list",
        summary="List and search borrowers",
        description=(
            "The borrowers this user may see (officer, auditor, manager: all; bank staff: those with an "
            "application forwarded to their bank or a loan there; a borrower: themself), NIK always masked. "
            "`q` with digits matches the NIK (its first digits too, for officers and bank staff; users who see "
            "NIKs masked must give the whole NIK), otherwise part of the name."
        ),
        parameters=[
            OpenApiParameter("q", str, description="NIK (or its first digits) or part of the name."),
            OpenApiParameter("kecamatan", str, description="Kecamatan code, e.g. 33.74.01."),
            OpenApiParameter("kelurahan", str, description="Kelurahan code, e.g. 33.74.01.1001."),
        ],
        responses={
            200: BorrowerOutputSerializer(many=True),
            400: OpenApiResponse(ErrorSerializer, description="An unknown kecamatan or kelurahan code."),
            401: NOT_LOGGED_IN,
        },
        examples=[OpenApiExample("A borrower in a list (NIK masked)", value=MASKED_EXAMPLE, response_only=True)],
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        queryset = borrower_search(
            user=request.user,
            q=request.query_params.get("q", ""),
            kecamatan=request.query_params.get("kecamatan", ""),
            kelurahan=request.query_params.get("kelurahan", ""),
        )
        return paginated_response(
            request=request, view=self, queryset=queryset, serializer_class=BorrowerOutputSerializer
        )

    @extend_schema(
        operation_id="borrowers_create",
        summary="Register a borrower with a first business (officer)",
        description=(
            "The NIK is checked (16 digits, a real birth date, a known province), the birth date and sex must "
            "agree with it, the phone must be an Indonesian mobile number, the kelurahan must be one of Kota "
            "Semarang's. Answers the borrower with its full NIK (the read is logged)."
        ),
        request=InputSerializer,
        responses={201: BorrowerOutputSerializer, 400: CREATE_BAD_INPUT, 401: NOT_LOGGED_IN, 403: FORBIDDEN},
        examples=[
            OpenApiExample("A borrower with a warung", value=CREATE_EXAMPLE, request_only=True),
            OpenApiExample("The new borrower", value=BORROWER_EXAMPLE, response_only=True, status_codes=["201"]),
            *CREATE_ERROR_EXAMPLES,
        ],
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        require_role(request.user, Role.OFFICER)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["kelurahan_code"] = data.pop("kelurahan")
        data["business"] = dict(data["business"])
        borrower = borrower_create(actor=request.user, **data)
        return _borrower_response(request, _visible_borrower(request, borrower.pk), status=201)


class BorrowerDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        """The fields to change (all optional). The NIK never changes; birth date and sex
        only to values that agree with it."""

        name = api.CharField(max_length=150, required=False)
        phone = api.CharField(max_length=32, required=False)
        address = api.CharField(max_length=300, required=False)
        kelurahan = api.CharField(max_length=32, required=False)
        npwp = api.CharField(max_length=32, required=False, allow_blank=True, help_text='"" removes it.')
        birth_date = serializers.DateField(required=False)
        sex = serializers.ChoiceField(choices=Borrower.Sex.choices, required=False)
        nik = api.CharField(max_length=32, required=False, help_text="Immutable: a different NIK answers 400.")

        class Meta:
            ref_name = "BorrowerUpdate"

    @extend_schema(
        operation_id="borrowers_retrieve",
        summary="A borrower",
        description=(
            "Officers, bank staff and the borrower themself see the full NIK (and the read is logged); auditors "
            "and managers see it masked. `nik_masked` says which."
        ),
        responses={200: BorrowerOutputSerializer, 401: NOT_LOGGED_IN, 404: NOT_FOUND},
        examples=[
            OpenApiExample("Seen by an officer", value=BORROWER_EXAMPLE, response_only=True),
            OpenApiExample("Seen by an auditor", value=MASKED_EXAMPLE, response_only=True),
        ],
        tags=TAGS,
    )
    def get(self, request: Request, borrower_id: int) -> Response:
        return _borrower_response(request, _visible_borrower(request, borrower_id))

    @extend_schema(
        operation_id="borrowers_partial_update",
        summary="Change a borrower (officer)",
        request=InputSerializer,
        responses={200: BorrowerOutputSerializer, 400: BAD_INPUT, 401: NOT_LOGGED_IN, 403: FORBIDDEN, 404: NOT_FOUND},
        examples=[
            OpenApiExample("A new phone and address", value={"phone": "+62 857 1111 2222", "address": "Jl. Kartini 5"}),
            OpenApiExample("The borrower as changed", value=BORROWER_EXAMPLE, response_only=True),
            _error_example(
                "A sex that disagrees with the NIK",
                "sex",
                "The sex does not agree with the NIK, which is a woman's (day + 40).",
            ),
            _error_example(
                "Changing the NIK", "nik", "The NIK cannot be changed: register the borrower again if it was wrong."
            ),
        ],
        tags=TAGS,
    )
    def patch(self, request: Request, borrower_id: int) -> Response:
        require_role(request.user, Role.OFFICER)
        borrower = _visible_borrower(request, borrower_id)
        serializer = self.InputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        if "kelurahan" in fields:
            fields["kelurahan_code"] = fields.pop("kelurahan")
        borrower_update(actor=request.user, borrower=borrower, **fields)
        return _borrower_response(request, _visible_borrower(request, borrower_id))


class BorrowerBusinessesApi(APIView):
    @extend_schema(
        operation_id="borrowers_businesses_create",
        summary="Add a business to a borrower (officer)",
        request=BusinessInputSerializer,
        responses={201: BusinessOutputSerializer, 400: BAD_INPUT, 401: NOT_LOGGED_IN, 403: FORBIDDEN, 404: NOT_FOUND},
        examples=[
            OpenApiExample(
                "A cooperative",
                value={
                    "name": "Koperasi Pedagang Pasar Johar",
                    "sector": "trade",
                    "licence_number": "518/123/IUMK/2016",
                    "started_on": "2015-06-01",
                    "monthly_revenue": 40000000,
                    "workers": 6,
                    "kind": "cooperative",
                    "health_rating": "sehat",
                },
                request_only=True,
            ),
            OpenApiExample(
                "The new business",
                value={**BORROWER_EXAMPLE["businesses"][0], "id": 32},
                response_only=True,
                status_codes=["201"],
            ),
            _error_example("A cooperative without a rating", "health_rating", "A cooperative needs its health rating."),
        ],
        tags=TAGS,
    )
    def post(self, request: Request, borrower_id: int) -> Response:
        require_role(request.user, Role.OFFICER)
        borrower = _visible_borrower(request, borrower_id)
        serializer = BusinessInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        business = business_create(actor=request.user, borrower=borrower, **serializer.validated_data)
        return Response(BusinessOutputSerializer(business).data, status=201)


class RegionPagination(Pagination):
    """Regions come 500 to a page by default: Kota Semarang's 177 kelurahan fit in one."""

    page_size = 500


class RegionListApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    pagination_class = RegionPagination

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()
        level = serializers.ChoiceField(choices=Region.Level.choices)
        # The metaclass moves declared fields off the class, so this never shadows Field.parent.
        parent = serializers.CharField(  # type: ignore[assignment]
            source="parent_id", allow_null=True, help_text="The parent region's code."
        )

        class Meta:
            ref_name = "Region"

    @extend_schema(
        operation_id="regions_list",
        summary="Kota Semarang's kecamatan and kelurahan",
        description=(
            "Public, no login. `level=district` gives the 16 kecamatan, `level=village` the 177 kelurahan, "
            "`parent=<code>` a region's children. Paginated, 500 to a page by default (so each list fits in one)."
        ),
        parameters=[
            OpenApiParameter(
                "level",
                str,
                enum=Region.Level.values,
                description="regency, district (kecamatan), village (kelurahan).",
            ),
            OpenApiParameter("parent", str, description="A region code: its children only, e.g. 33.74.01."),
        ],
        responses={
            200: OutputSerializer(many=True),
            400: OpenApiResponse(ErrorSerializer, description="An unknown level or parent."),
        },
        examples=[
            OpenApiExample(
                "A kelurahan",
                value={"code": "33.74.01.1001", "name": "Miroto", "level": "village", "parent": "33.74.01"},
                response_only=True,
            )
        ],
        auth=[],
        tags=["regions"],
    )
    def get(self, request: Request) -> Response:
        paginator = RegionPagination()
        page = paginator.paginate_queryset(region_list(filters=request.query_params), request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)
