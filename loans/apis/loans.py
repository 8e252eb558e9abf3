"""Loan APIs: list, detail, the stored schedule, and a borrower's own page (``me/``)."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from borrowers.identity import mask_nik
from borrowers.models import Borrower
from config.api import Pagination, paginated_response
from config.clock import business_today
from config.errors import ErrorSerializer
from config.roles import Role, borrower_id_of, require_role
from loans import collectibility
from loans.apis import examples
from loans.apis.applications import ApplicationSerializer
from loans.apis.simulation import InstallmentSerializer
from loans.models import Installment, Loan
from loans.selectors.applications import (
    application_visible,
    loan_installments,
    loan_list,
    loan_next_installment,
    loan_read,
    loan_visible,
    loan_with_names,
)
from loans.selectors.servicing import Arrears, loan_arrears

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Bad filter values."),
    401: OpenApiResponse(ErrorSerializer, description="Not logged in."),
    403: OpenApiResponse(ErrorSerializer, description="The role may not do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such loan for this user."),
}


class InstallmentRowSerializer(InstallmentSerializer):
    """A stored schedule row: the simulator's fields plus what has been paid."""

    principal_paid = serializers.IntegerField()
    interest_paid = serializers.IntegerField()
    penalty = serializers.IntegerField()
    penalty_paid = serializers.IntegerField()
    interest_waived = serializers.IntegerField(help_text="Interest forgiven by a pay-off.")
    paid_on = serializers.DateField(allow_null=True, help_text="When principal and interest were fully paid.")

    class Meta:
        ref_name = "LoanInstallment"


class LoanSerializer(serializers.Serializer):
    """A loan from :func:`loans.selectors.applications.loan_with_names` (its bank, borrower
    and product by name)."""

    id = serializers.IntegerField()
    contract_number = serializers.CharField()
    bank = serializers.CharField(source="bank_code")
    borrower = serializers.IntegerField(source="borrower_id")
    borrower_name = serializers.CharField()
    application = serializers.IntegerField(source="application_id")
    product = serializers.CharField(source="product_code")
    terms_version = serializers.IntegerField()
    principal = serializers.IntegerField(help_text="Rupiah disbursed.")
    annual_rate = serializers.DecimalField(max_digits=7, decimal_places=4, help_text="Percent a year.")
    method = serializers.CharField()
    tenor_months = serializers.IntegerField()
    grace_months = serializers.IntegerField()
    disbursed_on = serializers.DateField()
    status = serializers.CharField()
    outstanding_principal = serializers.IntegerField(help_text="Rupiah.")
    schedule_status = serializers.ChoiceField(choices=Loan.ScheduleStatus.choices)

    class Meta:
        ref_name = "Loan"


class ArrearsSerializer(serializers.Serializer):
    on = serializers.DateField(help_text="Today (Asia/Jakarta).")
    principal = serializers.IntegerField()
    interest = serializers.IntegerField()
    penalty = serializers.IntegerField()
    total = serializers.IntegerField()

    class Meta:
        ref_name = "LoanArrears"


class CollectibilitySerializer(serializers.Serializer):
    grade = serializers.IntegerField(help_text="1 (Lancar) to 5 (Macet), by the bank kind's table.")
    name = serializers.CharField()
    as_of = serializers.DateField(allow_null=True, help_text="The business date of the nightly close it comes from.")
    held = serializers.BooleanField(help_text="Held during an approved deferral.")

    class Meta:
        ref_name = "LoanCollectibility"


class LoanDetailSerializer(LoanSerializer):
    next_installment = serializers.SerializerMethodField()
    schedule_version = serializers.IntegerField()
    days_past_due = serializers.SerializerMethodField(
        help_text="Days since the oldest installment not fully paid fell due, as of today."
    )
    arrears = serializers.SerializerMethodField()
    collectibility = serializers.SerializerMethodField()
    max_days_past_due = serializers.IntegerField(help_text="The worst lateness any installment reached.")
    closed_on = serializers.DateField(allow_null=True)
    written_off_on = serializers.DateField(allow_null=True)
    written_off_principal = serializers.IntegerField()

    class Meta:
        ref_name = "LoanDetail"

    def _arrears(self, loan: Loan) -> Arrears:
        cached: Arrears | None = getattr(loan, "_arrears", None)
        if cached is None:
            cached = loan_arrears(loan=loan, on=business_today())
            loan._arrears = cached  # type: ignore[attr-defined]
        return cached

    def get_days_past_due(self, loan: Loan) -> int:
        return self._arrears(loan).days_past_due

    @extend_schema_field(ArrearsSerializer)
    def get_arrears(self, loan: Loan) -> dict[str, Any]:
        arrears = self._arrears(loan)
        return ArrearsSerializer(
            {
                "on": arrears.on,
                "principal": arrears.principal,
                "interest": arrears.interest,
                "penalty": arrears.penalty,
                "total": arrears.total,
            }
        ).data

    @extend_schema_field(CollectibilitySerializer)
    def get_collectibility(self, loan: Loan) -> dict[str, Any]:
        return CollectibilitySerializer(
            {
                "grade": loan.collectibility,
                "name": collectibility.NAMES[loan.collectibility],
                "as_of": loan.as_of,
                "held": loan.as_of is not None
                and collectibility.held_on(hold=loan.collectibility_hold, hold_until=loan.hold_until, on=loan.as_of),
            }
        ).data

    @extend_schema_field(InstallmentRowSerializer(allow_null=True))
    def get_next_installment(self, loan: Loan) -> dict[str, Any] | None:
        """The earliest installment not yet paid in full (null while the schedule is pending)."""
        if loan.schedule_status != Loan.ScheduleStatus.READY:
            return None
        row = loan_next_installment(loan=loan)
        return InstallmentRowSerializer(row).data if row else None


