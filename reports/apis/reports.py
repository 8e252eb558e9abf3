"""Report APIs: ask for a document, follow it, download it, list them; and the public
check of a document's authenticity.

* ``POST reports/``: 202 ``{"id", "status", "url"}`` at once (a worker makes it); an
  identical request to one already done, queued or running answers 200 with that
  report (unless ``"refresh": true``).
* ``GET reports/{id}/``: status, progress and, when done, ``sha256``, ``size`` and
  ``download_url``. ``GET reports/{id}/download/``: the file. ``GET reports/``: the list.
* ``GET documents/verify/{code}/``: no login; what the document with that code is.
"""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config import api
from config.api import FixedWindowThrottle, Pagination, paginated_response
from config.errors import ConflictSerializer, ErrorSerializer, StateConflict
from reports.kinds import KINDS
from reports.models import Report
from reports.render import CONTENT_TYPES
from reports.selectors.reports import report_by_code, report_list, report_visible
from reports.services.reports import KIND_FIELDS, ReportRequest, report_request

ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="Not logged in."),
    403: OpenApiResponse(ErrorSerializer, description="The user's role may not see this kind of report."),
    404: OpenApiResponse(ErrorSerializer, description="No such report among those the user may see."),
}
KIND_HELP = "; ".join(
    f"{spec.code}: needs {', '.join(spec.required)}"
    + (f" (and takes {', '.join(spec.optional)})" if spec.optional else "")
    + (f"; period a {'/'.join(spec.periods)}" if spec.periods else "")
    for spec in KINDS.values()
)


class ReportRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Report.Kind.choices, help_text=KIND_HELP)
    bank = api.CharField(required=False, max_length=16, help_text="Bank code (bank_monthly; city_books of one bank).")
    period = api.CharField(
        required=False, max_length=7, help_text='A month "2026-10", a quarter "2026-Q3" or a year "2026".'
    )
    loan = api.BigIntegerField(required=False, min_value=1, help_text="Loan id (statement, settlement letter).")
    repayment = api.BigIntegerField(required=False, min_value=1, help_text="Repayment id (receipt).")
    as_of = serializers.DateField(required=False, help_text="Statement date (default: today, Asia/Jakarta).")
    language = serializers.ChoiceField(choices=Report.Language.choices, default="id")
    format = serializers.ChoiceField(choices=Report.Format.choices, default="pdf")
    refresh = api.BooleanField(default=False, help_text="Make it again even if an identical one is done.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        if unknown:
            raise serializers.ValidationError({name: [_("Not a field of a report request.")] for name in unknown})
        return attrs


class ReportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(allow_null=True, help_text="The document number printed on it.")
    kind = serializers.ChoiceField(choices=Report.Kind.choices)
    format = serializers.ChoiceField(choices=Report.Format.choices)
    language = serializers.ChoiceField(choices=Report.Language.choices)
    bank = serializers.CharField(source="bank.code", allow_null=True, default=None)
    period = serializers.CharField(help_text="Blank for a document of a loan or repayment.")
    loan = serializers.IntegerField(source="loan_id", allow_null=True)
    repayment = serializers.IntegerField(source="repayment_id", allow_null=True)
    as_of = serializers.DateField(allow_null=True)
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=Report.Status.choices)
    progress = serializers.SerializerMethodField(help_text="Rows done of rows in all while running.")
    error = serializers.CharField(help_text="Why it failed (blank otherwise).")
    attempts = serializers.IntegerField()
    sha256 = serializers.CharField(allow_null=True, help_text="SHA-256 of the file, when done.")
    size = serializers.IntegerField(allow_null=True, help_text="Bytes, when done.")
    url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField(help_text="When done.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "Report"

    def get_progress(self, report: Report) -> dict[str, int]:
        return {"done": report.progress_done, "total": report.progress_total}

    def get_url(self, report: Report) -> str:
        return _absolute(self.context.get("request"), "report-detail", report.pk)

    def get_download_url(self, report: Report) -> str | None:
        if report.status != Report.Status.DONE:
            return None
        return _absolute(self.context.get("request"), "report-download", report.pk)

    def to_representation(self, instance: Report) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        if instance.status != Report.Status.DONE:
            data["sha256"] = None
        return data


def _absolute(request: Request | None, name: str, report_id: int) -> str:
    path = reverse(name, args=[report_id])
    return request.build_absolute_uri(path) if request is not None else path


class AcceptedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Report.Status.choices)
    url = serializers.CharField(help_text="Where to follow it (GET).")

    class Meta:
        ref_name = "ReportAccepted"


