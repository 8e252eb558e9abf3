"""Application APIs: create, list, detail and one POST per workflow action."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast
from django.http import Http404, QueryDict
from django.utils import timezone
from django.utils.translation import get_language, gettext
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import AuditEntry
from banks.models import Bank
from borrowers.models import Borrower, Business
from config import api
from config.api import Pagination, PreparedRows, QueryRows, RupiahField, paginated_rows_response
from config.errors import ApplicationError, ConflictSerializer, ErrorSerializer, ItemsNotFound
from config.prepared import Prepared
from config.roles import Role, reader_scope, require_role
from loans.apis import examples
from loans.models import Application, Product
from loans.presenters import checks_rendered, iso_time, render_check, stage_times
from loans.selectors.applications import (
    application_list,
    application_visible,
    applications_in_scope,
    applications_listed,
)
from loans.services import applications as services

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Bad input: a message per field."),
    401: OpenApiResponse(ErrorSerializer, description="Not logged in."),
    403: OpenApiResponse(ErrorSerializer, description="The role may not do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such application for this user."),
}
CONFLICT = {409: OpenApiResponse(ConflictSerializer, description="Wrong state; `state` names the current one.")}


class CheckSerializer(serializers.Serializer):
    name = serializers.CharField()
    passed = serializers.BooleanField()
    message = serializers.CharField()

    class Meta:
        ref_name = "ApplicationCheck"


class StageSerializer(serializers.Serializer):
    state = serializers.CharField()
    entered_at = serializers.DateTimeField()
    left_at = serializers.DateTimeField(allow_null=True)
    seconds = serializers.IntegerField(help_text="Time spent in the state (up to now for the current one).")

    class Meta:
        ref_name = "ApplicationStage"


class EventSerializer(serializers.Serializer):
    action = serializers.CharField()
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
    at = serializers.DateTimeField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    note = serializers.CharField()
    amounts = serializers.DictField(child=serializers.IntegerField(), help_text="Rupiah by name.")

    class Meta:
        ref_name = "LoanEvent"


class ApplicationSerializer(serializers.Serializer):
    """An application as every reader sees it (list and detail)."""

    id = serializers.IntegerField()
    state = serializers.CharField()
    borrower = serializers.IntegerField(source="borrower_id")
    borrower_name = serializers.CharField(source="borrower.name")
    business = serializers.IntegerField(source="business_id")
    kecamatan = serializers.CharField(source="borrower.kelurahan.parent_id")
    bank = serializers.CharField(source="bank.code")
    product = serializers.CharField(source="product.code")
    terms_version = serializers.IntegerField(source="terms.version")
    principal = serializers.IntegerField(help_text="Rupiah (the approved amount once approved).")
    tenor_months = serializers.IntegerField()
    collateral = serializers.BooleanField()
    purpose = serializers.CharField()
    checks = serializers.SerializerMethodField()
    checks_run_at = serializers.DateTimeField(allow_null=True)
    state_changed_at = serializers.DateTimeField()
    waiting_seconds = serializers.SerializerMethodField(help_text="Seconds in the current state.")
    created_at = serializers.DateTimeField()
    visited_on = serializers.DateField(allow_null=True)
    visit_notes = serializers.CharField()
    visit_latitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    visit_longitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    has_visit_photo = serializers.SerializerMethodField()
    forwarded_at = serializers.DateTimeField(allow_null=True)
    credit_result = serializers.CharField()
    credit_notes = serializers.CharField()
    contract_number = serializers.CharField()
    approved_at = serializers.DateTimeField(allow_null=True)
    disbursed_on = serializers.DateField(allow_null=True)
    end_reason = serializers.CharField()
    loan = serializers.SerializerMethodField(help_text="The loan's id once disbursed.")

    class Meta:
        ref_name = "Application"

    def get_checks(self, application: Application) -> list[dict[str, Any]]:
        return [render_check(check) for check in application.checks]

    def get_waiting_seconds(self, application: Application) -> int:
        return waiting_seconds(application.state_changed_at, timezone.now())

    def get_has_visit_photo(self, application: Application) -> bool:
        return bool(application.visit_photo)

    def get_loan(self, application: Application) -> int | None:
        if application.state != Application.State.DISBURSED:
            return None
        loan = getattr(application, "loan", None)
        return loan.pk if loan else None


def waiting_seconds(state_changed_at: datetime, now: datetime) -> int:
    """Whole seconds the application has been in its current state at ``now``."""
    return int((now - state_changed_at).total_seconds())


#: What the list reads of each application (``values()`` names): its own columns, and
#: through the joins it needs the borrower's name and kecamatan, the bank's and the
#: product's codes, the terms' version and the loan's id (the business is only its id).
LIST_COLUMNS = (
    "id",
    "state",
    "borrower_id",
    "borrower__name",
    "business_id",
    "borrower__kelurahan__parent_id",
    "bank__code",
    "product__code",
    "terms__version",
    "principal",
    "tenor_months",
    "collateral",
    "purpose",
    "checks_text",
    "checks_run_at",
    "state_changed_at",
    "created_at",
    "visited_on",
    "visit_notes",
    "visit_latitude",
    "visit_longitude",
    "visit_photo",
    "forwarded_at",
    "credit_result",
    "credit_notes",
    "contract_number",
    "approved_at",
    "disbursed_on",
    "end_reason",
    "loan__id",
)


def application_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (of ``LIST_COLUMNS``) as :class:`ApplicationSerializer` renders the same
    applications, field for field and format for format (a test holds the two equal),
    without DRF's per-row walk of its fields: the list's hot path. Dates and coordinates
    are rendered by the serializer's own fields, times by ``iso_time`` (DRF's format),
    the checks by ``checks_rendered`` from their stored text (``checks_text``)."""
    fields = ApplicationSerializer._declared_fields
    zone = timezone.get_current_timezone()

    def when(value: datetime | None) -> str | None:
        return iso_time(value, zone)

    day = fields["visited_on"].to_representation
    coordinate = fields["visit_latitude"].to_representation
    language = get_language() or ""
    now = timezone.now()
    return [
        {
            "id": row["id"],
            "state": row["state"],
            "borrower": row["borrower_id"],
            "borrower_name": row["borrower__name"],
            "business": row["business_id"],
            "kecamatan": row["borrower__kelurahan__parent_id"],
            "bank": row["bank__code"],
            "product": row["product__code"],
            "terms_version": row["terms__version"],
            "principal": row["principal"],
            "tenor_months": row["tenor_months"],
            "collateral": row["collateral"],
            "purpose": row["purpose"],
            "checks": checks_rendered(language, row["checks_text"]),
            "checks_run_at": when(row["checks_run_at"]),
            "state_changed_at": when(row["state_changed_at"]),
            "waiting_seconds": waiting_seconds(row["state_changed_at"], now),
            "created_at": when(row["created_at"]),
            "visited_on": day(row["visited_on"]),
            "visit_notes": row["visit_notes"],
            "visit_latitude": None if row["visit_latitude"] is None else coordinate(row["visit_latitude"]),
            "visit_longitude": None if row["visit_longitude"] is None else coordinate(row["visit_longitude"]),
            "has_visit_photo": bool(row["visit_photo"]),
            "forwarded_at": when(row["forwarded_at"]),
            "credit_result": row["credit_result"],
            "credit_notes": row["credit_notes"],
            "contract_number": row["contract_number"],
            "approved_at": when(row["approved_at"]),
            "disbursed_on": day(row["disbursed_on"]),
            "end_reason": row["end_reason"],
            "loan": row["loan__id"] if row["state"] == Application.State.DISBURSED else None,
        }
        for row in rows
    ]


