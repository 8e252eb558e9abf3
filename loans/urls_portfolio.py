"""URLs of the revolving fund, the portfolio figures and the collectibility tables."""

from django.urls import path

from loans.apis.portfolio import (
    BankFundApi,
    BankFundDailyApi,
    CollectibilityTableApi,
    CollectibilityTablesApi,
    PortfolioApi,
)

urlpatterns = [
    path("banks/<str:code>/fund/", BankFundApi.as_view(), name="bank-fund"),
    path("banks/<str:code>/fund/daily/", BankFundDailyApi.as_view(), name="bank-fund-daily"),
    path("portfolio/", PortfolioApi.as_view(), name="portfolio"),
    path("collectibility/", CollectibilityTablesApi.as_view(), name="collectibility-tables"),
    path("collectibility/<str:kind>/", CollectibilityTableApi.as_view(), name="collectibility-table"),
]