EXAMPLE = {"id": 41, "status": "queued", "url": "https://wibawa.semarangkota.go.id/api/v1/reports/41/"}
SHA256 = "9f2c1e0b7a4d5c3e8f6a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6"
REPORT_EXAMPLE = {
    "id": 41,
    "number": "WBW/BM/2026/000041",
    "kind": "bank_monthly",
    "format": "pdf",
    "language": "id",
    "bank": "PASAR",
    "period": "2026-10",
    "loan": None,
    "repayment": None,
    "as_of": None,
    "title": "Laporan Bulanan Bank",
    "status": "done",
    "progress": {"done": 1250, "total": 1250},
    "error": "",
    "attempts": 1,
    "sha256": SHA256,
    "size": 482133,
    "url": "https://wibawa.semarangkota.go.id/api/v1/reports/41/",
    "download_url": "https://wibawa.semarangkota.go.id/api/v1/reports/41/download/",
    "created_at": "2026-11-01T02:00:00+07:00",
    "started_at": "2026-11-01T02:00:01+07:00",
    "finished_at": "2026-11-01T02:00:04+07:00",
}


class ReportListApi(APIView):
    pagination_class = Pagination

    @extend_schema(
        operation_id="reports_list",
        summary="The reports the user may see",
        description="Newest first. Banks see their own bank's, borrowers their own papers, the city office, "
        "auditor and manager everything.",
        parameters=[
            OpenApiParameter("kind", str, enum=Report.Kind.values),
            OpenApiParameter("bank", str, description="Bank code."),
            OpenApiParameter("period", str, description="2026-10, 2026-Q3 or 2026."),
            OpenApiParameter("status", str, enum=Report.Status.values),
            OpenApiParameter("format", str, enum=Report.Format.values),
            OpenApiParameter("loan", int),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="Up to 500 (default 50)."),
        ],
        responses={200: ReportSerializer(many=True), 401: ERRORS[401]},
        examples=[OpenApiExample("A bank's reports", value=[REPORT_EXAMPLE], response_only=True)],
        tags=["reports"],
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            request=request,
            view=self,
            queryset=report_list(user=request.user, params=request.query_params),
            serializer_class=ReportSerializer,
        )

    @extend_schema(
        operation_id="reports_request",
        summary="Ask for a document",
        description="Answers 202 at once; a worker makes the document (follow `url`). A request identical to one "
        "already done, queued or running answers 200 with that report, unless `refresh` is true. The fields a kind "
        f"needs: {KIND_HELP}. A field the kind does not take, or any other field, is a 400 naming it.",
        request=ReportRequestSerializer,
        responses={
            202: AcceptedSerializer,
            200: AcceptedSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="A missing or extra field, a bad period, a document "
                "that cannot be made (a settlement letter of an open loan, a month not closed).",
            ),
            **ERRORS,
        },
        examples=[
            OpenApiExample(
                "A bank's monthly report",
                value={"kind": "bank_monthly", "bank": "PASAR", "period": "2026-10", "format": "pdf"},
                request_only=True,
            ),
            OpenApiExample("Accepted", value=EXAMPLE, response_only=True, status_codes=["202"]),
        ],
        tags=["reports"],
    )
    def post(self, request: Request) -> Response:
        serializer = ReportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report, created = report_request(
            actor=request.user,
            request=ReportRequest(
                kind=data["kind"],
                format=data["format"],
                language=data["language"],
                refresh=data["refresh"],
                **{name: data.get(name) for name in KIND_FIELDS},
            ),
        )
        body = {"id": report.pk, "status": report.status, "url": _absolute(request, "report-detail", report.pk)}
        return Response(body, status=202 if created else 200)


def _report_or_404(user: Any, report_id: int) -> Report:
    report = report_visible(user=user).filter(pk=report_id).first()
    if report is None:
        raise Http404
    return report