def _with_checks_text(queryset: QuerySet[Application]) -> QuerySet[Application]:
    """With the stored checks as their JSON text (``checks_text``), for ``checks_rendered``."""
    return queryset.annotate(checks_text=Cast("checks", output_field=TextField()))


#: The list's parameters its prepared reading takes (config/prepared.py); any other filter
#: goes through the FilterSet and the ORM each time.
PREPARED_LIST_PARAMETERS = frozenset({"page", "page_size", "ordering"})


def _listed(shape: tuple[str, str], scope_id: int | None) -> QuerySet[Application]:
    scope, ordering = shape
    params = QueryDict(mutable=True)
    params["ordering"] = ordering
    return applications_listed(applications_in_scope(Application.objects.all(), scope, scope_id), params)


#: A page of the list, and its count (without the page's joins), for a reader scope and an ordering.
_LIST_PAGE = Prepared(lambda shape, scope_id: _with_checks_text(_listed(shape, scope_id)).values(*LIST_COLUMNS))
_LIST_COUNT = Prepared(lambda shape, scope_id: _listed(shape, scope_id).order_by().values_list("pk"))


class ApplicationDetailSerializer(ApplicationSerializer):
    stages = serializers.SerializerMethodField()
    events = serializers.SerializerMethodField()

    class Meta:
        ref_name = "ApplicationDetail"

    def _events(self, application: Application) -> list[AuditEntry]:
        if not hasattr(application, "_events"):
            application._events = list(  # type: ignore[attr-defined]
                AuditEntry.objects.filter(application=application).select_related("actor").order_by("at", "id")
            )
        return application._events  # type: ignore[attr-defined]

    def get_stages(self, application: Application) -> list[dict[str, Any]]:
        stages = stage_times(application, self._events(application), timezone.now())
        return list(StageSerializer(stages, many=True).data)

    def get_events(self, application: Application) -> list[dict[str, Any]]:
        return list(EventSerializer(self._events(application), many=True).data)