def installment_row_answer(row: Installment) -> dict[str, Any]:
    """``row`` as :class:`InstallmentRowSerializer` renders it (a test holds the two equal)."""
    return {
        "number": row.number,
        "due_date": row.due_date.isoformat(),
        "principal": row.principal,
        "interest": row.interest,
        "installment": row.installment,
        "balance": row.balance,
        "principal_paid": row.principal_paid,
        "interest_paid": row.interest_paid,
        "penalty": row.penalty,
        "penalty_paid": row.penalty_paid,
        "interest_waived": row.interest_waived,
        "paid_on": row.paid_on.isoformat() if row.paid_on else None,
    }


def loan_detail_answer(loan: Loan) -> dict[str, Any]:
    """``loan`` (from :func:`loan_with_names`) as :class:`LoanDetailSerializer` renders it,
    field for field and in its order (a test holds the two equal), without DRF building
    and walking four serializers: ``GET loans/{id}/`` is the API's most frequent read."""
    arrears = loan_arrears(loan=loan, on=business_today())
    held = loan.as_of is not None and collectibility.held_on(
        hold=loan.collectibility_hold, hold_until=loan.hold_until, on=loan.as_of
    )
    next_row = loan_next_installment(loan=loan) if loan.schedule_status == Loan.ScheduleStatus.READY else None
    return {
        "id": loan.pk,
        "contract_number": loan.contract_number,
        "bank": loan.bank_code,  # type: ignore[attr-defined]
        "borrower": loan.borrower_id,
        "borrower_name": loan.borrower_name,  # type: ignore[attr-defined]
        "application": loan.application_id,
        "product": loan.product_code,  # type: ignore[attr-defined]
        "terms_version": loan.terms_version,  # type: ignore[attr-defined]
        "principal": loan.principal,
        "annual_rate": ANNUAL_RATE.to_representation(loan.annual_rate),
        "method": loan.method,
        "tenor_months": loan.tenor_months,
        "grace_months": loan.grace_months,
        "disbursed_on": loan.disbursed_on.isoformat(),
        "status": loan.status,
        "outstanding_principal": loan.outstanding_principal,
        "schedule_status": loan.schedule_status,
        "next_installment": installment_row_answer(next_row) if next_row else None,
        "schedule_version": loan.schedule_version,
        "days_past_due": arrears.days_past_due,
        "arrears": {
            "on": arrears.on.isoformat(),
            "principal": arrears.principal,
            "interest": arrears.interest,
            "penalty": arrears.penalty,
            "total": arrears.total,
        },
        "collectibility": {
            "grade": loan.collectibility,
            "name": collectibility.NAMES[loan.collectibility],
            "as_of": loan.as_of.isoformat() if loan.as_of else None,
            "held": held,
        },
        "max_days_past_due": loan.max_days_past_due,
        "closed_on": loan.closed_on.isoformat() if loan.closed_on else None,
        "written_off_on": loan.written_off_on.isoformat() if loan.written_off_on else None,
        "written_off_principal": loan.written_off_principal,
    }


#: The serializer's own rate field: its format (four decimals, as a string) in the plain answer.
ANNUAL_RATE = LoanSerializer._declared_fields["annual_rate"]


def _loan_or_404(request: Request, loan_id: int) -> Loan:
    loan = loan_visible(user=request.user).filter(pk=loan_id).first()
    if loan is None:
        raise Http404
    return loan


LIST_PARAMETERS = [
    OpenApiParameter("status", str, many=True, enum=Loan.Status.values),
    OpenApiParameter("bank", str, description="Bank code."),
    OpenApiParameter("borrower", int),
    OpenApiParameter("kecamatan", str, description="Kecamatan region code."),
    OpenApiParameter("schedule_status", str, enum=Loan.ScheduleStatus.values),
    OpenApiParameter("disbursed_from", str, description="Date (YYYY-MM-DD), inclusive."),
    OpenApiParameter("disbursed_to", str, description="Date (YYYY-MM-DD), inclusive."),
]


