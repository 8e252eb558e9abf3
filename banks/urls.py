from django.urls import path

from banks.apis import BankAllocationsApi, BankDetailApi, BankListApi

urlpatterns = [
    path("banks/", BankListApi.as_view(), name="bank-list"),
    path("banks/<str:code>/", BankDetailApi.as_view(), name="bank-detail"),
    path("banks/<str:code>/allocations/", BankAllocationsApi.as_view(), name="bank-allocations"),
]