def _detail(request: Request, application_id: int) -> Response:
    application = _visible_or_404(request, application_id)
    return Response(ApplicationDetailSerializer(application).data)


def _visible_or_404(request: Request, application_id: int) -> Application:
    application = application_visible(user=request.user).filter(pk=application_id).first()
    if application is None:
        raise Http404
    return application


LIST_PARAMETERS = [
    OpenApiParameter("state", str, many=True, enum=Application.State.values, description="One or more states."),
    OpenApiParameter("bank", str, description="Bank code, e.g. PASAR."),
    OpenApiParameter("kecamatan", str, description="Kecamatan region code, e.g. 33.74.01."),
    OpenApiParameter("borrower", int),
    OpenApiParameter("min_waiting_days", float, description="In the current state for at least this many days."),
    OpenApiParameter(
        "ordering",
        str,
        enum=["waiting", "-waiting", "created", "-created", "id", "-id"],
        description="`waiting` (default): the longest wait in the current state first.",
    ),
]


class ApplicationListApi(APIView):
    pagination_class = Pagination

    class InputSerializer(serializers.Serializer):
        borrower = api.BigIntegerField()
        bank = api.CharField(max_length=16, help_text="Bank code: JATENG or PASAR.")
        principal = RupiahField(min_value=1, help_text="Rupiah asked for.")
        tenor_months = api.IntegerField(min_value=1, max_value=120)
        collateral = api.BooleanField(default=False)
        purpose = api.CharField(max_length=500, allow_blank=True, default="")
        business = api.BigIntegerField(required=False, help_text="Default: the borrower's latest business.")
        product = api.CharField(required=False, help_text="Default: WIBAWA, the programme's product.")

        class Meta:
            ref_name = "ApplicationCreate"

    @extend_schema(
        operation_id="applications_list",
        parameters=LIST_PARAMETERS,
        examples=[examples.answer("A page of applications", examples.APPLICATION)],
        responses={200: ApplicationSerializer(many=True), 400: ERRORS[400], 401: ERRORS[401]},
        tags=["applications"],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        scope, scope_id = reader_scope(request.user)
        rows: QueryRows | PreparedRows
        if params.keys() <= PREPARED_LIST_PARAMETERS and len(params.getlist("ordering")) <= 1 and scope != "none":
            # The list as banks' systems poll it (no filter but the ordering): prepared.
            shape = (scope, params.get("ordering", "waiting"))
            rows = PreparedRows(_LIST_PAGE, _LIST_COUNT, shape, {"scope_id": scope_id})
        else:
            rows = QueryRows(_with_checks_text(application_list(user=request.user, params=params)), LIST_COLUMNS)
        return paginated_rows_response(request=request, view=self, rows=rows, render=application_rows)

    @extend_schema(
        operation_id="applications_create",
        request=InputSerializer,
        responses={201: ApplicationDetailSerializer, **ERRORS},
        examples=[
            OpenApiExample(
                "Rp5,000,000 over 12 months without collateral",
                value={
                    "borrower": 1,
                    "bank": "PASAR",
                    "principal": 5000000,
                    "tenor_months": 12,
                    "collateral": False,
                    "purpose": "Modal kerja warung",
                },
                request_only=True,
            )
        ],
        tags=["applications"],
    )
    def post(self, request: Request) -> Response:
        require_role(request.user, Role.OFFICER)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        borrower = Borrower.objects.filter(pk=data["borrower"]).first()
        bank = Bank.objects.filter(code=data["bank"]).first()
        errors: dict[str, list[str]] = {}
        if borrower is None:
            errors["borrower"] = [gettext("No such borrower.")]
        if bank is None:
            errors["bank"] = [gettext("No such bank.")]
        business = None
        if "business" in data:
            business = Business.objects.filter(pk=data["business"]).first()
            if business is None:
                errors["business"] = [gettext("No such business.")]
        product = None
        if "product" in data:
            product = Product.objects.filter(code=data["product"]).first()
            if product is None:
                errors["product"] = [gettext("No such product.")]
        if errors or borrower is None or bank is None:
            raise ApplicationError(gettext("Invalid input."), errors)
        application = services.application_create(
            actor=request.user,
            borrower=borrower,
            bank=bank,
            principal=data["principal"],
            tenor_months=data["tenor_months"],
            collateral=data["collateral"],
            purpose=data["purpose"],
            business=business,
            product=product,
        )
        return Response(ApplicationDetailSerializer(_visible_or_404(request, application.pk)).data, status=201)


class ApplicationDetailApi(APIView):
    @extend_schema(
        operation_id="applications_retrieve",
        examples=[examples.answer("A forwarded application", examples.APPLICATION_DETAIL)],
        responses={200: ApplicationDetailSerializer, 401: ERRORS[401], 404: ERRORS[404]},
        tags=["applications"],
    )
    def get(self, request: Request, application_id: int) -> Response:
        return _detail(request, application_id)


# --- actions ------------------------------------------------------------------------


class NoteSerializer(serializers.Serializer):
    note = api.CharField(max_length=2000, allow_blank=True, default="")

    class Meta:
        ref_name = "ActionNote"


class FieldVerifySerializer(serializers.Serializer):
    visited_on = serializers.DateField()
    notes = api.CharField(max_length=5000)
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False)
    photo = serializers.FileField(required=False, help_text="A photo of the business (multipart only), up to 5 MB.")

    class Meta:
        ref_name = "FieldVerify"

    def validate_photo(self, photo: Any) -> Any:
        if photo.size > 5 * 1024 * 1024:
            raise serializers.ValidationError("The photo may be at most 5 MB.")
        return photo


