"""Loan APIs. The public simulator: parse the terms, run the schedule engine, render."""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config import api
from config.api import FixedWindowThrottle, RateField, ReusedFieldsSerializer, RupiahField
from config.clock import business_today
from config.errors import ErrorSerializer
from loans import money
from loans.schedule import (
    MAX_PRINCIPAL,
    MAX_TENOR_MONTHS,
    METHODS,
    PROGRAMME_ANNUAL_RATE,
    LoanTerms,
    Schedule,
    ScheduleError,
    build_schedule,
    effective_annual_rate,
)

ROUNDING_RULES = """
Rounding, exactly as the engine applies it (all arithmetic is exact; no float decides a rupiah):

* i = annual_rate / 100 / 12 (every period is one month, 30/360). k = tenor_months - grace_months.
* rnd(x): to a whole rupiah by `interest_rounding` (`half_up`: halves up; `half_even`: halves to even).
* rnd_m(x): to a multiple of `rounding` rupiah by `installment_rounding` (`up`: the smallest multiple >= x).
* Grace installments: principal 0, interest rnd(P * i).
* `flat`: interest rnd(P * i) every month; installment A = rnd_m(P / k + interest), principal A - interest.
* `annuity`: A = rnd_m(P * i / (1 - (1 + i)^-k)) (rnd_m(P / k) at 0%);
  interest rnd(balance * i), principal A - interest.
* `equal_principal`: principal rnd_m(P / k); interest rnd(balance * i).
* The last installment's principal is the remaining balance, so the principals sum exactly to P.
* Due dates: disbursement date + j months (or first_due_date + (j - 1) months), the day clamped to the
  month's end; with `business_days`, weekends and Indonesian public holidays move to the next business day.
* Terms whose rounding would leave a regular installment with no principal, or pay the loan off before
  its last installment, are refused (400), never returned wrong.
* `effective_annual_rate`: 12 x the monthly internal rate of return of the installments, in percent,
  rounded half-up to 2 decimals (the declining-balance rate the schedule amounts to).
"""


class SimulationThrottle(FixedWindowThrottle):
    """Per client address; the rate is the SIMULATION_THROTTLE setting, read per request."""

    scope = "simulation"

    def get_rate(self) -> str:
        return str(settings.SIMULATION_THROTTLE)


class InstallmentSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    due_date = serializers.DateField()
    principal = serializers.IntegerField(help_text="Rupiah.")
    interest = serializers.IntegerField(help_text="Rupiah.")
    installment = serializers.IntegerField(help_text="Rupiah: principal + interest.")
    balance = serializers.IntegerField(help_text="Rupiah outstanding after this installment.")


def installment_rows(schedule: Schedule) -> list[dict[str, Any]]:
    """A schedule's rows as the API's ``installments`` (rupiah as ints, dates as dates)."""
    return [
        {
            "number": number,
            "due_date": due_date,
            "principal": principal,
            "interest": interest,
            "installment": amount,
            "balance": balance,
        }
        for number, due_date, principal, interest, amount, balance in zip(
            range(1, len(schedule.principal) + 1),
            schedule.due_dates,
            schedule.principal,
            schedule.interest,
            schedule.installment,
            schedule.balance,
            strict=True,
        )
    ]


class SimulationApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [SimulationThrottle]

    @extend_schema_serializer(component_name="Simulation")
    class InputSerializer(ReusedFieldsSerializer):
        """The terms of a loan to simulate. Only principal and tenor_months are needed;
        the rest default to Kredit Wibawa's product."""

        principal = RupiahField(min_value=1, max_value=MAX_PRINCIPAL, help_text="Rupiah, a JSON integer.")
        annual_rate = RateField(
            max_digits=7,
            decimal_places=4,
            min_value=Decimal(0),
            max_value=Decimal(100),
            default=Decimal(PROGRAMME_ANNUAL_RATE),
            help_text="Percent a year, as a decimal string (at most 4 decimals).",
        )
        tenor_months = api.IntegerField(min_value=1, max_value=MAX_TENOR_MONTHS)
        method = serializers.ChoiceField(choices=METHODS, default="flat")
        disbursement_date = serializers.DateField(
            default=None, allow_null=True, help_text="Default: today in Asia/Jakarta. 1900-01-01 to 2199-12-31."
        )
        first_due_date = serializers.DateField(
            default=None, allow_null=True, help_text="After the disbursement, at most 2 months after it."
        )
        grace_months = api.IntegerField(min_value=0, max_value=MAX_TENOR_MONTHS - 1, default=0)
        rounding = serializers.ChoiceField(
            choices=money.ROUNDING_UNITS, default=1, help_text="Installment rounding unit in rupiah."
        )
        interest_rounding = serializers.ChoiceField(choices=money.INTEREST_ROUNDING_MODES, default=money.HALF_UP)
        installment_rounding = serializers.ChoiceField(choices=money.INSTALLMENT_ROUNDING_MODES, default=money.UP)
        business_days = api.BooleanField(default=False)

    @extend_schema_serializer(component_name="SimulationResult")
    class OutputSerializer(serializers.Serializer):
        """The terms used (every default filled in) and the schedule."""

        principal = serializers.IntegerField(help_text="Rupiah.")
        annual_rate = serializers.CharField(help_text="Percent a year, decimal string.")
        tenor_months = serializers.IntegerField()
        method = serializers.ChoiceField(choices=METHODS)
        disbursement_date = serializers.DateField()
        first_due_date = serializers.DateField(allow_null=True)
        grace_months = serializers.IntegerField()
        rounding = serializers.ChoiceField(choices=money.ROUNDING_UNITS)
        interest_rounding = serializers.ChoiceField(choices=money.INTEREST_ROUNDING_MODES)
        installment_rounding = serializers.ChoiceField(choices=money.INSTALLMENT_ROUNDING_MODES)
        business_days = serializers.BooleanField()
        installments = InstallmentSerializer(many=True)
        total_principal = serializers.IntegerField(help_text="Rupiah; always equals principal.")
        total_interest = serializers.IntegerField(help_text="Rupiah.")
        total_payment = serializers.IntegerField(help_text="Rupiah.")
        effective_annual_rate = serializers.CharField(help_text="Percent, 2 decimals.")

    @extend_schema(
        summary="Simulate a loan schedule",
        tags=["simulator"],
        description="Public, no login; throttled per client address (SIMULATION_THROTTLE).\n" + ROUNDING_RULES,
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Bad input: a message per field."),
            429: OpenApiResponse(ErrorSerializer, description="Too many requests from this address; see Retry-After."),
        },
        auth=[],
        examples=[
            OpenApiExample(
                "Kredit Wibawa, 10 million over 12 months",
                value={
                    "principal": 10000000,
                    "annual_rate": "3",
                    "tenor_months": 12,
                    "method": "annuity",
                    "disbursement_date": "2026-01-15",
                    "first_due_date": None,
                    "grace_months": 0,
                    "rounding": 1,
                    "interest_rounding": "half_up",
                    "installment_rounding": "up",
                    "business_days": False,
                },
                request_only=True,
            ),
            OpenApiExample(
                "Only the required fields", value={"principal": 5000000, "tenor_months": 24}, request_only=True
            ),
            OpenApiExample(
                "A rounding too coarse for the loan",
                value={
                    "message": "Invalid input.",
                    "errors": {
                        "rounding": [
                            "A rounding unit of 1000 rupiah is too coarse for this loan: it would be paid off "
                            "before its last installment."
                        ]
                    },
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["disbursement_date"] is None:
            data["disbursement_date"] = business_today()
        try:
            terms = LoanTerms(**data)
            schedule = build_schedule(terms)
        except ScheduleError as exc:
            raise serializers.ValidationError({exc.field: [gettext(exc.template).format(**exc.params)]}) from exc
        return Response(
            {
                **data,
                "annual_rate": money.format_rate_units(terms.rate_units),
                "installments": installment_rows(schedule),
                "total_principal": schedule.total_principal,
                "total_interest": schedule.total_interest,
                "total_payment": schedule.total_payment,
                "effective_annual_rate": str(effective_annual_rate(schedule)),
            }
        )
