"""Revolving-fund, portfolio and collectibility-table APIs.

* ``GET banks/{code}/fund/?year=`` and ``GET banks/{code}/fund/daily/?from=&to=``: a
  bank's revolving fund for a programme year and its daily series. The city office,
  auditors and the manager see every bank; bank staff only their own (another bank
  answers 404); borrowers get 403.
* ``GET portfolio/?by=``: PAR30, NPL and arrears of the open loans, in total and per
  bank, kecamatan, sector or sex (bank staff: their bank's loans only).
* ``GET collectibility/`` (every staff role) and ``PUT collectibility/{kind}/``
  (manager): the collectibility tables by bank kind.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.fields import Field
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from banks.models import Bank
from banks.selectors import bank_visible
from banks.services import FIRST_PROGRAMME_YEAR, LAST_PROGRAMME_YEAR
from config import api
from config.api import RateField
from config.clock import business_today
from config.errors import ErrorSerializer
from config.roles import Role, require_role
from loans.collectibility import Grade
from loans.selectors.portfolio import (
    GRADES,
    PORTFOLIO_GROUPINGS,
    bank_fund_days,
    bank_fund_year,
    classes_of,
    collectibility_tables,
    portfolio,
)
from loans.selectors.servicing import business_date_last_closed
from loans.services.collectibility import BANK_KINDS, MAX_MIN_DAYS, MAX_NAME_LENGTH, collectibility_table_update

#: Roles that read fund and portfolio figures (bank staff only their own bank's).
STAFF_ROLES = (Role.OFFICER, Role.AUDITOR, Role.MANAGER, Role.BANK_STAFF)
#: The daily series: the default span and the longest one asked at once, in days.
DAILY_DEFAULT_DAYS = 31
DAILY_MAX_DAYS = 366

ERRORS: dict[int, OpenApiResponse] = {
    400: OpenApiResponse(ErrorSerializer, description="Bad input: a message per field."),
    401: OpenApiResponse(ErrorSerializer, description="Not logged in."),
    403: OpenApiResponse(ErrorSerializer, description="The user's role may not do this."),
    404: OpenApiResponse(ErrorSerializer, description="No such bank (or table) among those the user may see."),
}

BY_CLASS_EXAMPLE = {"1": 1150000000, "2": 60000000, "3": 20000000, "4": 12000000, "5": 8000000}
FUND_EXAMPLE: dict[str, Any] = {
    "bank": "PASAR",
    "year": 2026,
    "allocation": 2500000000,
    "disbursed": 1800000000,
    "principal_repaid": 640000000,
    "interest_collected": 41250000,
    "penalty_collected": 0,
    "servicing_fee_percent": "2.00",
    "servicing_fee": 825000,
    "owed_to_city": 680425000,
    "outstanding_principal": 1250000000,
    "outstanding_by_class": BY_CLASS_EXAMPLE,
    "provisions": {"1": 5750000, "2": 1800000, "3": 2000000, "4": 6000000, "5": 8000000},
    "written_off_principal": 15000000,
    "available": 3050000000,
    "as_of": "2026-06-29",
}
FUND_DAY_EXAMPLE = {
    "business_date": "2026-06-29",
    "disbursed": 25000000,
    "principal_repaid": 4166667,
    "interest_collected": 312500,
    "penalty_collected": 0,
    "outstanding_principal": 1250000000,
    "outstanding_by_class": BY_CLASS_EXAMPLE,
    "available": 3050000000,
}
FIGURES_EXAMPLE = {
    "loans": 1240,
    "outstanding": 4200000000,
    "par30_outstanding": 219660000,
    "par30": "0.0523",
    "npl_outstanding": 128100000,
    "npl": "0.0305",
    "arrears": 96500000,
}
TABLE_EXAMPLE = [
    {"grade": 1, "name": "Lancar", "min_days": 0, "provision_percent": "0.50"},
    {"grade": 2, "name": "Dalam Perhatian Khusus", "min_days": 31, "provision_percent": "3.00"},
    {"grade": 3, "name": "Kurang Lancar", "min_days": 91, "provision_percent": "10.00"},
    {"grade": 4, "name": "Diragukan", "min_days": 121, "provision_percent": "50.00"},
    {"grade": 5, "name": "Macet", "min_days": 181, "provision_percent": "100.00"},
]
COMMERCIAL_EXAMPLE = [
    {"grade": 1, "name": "Lancar", "min_days": 0, "provision_percent": "1.00"},
    {"grade": 2, "name": "Dalam Perhatian Khusus", "min_days": 1, "provision_percent": "5.00"},
    {"grade": 3, "name": "Kurang Lancar", "min_days": 91, "provision_percent": "15.00"},
    {"grade": 4, "name": "Diragukan", "min_days": 121, "provision_percent": "50.00"},
    {"grade": 5, "name": "Macet", "min_days": 181, "provision_percent": "100.00"},
]
EDITED_TABLE_EXAMPLE = [{**row, "min_days": 151} if row["grade"] == 4 else row for row in TABLE_EXAMPLE]


def _bank_for(user: Any, code: str) -> Bank:
    """The bank ``code`` if ``user`` may see it: 403 for roles that see no bank, 404 for
    an unknown bank or one outside the user's scope."""
    require_role(user, *STAFF_ROLES)
    bank = bank_visible(user=user).filter(code=code).first()
    if bank is None:
        raise Http404
    return bank