class CreditCheckSerializer(serializers.Serializer):
    result = serializers.ChoiceField(choices=Application.CreditResult.choices)
    notes = api.CharField(max_length=5000, allow_blank=True, default="")

    class Meta:
        ref_name = "CreditCheck"


class ApproveSerializer(serializers.Serializer):
    contract_number = api.CharField(max_length=64)
    principal = RupiahField(min_value=1, required=False, help_text="Approve less than asked (rupiah).")
    tenor_months = api.IntegerField(min_value=1, max_value=120, required=False)
    collateral = api.BooleanField(required=False)

    class Meta:
        ref_name = "Approve"


class DisburseSerializer(serializers.Serializer):
    disbursed_on = serializers.DateField()
    amount = RupiahField(min_value=1, required=False, help_text="If given, must equal the approved principal.")

    class Meta:
        ref_name = "Disburse"


class ReasonSerializer(serializers.Serializer):
    reason = api.CharField(max_length=2000)

    class Meta:
        ref_name = "Reason"


Action = tuple[type[serializers.Serializer] | None, Callable[..., Application], str]

ACTIONS: dict[str, Action] = {
    "submit": (None, services.application_submit, "draft -> submitted, by the city office; every check must pass."),
    "field_verify": (
        FieldVerifySerializer,
        services.application_field_verify,
        "submitted -> field_verified, by an officer other than the submitter. JSON or multipart (with `photo`).",
    ),
    "forward": (NoteSerializer, services.application_forward, "field_verified -> forwarded to the bank."),
    "credit_check": (
        CreditCheckSerializer,
        services.application_credit_check,
        "forwarded -> credit_checked, by the bank's staff (SLIK result; `arrears` needs notes).",
    ),
    "approve": (
        ApproveSerializer,
        services.application_approve,
        "credit_checked -> approved, by bank staff other than who recorded the credit check; the checks run again.",
    ),
    "disburse": (
        DisburseSerializer,
        services.application_disburse,
        "approved -> disbursed: creates the loan; its schedule is stored in the background (`schedule_status`).",
    ),
    "reject": (
        ReasonSerializer,
        services.application_reject,
        "Reject before disbursement, by the side holding the file (office up to field_verified, then the bank).",
    ),
    "withdraw": (
        ReasonSerializer,
        services.application_withdraw,
        "Withdraw before approval, by the applicant (a borrower's own application) or the city office.",
    ),
}