class LoanListApi(APIView):
    pagination_class = Pagination

    @extend_schema(
        operation_id="loans_list",
        parameters=LIST_PARAMETERS,
        examples=[examples.answer("A page of loans", examples.LOAN)],
        responses={200: LoanSerializer(many=True), 400: ERRORS[400], 401: ERRORS[401]},
        tags=["loans"],
    )
    def get(self, request: Request) -> Response:
        queryset = loan_with_names(loan_list(user=request.user, params=request.query_params))
        return paginated_response(request=request, view=self, queryset=queryset, serializer_class=LoanSerializer)


class LoanDetailApi(APIView):
    @extend_schema(
        operation_id="loans_retrieve",
        examples=[examples.answer("An active loan", examples.LOAN_DETAIL)],
        responses={200: LoanDetailSerializer, 401: ERRORS[401], 404: ERRORS[404]},
        tags=["loans"],
    )
    def get(self, request: Request, loan_id: int) -> Response:
        loan = loan_read(user=request.user, loan_id=loan_id)
        if loan is None:
            raise Http404
        return Response(loan_detail_answer(loan))


class LoanScheduleApi(APIView):
    class OutputSerializer(serializers.Serializer):
        schedule_status = serializers.ChoiceField(choices=Loan.ScheduleStatus.choices)
        schedule_version = serializers.IntegerField(help_text="The version shown.")
        current_version = serializers.IntegerField(help_text="The loan's current version (deferrals add versions).")
        installments = InstallmentRowSerializer(many=True, help_text="Empty while the schedule is pending.")

        class Meta:
            ref_name = "LoanSchedule"

    @extend_schema(
        operation_id="loans_schedule",
        parameters=[
            OpenApiParameter("version", int, description="An earlier schedule version (default the current one).")
        ],
        examples=[
            examples.answer(
                "A stored schedule (first row)",
                {
                    "schedule_status": "ready",
                    "schedule_version": 1,
                    "current_version": 1,
                    "installments": [examples.INSTALLMENT],
                },
            ),
            examples.answer(
                "Still being stored",
                {"schedule_status": "pending", "schedule_version": 1, "current_version": 1, "installments": []},
            ),
        ],
        description="The loan's stored schedule. While `schedule_status` is `pending` (computed in the "
        "background just after disbursement) `installments` is empty; ask again in a moment.",
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(ErrorSerializer, description="A `version` that is not one of the loan's."),
            401: ERRORS[401],
            404: ERRORS[404],
        },
        tags=["loans"],
    )
    def get(self, request: Request, loan_id: int) -> Response:
        loan = _loan_or_404(request, loan_id)
        version = loan.schedule_version
        raw = request.query_params.get("version")
        if raw is not None:
            if not raw.isdigit() or not 1 <= int(raw) <= loan.schedule_version:
                raise serializers.ValidationError(
                    {"version": [_("A schedule version from 1 to %(last)s.") % {"last": loan.schedule_version}]}
                )
            version = int(raw)
        rows: list[Installment] = []
        if loan.schedule_status == Loan.ScheduleStatus.READY:
            rows = list(loan_installments(loan=loan, version=version))
        return Response(
            self.OutputSerializer(
                {
                    "schedule_status": loan.schedule_status,
                    "schedule_version": version,
                    "current_version": loan.schedule_version,
                    "installments": rows,
                }
            ).data
        )


class MeApi(APIView):
    """A borrower's own page: their record, applications and loans (read-only)."""

    class OutputSerializer(serializers.Serializer):
        borrower = serializers.DictField()
        applications = ApplicationSerializer(many=True)
        loans = LoanDetailSerializer(many=True)

        class Meta:
            ref_name = "Me"

    @extend_schema(
        operation_id="me_retrieve",
        examples=[
            examples.answer(
                "A borrower with one loan",
                {
                    "borrower": {
                        "id": 7,
                        "name": "Siti Rahayu",
                        "nik": "3374********0001",
                        "phone": "+6281234567890",
                        "kelurahan": "33.74.01.1001",
                    },
                    "applications": [{**examples.APPLICATION, "state": "disbursed", "loan": 12}],
                    "loans": [examples.LOAN_DETAIL],
                },
            )
        ],
        responses={200: OutputSerializer, 401: ERRORS[401], 403: ERRORS[403]},
        tags=["me"],
    )
    def get(self, request: Request) -> Response:
        require_role(request.user, Role.BORROWER)
        borrower_id = borrower_id_of(request.user)
        borrower = Borrower.objects.select_related("kelurahan").filter(pk=borrower_id or 0).first()
        if borrower is None:
            raise Http404
        data: dict[str, Any] = {
            "borrower": {
                "id": borrower.pk,
                "name": borrower.name,
                "nik": mask_nik(borrower.nik),
                "phone": borrower.phone,
                "kelurahan": borrower.kelurahan_id,
            },
            "applications": list(application_visible(user=request.user).order_by("-id")),
            "loans": list(loan_with_names(loan_visible(user=request.user)).order_by("-id")),
        }
        return Response(self.OutputSerializer(data).data)