class ClassAmountsSerializer(serializers.Serializer):
    """Rupiah by collectibility class, always the five keys "1" to "5"."""

    class Meta:
        ref_name = "CollectibilityAmounts"

    def get_fields(self) -> dict[str, Field[Any, Any, Any, Any]]:
        return {str(grade): serializers.IntegerField(help_text=f"Rupiah in class {grade}.") for grade in GRADES}

    def to_representation(self, instance: Any) -> dict[str, int]:
        # A stored series row may lack classes that had nothing in them.
        return classes_of(instance or {})


# --- the revolving fund -------------------------------------------------------------


class FundYearSerializer(serializers.Serializer):
    bank = serializers.CharField(help_text="Bank code.")
    year = serializers.IntegerField(help_text="Programme year.")
    allocation = serializers.IntegerField(help_text="Rupiah allocated to the bank for this programme year.")
    disbursed = serializers.IntegerField(help_text="Rupiah: principal of loans disbursed in the year.")
    principal_repaid = serializers.IntegerField(help_text="Rupiah: principal repaid in the year (booked).")
    interest_collected = serializers.IntegerField(help_text="Rupiah: interest collected in the year.")
    penalty_collected = serializers.IntegerField(help_text="Rupiah: penalties (denda) collected in the year.")
    servicing_fee_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, help_text="The bank's share of the interest collected, percent."
    )
    servicing_fee = serializers.IntegerField(
        help_text="Rupiah: interest collected x percent / 100, rounded half up once on the year's total."
    )
    owed_to_city = serializers.IntegerField(
        help_text="Rupiah: principal repaid + interest + penalties collected - servicing fee."
    )
    outstanding_principal = serializers.IntegerField(help_text="Rupiah: open loans (active, overdue) now.")
    outstanding_by_class = ClassAmountsSerializer(help_text="Outstanding by collectibility class (last close).")
    provisions = ClassAmountsSerializer(
        help_text="Outstanding x the class's provision percent (the bank kind's table), rounded half up per class."
    )
    written_off_principal = serializers.IntegerField(help_text="Rupiah written off on the bank's loans.")
    available = serializers.IntegerField(
        help_text="Rupiah: allocations of years up to this one + principal repaid - principal disbursed, "
        "both through the end of the year."
    )
    as_of = serializers.DateField(allow_null=True, help_text="The last closed business date (null before any).")

    class Meta:
        ref_name = "BankFundYear"


