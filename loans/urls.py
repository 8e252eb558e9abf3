from django.urls import include, path

from loans.apis.applications import ACTION_APIS, ApplicationDetailApi, ApplicationListApi, BatchDisburseApi
from loans.apis.loans import LoanDetailApi, LoanListApi, LoanScheduleApi, MeApi
from loans.apis.repayments import PayoffApi, RepaymentListApi, RepaymentReverseApi
from loans.apis.simulation import SimulationApi

urlpatterns = [
    path("simulations/", SimulationApi.as_view(), name="simulation"),
    path("applications/", ApplicationListApi.as_view(), name="application-list"),
    path("applications/disburse/", BatchDisburseApi.as_view(), name="application-disburse-batch"),
    path("applications/<int:application_id>/", ApplicationDetailApi.as_view(), name="application-detail"),
    *[
        path(f"applications/<int:application_id>/{action}/", api.as_view(), name=f"application-{action}")
        for action, api in ACTION_APIS.items()
    ],
    path("loans/", LoanListApi.as_view(), name="loan-list"),
    path("loans/<int:loan_id>/", LoanDetailApi.as_view(), name="loan-detail"),
    path("loans/<int:loan_id>/schedule/", LoanScheduleApi.as_view(), name="loan-schedule"),
    path("loans/<int:loan_id>/repayments/", RepaymentListApi.as_view(), name="loan-repayments"),
    path(
        "loans/<int:loan_id>/repayments/<int:repayment_id>/reverse/",
        RepaymentReverseApi.as_view(),
        name="loan-repayment-reverse",
    ),
    path("loans/<int:loan_id>/payoff/", PayoffApi.as_view(), name="loan-payoff"),
    path("me/", MeApi.as_view(), name="me"),
    path("", include("loans.urls_products")),
    path("", include("loans.urls_close")),
    path("", include("loans.urls_deferrals")),
    path("", include("loans.urls_portfolio")),
]
