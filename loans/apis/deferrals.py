"""Deferral and write-off APIs: a loan's deferrals (list, request, approve, reject) and
its write-off.

Whoever may see the loan reads its deferrals; another bank's or borrower's loan answers
404. Asking for a deferral is for the city office or the loan's bank, deciding for the
other side; writing off for a programme manager. Auditors and borrowers read only
(403 on every write).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config import api
from config.api import Pagination, paginated_response
from config.clock import business_today
from config.errors import ConflictSerializer, ErrorSerializer
from config.roles import Role, require_role
from loans.apis import examples, examples_deferrals
from loans.models import Deferral, Loan
from loans.selectors.applications import loan_visible
from loans.services import deferrals as services
from loans.services.write_off import loan_write_off

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Bad input: a message per field."),
    401: OpenApiResponse(ErrorSerializer, description="Not logged in."),
    403: OpenApiResponse(ErrorSerializer, description="The role may not do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such loan (or deferral of it) for this user."),
}
CONFLICT = {409: OpenApiResponse(ConflictSerializer, description="Wrong state; `state` names the current one.")}
TAGS = ["deferrals"]


class DeferralSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    loan = serializers.IntegerField(source="loan_id")
    months = serializers.IntegerField()
    mode = serializers.ChoiceField(choices=Deferral.Mode.choices)
    reason = serializers.CharField()
    state = serializers.ChoiceField(choices=Deferral.State.choices)
    extension_of = serializers.IntegerField(
        source="extension_of_id", allow_null=True, help_text="The deferral this one extends."
    )
    requested_side = serializers.ChoiceField(choices=Deferral.Side.choices)
    requested_by = serializers.CharField(source="requested_by.username")
    requested_at = serializers.DateTimeField()
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_note = serializers.CharField()
    from_version = serializers.IntegerField(allow_null=True, help_text="The schedule version it replaced.")
    to_version = serializers.IntegerField(allow_null=True, help_text="The schedule version it wrote.")
    hold_class = serializers.IntegerField(
        allow_null=True, help_text="The collectibility class held during the deferral (product setting)."
    )
    hold_until = serializers.DateField(allow_null=True, help_text="The last day the class is held.")

    class Meta:
        ref_name = "Deferral"


class DeferralDecisionSerializer(serializers.Serializer):
    deferral = DeferralSerializer()
    schedule_version = serializers.IntegerField(help_text="The loan's schedule version after the decision.")

    class Meta:
        ref_name = "DeferralDecision"


def _loan_or_404(request: Request, loan_id: int) -> Loan:
    loan = loan_visible(user=request.user).filter(pk=loan_id).first()
    if loan is None:
        raise Http404
    return loan


def _deferrals(loan: Loan) -> Any:
    return (
        Deferral.objects.filter(loan=loan).select_related("requested_by", "decided_by").order_by("requested_at", "id")
    )


def _deferral_or_404(request: Request, loan_id: int, deferral_id: int) -> Deferral:
    deferral = _deferrals(_loan_or_404(request, loan_id)).filter(pk=deferral_id).first()
    if deferral is None:
        raise Http404
    return deferral


def _parse(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class DeferralListApi(APIView):
    pagination_class = Pagination

    class InputSerializer(serializers.Serializer):
        months = api.IntegerField(
            min_value=services.MIN_MONTHS, max_value=services.MAX_MONTHS, help_text="Months to move (1 to 12)."
        )
        mode = serializers.ChoiceField(choices=Deferral.Mode.choices)
        reason = api.CharField(max_length=2000)
        extension_of = api.BigIntegerField(
            allow_null=True,
            required=False,
            default=None,
            help_text="The loan's approved deferral to extend (once); null for a first deferral.",
        )

        class Meta:
            ref_name = "DeferralCreate"

    @extend_schema(
        operation_id="loans_deferrals_list",
        description="The loan's deferrals, oldest first, for whoever may see the loan.",
        parameters=[],
        examples=[examples.answer("A page of deferrals", examples_deferrals.DEFERRAL_APPROVED)],
        responses={200: DeferralSerializer(many=True), 401: ERRORS[401], 404: ERRORS[404]},
        tags=TAGS,
    )
    def get(self, request: Request, loan_id: int) -> Response:
        loan = _loan_or_404(request, loan_id)
        return paginated_response(
            request=request, view=self, queryset=_deferrals(loan), serializer_class=DeferralSerializer
        )

    @extend_schema(
        operation_id="loans_deferrals_create",
        description=(
            "Ask for a deferral of the loan's unpaid installments by `months`, moving principal and interest "
            "or the principal only, by the city office or the loan's bank (the other side decides). One "
            "request waits at a time; a loan with an approved deferral may only ask, once, for its "
            "extension (`extension_of`)."
        ),
        request=InputSerializer,
        responses={201: DeferralSerializer, **ERRORS, **CONFLICT},
        examples=[
            OpenApiExample(
                "Three months, principal and interest", value=examples_deferrals.REQUEST_BODY, request_only=True
            ),
            OpenApiExample("An extension, principal only", value=examples_deferrals.EXTENSION_BODY, request_only=True),
            examples.answer("The request", examples_deferrals.DEFERRAL_REQUESTED),
        ],
        tags=TAGS,
    )
    def post(self, request: Request, loan_id: int) -> Response:
        loan = _loan_or_404(request, loan_id)
        require_role(request.user, Role.OFFICER, Role.BANK_STAFF)
        data = _parse(self.InputSerializer, request)
        deferral = services.deferral_request(
            actor=request.user,
            loan_id=loan.pk,
            months=data["months"],
            mode=data["mode"],
            reason=data["reason"],
            extension_of_id=data["extension_of"],
        )
        return Response(DeferralSerializer(_deferral_or_404(request, loan_id, deferral.pk)).data, status=201)


class DeferralNoteSerializer(serializers.Serializer):
    note = api.CharField(max_length=2000, allow_blank=True, default="")

    class Meta:
        ref_name = "DeferralApprove"


class DeferralRejectSerializer(serializers.Serializer):
    note = api.CharField(max_length=2000, help_text="Why the request is rejected.")

    class Meta:
        ref_name = "DeferralReject"


def _decide(request: Request, loan_id: int, deferral_id: int, approve: bool) -> Response:
    _deferral_or_404(request, loan_id, deferral_id)
    require_role(request.user, Role.OFFICER, Role.BANK_STAFF)
    if approve:
        data = _parse(DeferralNoteSerializer, request)
        services.deferral_approve(actor=request.user, deferral_id=deferral_id, note=data["note"])
    else:
        data = _parse(DeferralRejectSerializer, request)
        services.deferral_reject(actor=request.user, deferral_id=deferral_id, note=data["note"])
    deferral = _deferral_or_404(request, loan_id, deferral_id)
    loan = _loan_or_404(request, loan_id)
    return Response(DeferralDecisionSerializer({"deferral": deferral, "schedule_version": loan.schedule_version}).data)


class DeferralApproveApi(APIView):
    @extend_schema(
        operation_id="loans_deferrals_approve",
        description=(
            "Approve a waiting request, by the other side than the one that asked: the loan's schedule is "
            "written again as a new version (the old one stays) with the unpaid installments moved, and "
            "no extra interest. The product setting decides whether the loan's collectibility class is "
            "held until payments resume."
        ),
        request=DeferralNoteSerializer,
        responses={200: DeferralDecisionSerializer, **ERRORS, **CONFLICT},
        examples=[
            OpenApiExample("Approve", value=examples_deferrals.APPROVE_BODY, request_only=True),
            examples.answer(
                "Approved: schedule version 2",
                {"deferral": examples_deferrals.DEFERRAL_APPROVED, "schedule_version": 2},
            ),
        ],
        tags=TAGS,
    )
    def post(self, request: Request, loan_id: int, deferral_id: int) -> Response:
        return _decide(request, loan_id, deferral_id, approve=True)


class DeferralRejectApi(APIView):
    @extend_schema(
        operation_id="loans_deferrals_reject",
        description="Reject a waiting request with a note, by the other side than the one that asked.",
        request=DeferralRejectSerializer,
        responses={200: DeferralDecisionSerializer, **ERRORS, **CONFLICT},
        examples=[
            OpenApiExample("Reject", value=examples_deferrals.REJECT_BODY, request_only=True),
            examples.answer(
                "Rejected: the schedule is unchanged",
                {"deferral": examples_deferrals.DEFERRAL_REJECTED, "schedule_version": 1},
            ),
        ],
        tags=TAGS,
    )
    def post(self, request: Request, loan_id: int, deferral_id: int) -> Response:
        return _decide(request, loan_id, deferral_id, approve=False)


class LoanWriteOffApi(APIView):
    class InputSerializer(serializers.Serializer):
        reason = api.CharField(max_length=2000)
        on = serializers.DateField(required=False, help_text="The write-off date; default today (Asia/Jakarta).")

        class Meta:
            ref_name = "LoanWriteOff"

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        status = serializers.CharField(help_text="written_off.")
        written_off_on = serializers.DateField()
        written_off_principal = serializers.IntegerField(help_text="Rupiah outstanding when written off.")

        class Meta:
            ref_name = "LoanWrittenOff"

    @extend_schema(
        operation_id="loans_write_off",
        description=(
            "Write off (hapus buku) an open loan in collectibility class 5, by a programme manager, with a "
            "reason. The bank's fund counters do not move; later repayments (recoveries) are still booked."
        ),
        request=InputSerializer,
        responses={200: OutputSerializer, **ERRORS, **CONFLICT},
        examples=[
            OpenApiExample("Write off", value=examples_deferrals.WRITE_OFF_BODY, request_only=True),
            examples.answer("Written off", examples_deferrals.WRITTEN_OFF),
        ],
        tags=["loans"],
    )
    def post(self, request: Request, loan_id: int) -> Response:
        loan = _loan_or_404(request, loan_id)
        require_role(request.user, Role.MANAGER)
        data = _parse(self.InputSerializer, request)
        loan = loan_write_off(
            actor=request.user,
            loan_id=loan.pk,
            reason=data["reason"],
            on=data.get("on") or business_today(),
        )
        return Response(self.OutputSerializer(loan).data)