class FundDaySerializer(serializers.Serializer):
    business_date = serializers.DateField()
    disbursed = serializers.IntegerField(help_text="Rupiah disbursed that day.")
    principal_repaid = serializers.IntegerField(help_text="Rupiah of principal repaid that day.")
    interest_collected = serializers.IntegerField(help_text="Rupiah of interest collected that day.")
    penalty_collected = serializers.IntegerField(help_text="Rupiah of penalties collected that day.")
    outstanding_principal = serializers.IntegerField(help_text="Rupiah outstanding at the day's close.")
    outstanding_by_class = ClassAmountsSerializer(help_text="Outstanding by collectibility class at the close.")
    available = serializers.IntegerField(help_text="Rupiah the bank could lend at the day's close.")

    class Meta:
        ref_name = "BankFundDay"


class BankFundApi(APIView):
    class QuerySerializer(serializers.Serializer):
        year = serializers.IntegerField(required=False, min_value=FIRST_PROGRAMME_YEAR, max_value=LAST_PROGRAMME_YEAR)

        class Meta:
            ref_name = "BankFundQuery"

    @extend_schema(
        operation_id="bank_fund_retrieve",
        summary="A bank's revolving fund for a programme year",
        description="Flows of the year from the ledger (booked repayments, allocations not undone, by "
        "payment date), balances now from the last close. Bank staff see only their own bank.",
        parameters=[
            OpenApiParameter(
                "year",
                OpenApiTypes.INT,
                description=f"Programme year, {FIRST_PROGRAMME_YEAR} to {LAST_PROGRAMME_YEAR} "
                "(default: the current year in Asia/Jakarta).",
            )
        ],
        responses={200: FundYearSerializer, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404]},
        examples=[OpenApiExample("Bank Pasar, 2026", value=FUND_EXAMPLE, response_only=True, status_codes=["200"])],
        tags=["banks"],
    )
    def get(self, request: Request, code: str) -> Response:
        bank = _bank_for(request.user, code)
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        year = query.validated_data.get("year") or business_today().year
        return Response(FundYearSerializer(bank_fund_year(bank=bank, year=year)).data)


class DailyQuerySerializer(serializers.Serializer):
    """``from`` and ``to`` (inclusive); ``to`` defaults to the last closed business date
    (today before any close), ``from`` to 30 days before ``to``."""

    class Meta:
        ref_name = "BankFundDailyQuery"

    def get_fields(self) -> dict[str, Field[Any, Any, Any, Any]]:
        # "from" is a Python keyword: it cannot be declared as a class attribute.
        return {"from": serializers.DateField(required=False), "to": serializers.DateField(required=False)}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        date_to: date = attrs.get("to") or business_date_last_closed() or business_today()
        date_from: date = attrs.get("from") or date_to - timedelta(days=DAILY_DEFAULT_DAYS - 1)
        if date_from > date_to:
            raise serializers.ValidationError({"from": [_("'from' must not be after 'to'.")]})
        if (date_to - date_from).days + 1 > DAILY_MAX_DAYS:
            raise serializers.ValidationError(
                {"from": [_("At most %(days)s days at a time.") % {"days": DAILY_MAX_DAYS}]}
            )
        return {"from": date_from, "to": date_to}


class BankFundDailyApi(APIView):
    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "BankFundDaily"

        def get_fields(self) -> dict[str, Field[Any, Any, Any, Any]]:
            return {
                "bank": serializers.CharField(help_text="Bank code."),
                "from": serializers.DateField(help_text="First date of the range."),
                "to": serializers.DateField(help_text="Last date of the range."),
                "days": FundDaySerializer(many=True, help_text="One row per closed business date, oldest first."),
            }

    @extend_schema(
        operation_id="bank_fund_daily",
        summary="A bank's revolving fund, day by day",
        description="The fund at the close of each business date in the range, as the nightly close "
        f"stored it. At most {DAILY_MAX_DAYS} days; by default the last {DAILY_DEFAULT_DAYS} days up to "
        "the last closed business date.",
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="First date (inclusive)."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last date (inclusive)."),
        ],
        responses={
            200: OutputSerializer,
            400: ERRORS[400],
            401: ERRORS[401],
            403: ERRORS[403],
            404: ERRORS[404],
        },
        examples=[
            OpenApiExample(
                "One day",
                value={"bank": "PASAR", "from": "2026-06-29", "to": "2026-06-29", "days": [FUND_DAY_EXAMPLE]},
                response_only=True,
                status_codes=["200"],
            )
        ],
        tags=["banks"],
    )
    def get(self, request: Request, code: str) -> Response:
        bank = _bank_for(request.user, code)
        query = DailyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        date_from, date_to = query.validated_data["from"], query.validated_data["to"]
        data = {
            "bank": bank.code,
            "from": date_from,
            "to": date_to,
            "days": bank_fund_days(bank=bank, date_from=date_from, date_to=date_to),
        }
        return Response(self.OutputSerializer(data).data)