class ReportDetailApi(APIView):
    @extend_schema(
        operation_id="reports_read",
        summary="A report's status, progress and, when done, its checksum and download address",
        responses={200: ReportSerializer, **ERRORS},
        examples=[OpenApiExample("A finished report", value=REPORT_EXAMPLE, response_only=True)],
        tags=["reports"],
    )
    def get(self, request: Request, report_id: int) -> Response:
        report = _report_or_404(request.user, report_id)
        return Response(ReportSerializer(report, context={"request": request}).data)


class ReportDownloadApi(APIView):
    @extend_schema(
        operation_id="reports_download",
        summary="The document's file",
        description="Streams the file (application/pdf, text/csv or the XLSX type) as an attachment named after "
        "the document. 409 while it is not done.",
        responses={
            (200, "application/pdf"): OpenApiResponse(description="The file."),
            409: OpenApiResponse(ConflictSerializer, description="Not done (queued, running or failed)."),
            **ERRORS,
        },
        examples=[
            OpenApiExample(
                "Not ready yet",
                value={"message": "The document is not ready.", "errors": {}, "state": "running"},
                response_only=True,
                status_codes=["409"],
            )
        ],
        tags=["reports"],
    )
    def get(self, request: Request, report_id: int) -> FileResponse:
        report = _report_or_404(request.user, report_id)
        if report.status != Report.Status.DONE:
            raise StateConflict(_("The document is not ready."), state=report.status)
        response = FileResponse(
            report.file.open("rb"),
            as_attachment=True,
            filename=report.file_name,
            content_type=CONTENT_TYPES[report.format],
        )
        response["Content-Length"] = str(report.size)
        response["X-Checksum-SHA256"] = report.sha256
        return response


class VerifyThrottle(FixedWindowThrottle):
    """Per client address, as the simulator (SIMULATION_THROTTLE)."""

    scope = "verify"

    def get_rate(self) -> str:
        from django.conf import settings

        return str(settings.SIMULATION_THROTTLE)


class VerifiedSerializer(serializers.Serializer):
    number = serializers.CharField()
    kind = serializers.ChoiceField(choices=Report.Kind.choices)
    kind_label = serializers.CharField()
    title = serializers.CharField()
    period = serializers.CharField(help_text="The period or date it covers, as printed.")
    issuer = serializers.CharField()
    made_at = serializers.DateTimeField()
    format = serializers.ChoiceField(choices=Report.Format.choices)
    sha256 = serializers.CharField(help_text="Compare with the SHA-256 of the file you hold.")
    size = serializers.IntegerField()

    class Meta:
        ref_name = "VerifiedDocument"


class DocumentVerifyApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    throttle_classes = [VerifyThrottle]

    @extend_schema(
        operation_id="documents_verify",
        summary="Check a document (no login)",
        description="For the code printed on a document and in its QR: its number, kind, title, period, issuer, "
        "time made and SHA-256, so whoever holds a printout or a file can check it was issued here and not altered "
        "(no personal data). 404 for a code that names no issued document.",
        responses={200: VerifiedSerializer, 404: OpenApiResponse(ErrorSerializer, description="No such document.")},
        examples=[
            OpenApiExample(
                "An issued document",
                value={
                    "number": "WBW/BM/2026/000041",
                    "kind": "bank_monthly",
                    "kind_label": "Laporan bulanan bank",
                    "title": "Laporan Bulanan Bank",
                    "period": "Oktober 2026",
                    "issuer": "BPR Bank Pasar Kota Semarang",
                    "made_at": "2026-11-01T02:00:04+07:00",
                    "format": "pdf",
                    "sha256": SHA256,
                    "size": 482133,
                },
                response_only=True,
            )
        ],
        auth=[],
        tags=["reports"],
    )
    def get(self, request: Request, code: str) -> Response:
        report = report_by_code(code=code)
        if report is None:
            raise Http404
        return Response(
            VerifiedSerializer(
                {
                    "number": report.number,
                    "kind": report.kind,
                    "kind_label": Report.Kind(report.kind).label,
                    "title": report.title,
                    "period": report.period_label,
                    "issuer": report.issuer,
                    "made_at": report.made_at,
                    "format": report.format,
                    "sha256": report.sha256,
                    "size": report.size,
                }
            ).data
        )
