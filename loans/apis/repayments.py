"""Repayment APIs: book and list a loan's repayments, reverse one, quote a pay-off."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config import api
from config.api import Pagination, RupiahField, paginator_of
from config.clock import business_today
from config.errors import ConflictSerializer, ErrorSerializer
from loans.apis.loans import ERRORS, _loan_or_404
from loans.models import Loan, Repayment, RepaymentAllocation
from loans.selectors.servicing import allocations_of, loan_repayments
from loans.services.repayments import (
    RepaymentRequest,
    loan_payoff_quote,
    repayment_body,
    repayment_fields,
    repayment_post,
    repayment_reverse,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"

ALLOCATION_EXAMPLE = [
    {"installment": 3, "schedule_version": 1, "due_date": "2026-06-10", "component": "interest", "amount": 12500},
    {"installment": 3, "schedule_version": 1, "due_date": "2026-06-10", "component": "principal", "amount": 416667},
]
REPAYMENT_EXAMPLE: dict[str, Any] = {
    "id": 310,
    "loan": 12,
    "amount": 429167,
    "paid_on": "2026-06-10",
    "channel": "transfer",
    "reference": "PASAR-TRX-20260610-0042",
    "status": "booked",
    "payoff": False,
    "interest_waived": 0,
    "allocations": ALLOCATION_EXAMPLE,
    "loan_status": "active",
    "outstanding_principal": 3750000,
    "created_at": "2026-06-10T10:02:11+07:00",
}


class AllocationSerializer(serializers.Serializer):
    installment = serializers.IntegerField(help_text="Installment number.")
    schedule_version = serializers.IntegerField()
    due_date = serializers.DateField()
    component = serializers.ChoiceField(choices=RepaymentAllocation.Component.choices)
    amount = serializers.IntegerField(help_text="Rupiah.")

    class Meta:
        ref_name = "RepaymentAllocation"


class RepaymentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    loan = serializers.IntegerField()
    amount = serializers.IntegerField(help_text="Rupiah.")
    paid_on = serializers.DateField()
    channel = serializers.ChoiceField(choices=Repayment.Channel.choices)
    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=Repayment.Status.choices)
    payoff = serializers.BooleanField(help_text="This repayment paid the loan off.")
    interest_waived = serializers.IntegerField(help_text="Interest the pay-off forgave (rupiah).")
    allocations = AllocationSerializer(
        many=True, help_text="How the amount was split; sums to the amount (empty once reversed)."
    )
    loan_status = serializers.CharField(required=False, help_text="The loan's status right after booking.")
    outstanding_principal = serializers.IntegerField(
        required=False, help_text="The loan's outstanding principal right after booking (rupiah)."
    )
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Repayment"


class RepaymentListItemSerializer(RepaymentSerializer):
    created_by = serializers.CharField(allow_null=True)
    reversed_by = serializers.CharField(allow_null=True)
    reversed_at = serializers.DateTimeField(allow_null=True)
    reversal_reason = serializers.CharField()

    class Meta:
        ref_name = "RepaymentListItem"


class RepaymentListApi(APIView):
    pagination_class = Pagination

    class InputSerializer(serializers.Serializer):
        amount = RupiahField(min_value=1, help_text="Whole rupiah, a JSON integer above zero.")
        paid_on = serializers.DateField(help_text="The day the borrower paid; not in the future.")
        channel = serializers.ChoiceField(choices=Repayment.Channel.choices)
        reference = api.CharField(max_length=64, help_text="The bank's own reference, unique per bank.")

        class Meta:
            ref_name = "RepaymentInput"

    @extend_schema(
        operation_id="loans_repayments_create",
        request=InputSerializer,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                str,
                OpenApiParameter.HEADER,
                description="Up to 128 characters, unique per bank. A retry with the same key (or the same "
                "reference) and the same body answers the first result again with the header "
                "`Idempotent-Replayed: true`; the same key with a different body answers 422.",
            )
        ],
        examples=[
            OpenApiExample(
                "A transfer",
                value={
                    "amount": 429167,
                    "paid_on": "2026-06-10",
                    "channel": "transfer",
                    "reference": "PASAR-TRX-20260610-0042",
                },
                request_only=True,
            ),
            OpenApiExample("Booked", value=REPAYMENT_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
        description="Book a repayment (bank staff or the bank's token). The amount is split by the "
        "product's waterfall (default: penalties, then interest, then principal of the due installments, "
        "oldest first; what is left goes to the next installments in order). Exactly the pay-off amount "
        "(see `payoff/`) pays the loan off; more answers 400 with `payoff_amount`. No rounding happens: "
        "every share is whole rupiah and the shares sum to the amount.",
        responses={
            201: RepaymentSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Bad input, a date out of range, above the pay-off."),
            401: ERRORS[401],
            403: OpenApiResponse(ErrorSerializer, description="Not staff of the loan's bank."),
            404: ERRORS[404],
            409: OpenApiResponse(ConflictSerializer, description="Loan paid off or its schedule pending."),
            422: OpenApiResponse(ErrorSerializer, description="Same Idempotency-Key or reference, different body."),
        },
        tags=["repayments"],
    )
    def post(self, request: Request, loan_id: int) -> Response:
        # The service finds the loan among the caller's and locks it in one query. A bad
        # request looks it up here first, so that a loan the caller may not see answers
        # 404 before any complaint about the body, as on every other loan endpoint.
        try:
            key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
            if len(key) > 128:
                raise serializers.ValidationError({IDEMPOTENCY_HEADER: ["At most 128 characters."]})
            serializer = self.InputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
        except Exception:
            _loan_or_404(request, loan_id)
            raise
        data = serializer.validated_data
        try:
            repayment, replayed = repayment_post(
                actor=request.user,
                loan_id=loan_id,
                request=RepaymentRequest(
                    amount=data["amount"],
                    paid_on=data["paid_on"],
                    channel=data["channel"],
                    reference=data["reference"].strip(),
                    idempotency_key=key,
                ),
            )
        except Loan.DoesNotExist:
            raise Http404 from None
        headers = {REPLAYED_HEADER: "true"} if replayed else {}
        return Response(repayment.response, status=201, headers=headers)

    @extend_schema(
        operation_id="loans_repayments_list",
        examples=[
            OpenApiExample(
                "A page of repayments",
                value={
                    **REPAYMENT_EXAMPLE,
                    "created_by": "pasar-h2h",
                    "reversed_by": None,
                    "reversed_at": None,
                    "reversal_reason": "",
                },
                response_only=True,
            )
        ],
        responses={200: RepaymentListItemSerializer(many=True), 401: ERRORS[401], 404: ERRORS[404]},
        tags=["repayments"],
    )
    def get(self, request: Request, loan_id: int) -> Response:
        loan = _loan_or_404(request, loan_id)
        paginator = paginator_of(self)
        page = paginator.paginate_queryset(loan_repayments(loan=loan), request, view=self) or []
        allocations = allocations_of(page)
        rows = [
            {
                **_row(repayment),
                "allocations": allocations.get(repayment.pk, []),
            }
            for repayment in page
        ]
        return paginator.get_paginated_response(RepaymentListItemSerializer(rows, many=True).data)


def _row(repayment: Repayment) -> dict[str, Any]:
    return {
        **repayment_fields(repayment),
        "created_by": repayment.created_by.username if repayment.created_by else None,
        "reversed_by": repayment.reversed_by.username if repayment.reversed_by else None,
        "reversed_at": repayment.reversed_at,
        "reversal_reason": repayment.reversal_reason,
    }


class RepaymentReverseApi(APIView):
    class InputSerializer(serializers.Serializer):
        reason = api.CharField(max_length=2000)

        class Meta:
            ref_name = "RepaymentReverseInput"

    @extend_schema(
        operation_id="loans_repayments_reverse",
        request=InputSerializer,
        examples=[
            OpenApiExample(
                "Booked on the wrong loan",
                value={"reason": "Dibukukan ke pinjaman yang salah; seharusnya KW/2026/0107."},
                request_only=True,
            ),
        ],
        description="Reverse a wrong repayment (never deleted): staff of the loan's bank other than the "
        "person who booked it, with a reason. Its allocations are undone and later repayments are split "
        "again in date order. A reversed repayment cannot be reversed again (409).",
        responses={
            200: RepaymentSerializer,
            400: ERRORS[400],
            401: ERRORS[401],
            403: OpenApiResponse(ErrorSerializer, description="Not the bank's staff, or the same person."),
            404: ERRORS[404],
            409: OpenApiResponse(ConflictSerializer, description="Reversed already, or not reversible now."),
        },
        tags=["repayments"],
    )
    def post(self, request: Request, loan_id: int, repayment_id: int) -> Response:
        loan = _loan_or_404(request, loan_id)
        if not Repayment.objects.filter(pk=repayment_id, loan=loan).exists():
            raise Http404
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        repayment = repayment_reverse(
            actor=request.user, repayment_id=repayment_id, reason=serializer.validated_data["reason"]
        )
        loan.refresh_from_db()
        return Response(repayment_body(repayment, loan))


class PayoffApi(APIView):
    class OutputSerializer(serializers.Serializer):
        loan = serializers.IntegerField()
        on = serializers.DateField()
        amount = serializers.IntegerField(help_text="Rupiah to pay on that date to close the loan.")
        outstanding_principal = serializers.IntegerField()
        interest = serializers.IntegerField(help_text="Interest due by the product's rule.")
        penalty = serializers.IntegerField(help_text="Unpaid penalties.")
        interest_waived = serializers.IntegerField(help_text="Later interest forgiven by paying off.")
        rule = serializers.CharField(help_text="The product's pay-off interest rule.")

        class Meta:
            ref_name = "PayoffQuote"

    @extend_schema(
        operation_id="loans_payoff",
        parameters=[OpenApiParameter("on", str, description="Date (YYYY-MM-DD); default today.")],
        examples=[
            OpenApiExample(
                "Pay-off in the fourth month",
                value={
                    "loan": 12,
                    "on": "2026-06-20",
                    "amount": 3762500,
                    "outstanding_principal": 3750000,
                    "interest": 12500,
                    "penalty": 0,
                    "interest_waived": 100000,
                    "rule": "current_month",
                },
                response_only=True,
            )
        ],
        description="What paying the loan off on a date costs: the outstanding principal, the interest due "
        "by the product's rule (default `current_month`: unpaid interest of installments due by then plus "
        "the interest of the installment whose month contains the date) and unpaid penalties. Posting "
        "exactly `amount` as a repayment dated `on` closes the loan.",
        responses={
            200: OutputSerializer,
            400: ERRORS[400],
            401: ERRORS[401],
            404: ERRORS[404],
            409: ConflictSerializer,
        },
        tags=["repayments"],
    )
    def get(self, request: Request, loan_id: int) -> Response:
        loan = _loan_or_404(request, loan_id)
        params = serializers.DateField(required=False)
        raw = request.query_params.get("on")
        try:
            on = params.run_validation(raw) if raw else business_today()
        except serializers.ValidationError as error:
            raise serializers.ValidationError({"on": error.detail}) from error
        quote = loan_payoff_quote(loan=loan, on=on)
        return Response(
            self.OutputSerializer(
                {
                    "loan": loan.pk,
                    "on": quote.on,
                    "amount": quote.amount,
                    "outstanding_principal": quote.principal,
                    "interest": quote.interest,
                    "penalty": quote.penalty,
                    "interest_waived": quote.interest_waived,
                    "rule": loan.terms.payoff_interest,
                }
            ).data
        )