# --- portfolio quality ----------------------------------------------------------------


class FiguresSerializer(serializers.Serializer):
    loans = serializers.IntegerField(help_text="Open loans (active, overdue).")
    outstanding = serializers.IntegerField(help_text="Rupiah: their outstanding principal.")
    par30_outstanding = serializers.IntegerField(help_text="Rupiah: outstanding of loans over 30 days past due.")
    par30 = serializers.DecimalField(
        max_digits=5, decimal_places=4, help_text="par30_outstanding / outstanding, rounded half up."
    )
    npl_outstanding = serializers.IntegerField(help_text="Rupiah: outstanding of loans in class 3 to 5.")
    npl = serializers.DecimalField(
        max_digits=5, decimal_places=4, help_text="npl_outstanding / outstanding, rounded half up."
    )
    arrears = serializers.IntegerField(help_text="Rupiah: principal + interest + penalty in arrears.")

    class Meta:
        ref_name = "PortfolioFigures"


class PortfolioGroupSerializer(FiguresSerializer):
    key = serializers.CharField(
        allow_null=True, help_text="Bank code, kecamatan region code, business sector or sex (M, F)."
    )
    name = serializers.CharField()

    class Meta:
        ref_name = "PortfolioGroup"

    def get_fields(self) -> dict[str, Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        return {"key": fields.pop("key"), "name": fields.pop("name"), **fields}


class PortfolioApi(APIView):
    class OutputSerializer(serializers.Serializer):
        as_of = serializers.DateField(allow_null=True, help_text="The last closed business date (null before any).")
        totals = FiguresSerializer()
        groups = PortfolioGroupSerializer(many=True, help_text="Empty unless `by` is given; ordered by key.")

        class Meta:
            ref_name = "Portfolio"

    class QuerySerializer(serializers.Serializer):
        by = serializers.ChoiceField(choices=list(PORTFOLIO_GROUPINGS), required=False)

        class Meta:
            ref_name = "PortfolioQuery"

    @extend_schema(
        operation_id="portfolio_retrieve",
        summary="Portfolio quality: outstanding, PAR30, NPL and arrears",
        description="Over the open loans (active, overdue), from the last nightly close. PAR30 is the whole "
        "outstanding principal of loans more than 30 days past due over all outstanding; NPL the outstanding "
        "of loans in collectibility class 3 to 5 over all outstanding. Bank staff see their own bank's loans.",
        parameters=[
            OpenApiParameter("by", OpenApiTypes.STR, enum=list(PORTFOLIO_GROUPINGS), description="Group the figures.")
        ],
        responses={200: OutputSerializer, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403]},
        examples=[
            OpenApiExample(
                "By bank",
                value={
                    "as_of": "2026-06-29",
                    "totals": FIGURES_EXAMPLE,
                    "groups": [{"key": "PASAR", "name": "BPR Bank Pasar Kota Semarang", **FIGURES_EXAMPLE}],
                },
                response_only=True,
                status_codes=["200"],
            )
        ],
        tags=["portfolio"],
    )
    def get(self, request: Request) -> Response:
        require_role(request.user, *STAFF_ROLES)
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        figures = portfolio(user=request.user, by=query.validated_data.get("by"))
        return Response(self.OutputSerializer(figures).data)