EXAMPLES: dict[str, dict[str, Any]] = {
    "field_verify": {"visited_on": "2026-03-02", "notes": "Warung buka, stok cukup.", "latitude": "-6.982500"},
    "forward": {"note": ""},
    "credit_check": {"result": "clean", "notes": "SLIK bersih"},
    "approve": {"contract_number": "PASAR/KW/2026/0001"},
    "disburse": {"disbursed_on": "2026-03-10"},
    "reject": {"reason": "Usaha belum berjalan 2 tahun"},
    "withdraw": {"reason": "Pemohon membatalkan"},
}


def _action_api(action: str) -> type[APIView]:
    serializer_class, service, description = ACTIONS[action]

    class ActionApi(APIView):
        if action == "field_verify":
            parser_classes = [*APIView.parser_classes, MultiPartParser, FormParser]

        @extend_schema(
            operation_id=f"applications_{action}",
            description=description,
            request=serializer_class,
            responses={200: ApplicationDetailSerializer, **ERRORS, **CONFLICT},
            examples=[
                *([OpenApiExample(action, value=EXAMPLES[action], request_only=True)] if action in EXAMPLES else []),
                examples.answer("The application after the action", examples.APPLICATION_DETAIL),
            ],
            tags=["applications"],
        )
        def post(self, request: Request, application_id: int) -> Response:
            _visible_or_404(request, application_id)
            data: dict[str, Any] = {}
            if serializer_class is not None:
                serializer = serializer_class(data=request.data)
                serializer.is_valid(raise_exception=True)
                data = dict(serializer.validated_data)
            service(actor=request.user, application_id=application_id, **data)
            return _detail(request, application_id)

    ActionApi.__name__ = ActionApi.__qualname__ = "".join(part.title() for part in action.split("_")) + "Api"
    return ActionApi


ACTION_APIS = {action: _action_api(action) for action in ACTIONS}


