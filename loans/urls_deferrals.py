"""URLs of deferrals and write-off (loan servicing)."""

from django.urls import path

from loans.apis.deferrals import DeferralApproveApi, DeferralListApi, DeferralRejectApi, LoanWriteOffApi

urlpatterns = [
    path("loans/<int:loan_id>/deferrals/", DeferralListApi.as_view(), name="loan-deferrals"),
    path(
        "loans/<int:loan_id>/deferrals/<int:deferral_id>/approve/",
        DeferralApproveApi.as_view(),
        name="loan-deferral-approve",
    ),
    path(
        "loans/<int:loan_id>/deferrals/<int:deferral_id>/reject/",
        DeferralRejectApi.as_view(),
        name="loan-deferral-reject",
    ),
    path("loans/<int:loan_id>/write-off/", LoanWriteOffApi.as_view(), name="loan-write-off"),
]