# --- collectibility tables ------------------------------------------------------------


class GradeSerializer(serializers.Serializer):
    grade = api.IntegerField(min_value=1, max_value=5)
    name = api.CharField(max_length=MAX_NAME_LENGTH)
    min_days = api.IntegerField(
        min_value=0, max_value=MAX_MIN_DAYS, help_text="The class starts at this many days past due."
    )
    provision_percent = RateField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=Decimal(100),
        help_text="Provision rate in percent, a decimal string (at most 2 decimals).",
    )

    class Meta:
        ref_name = "CollectibilityGrade"


class TablesSerializer(serializers.Serializer):
    commercial = GradeSerializer(many=True, help_text="Commercial banks (OJK).")
    bpr = GradeSerializer(many=True, help_text="Rural banks (BPR).")

    class Meta:
        ref_name = "CollectibilityTables"


class CollectibilityTablesApi(APIView):
    @extend_schema(
        operation_id="collectibility_tables",
        summary="The collectibility tables by bank kind",
        description="Each table classes a loan by its days past due: a loan is in the highest grade whose "
        "`min_days` it reaches. Borrowers get 403.",
        responses={200: TablesSerializer, 401: ERRORS[401], 403: ERRORS[403]},
        examples=[
            OpenApiExample(
                "The defaults",
                value={"commercial": COMMERCIAL_EXAMPLE, "bpr": TABLE_EXAMPLE},
                response_only=True,
                status_codes=["200"],
            )
        ],
        tags=["collectibility"],
    )
    def get(self, request: Request) -> Response:
        require_role(request.user, *STAFF_ROLES)
        tables = collectibility_tables()
        return Response(TablesSerializer({kind: tables.get(kind, ()) for kind in BANK_KINDS}).data)


class CollectibilityTableApi(APIView):
    class InputSerializer(serializers.Serializer):
        grades = GradeSerializer(many=True, help_text="Grades 1 to 5 in order.")

        class Meta:
            ref_name = "CollectibilityTableUpdate"

    class OutputSerializer(serializers.Serializer):
        bank_kind = serializers.ChoiceField(choices=Bank.Kind.choices)
        grades = GradeSerializer(many=True, help_text="The table now.")
        previous = GradeSerializer(many=True, help_text="The table before this change.")

        class Meta:
            ref_name = "CollectibilityTableChange"

    @extend_schema(
        operation_id="collectibility_table_update",
        summary="Replace the collectibility table of a bank kind (manager)",
        description="The whole table: grades 1 to 5 in order, grade 1 from 0 days, each grade starting later "
        "than the one before, provision rates from 0 to 100 percent. The next nightly close classes loans by "
        "it; the change is logged with the previous rows.",
        parameters=[OpenApiParameter("kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(BANK_KINDS))],
        request=InputSerializer,
        responses={200: OutputSerializer, **ERRORS},
        examples=[
            OpenApiExample("Diragukan from 151 days", value={"grades": EDITED_TABLE_EXAMPLE}, request_only=True),
            OpenApiExample(
                "Changed",
                value={"bank_kind": "bpr", "grades": EDITED_TABLE_EXAMPLE, "previous": TABLE_EXAMPLE},
                response_only=True,
                status_codes=["200"],
            ),
            OpenApiExample(
                "Grades out of order",
                value={
                    "message": "The collectibility table was not saved.",
                    "errors": {"min_days": ["Grade 3 must start later than grade 2."]},
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
        tags=["collectibility"],
    )
    def put(self, request: Request, kind: str) -> Response:
        require_role(request.user, *STAFF_ROLES)
        if kind not in BANK_KINDS:
            raise Http404
        require_role(request.user, Role.MANAGER)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rows = [Grade(**row) for row in serializer.validated_data["grades"]]
        change = collectibility_table_update(actor=request.user, bank_kind=kind, rows=rows)
        return Response(self.OutputSerializer(change).data)
