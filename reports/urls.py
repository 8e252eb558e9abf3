from django.urls import path

from reports.apis.reports import DocumentVerifyApi, ReportDetailApi, ReportDownloadApi, ReportListApi

urlpatterns = [
    path("reports/", ReportListApi.as_view(), name="report-list"),
    path("reports/<int:report_id>/", ReportDetailApi.as_view(), name="report-detail"),
    path("reports/<int:report_id>/download/", ReportDownloadApi.as_view(), name="report-download"),
    path("documents/verify/<str:code>/", DocumentVerifyApi.as_view(), name="document-verify"),
]
