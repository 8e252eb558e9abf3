"""``GET audit/``: the audit trail, for the auditor and the programme manager."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.selectors import audit_list
from config.api import Pagination, paginated_response
from config.errors import ErrorSerializer
from config.roles import Role, require_role

#: Who reads the trail.
READERS = (Role.AUDITOR, Role.MANAGER)


class AuditEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    actor = serializers.CharField(
        source="actor.username", allow_null=True, default=None, help_text="Username; null for a system job."
    )
    action = serializers.CharField()
    subject_type = serializers.CharField(help_text="What was changed: application, loan, bank, borrower, user...")
    subject_id = serializers.CharField()
    subject_label = serializers.CharField()
    before = serializers.DictField(help_text="The changed fields before (personal numbers masked).")
    after = serializers.DictField(help_text="The changed fields after (personal numbers masked).")
    from_state = serializers.CharField(help_text="A workflow step's state before (blank otherwise).")
    to_state = serializers.CharField(help_text="A workflow step's state after (blank otherwise).")
    note = serializers.CharField()
    amounts = serializers.DictField(child=serializers.IntegerField(), help_text="Rupiah by name.")
    application = serializers.IntegerField(source="application_id", allow_null=True)
    loan = serializers.IntegerField(source="loan_id", allow_null=True)

    class Meta:
        ref_name = "AuditEntry"


ENTRY_EXAMPLE: dict[str, Any] = {
    "id": 812,
    "at": "2026-11-27T10:15:02.113000+07:00",
    "actor": "manager",
    "action": "bank_update",
    "subject_type": "bank",
    "subject_id": "2",
    "subject_label": "PASAR",
    "before": {"servicing_fee_percent": "2.00", "backdate_limit_days": 7},
    "after": {"servicing_fee_percent": "2.50", "backdate_limit_days": 14},
    "from_state": "",
    "to_state": "",
    "note": "",
    "amounts": {},
    "application": None,
    "loan": None,
}


class AuditListApi(APIView):
    pagination_class = Pagination

    @extend_schema(
        operation_id="audit_list",
        summary="The audit trail (auditor, manager)",
        description="Every change, newest first: who (null for a system job), when, what, to which subject, the "
        "changed fields before and after (NIK, NPWP, phone and address masked; passwords and tokens never "
        "recorded). Append-only: no endpoint changes it.",
        parameters=[
            OpenApiParameter("subject_type", str, description="application, loan, repayment, deferral, bank, ..."),
            OpenApiParameter(
                "subject_id", str, description="The subject's id (a bank kind for a collectibility table)."
            ),
            OpenApiParameter("actor", str, description="Username or user id."),
            OpenApiParameter("action", str, description="e.g. bank_update, repayment_posted."),
            OpenApiParameter("from", OpenApiTypes.DATE, description="From this day (included, Asia/Jakarta)."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Up to this day (included, Asia/Jakarta)."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="Up to 500 (default 50)."),
        ],
        responses={
            200: AuditEntrySerializer(many=True),
            400: OpenApiResponse(ErrorSerializer, description="A bad filter value."),
            401: OpenApiResponse(ErrorSerializer, description="Not logged in."),
            403: OpenApiResponse(ErrorSerializer, description="Only the auditor and the manager read the trail."),
        },
        # drf-spectacular wraps the entry in the page shape ({count, next, previous, results}).
        examples=[
            OpenApiExample("A bank's fee changed", value=ENTRY_EXAMPLE, response_only=True, status_codes=["200"])
        ],
        tags=["audit"],
    )
    def get(self, request: Request) -> Response:
        require_role(request.user, *READERS)
        return paginated_response(
            request=request,
            view=self,
            queryset=audit_list(params=request.query_params),
            serializer_class=AuditEntrySerializer,
        )