class BatchDisburseApi(APIView):
    """A bank's batch of disbursements in one transaction, all or nothing."""

    class ItemSerializer(serializers.Serializer):
        application = api.BigIntegerField()
        disbursed_on = serializers.DateField()
        amount = RupiahField(min_value=1, required=False, help_text="If given, must equal the approved principal.")

        class Meta:
            ref_name = "BatchDisbursementItem"

    class InputSerializer(serializers.Serializer):
        disbursements = serializers.ListField(min_length=1, max_length=services.MAX_BATCH)

        class Meta:
            ref_name = "BatchDisbursement"

    class OutputSerializer(serializers.Serializer):
        applications = ApplicationSerializer(many=True)

        class Meta:
            ref_name = "BatchDisbursementResult"

    @extend_schema(
        operation_id="applications_disburse_batch",
        description=(
            "approved -> disbursed for up to 1,000 applications of the caller's bank in one transaction: "
            "every item is checked as the single `disburse` action checks it, the bank's fund is drawn on "
            "once for the total, and if any item is refused nothing is disbursed. A refused item is named "
            "under `errors.disbursements` by its index in the list (a string), with the messages per field "
            "of the item: 400 (bad input or a business rule), 404 (an application the caller cannot see), "
            "409 (an application not `approved`; `state` is that application's). 403 is for the whole "
            "request (not bank staff)."
        ),
        request=inline_serializer("BatchDisbursementRequest", fields={"disbursements": ItemSerializer(many=True)}),
        responses={200: OutputSerializer, **ERRORS, **CONFLICT},
        examples=[
            OpenApiExample(
                "Two loans",
                value={
                    "disbursements": [
                        {"application": 41, "disbursed_on": "2026-03-10"},
                        {"application": 42, "disbursed_on": "2026-03-10", "amount": 5000000},
                    ]
                },
                request_only=True,
            ),
            OpenApiExample(
                "An item's amount refused",
                value={
                    "message": "Disburse the approved principal.",
                    "errors": {
                        "disbursements": {"1": {"amount": ["Application 42: Must be the approved Rp5,000,000."]}}
                    },
                },
                response_only=True,
                status_codes=["400"],
            ),
            OpenApiExample(
                "An item the caller cannot see",
                value={
                    "message": "No such application.",
                    "errors": {"disbursements": {"3": {"application": ["No such application: 57."]}}},
                },
                response_only=True,
                status_codes=["404"],
            ),
            OpenApiExample(
                "An item not approved",
                value={
                    "message": "This action needs the application in state approved; it is credit checked.",
                    "errors": {
                        "disbursements": {
                            "0": {
                                "application": [
                                    "This action needs the application in state approved; it is credit checked."
                                ]
                            }
                        }
                    },
                    "state": "credit_checked",
                },
                response_only=True,
                status_codes=["409"],
            ),
        ],
        tags=["applications"],
    )
    def post(self, request: Request) -> Response:
        require_role(request.user, Role.BANK_STAFF)
        envelope = self.InputSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        items = self.ItemSerializer(data=envelope.validated_data["disbursements"], many=True)
        if not items.is_valid():
            raise serializers.ValidationError({"disbursements": items.errors})
        disbursements = [
            services.Disbursement(item["application"], item["disbursed_on"], item.get("amount"))
            for item in items.validated_data
        ]
        ids = {item.application_id for item in disbursements}
        seen = set(application_visible(user=request.user).filter(pk__in=ids).values_list("pk", flat=True))
        if len(seen) != len(ids):
            raise ItemsNotFound(
                gettext("No such application."),
                {
                    "disbursements": {
                        str(index): {"application": [gettext("No such application: %s.") % item.application_id]}
                        for index, item in enumerate(disbursements)
                        if item.application_id not in seen
                    }
                },
            )
        applications = services.applications_disburse(actor=request.user, disbursements=disbursements)
        visible = application_visible(user=request.user).in_bulk([a.pk for a in applications])
        return Response(self.OutputSerializer({"applications": [visible[a.pk] for a in applications]}).data)
